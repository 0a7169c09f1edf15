"""Drought stage of the pipeline: SO3-1 hazard, SO3-2 exposure, SO3-3 vulnerability.

Inputs: ``precipitation`` (monthly; ``pet`` too for SPEI) **or** a precomputed index ``spi`` / ``spei`` (monthly
stacks, of which the value of ``drought.month`` is taken, or annual stacks such as the December SPI-12 of each year),
``population_total`` / ``_female`` / ``_male`` (annual counts, optional), the DVI factor table of the options
(optional).

The index is computed (or read) on the input's **own grid** (cropped to the analysis extent plus one cell), as the
GMID / CHIRPS products are, and the annual intensity classes are then put on the analysis grid by nearest neighbour
(PRAIS 2026 reporting manual §3.2; index arithmetic when both grids share a CRS, else :func:`openldn.io.align`). Outputs:

* layer ``drought_class`` (time, y, x), int16 classes 0-4 per year (nodata where the year's month is missing);
* rasters ``drought_class/<year>`` and ``drought_max/<window>`` (highest intensity over all years of each window)
  and ``drought_population_max/<window>`` (people in drought at the window's highest intensity, the population of
  the year of each cell's minimum index by default, ``drought.population_year``; no data on water);
* tables ``drought_area`` (class areas per year, water split off as code -2 when land cover is available),
  ``drought_population`` (population per class, year and group; water's population as code -2, never exposed,
  ``drought.exclude_water``), ``dvi``, ``dvi_trend``, ``dvi_method``;
* with ``dvi_grids`` (Tier 3 gridded factors): layer ``dvi`` and rasters ``dvi/<first year>``, ``dvi/<last year>``
  (or ``dvi/static``), zone means (area-weighted) in the ``dvi`` table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.codes import NODATA, WATER
from openldn.core.periods import Period, year_coords, years_of
from openldn.drought.classes import (
    DROUGHT_LABELS,
    annual_index,
    drought_class,
    drought_legend,
    max_intensity,
    min_index_year,
)
from openldn.drought.classes import drought_windows as _windows
from openldn.drought.dvi import (
    dvi_grid,
    dvi_method_table,
    dvi_table,
    dvi_trend,
    load_factor_catalogue,
    read_factor_table,
)
from openldn.drought.exposure import exposed_population, population_for_years, population_in_year
from openldn.drought.options import DroughtOptions
from openldn.drought.spi import spei, spi
from openldn.exceptions import ConfigError, MissingYearError
from openldn.pipeline.ledger import ledger_of

__all__ = ["WATER", "run"]

_GROUPS = ("total", "female", "male")


def _options(ctx: Any) -> DroughtOptions:
    from openldn.core.stage import section_options

    return section_options(ctx.assessment, "drought", DroughtOptions)


def _native_crop(raw: xr.DataArray, geobox: Any) -> xr.DataArray:
    """``raw`` cropped (lazily, by index) to the analysis extent plus one cell on each side."""
    from openldn.io import crop_to

    return crop_to(raw, geobox)


def _index(ctx: Any, opts: DroughtOptions) -> tuple[xr.DataArray, bool]:
    """Monthly SPI/SPEI on the precipitation grid (cropped) -> (index, native)."""
    raw = getattr(ctx, "inputs_raw", {}).get("precipitation")
    native = raw is not None and "time" in raw.dims
    pr = _native_crop(raw, ctx.geobox) if raw is not None and native else ctx.input("precipitation")
    if native and pr.chunks is not None:
        pr = pr.chunk({"time": -1})
    if opts.index == "spei":
        if not ctx.has_input("pet"):
            raise ConfigError(
                f"{ctx.assessment.source}: drought.index is 'spei' but no 'pet' input is given; add inputs.pet "
                "(monthly PET, mm) or use index: spi."
            )
        pet_raw = getattr(ctx, "inputs_raw", {}).get("pet")
        pet = _native_crop(pet_raw, ctx.geobox) if native and pet_raw is not None else ctx.input("pet")
        return spei(pr, pet, opts.scale, opts.calibration, opts.distribution, months=[opts.month]), native
    dist = "gamma" if opts.distribution == "loglogistic" else opts.distribution
    return spi(pr, opts.scale, opts.calibration, dist, months=[opts.month]), native


#: Largest |SPI| / |SPEI| accepted from a precomputed input (the reference implementations clip to 3.09; GMID
#: stores values to about 5). Anything larger is a scaled product (Trends.Earth assets store SPI x 1000).
PRECOMPUTED_MAX_ABS = 10.0
#: Decimals kept of a precomputed index (float32 carries about 7 significant digits).
PRECOMPUTED_DECIMALS = 6


def _precomputed_annual(ctx: Any, opts: DroughtOptions, years: list[int]) -> tuple[xr.DataArray, bool]:
    """Annual index from a precomputed ``spi`` / ``spei`` raster input -> (annual index, native grid).

    Monthly stacks (bands ``YYYY-MM``) give the value of ``drought.month`` of each year; annual stacks (bands
    ``YYYY``) are taken as the annual index itself (e.g. the December SPI-12 of each year).
    """
    name = opts.index
    src = getattr(ctx.assessment, "source", "<run file>")
    raw = getattr(ctx, "inputs_raw", {}).get(name)
    native = raw is not None
    da = _native_crop(raw, ctx.geobox) if raw is not None else ctx.input(name)
    if "time" not in da.dims:
        raise ConfigError(
            f"{src}: input {name!r} has no time axis: give one band per year (band descriptions YYYY, or "
            f"inputs.{name}.years) or per month (YYYY-MM)."
        )
    fill = da.attrs.get("_FillValue", da.encoding.get("_FillValue"))
    da = da.astype(np.float64)
    if fill is not None and np.isfinite(fill):
        da = da.where(da != fill)
    # to 1e-6: a scaled integer product (SPI x 1000 read with scale 0.001 in float32, -1500 -> -1.5000001) keeps
    # its exact class bounds (-1.5 is moderate under lower_inclusive, as in Trends.Earth)
    da = da.round(PRECOMPUTED_DECIMALS)
    t = pd.DatetimeIndex(da["time"].values)
    kind = da.attrs.get("time_kind") or ("annual" if t.year.is_unique else "monthly")
    if kind == "monthly":
        annual = annual_index(da, month=opts.month, years=years)
    else:
        have = [int(y) for y in t.year]
        annual = da.assign_coords(time=year_coords(have)).reindex(time=year_coords(years))
        annual.attrs["missing_years"] = [y for y in years if y not in have]
    vmax = float(abs(annual).max(skipna=True).values) if annual.size else 0.0
    if np.isfinite(vmax) and vmax > PRECOMPUTED_MAX_ABS:
        raise ConfigError(
            f"{src}: input {name!r} has values up to {vmax:g}, not a standardised index (about -3 to 3): if it is "
            f"stored scaled (e.g. SPI x 1000 as in Trends.Earth assets) set inputs.{name}.scale: 0.001."
        )
    annual.attrs.update(month=opts.month if kind == "monthly" else None, source=f"input {name}")
    return annual, native


def _annual(ctx: Any, opts: DroughtOptions, years: list[int]) -> tuple[xr.DataArray, bool, str]:
    """The annual drought index -> (annual index, native grid, what it came from)."""
    other = "spei" if opts.index == "spi" else "spi"
    src = getattr(ctx.assessment, "source", "<run file>")
    if ctx.has_input(other) and not ctx.has_input(opts.index):
        raise ConfigError(
            f"{src}: input {other!r} is given but drought.index is {opts.index!r}: set drought.index: {other} to "
            f"use it, or give inputs.{opts.index}."
        )
    if ctx.has_input(opts.index):
        if ctx.has_input("precipitation"):
            raise ConfigError(
                f"{src}: both inputs.precipitation and inputs.{opts.index} are given: keep one (the precomputed "
                f"{opts.index.upper()} is used as it is; precipitation is standardised by openldn)."
            )
        annual, native = _precomputed_annual(ctx, opts, years)
        return annual, native, f"input {opts.index}"
    index, native = _index(ctx, opts)
    annual = annual_index(index, month=opts.month, years=years)
    return annual, native, "precipitation"


def _nearest_same_crs(classes: xr.DataArray, geobox: Any) -> xr.DataArray | None:
    """Nearest-neighbour copy of ``classes`` onto ``geobox`` when both share a CRS (None otherwise)."""
    try:
        from pyproj import CRS

        crs = classes.rio.crs
        same = crs is not None and CRS.from_user_input(crs.to_wkt()).equals(CRS.from_user_input(geobox.crs.to_wkt()))
    except Exception:
        return None
    if not same or classes.sizes["x"] < 2 or classes.sizes["y"] < 2:
        return None
    aff = geobox.affine
    ny, nx = geobox.shape
    xc = aff.c + aff.a * (np.arange(nx) + 0.5)
    yc = aff.f + aff.e * (np.arange(ny) + 0.5)
    idx = {}
    for dim, centres in (("x", xc), ("y", yc)):
        c = np.asarray(classes[dim].values, dtype=float)
        step = float(c[1] - c[0])
        pos = np.floor((centres - (c[0] - step / 2.0)) / step).astype(np.int64)
        pos[(pos < 0) | (pos >= c.size)] = c.size  # the padded nodata cell
        idx[dim] = pos
    padded = classes.pad({"x": (0, 1), "y": (0, 1)}, constant_values=NODATA)
    from openldn.io import attach_grid

    out = padded.isel(x=idx["x"], y=idx["y"]).astype(classes.dtype)
    out.attrs = dict(classes.attrs)
    return attach_grid(out, geobox)


def _on_grid(ctx: Any, classes: xr.DataArray, native: bool) -> xr.DataArray:
    """Classes on the analysis grid: nearest neighbour (PRAIS 2026 reporting manual §3.2)."""
    if not native:
        return classes
    classes.attrs["_FillValue"] = NODATA
    out = _nearest_same_crs(classes, ctx.geobox)
    if out is None:
        from openldn.io import align

        out = align(classes, ctx.geobox, kind="categorical")
    return ctx.rechunk(out) if hasattr(ctx, "rechunk") else out


def _water_masks(ctx: Any, years: list[int]) -> dict[int, xr.DataArray]:
    """The run's one water mask (area ledger, ``integration.water_mask_year``) for every year; {} without water."""
    water = ledger_of(ctx).water
    return {} if water is None else dict.fromkeys(years, water)


