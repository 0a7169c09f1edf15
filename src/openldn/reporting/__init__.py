"""openldn.reporting."""
