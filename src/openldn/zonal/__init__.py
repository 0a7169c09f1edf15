"""openldn.zonal."""
