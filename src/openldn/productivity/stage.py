"""Pipeline stage of land productivity dynamics (SO1-2).

For the baseline and every reporting period, the trend / state / performance windows are derived from the period's
last year *E* (PRAIS 2026 reporting manual, Introduction and §1.2 Step 6, :func:`openldn.core.periods.productivity_windows`); trajectory, state, performance,
LPD and productivity degradation are computed from the ``ndvi`` input (or an imported ``lpd`` map is used), written
as COGs with the windows in their metadata, and shared as layers ``lpd/<period>`` and ``prod_degradation/<period>``.
Tables: ``lpd_by_lc`` (crosstab land cover x LPD, SO1-2.T1/T2) and ``prod_degradation`` (-1/0/1 with the area
ledger's water in its own row, code :data:`openldn.core.codes.WATER`, SO1-2.T3), per period and admin unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from openldn.core.blocks import plane_chunks, where_inside
from openldn.core.codes import NODATA, WATER
from openldn.core.periods import (
    Period,
    ProductivityWindows,
    productivity_windows,
    year_band,
    year_coords,
    years_of,
)
from openldn.core.vocab import Legend, load_legend
from openldn.core.years import closest_year as _closest_year
from openldn.exceptions import ConfigError, MissingYearError
from openldn.land_cover.stage import degradation_table_legend, land_cover_of_year
from openldn.productivity.dynamics import land_productivity_dynamics
from openldn.productivity.lpd import import_lpd, load_lpd_table, lpd_class, lpd_to_degradation
from openldn.productivity.options import ProductivityOptions
from openldn.productivity.performance import land_productivity_units, performance_percentiles, window_mean

__all__ = ["LPD_LEGEND", "TABLE_WATER_CODE", "annual", "period_windows", "run"]

if TYPE_CHECKING:
    from openldn.zonal import PendingTable

#: Class code of the water row of the ``prod_degradation`` table: the one water code (kept name).
TABLE_WATER_CODE = WATER

#: Legends of the LPD and sub-indicator rasters: the package data (openldn/data/legends; one colour source).
LPD_LEGEND: Legend = load_legend("lpd")
_TRAJ_LEGEND = load_legend("productivity_trend")
_PERF_LEGEND = load_legend("productivity_performance")


def annual(da: xr.DataArray, how: str = "mean") -> xr.DataArray:
    """Aggregate a sub-annual series to one value per calendar year (no-op when already annual).

    Parameters
    ----------
    da : xarray.DataArray
        Series with a ``time`` dimension.
    how : {"mean", "max", "sum"}
        Aggregation (PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4: Trends.Earth uses the mean annual NDVI).

    Returns
    -------
    xarray.DataArray
        ``(time, ...)`` with one step per year, at 1 January.
    """
    yrs = years_of(da)
    if np.unique(yrs).size == yrs.size:
        return da
    if how not in ("mean", "max", "sum"):
        raise ConfigError(f"productivity.annual_aggregation={how!r} is unknown; use mean, max or sum.")
    year = xr.DataArray(yrs, dims="time", name="year")
    grouped = da.groupby(year)
    out = getattr(grouped, how)("time", skipna=True)
    if how == "sum":
        out = out.where(da.notnull().groupby(year).any("time"))
    out = out.rename({"year": "time"}).assign_coords(time=year_coords(np.unique(yrs)))
    out.attrs = dict(da.attrs)
    out.attrs["annual_aggregation"] = how
    return out


def period_windows(period: Period, opts: ProductivityOptions) -> ProductivityWindows:
    """Productivity windows of a period from the run options (PRAIS 2026 reporting manual, Introduction and §1.2 Step 6)."""
    return productivity_windows(
        period,
        trend_years=opts.trend_years,
        state_recent_years=opts.state_recent_years,
        performance_years=opts.performance_years,
    )


def _windows_note(meta: dict[str, Any]) -> str:
    """Windows of a period for map titles (the COG tags carry the title; PRAIS 2026 reporting manual, Introduction and §1.2 Step 6)."""
    if "trend_window" not in meta:
        return f" (imported LPD, {meta.get('lpd_source', 'custom')})"
    return (
        f" (trend {meta['trend_window']}, state {meta['state_baseline_window']} vs {meta['state_recent_window']}, "
        f"performance {meta['performance_window']}, {meta.get('lpd_table', '')})"
    )


def _options(ctx: Any) -> ProductivityOptions:
    from openldn.core.stage import section_options

    return section_options(ctx.assessment, "productivity", ProductivityOptions)


def _store_many(ctx: Any, arrays: dict[str, xr.DataArray], tables: list[PendingTable] | None = None
                ) -> dict[str, xr.DataArray]:
    """Materialise ``arrays`` in one pass through the run context when it can (the pipeline's checkpoint store),
    with the area ``tables`` planned on them summed in that pass; else the tables are computed apart."""
    from openldn.zonal import compute_tables

    materialize = getattr(ctx, "materialize_many", None)
    if callable(materialize):
        return dict(materialize(arrays, tables=tables or ()))
    compute_tables(tables or [])
    return dict(arrays)


def _closest(years: np.ndarray, target: int) -> int:
    return _closest_year(years, target, what="land cover").used


def _grid_mask(ctx: Any, like: xr.DataArray) -> xr.DataArray | None:
    cov = getattr(ctx, "coverage", None)
    if cov is None or not hasattr(cov, "aoi_mask"):
        return None
    chunks = plane_chunks(like)
    # dask: lazy, a block per chunk of ``like`` (never a whole-grid array, nor a big constant in the graph)
    data = np.asarray(cov.aoi_mask().values, dtype=bool) if chunks is None else cov.aoi_mask(chunks).data
    return xr.DataArray(data, dims=("y", "x"), coords={"y": like["y"], "x": like["x"]})


def _check_years(ctx: Any, ndvi: xr.DataArray, w: ProductivityWindows, opts: ProductivityOptions) -> None:
    have = {int(y) for y in years_of(ndvi)}
    need = (
        set(w.trend.years)
        | set(w.state_baseline.years)
        | set(w.state_recent.years)
        | set(w.performance.years)
    )
    missing = sorted(need - have)
    present = sorted(need & have)
    n_trend = len(set(w.trend.years) & have)
    if n_trend < opts.min_years or not set(w.state_recent.years) & have:
        raise MissingYearError(
            f"productivity input: period {w.period.label} needs the years {w.trend.label} (trend) and "
            f"{w.state_recent.label} (recent state) but has {n_trend} of the trend years "
            f"(min_years={opts.min_years}) and data for {min(have) if have else '-'}-{max(have) if have else '-'}; "
            "add the missing years or choose periods within the data."
        )
    if missing:
        ctx.substitute(
            f"productivity {w.period.label}: years {missing} of the windows are missing; computed from "
            f"{len(present)} available years"
        )


def _units(
    ctx: Any, w: ProductivityWindows, like: xr.DataArray, source: str = "unccd"
) -> tuple[xr.DataArray, str]:
    """Land productivity units for a performance window: land cover at the window start x soil units."""
    lc = None
    what = ""
    unccd = False
    if source == "input" and ctx.has_input("land_cover"):
        lc_all = ctx.input("land_cover")
        what = "land cover input classes"
    elif "lc_unccd" in ctx.layers:
        lc_all = ctx.layers["lc_unccd"]
        what = "UNCCD land cover"
        unccd = True
    elif ctx.has_input("land_cover"):
        lc_all = ctx.input("land_cover")
        what = "land cover input classes"
    else:
        lc_all = None
    if lc_all is not None:
        if "time" in lc_all.dims:
            yrs = years_of(lc_all)
            y = _closest(yrs, w.performance.start)
            if y != w.performance.start:
                ctx.substitute(
                    f"land cover {y} used for {w.performance.start} (productivity units, {w.period.label})"
                )
            lc = land_cover_of_year(ctx.layers, y) if unccd else year_band(lc_all, y)
            what = f"{what} {y}"
        else:
            lc = lc_all
    if lc is None:
        ctx.substitute(
            f"productivity {w.period.label}: no land cover; performance uses one unit over the area of interest"
        )
        lc = xr.zeros_like(like, dtype=np.int16)
        what = "area of interest (no land cover)"
    soil = ctx.input("soil_units") if ctx.has_input("soil_units") else None
    if soil is not None and "time" in soil.dims:
        soil = soil.isel(time=-1)
    if soil is not None:
        what += " x soil units"
    lc = lc.assign_coords(y=like["y"], x=like["x"])
    if soil is not None:
        soil = soil.assign_coords(y=like["y"], x=like["x"])
    return land_productivity_units(lc, soil), what


def _lc_for_table(ctx: Any, period: Period) -> xr.DataArray | None:
    if "lc_unccd" not in ctx.layers:
        return None
    lc = ctx.layers["lc_unccd"]
    if "time" not in lc.dims:
        return lc
    return land_cover_of_year(ctx.layers, _closest(years_of(lc), period.end))


def _imported(ctx: Any, period: Period, opts: ProductivityOptions) -> xr.DataArray:
    raw = ctx.input("lpd")
    if "time" in raw.dims:
        yrs = years_of(raw)
        if period.end in yrs:
            raw = year_band(raw, period.end)
        elif yrs.size == 1:
            ctx.substitute(f"imported LPD of {int(yrs[0])} used for {period.label}")
            raw = raw.isel(time=0)
        else:
            raise MissingYearError(
                f"input 'lpd': no map for the period {period.label} (its years are {yrs.tolist()}); give one band "
                f"per period labelled with the period's last year ({period.end})."
            )
    return import_lpd(raw, source=opts.lpd_source, nodata=tuple(opts.lpd_nodata), strict=opts.strict_codes)


def run(ctx: Any) -> None:
    """Compute SO1-2 for the baseline and every reporting period, write maps, layers and tables.

    Parameters
    ----------
    ctx : openldn.pipeline.RunContext
        The run context (architecture.md, "Stage contract").
    """
    from openldn.zonal import compute_table_groups, crosstab_area_table

    a = ctx.assessment
    opts = _options(ctx)
    periods: list[Period] = list(a.periods)
    baseline = a.baseline_period
    unccd = load_legend("unccd")
    deg_legend = load_legend("degradation")
    from openldn.pipeline.ledger import ledger_of

    ledger = ledger_of(ctx)  # the run's one water mask and land area
    use_import = ctx.has_input("lpd")
    ndvi = climate = mask = None
    if not use_import:
        raw = ctx.input("ndvi")
        if "time" not in raw.dims:
            raise MissingYearError(
                f"{a.source}: input 'ndvi' has no years; give one band per year (band description or YEAR tag = "
                "the year) or a list of yearly files."
            )
        ndvi = annual(raw, opts.annual_aggregation)
        mask = _grid_mask(ctx, ndvi)
        if mask is not None:
            ndvi = where_inside(ndvi, mask)
        if opts.climate_correction != "none":
            if not ctx.has_input(opts.climate_input):
                raise ConfigError(
                    f"{a.source}: productivity.climate_correction={opts.climate_correction!r} needs the input "
                    f"{opts.climate_input!r}; add it under 'inputs:' or set climate_correction: none."
                )
            climate = annual(ctx.input(opts.climate_input), opts.climate_aggregation)
    lpd_frames: list[PendingTable] = []
    deg_frames: list[PendingTable] = []
    windows_meta: dict[str, Any] = {}
    total = len(periods)
    # one pass over the grid for the sub-indicators of every period: built lazily here, stored together below, so
    # each tile of the vegetation index (and of the land cover units) is read once for the whole stage
    planned: dict[str, tuple[Any, ...]] = {}
    read_back: dict[str, xr.DataArray] = {}  # stored with the pass for the later passes: window means, units
    period_options: dict[str, ProductivityOptions] = {}
    if not use_import:
        assert ndvi is not None
        for p in periods:
            w = period_windows(p, opts)
            _check_years(ctx, ndvi, w, opts)
            meta = w.to_attrs()
            table_id = (
                opts.lpd_table_baseline if (p == baseline and opts.lpd_table_baseline) else opts.lpd_table
            )
            table_ref = str(a.resolve(table_id)) if table_id.endswith((".yaml", ".yml")) else table_id
            table = load_lpd_table(table_ref)
            units, units_what = _units(ctx, w, ndvi.isel(time=0), opts.performance_land_cover)
            period_opts = opts.model_copy(update={"lpd_table": table_ref, "lpd_table_baseline": None})
            # mask=None: ndvi is NaN outside the area of interest already (masking its windows again cost 5 s of
            # thread time at 10,000²); the unit percentiles below are given the mask
            dyn = land_productivity_dynamics(ndvi, period=p, units=units, options=period_opts, climate=climate)
            meta["performance_units"] = units_what
            meta["lpd_table"] = table.id
            read_back[f"productivity_mean/{p.label}"] = window_mean(ndvi, w.performance)
            # stored with the pass: the percentiles' three passes and the performance classes read the units back
            # (derived again, a year of a pixel-interleaved land cover series decoded every band of its tiles:
            # four times per period at 10,000²)
            read_back[f"productivity_units/{p.label}"] = units
            period_options[p.label] = period_opts
            parts = {
                f"productivity_trajectory/{p.label}": (dyn["trajectory"], _TRAJ_LEGEND,
                                                       f"Productivity trajectory {w.trend.label}"),
                f"productivity_state/{p.label}": (dyn["state"], _TRAJ_LEGEND,
                                                  f"Productivity state {w.state_baseline.label} vs "
                                                  f"{w.state_recent.label}"),
                f"productivity_performance/{p.label}": (dyn["performance"], _PERF_LEGEND,
                                                        f"Productivity performance {w.performance.label}"),
            }
            planned[p.label] = (meta, table, {k: (da.assign_attrs(meta), lg, t) for k, (da, lg, t) in parts.items()})
        # pass 1, per tile: trajectory, state and the performance window's mean of every period; pass 2: the
        # performance classes from the stored means (the unit percentiles need every tile: holding the vegetation
        # index for them until the end kept the whole grid in memory)
        ctx.progress("productivity", 0, total, "productivity: trajectory, state and performance of every period")
        per_tile = {k: da for _, _, parts in planned.values() for k, (da, _, _) in parts.items()
                    if not k.startswith("productivity_performance/")}
        stored_all = _store_many(ctx, {**per_tile, **read_back})
        # the unit percentiles of every period, each of their three passes one compute over the stored means
        unit_tables = performance_percentiles(
            [stored_all[f"productivity_mean/{p.label}"] for p in periods],
            [stored_all[f"productivity_units/{p.label}"] for p in periods],
            percentile=opts.performance_percentile,
            mask=mask,
        )
        perf: dict[str, xr.DataArray] = {}
        for p, unit_table in zip(periods, unit_tables, strict=True):
            meta, _, parts = planned[p.label]
            units = stored_all[f"productivity_units/{p.label}"]
            dyn = land_productivity_dynamics(ndvi, period=p, units=units, options=period_options[p.label],
                                             climate=climate,
                                             performance_mean=stored_all[f"productivity_mean/{p.label}"],
                                             performance_table=unit_table)
            key = f"productivity_performance/{p.label}"
            perf[key] = dyn["performance"].assign_attrs(meta)
            parts[key] = (perf[key], *parts[key][1:])
        stored_all.update(_store_many(ctx, perf))
    # the LPD and degradation layers of every period in one pass over the stored sub-indicators
    lpds: dict[str, xr.DataArray] = {}
    degs: dict[str, xr.DataArray] = {}
    lpd: xr.DataArray | None
    for p in periods:
        label = p.label
        if use_import:
            lpd = _imported(ctx, p, opts)
            deg = lpd_to_degradation(lpd, strict=opts.strict_codes)
            meta = {"assessment_period": label, "lpd_source": opts.lpd_source}
        else:
            meta, table, parts = planned[label]
            comb = lpd_class(*(stored_all[key] for key in parts), table=table)
            lpd, deg = (comb, lpd_to_degradation(comb)) if table.output == "lpd5" else (None, comb)
        windows_meta[label] = meta
        if lpd is not None:
            lpds[f"lpd/{label}"] = lpd.assign_attrs({**meta, "legend": "lpd"})
        degs[f"prod_degradation/{label}"] = deg.assign_attrs({**meta, "legend": "degradation"})
    ctx.progress("productivity", 0, total, "productivity: LPD and degradation of every period")
    # the layers and their area tables in one pass (each chunk's classes summed while in memory)
    lpds = {k: ctx.as_stored(v) for k, v in lpds.items()}
    degs = {k: ctx.as_stored(v) for k, v in degs.items()}
    for p in periods:
        lc = _lc_for_table(ctx, p)
        if f"lpd/{p.label}" in lpds and lc is not None:  # no lpd_by_lc table without land cover
            lpd_frames.append(crosstab_area_table.plan(lc, lpds[f"lpd/{p.label}"], ctx.coverage, ctx.area,
                                                       variable="lpd_by_lc", period=p.label, legend_a=unccd,
                                                       legend_b=LPD_LEGEND))
        deg_frames.append(ledger.plan_class_table(degs[f"prod_degradation/{p.label}"].astype(np.int16),
                                                  variable="prod_degradation", period=p.label,
                                                  legend=degradation_table_legend()))
    _store_many(ctx, {**lpds, **degs}, tables=[*lpd_frames, *deg_frames])
    ctx.layers.update({**lpds, **degs})
    for i, p in enumerate(periods):
        ctx.progress("productivity", i, total, f"productivity {p.label}")
        label = p.label
        if not use_import:
            for key, (_, legend, title) in planned[label][2].items():
                ctx.write_raster(key, stored_all[key], legend=legend, title=title)
        deg = ctx.layers[f"prod_degradation/{label}"]
        ctx.write_raster(
            f"prod_degradation/{label}",
            deg,
            legend=deg_legend,
            title=f"Productivity degradation {label}",  # method details: the COG tags
        )
        if f"lpd/{label}" in lpds:
            lpd = ctx.layers[f"lpd/{label}"]
            ctx.write_raster(
                f"lpd/{label}",
                lpd,
                legend=LPD_LEGEND,
                title=f"Land productivity dynamics {label}",
            )
    for key, frame in compute_table_groups({"lpd_by_lc": lpd_frames, "prod_degradation": deg_frames}).items():
        ctx.add_table(key, frame)
    ctx.provenance["productivity"] = {
        "source": f"imported LPD ({opts.lpd_source})" if use_import else "computed from ndvi",
        "options": opts.model_dump(),
        "windows": windows_meta,
        "nodata": NODATA,
    }
    ctx.progress("productivity", total, total, "done")


# -- the stage declaration (openldn.core.stage; registered in openldn.registry) ---------------------------------
from openldn.core.stage import InputDecl, KeyPattern, Stage  # noqa: E402

STAGE = Stage(
    name="productivity",
    title="Land productivity dynamics (SO1-2)",
    run=run,
    options_key="productivity",
    options=ProductivityOptions,
    inputs=(
        InputDecl("ndvi", "continuous", "Annual vegetation index (NDVI, EVI...), one band or file per year, "
                  "physical values after `scale`/`offset`.", time="annual", valid_range=(-1.0, 1.0),
                  units="vegetation index (-1 to 1)"),
        InputDecl("lpd", "categorical", "An existing 5-class land productivity dynamics map (1 declining ... "
                  "5 increasing) used instead of computing it from the vegetation index (one band, or one per period).",
                  time="auto"),
        InputDecl("soil_units", "categorical", "Soil or land units for the productivity performance comparison "
                  "(optional).", time="static"),
    ),
    switched_on_by=("ndvi", "lpd"),
    tables=(KeyPattern("lpd_by_lc", "LPD x land cover per period (SO1-2.T1/T2)"),
            KeyPattern("prod_degradation", "productivity degradation areas per period (SO1-2.T3)")),
    layers=(KeyPattern("lpd/{period}"), KeyPattern("prod_degradation/{period}"),
            KeyPattern("productivity_{part}/{period}")),
)
