"""Annual vegetation index from sub-annual composites: the one implementation for local files and catalogue datasets.

``annual_composite`` turns a ``(time, y, x)`` stack of composites (MODIS 16-day NDVI, monthly Landsat or Sentinel-2
composites...) into one value per calendar year, with ``time`` at 1 January:

* ``mean``: mean of the valid composites of the year (Trends.Earth's "integral", the PRAIS 2026 default);
* ``max``: the annual maximum;
* ``integral``: time integral of the index over the calendar year, in index x days: trapezoids between consecutive
  valid composites, the first and last valid values held constant to the year's start and end;
* ``season_months``: the same time integral over a growing season given as a window of calendar months
  (``months=(5, 9)``: 1 May to 30 September), values held constant to the window's edges;
* ``season_threshold``: the time integral over the growing season found in each pixel's seasonal cycle: from the
  first to the last composite of the year whose value reaches ``vmin + fraction x (vmax - vmin)`` of that year's
  valid composites (the amplitude-fraction rule of TIMESAT, Jönsson & Eklundh 2004), trapezoids between those
  composites only (a season of one composite integrates to 0).

Composites are dated by the date they carry (the start of a MODIS compositing period). Years or windows with fewer
than ``min_count`` valid composites are NaN. Lazy: dask-backed input stays dask-backed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from openldn.exceptions import ConfigError

__all__ = ["METHODS", "Method", "annual_composite"]

Method = Literal["mean", "max", "integral", "season_months", "season_threshold"]

#: Annual aggregation methods, in the order the run-file reference lists them.
METHODS: tuple[str, ...] = ("mean", "max", "integral", "season_months", "season_threshold")


def _trapezoids(v: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Sum of trapezoids between consecutive valid samples along the last axis (NaN gaps bridged)."""
    n = v.shape[-1]
    valid = np.isfinite(v)
    idx = np.arange(n)
    last = np.maximum.accumulate(np.where(valid, idx, -1), axis=-1)
    prev = np.concatenate([np.full((*v.shape[:-1], 1), -1), last[..., :-1]], axis=-1)
    has_prev = valid & (prev >= 0)
    prev_c = np.clip(prev, 0, None)
    filled = np.where(valid, v, 0.0)
    v0 = np.take_along_axis(filled, prev_c, axis=-1)
    return np.asarray(np.where(has_prev, (v0 + filled) * 0.5 * (days - days[prev_c]), 0.0).sum(axis=-1))


def _integral_kernel(values: np.ndarray, days: np.ndarray, span: float) -> np.ndarray:
    """Integral over ``[0, span]`` of ``values`` sampled at ``days``, end values held to the edges."""
    v = np.asarray(values, dtype="float64")
    n = v.shape[-1]
    if n == 0:
        return np.full(v.shape[:-1], np.nan)
    valid = np.isfinite(v)
    seg = _trapezoids(v, days)
    first = np.argmax(valid, axis=-1)
    lastv = (n - 1) - np.argmax(valid[..., ::-1], axis=-1)
    vf = np.take_along_axis(v, first[..., None], axis=-1)[..., 0]
    vl = np.take_along_axis(v, lastv[..., None], axis=-1)[..., 0]
    out = seg + vf * days[first] + vl * (span - days[lastv])
    return np.where(valid.any(axis=-1), out, np.nan)


def _threshold_kernel(values: np.ndarray, days: np.ndarray, fraction: float) -> np.ndarray:
    """Integral between the first and the last sample reaching ``vmin + fraction (vmax - vmin)``."""
    v = np.asarray(values, dtype="float64")
    n = v.shape[-1]
    valid = np.isfinite(v)
    anyv = valid.any(axis=-1)
    with np.errstate(all="ignore"):
        vmin = np.where(anyv, np.nanmin(np.where(valid, v, np.inf), axis=-1), np.nan)
        vmax = np.where(anyv, np.nanmax(np.where(valid, v, -np.inf), axis=-1), np.nan)
    thr = vmin + fraction * (vmax - vmin)
    above = valid & (v >= thr[..., None] - 1e-12 * np.abs(thr[..., None]))
    first = np.argmax(above, axis=-1)
    last = (n - 1) - np.argmax(above[..., ::-1], axis=-1)
    idx = np.arange(n)
    inside = (idx >= first[..., None]) & (idx <= last[..., None])
    out = _trapezoids(np.where(inside, v, np.nan), days)
    return np.where(anyv, out, np.nan)


