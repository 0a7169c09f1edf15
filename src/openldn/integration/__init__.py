"""openldn.integration."""
