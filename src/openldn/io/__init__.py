"""openldn.io."""