def _reduce(block: xr.DataArray, kernel: Callable[..., np.ndarray], **kwargs: object) -> xr.DataArray:
    out: xr.DataArray = xr.apply_ufunc(
        kernel,
        block.chunk({"time": -1}) if block.chunks is not None else block,
        kwargs=kwargs,
        input_core_dims=[["time"]],
        dask="parallelized",
        output_dtypes=["float64"],
    )
    return out


def _one_year(block: xr.DataArray, year: int, method: str, min_count: int, months: tuple[int, int] | None,
              fraction: float) -> xr.DataArray:
    times = pd.DatetimeIndex(block["time"].values)
    start, end = pd.Timestamp(year=year, month=1, day=1), pd.Timestamp(year=year + 1, month=1, day=1)
    if method == "season_months":
        assert months is not None
        start = pd.Timestamp(year=year, month=months[0], day=1)
        end = pd.Timestamp(year=year, month=months[1], day=1) + pd.offsets.MonthBegin(1)
        keep = np.flatnonzero((times >= start) & (times < end))
        block, times = block.isel(time=keep), times[keep]
    count = block.notnull().sum("time")
    days = np.asarray((times - start) / pd.Timedelta(days=1), dtype="float64")
    span = float((end - start) / pd.Timedelta(days=1))
    if method == "mean":
        out = block.mean("time", skipna=True)
    elif method == "max":
        out = block.max("time", skipna=True)
    elif method == "season_threshold":
        out = _reduce(block, _threshold_kernel, days=days, fraction=fraction)
    else:
        out = _reduce(block, _integral_kernel, days=days, span=span)
    return out.where(count >= min_count)


def annual_composite(
    da: xr.DataArray,
    *,
    method: Method | str = "mean",
    min_count: int = 1,
    months: tuple[int, int] | list[int] | None = None,
    fraction: float = 0.2,
) -> xr.DataArray:
    """Aggregate sub-annual composites to one value per calendar year.

    Parameters
    ----------
    da : xarray.DataArray
        Composites with a ``time`` dimension (datetime64), NaN where invalid, physical values (scale applied).
    method : {"mean", "max", "integral", "season_months", "season_threshold"}
        Annual aggregation (see the module docstring).
    min_count : int
        Minimum number of valid composites in a year (in the month window for ``season_months``); fewer gives NaN.
    months : (int, int), optional
        First and last month of the growing season for ``season_months`` (1-12, first <= last).
    fraction : float
        Share of the seasonal amplitude above the year's minimum that starts and ends the season
        (``season_threshold``), between 0 and 1.

    Returns
    -------
    xarray.DataArray, [units of da] (mean, max) or [units x d] (integrals)
        float32, dims (time, y, x) with ``time`` at 1 January of each year present in ``da``.

    Raises
    ------
    ConfigError
        Unknown method, no ``time`` dimension, or a season not given or out of range.
    """
    method = str(method).lower()
    if method not in METHODS:
        raise ConfigError(f"Unknown annual composite method {method!r}: use mean, integral or max, or a growing-season "
                          "integral (season_months, season_threshold).")
    if "time" not in da.dims:
        raise ConfigError("annual_composite needs a 'time' dimension of sub-annual composites.")
    win: tuple[int, int] | None = None
    if method == "season_months":
        if months is None or len(months) != 2 or not (1 <= int(months[0]) <= int(months[1]) <= 12):
            raise ConfigError(
                f"composite season_months needs season_months: [first, last] with 1 <= first <= last <= 12, got "
                f"{months!r}; a season across the new year is not supported (use integral or season_threshold)."
            )
        win = (int(months[0]), int(months[1]))
    if method == "season_threshold" and not 0.0 <= float(fraction) < 1.0:
        raise ConfigError(f"season_threshold must be in [0, 1) (share of the seasonal amplitude), got {fraction!r}.")
    if min_count < 1:
        raise ConfigError(f"min_count must be 1 or more, got {min_count}.")
    times = pd.DatetimeIndex(da["time"].values)
    years = sorted(set(times.year))
    pieces = [
        _one_year(da.isel(time=np.flatnonzero(times.year == y)), int(y), method, min_count, win, float(fraction))
        for y in years
    ]
    out = xr.concat(pieces, dim="time").astype("float32")
    out = out.assign_coords(time=pd.DatetimeIndex([pd.Timestamp(year=int(y), month=1, day=1) for y in years]))
    units = da.attrs.get("units")
    out.attrs = {k: v for k, v in da.attrs.items() if k not in ("units", "scale_factor", "add_offset")}
    integral = method not in ("mean", "max")
    if units is not None:
        out.attrs["units"] = (f"{units} d" if units != "1" else "d") if integral else units
    out.attrs["annual_composite"] = method
    return out
