"""Keeping the grid metadata (CRS coordinate) through computations that drop coordinate attributes."""

from __future__ import annotations

import xarray as xr

__all__ = ["keep_grid"]


def keep_grid(out: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    """``out`` with the grid-mapping coordinate (e.g. ``spatial_ref`` and its CRS attributes) of ``like``."""
    name = like.encoding.get("grid_mapping", like.attrs.get("grid_mapping", "spatial_ref"))
    if name in like.coords and not like[name].dims:
        out = out.assign_coords({name: like[name]})
    return out