def _populations(ctx: Any, years: list[int], like: xr.DataArray) -> dict[str, xr.DataArray]:
    pops: dict[str, xr.DataArray] = {}
    ctx_y, ctx_x = like["y"].values, like["x"].values
    for g in _GROUPS:
        name = f"population_{g}"
        if not ctx.has_input(name):
            continue
        stack, subs = population_for_years(ctx.input(name), years)
        stack = stack.assign_coords(y=ctx_y, x=ctx_x)
        for y, used in sorted(subs.items()):
            ctx.substitute(f"{name}: {used} used for {y} (nearest available year; SO3-2)")
        pops[g] = stack
    if "total" not in pops and "female" in pops and "male" in pops:
        pops["total"] = pops["female"].fillna(0.0) + pops["male"].fillna(0.0)
    return pops


def run(ctx: Any) -> None:
    """Run SO3-1, SO3-2 and SO3-3 on a :class:`openldn.pipeline.RunContext`.

    Parameters
    ----------
    ctx : openldn.pipeline.RunContext
        The run context (inputs ``precipitation``, optional ``population_*``; layer ``lc_unccd`` if present).
    """
    from openldn.zonal import zonal_sum_table

    opts = _options(ctx)
    years = Period.from_user_input(opts.years).years
    ctx.progress("drought", 0, 4, f"{opts.index.upper()}-{opts.scale}")
    annual, native, source = _annual(ctx, opts, years)
    for y in annual.attrs.get("missing_years", []):
        what = f"month {opts.month:02d} of {y}" if annual.attrs.get("month") else str(y)
        ctx.substitute(f"{source}: {what} is not in the data; drought classes of {y} are no data")
    classes = _on_grid(ctx, drought_class(annual, boundaries=opts.class_boundaries), native)
    classes = classes.assign_coords(time=year_coords(years))
    if source == "precipitation":
        classes.attrs.update(
            long_name=f"Drought intensity class ({opts.index.upper()}-{opts.scale}, month {opts.month})",
            calibration=opts.calibration, distribution=opts.distribution,
        )
    else:
        classes.attrs.update(long_name=f"Drought intensity class (precomputed {opts.index.upper()}, {source})")
    classes.attrs.update(legend="drought", _FillValue=NODATA, boundaries=opts.class_boundaries, index_source=source)
    ctx.layers["drought_class"] = classes
    classes = ctx.layers["drought_class"]
    legend = drought_legend()
    ctx.progress("drought", 1, 4, "drought classes")

    # SO3-1: maps and class areas per year
    water = _water_masks(ctx, years)
    labels = dict(DROUGHT_LABELS)
    if water:
        labels[WATER] = "Water body"
    frames = []
    for i, y in enumerate(years):
        cy = classes.isel(time=i, drop=True)
        ctx.write_raster(f"drought_class/{y}", cy, legend=legend, title=f"Drought intensity {y}")
        # the water row is the area ledger's (one water mask for every table of the run)
        frames.append(ledger_of(ctx).class_table(cy, variable="drought_class", period=str(y), legend=labels))
    ctx.add_table("drought_area", pd.concat(frames, ignore_index=True))

    first = opts.window_start if opts.window_anchor == "window_start" else years[0]
    windows = [w for w in _windows(first, years[-1], length=opts.window_length) if w.end >= years[0]]
    maxima = max_intensity(classes, windows)
    for w in windows:
        ctx.write_raster(f"drought_max/{w.label}", maxima.sel(period=w.label, drop=True), legend=legend,
                         title=f"Highest drought intensity {w.label}")
    ctx.progress("drought", 2, 4, "population exposure")

    # SO3-2: population per class, year and group
    pops = _populations(ctx, years, classes) if opts.population else {}
    if pops:
        # water is not exposed: its population is reported as water (code -2), so the table still sums to the
        # whole population of the area (drought.exclude_water; one water mask, the area ledger's)
        ledger = ledger_of(ctx) if opts.exclude_water else None
        water_mask = ledger.water if ledger is not None else None
        pop_labels = dict(DROUGHT_LABELS)
        if water_mask is not None:
            pop_labels[WATER] = "Water body"
        pframes = []
        for i, y in enumerate(years):
            cy = classes.isel(time=i, drop=True)
            by = ledger.with_water(cy) if ledger is not None and water_mask is not None else cy
            for g in _GROUPS:
                if g not in pops:
                    continue
                py = pops[g].isel(time=i, drop=True).astype("float64").fillna(0.0)
                pframes.append(
                    zonal_sum_table(py, ctx.coverage, by=by, variable=f"population_{g}", period=str(y),
                                    legend=pop_labels)
                )
        ctx.add_table("drought_population", pd.concat(pframes, ignore_index=True))
        total = pops["total"]
        max_years = None
        if opts.population_year == "min_index":
            max_years = _on_grid(ctx, min_index_year(annual, windows), native)
            max_years = max_years.assign_coords(y=classes["y"].values, x=classes["x"].values)
        for w in windows:
            in_w = [i for i, y in enumerate(years) if w.contains(y)]
            if not in_w:
                continue
            if max_years is not None:
                at_max = population_in_year(total.isel(time=in_w), max_years.sel(period=w.label, drop=True))
            else:
                at_max = total.isel(time=in_w[-1], drop=True)
            exposed = exposed_population(at_max, maxima.sel(period=w.label, drop=True))
            if water_mask is not None:
                exposed = exposed.where(~water_mask.assign_coords(y=exposed["y"].values, x=exposed["x"].values))
            ctx.write_raster(f"drought_population_max/{w.label}", exposed, units="persons",
                             title=f"Population in drought at the highest intensity {w.label}")
    ctx.progress("drought", 3, 4, "vulnerability")

    # SO3-3: DVI from the factor table (Tier 1-3) and from gridded factors (Tier 3)
    dvi_frames = []
    if opts.dvi_factors:
        resolve = getattr(ctx.assessment, "resolve", None)
        path = resolve(opts.dvi_factors) if resolve else opts.dvi_factors
        cat_path = (resolve(opts.dvi_catalogue) if resolve else opts.dvi_catalogue) if opts.dvi_catalogue else None
        catalogue = load_factor_catalogue(cat_path)
        factors = read_factor_table(path, catalogue=catalogue)
        table = dvi_table(factors, catalogue=catalogue, weights=opts.dvi_weights, end_year=opts.dvi_end_year)
        if table["value"].isna().all():
            raise MissingYearError(
                f"DVI factor table {path}: no year has a value for all three components: give at least one "
                "varying factor per component."
            )
        dvi_frames.append(table)
        ctx.add_table("dvi_method", dvi_method_table(factors, catalogue=catalogue))
    if opts.dvi_grids:
        dvi_frames.append(_dvi_from_grids(ctx, opts))
    if dvi_frames:
        table = pd.concat(dvi_frames, ignore_index=True)
        ctx.add_table("dvi", table)
        ctx.add_table("dvi_trend", dvi_trend(table, tolerance=opts.dvi_trend_tolerance))
    ctx.progress("drought", 4, 4, "done")


