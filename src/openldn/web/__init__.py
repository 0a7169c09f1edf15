"""openldn.web."""
