"""Helpers of the productivity tests (series factories, real-data readers; laziness check from openldn.testing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from openldn.testing import raise_if_dask_computes  # noqa: F401  (used by the test modules)


def series(
    values: list[float] | np.ndarray, start: int = 2000, years: list[int] | None = None
) -> xr.DataArray:
    """A 1-D annual series with datetime64 years at 1 January."""
    v = np.asarray(values, dtype=np.float64)
    yrs = list(range(start, start + v.size)) if years is None else years
    return xr.DataArray(v, dims="time", coords={"time": pd.to_datetime([f"{y}-01-01" for y in yrs])})


def stack(arr: np.ndarray, start: int = 2000) -> xr.DataArray:
    """A (time, y, x) stack with annual datetime coordinates and integer pixel coordinates."""
    nt, ny, nx = arr.shape
    return xr.DataArray(
        arr,
        dims=("time", "y", "x"),
        coords={
            "time": pd.to_datetime([f"{y}-01-01" for y in range(start, start + nt)]),
            "y": np.arange(ny, dtype=float)[::-1],
            "x": np.arange(nx, dtype=float),
        },
    )


def read_annual(path: Path) -> xr.DataArray:
    """A multi-band GeoTIFF whose band descriptions are years, as a (time, y, x) float DataArray."""
    import rioxarray

    da = rioxarray.open_rasterio(path, masked=True)
    years = [int(d) for d in da.attrs["long_name"]]
    da = da.rename(band="time").assign_coords(time=pd.to_datetime([f"{y}-01-01" for y in years]))
    da.attrs = {}
    return da