def _dvi_from_grids(ctx: Any, opts: DroughtOptions) -> pd.DataFrame:
    """Tier 3 DVI from gridded factors: maps of the first and last year, area-weighted means per zone."""
    from openldn.io import align, open_raster
    from openldn.zonal import zonal_mean_table

    resolve = getattr(ctx.assessment, "resolve", None)
    catalogue = load_factor_catalogue(
        (resolve(opts.dvi_catalogue) if resolve else opts.dvi_catalogue) if opts.dvi_catalogue else None
    )
    raw = {f: open_raster(resolve(p) if resolve else p) for f, p in opts.dvi_grids.items()}
    years = sorted({int(y) for da in raw.values() if "time" in da.dims for y in years_of(da)})
    grids = {}
    for f, da in raw.items():
        g = align(da, ctx.geobox, kind="continuous")
        if years and "time" in g.dims:
            g, subs = population_for_years(g, years)
            for y, used in sorted(subs.items()):
                ctx.substitute(f"DVI factor {f}: {used} used for {y} (nearest available year; SO3-3)")
        grids[f] = ctx.rechunk(g) if hasattr(ctx, "rechunk") else g
    dvi = dvi_grid(grids, catalogue=catalogue, weights=opts.dvi_weights)
    like = next(iter(grids.values()))
    dvi = dvi.assign_coords(y=like["y"].values, x=like["x"].values)
    if "time" in dvi.dims:
        ctx.layers["dvi"] = dvi
        dvi = ctx.layers["dvi"]
        for i in sorted({0, dvi.sizes["time"] - 1}):
            y = int(years_of(dvi)[i])
            ctx.write_raster(f"dvi/{y}", dvi.isel(time=i, drop=True), units="1", title=f"Drought vulnerability {y}")
        label = None
    else:
        ctx.write_raster("dvi/static", dvi, units="1", title="Drought vulnerability")
        label = ""
    tab = zonal_mean_table(dvi.astype("float64"), ctx.coverage, ctx.area, variable="dvi_total", period=label)
    tab["group"] = "total"
    return tab


