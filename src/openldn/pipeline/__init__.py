"""openldn.pipeline."""
