"""SO3-1 drought hazard: annual SPI, intensity classes and the 4-year maximum-intensity maps.

References: PRAIS 2026 §3.1 and Table 19 (PRAIS 2026 reporting manual, Introduction and §1.2 Step 6, §9); differences from Trends.Earth D3 and D8
(Trends.Earth (docs/differences.md)).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.codes import NODATA, STATUS_DTYPE, DroughtClass
from openldn.core.periods import Period, SomePeriod, year_coords, years_of
from openldn.core.vocab import Legend, load_legend, read_data_file
from openldn.drought._grid import keep_grid
from openldn.exceptions import ConfigError, GridMismatchError, PeriodError

__all__ = [
    "DROUGHT_LABELS",
    "Boundaries",
    "annual_index",
    "drought_class",
    "drought_legend",
    "drought_windows",
    "max_intensity",
    "min_index_year",
]

Boundaries = Literal["upper_inclusive", "lower_inclusive"]

#: Class code -> label (PRAIS 2026 Table 19), nodata included.
DROUGHT_LABELS: dict[int, str] = {
    int(DroughtClass.NON_DROUGHT): "Non-drought",
    int(DroughtClass.MILD): "Mild drought",
    int(DroughtClass.MODERATE): "Moderate drought",
    int(DroughtClass.SEVERE): "Severe drought",
    int(DroughtClass.EXTREME): "Extreme drought",
    NODATA: "No data",
}


@lru_cache(maxsize=1)
def drought_legend() -> Legend:
    """The drought intensity legend (codes 0-4, labels, colours) from ``openldn/data/drought/classes.yaml``."""
    res = resources.files("openldn") / "data" / "drought" / "classes.yaml"
    with resources.as_file(res) as path:
        return load_legend(path)


def _upper_bounds() -> list[float]:
    """SPI upper bounds of the classes mild .. extreme (0, -1, -1.5, -2) from the package data."""
    doc = read_data_file("drought/classes.yaml")
    bounds = [float(c["upper"]) for c in doc["classes"] if c.get("upper") is not None]
    if bounds != sorted(bounds, reverse=True):
        raise ConfigError("openldn data file drought/classes.yaml: class bounds must decrease with the code.")
    return bounds


def annual_index(
    index: xr.DataArray, *, month: int = 12, years: SomePeriod | list[int] | None = None
) -> xr.DataArray:
    """One value per year: the monthly index (e.g. SPI-12) of a given calendar month.

    SPI-12 of December is the calendar-year index of SO3-1 (PRAIS 2026 §3.1 Steps 2-3).

    Parameters
    ----------
    index : xarray.DataArray
        Monthly index, dims ``(time, y, x)``, time at month starts.
    month : int, default 12
        Calendar month whose value represents the year.
    years : Period, str or list of int, optional
        Years wanted (e.g. ``"2000-2023"``). Years whose month is not in ``index`` (e.g. December 2023 when the
        data end in September) are kept as NaN and listed in ``attrs["missing_years"]``. Default: every year that
        has the month.

    Returns
    -------
    xarray.DataArray, [1]
        Annual stack, dims ``(time, y, x)``, time at 1 January of each year.
    """
    if not 1 <= int(month) <= 12:
        raise ConfigError(f"month {month!r} is not a calendar month: use 1-12.")
    t = pd.DatetimeIndex(index["time"].values)
    pick = np.flatnonzero(t.month == int(month))
    sel = index.isel(time=pick)
    have = [int(y) for y in t[pick].year]
    sel = sel.assign_coords(time=year_coords(have))
    if years is None:
        wanted = have
    elif isinstance(years, list | tuple) and not (len(years) == 2 and isinstance(years, tuple)):
        wanted = sorted(int(y) for y in years)
    else:
        wanted = Period.from_user_input(years).years  # type: ignore[arg-type]
    missing = [y for y in wanted if y not in have]
    out = sel.reindex(time=year_coords(wanted)) if wanted != have else sel
    out.attrs = dict(index.attrs)
    out.attrs.update(month=int(month), missing_years=missing)
    return out


def drought_class(index: xr.DataArray, *, boundaries: Boundaries = "upper_inclusive") -> xr.DataArray:
    """Drought intensity class of each SPI (or SPEI) value (PRAIS 2026 Table 19).

    ================  =====  ============================  ============================
    class             code   ``upper_inclusive`` (default)  ``lower_inclusive`` (TE)
    ================  =====  ============================  ============================
    non-drought       0      SPI > 0                        SPI >= 0
    mild              1      -1 < SPI <= 0                  -1 <= SPI < 0
    moderate          2      -1.5 < SPI <= -1               -1.5 <= SPI < -1
    severe            3      -2 < SPI <= -1.5               -2 <= SPI < -1.5
    extreme           4      SPI <= -2                      SPI < -2
    ================  =====  ============================  ============================

    The default is the direct reading of the manual's table (SPI = 0 is mild, -1 moderate, -1.5 severe, -2
    extreme; differences register D8); ``"lower_inclusive"`` reproduces Trends.Earth (docs/differences.md).

    Parameters
    ----------
    index : xarray.DataArray
        SPI or SPEI values, any dims; NaN is no data.
    boundaries : {"upper_inclusive", "lower_inclusive"}
        Which class a value exactly on a bound belongs to.

    Returns
    -------
    xarray.DataArray
        Class codes 0-4, int16, nodata -32768 (``attrs["_FillValue"]``).
    """
    key = str(boundaries).strip().lower()
    if key not in ("upper_inclusive", "lower_inclusive"):
        raise ConfigError(
            f"boundaries {boundaries!r} is not understood: use 'upper_inclusive' (manual) or 'lower_inclusive' "
            "(Trends.Earth)."
        )
    b0, b1, b2, b3 = _upper_bounds()
    v = index.astype(np.float64)
    codes = [np.int16(c) for c in (0, 1, 2, 3, 4)]
    if key == "upper_inclusive":
        out = xr.where(
            v > b0, codes[0], xr.where(v > b1, codes[1], xr.where(v > b2, codes[2], xr.where(v > b3, codes[3], codes[4])))
        )
    else:
        out = xr.where(
            v >= b0,
            codes[0],
            xr.where(v >= b1, codes[1], xr.where(v >= b2, codes[2], xr.where(v >= b3, codes[3], codes[4]))),
        )
    out = keep_grid(xr.where(v.notnull(), out, np.int16(NODATA)).astype(STATUS_DTYPE), index)
    out.name = "drought_class"
    out.attrs = {
        "long_name": "Drought intensity class",
        "legend": "drought",
        "_FillValue": NODATA,
        "flag_values": [0, 1, 2, 3, 4],
        "flag_meanings": "non_drought mild moderate severe extreme",
        "boundaries": key,
    }
    return out


def drought_windows(start: int = 2000, end: int = 2023, *, length: int = 4) -> list[Period]:
    """Fixed maximum-intensity windows: ``start .. start+length-1``, ... up to ``end`` (PRAIS 2026 reporting manual, Introduction and §1.2 Step 6).

    Parameters
    ----------
    start, end : int
        First and last year (2000 and 2023 in the 2026 cycle: 2000-2003 ... 2020-2023).
    length : int, default 4
        Window length in years. A last, shorter window is kept if ``end`` cuts it.

    Returns
    -------
    list of Period
    """
    if length < 1:
        raise PeriodError(f"window length {length} must be at least 1 year.")
    if end < start:
        raise PeriodError(f"drought windows: start {start} is after end {end}; write them in order.")
    return [Period(f"{y}-{min(y + length - 1, end)}", y, min(y + length - 1, end)) for y in range(start, end + 1, length)]


def max_intensity(classes: xr.DataArray, windows: list[Period] | None = None) -> xr.DataArray:
    """Highest drought intensity of each cell within each window, over **all** years of the window.

    Trends.Earth takes the minimum SPI over the first three years of each 4-year window only (bug §15-4,
    differences register D3); here every year of the window present in ``classes`` counts. Years without data
    (nodata cells, or years absent from ``classes``) are skipped; a cell with no data in any year of the window is
    nodata. The years used and the missing years of each window are in ``attrs["window_years"]`` and
    ``attrs["window_missing_years"]``.

    Parameters
    ----------
    classes : xarray.DataArray
        Annual drought classes (int16, nodata -32768), dims ``(time, y, x)``.
    windows : list of Period, optional
        Windows (default: :func:`drought_windows` from the first to the last year of ``classes``, starting at
        2000 if the data cover it).

    Returns
    -------
    xarray.DataArray
        Maximum class per window, int16, dims ``(period, y, x)`` with ``period`` labels like ``"2000-2003"``.
    """
    if "time" not in classes.dims:
        raise GridMismatchError(f"drought classes have no 'time' dimension (dims {classes.dims}).")
    yrs = [int(y) for y in years_of(classes)]
    if windows is None:
        first = 2000 if min(yrs) <= 2000 <= max(yrs) else min(yrs)
        windows = drought_windows(first, max(yrs))
    layers = []
    used: dict[str, list[int]] = {}
    missing: dict[str, list[int]] = {}
    for w in windows:
        idx = [i for i, y in enumerate(yrs) if w.contains(y)]
        used[w.label] = [yrs[i] for i in idx]
        missing[w.label] = [y for y in w.years if y not in yrs]
        if idx:
            sub = classes.isel(time=idx)
            valid = sub != NODATA
            best = sub.where(valid, -1).max("time")
            layer = xr.where(valid.any("time"), best, np.int16(NODATA)).astype(STATUS_DTYPE)
        else:
            layer = xr.full_like(classes.isel(time=0, drop=True), NODATA, dtype=STATUS_DTYPE)
        layers.append(layer.drop_vars("time", errors="ignore"))
    labels = [w.label for w in windows]
    out = xr.concat(layers, dim=pd.Index(labels, name="period"))
    out = out.assign_coords(
        period_start=("period", [w.start for w in windows]), period_end=("period", [w.end for w in windows])
    )
    out = keep_grid(out, classes)
    out.name = "drought_max_class"
    out.attrs = {
        "long_name": "Highest drought intensity in the window",
        "legend": "drought",
        "_FillValue": NODATA,
        "window_years": used,
        "window_missing_years": missing,
    }
    return out


def min_index_year(index: xr.DataArray, windows: list[Period]) -> xr.DataArray:
    """Year of each cell's minimum index (highest drought intensity) within each window.

    This is the year whose population is "at maximum drought" in Trends.Earth's period maps (the population of
    the year of the minimum SPI). Missing years (NaN) are skipped; on a tie the first year wins (as
    ``numpy.argmin``); a cell with no value in any year of the window, or a window without years, is nodata.

    Parameters
    ----------
    index : xarray.DataArray
        Annual SPI/SPEI, dims ``(time, y, x)`` (time at 1 January), NaN = no data; numpy- or dask-backed.
    windows : list of Period
        Windows (e.g. from :func:`drought_windows`).

    Returns
    -------
    xarray.DataArray
        Year per window, int16, dims ``(period, y, x)``, nodata -32768 (``attrs["_FillValue"]``).
    """
    if "time" not in index.dims:
        raise GridMismatchError(f"drought index has no 'time' dimension (dims {index.dims}).")
    yrs = [int(y) for y in years_of(index)]
    template = index.isel(time=0, drop=True)
    layers = []
    for w in windows:
        idx = [i for i, y in enumerate(yrs) if w.contains(y)]
        if not idx:
            layers.append(xr.full_like(template, NODATA, dtype=STATUS_DTYPE))
            continue
        sub = index.isel(time=idx).astype(np.float64)
        pos = sub.fillna(np.inf).argmin("time")
        lookup = np.array([yrs[i] for i in idx], dtype=STATUS_DTYPE)
        year = xr.apply_ufunc(lambda p, lk=lookup: lk[p], pos, dask="parallelized", output_dtypes=[STATUS_DTYPE])
        layers.append(xr.where(sub.notnull().any("time"), year, np.int16(NODATA)).astype(STATUS_DTYPE))
    out = xr.concat(layers, dim=pd.Index([w.label for w in windows], name="period"))
    out = keep_grid(out.transpose("period", *template.dims), index)
    out.name = "drought_max_year"
    out.attrs = {"long_name": "Year of the minimum index in the window", "_FillValue": NODATA}
    return out
