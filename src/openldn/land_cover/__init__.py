"""openldn.land_cover."""
