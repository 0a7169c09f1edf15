"""Machinery shared by every indicator: codes, periods, vocabularies and grids (no domain math)."""
