"""Keep the CRS of an input on a result (``xr.where`` drops the grid-mapping attributes)."""

from __future__ import annotations

import xarray as xr

__all__ = ["keep_crs"]


def keep_crs(out: xr.DataArray, src: xr.DataArray) -> xr.DataArray:
    """Write the CRS of ``src`` on ``out`` when ``out`` lost it; returns ``out`` (no data is computed)."""
    try:
        import rioxarray  # noqa: F401

        crs = src.rio.crs
        if crs is not None and out.rio.crs is None:
            return out.rio.write_crs(crs)
    except Exception:  # no rioxarray accessor or no grid mapping: nothing to keep
        return out
    return out