# -- the stage declaration (openldn.core.stage; registered in openldn.registry) ---------------------------------
from openldn.core.stage import InputDecl, KeyPattern, Stage  # noqa: E402

STAGE = Stage(
    name="drought",
    title="Drought hazard, exposure and vulnerability (SO3)",
    run=run,
    options_key="drought",
    options=DroughtOptions,
    inputs=(
        InputDecl("precipitation", "continuous", "Monthly precipitation in mm, one band per month (band "
                  "descriptions YYYY-MM).", time="monthly", valid_range=(0.0, None), units="mm"),
        InputDecl("pet", "continuous", "Monthly potential evapotranspiration in mm, for SPEI.", time="monthly",
                  valid_range=(0.0, None), units="mm"),
        InputDecl("spi", "continuous", "Precomputed SPI used instead of precipitation: one band per year (YYYY, e.g. "
                  "December SPI-12) or per month (YYYY-MM); SPI x 1000 needs `scale: 0.001`.", time="auto",
                  valid_range=(-10.0, 10.0), units="standard deviations"),
        InputDecl("spei", "continuous", "Precomputed SPEI, as for `spi` (with `drought.index: spei`).", time="auto",
                  valid_range=(-10.0, 10.0), units="standard deviations"),
    ),
    switched_on_by=("precipitation", "spi", "spei"),
    tables=(KeyPattern("drought_area"), KeyPattern("drought_population"), KeyPattern("dvi"),
            KeyPattern("dvi_trend"), KeyPattern("dvi_method")),
    layers=(KeyPattern("drought_class"), KeyPattern("drought_class/{year}"), KeyPattern("drought_max/{window}"),
            KeyPattern("drought_population_max/{window}"), KeyPattern("dvi"), KeyPattern("dvi/{year}")),
)
