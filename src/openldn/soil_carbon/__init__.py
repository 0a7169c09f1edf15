"""openldn.soil_carbon."""
