"""openldn.cli."""
