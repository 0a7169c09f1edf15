"""openldn.datasets."""
