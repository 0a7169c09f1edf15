"""openldn.productivity."""
