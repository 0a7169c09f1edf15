"""Annual vegetation index from sub-annual composites (standard.md §5.2).

``annual_composite`` turns a (time, y, x) stack of composites (e.g. MODIS 16-day NDVI) into one value per calendar
year, with ``time`` at 1 January (architecture note, data model):

* ``mean``: mean of the valid composites of the year (Trends.Earth's "integral", the PRAIS 2026 default);
* ``integral``: time integral of the index over the calendar year, in index x days: trapezoids between consecutive
  valid composites, the first and last valid values held constant to the year's start and end;
* ``max``: the annual maximum.

Years with fewer than ``min_count`` valid composites are NaN. Lazy: dask-backed input stays dask-backed.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from openldn.exceptions import ConfigError

__all__ = ["annual_composite"]

Method = Literal["mean", "integral", "max"]


def _integral_kernel(values: np.ndarray, days: np.ndarray, year_days: float) -> np.ndarray:
    """Integral over the last axis of ``values`` sampled at ``days`` (day of year, 0-based), NaNs bridged."""
    v = np.asarray(values, dtype="float64")
    n = v.shape[-1]
    valid = np.isfinite(v)
    idx = np.arange(n)
    # index of the last valid sample at or before each position (-1 when none)
    last = np.maximum.accumulate(np.where(valid, idx, -1), axis=-1)
    prev = np.concatenate([np.full((*v.shape[:-1], 1), -1), last[..., :-1]], axis=-1)
    has_prev = valid & (prev >= 0)
    prev_c = np.clip(prev, 0, None)
    v0 = np.take_along_axis(np.where(valid, v, 0.0), prev_c, axis=-1)
    d0 = days[prev_c]
    seg = np.where(has_prev, (v0 + np.where(valid, v, 0.0)) * 0.5 * (days - d0), 0.0).sum(axis=-1)
    count = valid.sum(axis=-1)
    first = np.argmax(valid, axis=-1)
    lastv = (n - 1) - np.argmax(valid[..., ::-1], axis=-1)
    vf = np.take_along_axis(v, first[..., None], axis=-1)[..., 0]
    vl = np.take_along_axis(v, lastv[..., None], axis=-1)[..., 0]
    head = vf * days[first]
    tail = vl * (year_days - days[lastv])
    out = seg + head + tail
    return np.where(count > 0, out, np.nan)


def _one_year(block: xr.DataArray, method: Method, min_count: int) -> xr.DataArray:
    count = block.notnull().sum("time")
    if method == "mean":
        out = block.mean("time", skipna=True)
    elif method == "max":
        out = block.max("time", skipna=True)
    else:
        times = pd.DatetimeIndex(block["time"].values)
        year = int(times[0].year)
        start = pd.Timestamp(f"{year}-01-01")
        days = np.asarray((times - start) / pd.Timedelta(days=1), dtype="float64")
        year_days = float((pd.Timestamp(f"{year + 1}-01-01") - start) / pd.Timedelta(days=1))
        out = xr.apply_ufunc(
            _integral_kernel,
            block.chunk({"time": -1}) if block.chunks is not None else block,
            kwargs={"days": days, "year_days": year_days},
            input_core_dims=[["time"]],
            dask="parallelized",
            output_dtypes=["float64"],
        )
    return out.where(count >= min_count)


def annual_composite(
    da: xr.DataArray, *, method: Method | str = "mean", min_count: int = 1
) -> xr.DataArray:
    """Aggregate sub-annual composites to one value per calendar year.

    Parameters
    ----------
    da : xarray.DataArray
        Composites with a ``time`` dimension (datetime64), NaN where invalid, physical values (scale applied).
    method : {"mean", "integral", "max"}
        Annual aggregation (standard.md §5.2; a parameter per §16).
    min_count : int
        Minimum number of valid composites in a year; fewer gives NaN.

    Returns
    -------
    xarray.DataArray, [units of da] (mean, max) or [units x d] (integral)
        float32, dims (time, y, x) with ``time`` at 1 January of each year present in ``da``.

    Raises
    ------
    ConfigError
        Unknown method, or no ``time`` dimension.
    """
    method = str(method).lower()
    if method not in ("mean", "integral", "max"):
        raise ConfigError(f"Unknown annual composite method {method!r}: use mean, integral or max.")
    if "time" not in da.dims:
        raise ConfigError("annual_composite needs a 'time' dimension of sub-annual composites.")
    times = pd.DatetimeIndex(da["time"].values)
    years = sorted(set(times.year))
    pieces = []
    for year in years:
        sel = np.flatnonzero(times.year == year)
        pieces.append(_one_year(da.isel(time=sel), method, min_count))  # type: ignore[arg-type]
    out = xr.concat(pieces, dim="time").astype("float32")
    out = out.assign_coords(time=pd.DatetimeIndex([pd.Timestamp(f"{y}-01-01") for y in years]))
    units = da.attrs.get("units")
    out.attrs = {k: v for k, v in da.attrs.items() if k not in ("units", "scale_factor", "add_offset")}
    if units is not None:
        out.attrs["units"] = f"{units} d" if method == "integral" and units != "1" else ("d" if method == "integral" else units)
    out.attrs["annual_composite"] = method
    return out
