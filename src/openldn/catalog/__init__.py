"""openldn.catalog."""
