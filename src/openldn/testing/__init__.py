"""openldn.testing."""
