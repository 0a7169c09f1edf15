"""SO3-2 population exposed to drought, total, female and male (PRAIS 2026 §3.2; PRAIS 2026 reporting manual §3.2).

Population grids are counts per cell already on the analysis grid (the pipeline aligns ``population_*`` inputs with
the count-conserving rule of :func:`openldn.io.align`, docs/differences.md). Years without a population grid take
the nearest available year (ties go to the later year: "2019 missing -> use 2020"), and each substitution is
returned so that it can be recorded (check C5).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from openldn.core.codes import NODATA, DroughtClass
from openldn.core.periods import year_coords, years_of
from openldn.drought._grid import keep_grid
from openldn.exceptions import GridMismatchError, MissingYearError

__all__ = ["exposed_population", "nearest_years", "population_for_years", "population_in_year"]


def nearest_years(available: list[int], wanted: list[int]) -> dict[int, int]:
    """Map every wanted year to the nearest available year (the later one on a tie).

    Parameters
    ----------
    available : list of int
        Years that have data.
    wanted : list of int
        Years needed.

    Returns
    -------
    dict
        ``{wanted year: year used}``.
    """
    if not available:
        raise MissingYearError("population: no year available: give at least one population grid.")
    return {int(w): min((int(a) for a in available), key=lambda a: (abs(a - w), -a)) for w in wanted}


def population_for_years(pop: xr.DataArray, years: list[int]) -> tuple[xr.DataArray, dict[int, int]]:
    """Population stack with one layer per wanted year, the nearest available year filling the gaps.

    Parameters
    ----------
    pop : xarray.DataArray
        Annual population counts, dims ``(time, y, x)`` (or ``(y, x)`` for a single undated grid).
    years : list of int
        Years needed (e.g. the drought years 2000-2023).

    Returns
    -------
    (xarray.DataArray, dict)
        The stack on ``years`` (time at 1 January) and the substitutions ``{year: year used}`` for the years that
        were filled.
    """
    if "time" not in pop.dims:
        stack = pop.expand_dims(time=year_coords(list(years)))
        return stack, {}
    have = [int(y) for y in years_of(pop)]
    mapping = nearest_years(have, list(years))
    idx = [have.index(mapping[int(y)]) for y in years]
    out = pop.isel(time=idx).assign_coords(time=year_coords(list(years)))
    out.attrs = dict(pop.attrs)
    return out, {y: u for y, u in mapping.items() if y != u}


def population_in_year(pop: xr.DataArray, year: xr.DataArray) -> xr.DataArray:
    """Each cell's population in its own year: ``pop`` at the year given per cell by ``year``.

    Used for the population at maximum drought: ``year`` is the year of the cell's minimum SPI in a window
    (:func:`openldn.drought.classes.min_index_year`).

    Parameters
    ----------
    pop : xarray.DataArray
        Annual population counts, dims ``(time, y, x)`` (time at 1 January, e.g. from
        :func:`population_for_years`), on the grid of ``year``.
    year : xarray.DataArray
        Year per cell, int, dims ``(y, x)``; nodata (-32768) or a year absent from ``pop`` gives NaN.

    Returns
    -------
    xarray.DataArray, [persons]
        float32, dims ``(y, x)``.
    """
    if pop.sizes.get("y") != year.sizes.get("y") or pop.sizes.get("x") != year.sizes.get("x"):
        raise GridMismatchError(
            f"population {dict(pop.sizes)} and the year map {dict(year.sizes)} are not on one grid: align the "
            "population onto the analysis grid first."
        )
    pop = pop.assign_coords(y=year["y"].values, x=year["x"].values)  # same grid: one set of coordinates
    out = xr.full_like(year, np.nan, dtype=np.float32)
    for i, y in enumerate(int(v) for v in years_of(pop)):
        out = xr.where(year == y, pop.isel(time=i, drop=True).astype(np.float32), out)
    out = keep_grid(out.astype(np.float32), year)
    out.name = "population"
    out.attrs = {"long_name": "Population in the year of the cell's minimum index", "units": "persons"}
    return out


def exposed_population(pop: xr.DataArray, classes: xr.DataArray, *, drought_only: bool = True) -> xr.DataArray:
    """Population counts of the cells in drought (classes 1-4), zero elsewhere, nodata where either is missing.

    This is the "population exposed" map of SO3-2; the zonal totals per class come from
    :func:`openldn.zonal.zonal_sum_table` with ``by=classes``.

    Parameters
    ----------
    pop : xarray.DataArray
        Population counts per cell (float), same grid and time axis as ``classes``.
    classes : xarray.DataArray
        Drought classes (int16, nodata -32768).
    drought_only : bool, default True
        Keep only the drought classes 1-4; with False every classified cell keeps its population.

    Returns
    -------
    xarray.DataArray, [persons]
        float32, NaN where the class or the population is missing.
    """
    if pop.sizes.get("y") != classes.sizes.get("y") or pop.sizes.get("x") != classes.sizes.get("x"):
        raise GridMismatchError(
            f"population {dict(pop.sizes)} and drought classes {dict(classes.sizes)} are not on one grid: align "
            "the population onto the analysis grid first."
        )
    pop = pop.assign_coords(y=classes["y"].values, x=classes["x"].values)  # same grid: one set of coordinates
    valid = (classes != NODATA) & pop.notnull()
    keep = classes >= int(DroughtClass.MILD) if drought_only else classes != NODATA
    out = keep_grid(xr.where(valid, xr.where(keep, pop, 0.0), np.nan).astype(np.float32), classes)
    out.name = "population_exposed"
    out.attrs = {"long_name": "Population exposed to drought", "units": "persons"}
    return out
