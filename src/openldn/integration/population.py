"""SO2-3: population living on degraded land, total and by sex (PRAIS 2026 reporting manual §2.3).

Population rasters are counts. They must reach the analysis grid with a count-conserving rule (the pipeline's
alignment does this for ``population_*`` inputs; :func:`aggregate_counts` is the block-sum rule for integer factors).
Counts stay float: the Trends.Earth Int16 rounding and 32767 cap (Trends.Earth (docs/differences.md)-5) is a bug that
openldn does not reproduce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.codes import NODATA
from openldn.core.periods import years_of
from openldn.core.years import closest_year as _closest_year
from openldn.exceptions import ConfigError, MissingYearError
from openldn.integration._georef import keep_crs

if TYPE_CHECKING:
    from openldn.zonal import Coverage

__all__ = [
    "GROUPS",
    "aggregate_counts",
    "nearest_year",
    "population_by_class",
    "population_on_class",
    "signed_population",
]

#: Population groups of SO2-3 (input names ``population_<group>``).
GROUPS: tuple[str, ...] = ("total", "female", "male")


def aggregate_counts(population: xr.DataArray, factor: int | tuple[int, int]) -> xr.DataArray:
    """Aggregate a count raster onto a coarser grid by summing blocks of cells (count-conserving).

    Parameters
    ----------
    population : xarray.DataArray
        People per cell, dims ``(..., y, x)``; NaN is no data.
    factor : int or (int, int)
        Block size along ``y`` and ``x``; the grid size must be a multiple of it.

    Returns
    -------
    xarray.DataArray
        float64 people per coarse cell (NaN where every fine cell is NaN); the total is conserved exactly.
    """
    fy, fx = (factor, factor) if isinstance(factor, int) else factor
    if fy < 1 or fx < 1:
        raise ConfigError(f"aggregate_counts: factor {factor!r} must be a positive integer.")
    if population.sizes["y"] % fy or population.sizes["x"] % fx:
        raise ConfigError(
            f"aggregate_counts: grid {population.sizes['y']}x{population.sizes['x']} is not a multiple of "
            f"{fy}x{fx}; pad or clip the population raster first."
        )
    pop = population.astype("float64")
    total = pop.fillna(0.0).coarsen(y=fy, x=fx).sum()
    valid = pop.notnull().coarsen(y=fy, x=fx).sum()
    out = total.where(valid > 0)
    out.attrs = {**population.attrs, "units": "people", "resampling": "sum (count-conserving)"}
    return out


def nearest_year(population: xr.DataArray, year: int) -> tuple[xr.DataArray, int]:
    """The population layer of ``year`` or, when absent, of the closest available year.

    Parameters
    ----------
    population : xarray.DataArray
        Annual population stack ``(time, y, x)``, or a single ``(y, x)`` layer (used for every year).
    year : int
        Requested year.

    Returns
    -------
    (xarray.DataArray, int)
        The ``(y, x)`` layer and the year actually used (record the substitution when it differs, PRAIS 2026 reporting manual, validation rules
        C5). Ties go to the earlier year.
    """
    if "time" not in population.dims:
        used = int(population.attrs.get("year", year))
        return population, used
    years = [int(y) for y in years_of(population)]
    if not years:
        raise MissingYearError(f"Population input has no years; year {year} is needed for SO2-3.")
    best = _closest_year(years, year, what="population").used
    return population.isel(time=years.index(best)), best


def population_on_class(population: xr.DataArray, classes: xr.DataArray, code: int = -1) -> xr.DataArray:
    """People living on cells of one class (default: degraded), 0 elsewhere, NaN where ``classes`` is no data.

    Parameters
    ----------
    population : xarray.DataArray
        People per cell, ``(y, x)``.
    classes : xarray.DataArray
        -1/0/1 layer (1OAO or status), nodata -32768.
    code : int
        Class whose population is kept.

    Returns
    -------
    xarray.DataArray
        float32 people per cell.
    """
    pop = population.astype("float32").fillna(0.0)
    out = xr.where(classes == code, pop, np.float32(0.0))
    out = out.where(classes != NODATA).astype("float32")
    out.name = "population_exposed"
    out.attrs = {"units": "people", "long_name": "Population living on degraded land"}
    return keep_crs(out, classes)


def signed_population(population: xr.DataArray, classes: xr.DataArray) -> xr.DataArray:
    """Trends.Earth's "Population affected by degradation" band: people per cell, negated where degraded.

    The sign convention is the one of Trends.Earth's code (degraded negative), not of its documentation
    (Trends.Earth (docs/differences.md)). Counts stay float (no Int16 rounding or cap).

    Parameters
    ----------
    population : xarray.DataArray
        People per cell, ``(y, x)``.
    classes : xarray.DataArray
        -1/0/1 layer, nodata -32768 (no data in the result).

    Returns
    -------
    xarray.DataArray
        float32 signed people per cell, NaN where ``classes`` is no data.
    """
    pop = population.astype("float32").fillna(0.0)
    out = xr.where(classes == -1, -pop, pop).where(classes != NODATA).astype("float32")
    out.name = "population_signed"
    out.attrs = {"units": "people", "long_name": "Population affected by degradation (negative where degraded)"}
    return keep_crs(out, classes)


def population_by_class(
    populations: dict[str, xr.DataArray],
    classes: xr.DataArray,
    coverage: Coverage,
    *,
    period: str,
    legend: dict[int, str] | None = None,
) -> pd.DataFrame:
    """Tidy zonal sums of population by class (SO2-3 source table).

    Parameters
    ----------
    populations : dict of str to xarray.DataArray
        ``{"total": ..., "female": ..., "male": ...}`` people per cell on the analysis grid (any subset; when only
        female and male are given, total = female + male).
    classes : xarray.DataArray
        1OAO or status layer (-1/0/1, nodata -32768).
    coverage : openldn.zonal.Coverage
        AOI and zone coverage of the analysis grid.
    period : str
        Label written in the ``period`` column (the population year, e.g. ``"2015"``).
    legend : dict of int to str, optional
        Class labels (default: Degraded / Stable / Improved / No data).

    Returns
    -------
    pandas.DataFrame
        Rows of ``openldn.zonal.zonal_sum_table`` with ``variable`` = ``population_<group>``.
    """
    from openldn.integration.summary import SDG_LABELS
    from openldn.zonal import zonal_sum_table

    pops: dict[str, Any] = dict(populations)
    if "total" not in pops and "female" in pops and "male" in pops:
        pops["total"] = pops["female"].fillna(0) + pops["male"].fillna(0)
    unknown = sorted(set(pops) - set(GROUPS))
    if unknown:
        raise ConfigError(f"population_by_class: unknown group(s) {unknown}; use total, female, male.")
    labels = legend or {k: v for k, v in SDG_LABELS.items() if k in (-1, 0, 1, NODATA)}
    frames = [
        zonal_sum_table(
            pops[g].astype("float64").fillna(0.0), coverage, by=classes, variable=f"population_{g}",
            period=period, legend=labels,
        )
        for g in GROUPS
        if g in pops
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
