"""openldn.drought."""
