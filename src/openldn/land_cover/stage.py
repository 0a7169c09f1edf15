"""Pipeline stage of the land cover sub-indicator (SO1-1): layers ``lc_unccd`` and ``lc_degradation/<period>``,
tables ``lc_area`` (SO1-1.T4), ``lc_transitions`` (T5/T6) and ``lc_degradation`` (T7), maps.

Years (PRAIS 2026 reporting manual, Introduction and §1.2 Step 6): the baseline compares its first and last years (2000 -> 2015); each
reporting period compares ``reporting_lc_start`` (2015 in the PRAIS 2026 / Trends.Earth preset; the period's first
year when unset) with its last year. A missing year is replaced by the closest available year within
``max_year_gap`` years, recorded with ``ctx.substitute`` (check C5).

Land area (GPG v2 (Sims et al. 2021) ch. 2; docs/differences.md, §14 C1-C2; differences register D7): the run's area ledger
(:mod:`openldn.pipeline.ledger`) is built here, once the reported years are stored; the degradation table keeps the
ledger's water in its own row (code :data:`openldn.core.codes.WATER`, the water year chosen by
``integration.water_mask_year``), so that improved + stable + degraded + no data is the same land area in every area
table of the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from openldn.core.blocks import isin
from openldn.core.codes import NODATA, WATER
from openldn.core.periods import Period, year_band, years_of
from openldn.core.vocab import (
    LandClass,
    Legend,
    Nesting,
    TransitionMatrix,
    load_legend,
    load_transition_matrix,
)
from openldn.exceptions import ConfigError, LegendError, MissingYearError
from openldn.land_cover.reclassify import check_nesting, reclassify
from openldn.land_cover.transitions import degradation, degradation_by_region, transition_codes

__all__ = [
    "TABLE_WATER_CODE",
    "closest_year",
    "degradation_table_legend",
    "land_cover_of_year",
    "period_years",
    "resolve_option_path",
    "run",
]

#: Class code of water rows in the degradation tables: the one water code (kept name; use core.codes.WATER).
TABLE_WATER_CODE: int = WATER


def degradation_table_legend() -> dict[int, str]:
    """Legend of the degradation tables: -1/0/1 and the water row (not land)."""
    return {-1: "Degraded", 0: "Stable", 1: "Improved", TABLE_WATER_CODE: "Water bodies (not land)"}


def closest_year(available: np.ndarray | list[int], target: int, max_gap: int, what: str) -> int:
    """The available year closest to ``target`` (the earlier one on ties), at most ``max_gap`` years away.

    The rule is :func:`openldn.core.years.closest_year` (one owner); this keeps the stage's call shape.

    Raises
    ------
    MissingYearError
        No year within ``max_gap``.
    """
    from openldn.core.years import closest_year as _closest_year

    return _closest_year(available, target, what=what, max_gap=max_gap).used


def period_years(period: Period, baseline: Period, reporting_lc_start: int | None) -> tuple[int, int]:
    """Initial and final land cover / SOC years of a period (PRAIS 2026 reporting manual, Introduction and §1.2 Step 6)."""
    if period.name == "baseline" or period == baseline:
        return period.start, period.end
    if reporting_lc_start is not None and reporting_lc_start < period.end:
        return int(reporting_lc_start), period.end
    return period.start, period.end


#: Attribute of a stored year layer ``lc_unccd/<year>`` naming the land cover year it holds (the reported year's
#: substitute when that year is missing).
YEAR_ATTR = "land_cover_year"


def land_cover_of_year(layers: Mapping[str, xr.DataArray], year: int) -> xr.DataArray:
    """The UNCCD land cover of ``year`` (a year of the series ``lc_unccd``), for any stage.

    The land cover stage stores every year the run reports as its own 2-D layer (``lc_unccd/<year>``); that layer is
    returned when one holds ``year``, else the series' band. A table or a pass over one year then reads one band:
    the series is stored with all its years in each chunk, so a strip of it holds every year (at 10,000² x 24
    years, 20 to 36 chunks of 12.6 MB per strip of rows).

    Parameters
    ----------
    layers : mapping of str to xarray.DataArray
        The run's layers (``ctx.layers``), with ``lc_unccd``.
    year : int
        A year of the series (chosen with :func:`closest_year`).
    """
    for key, da in layers.items():
        if key.startswith("lc_unccd/") and da.attrs.get(YEAR_ATTR) == int(year):
            return da
    return year_band(layers["lc_unccd"], year)


def _is_file(s: str) -> bool:
    return s.endswith((".yaml", ".yml", ".csv", ".json")) or "/" in s or "\\" in s


def resolve_option_path(ctx: Any, value: str) -> str:
    if _is_file(value):
        return str(ctx.assessment.resolve(value))
    return value


def _nesting(ctx: Any) -> Nesting | dict[int, Nesting]:
    opts = ctx.assessment.land_cover
    spec = opts.nesting
    if isinstance(spec, dict):
        return {int(y): check_nesting(resolve_option_path(ctx, str(v))) for y, v in spec.items()}
    legend = getattr(ctx.assessment.inputs.get("land_cover"), "legend", None)
    if legend and legend != "esa_cci" and (spec is None or spec == "esa_cci__unccd"):
        spec = legend if _is_file(legend) else f"{legend}__unccd"
    return check_nesting(resolve_option_path(ctx, spec or "esa_cci__unccd"))


def load_matrix(ctx: Any, spec: str, national: Legend | None) -> tuple[TransitionMatrix, bool]:
    """Load a transition matrix of the run; True when it is on the national legend (N x N) rather than UNCCD.

    A matrix on the national (custom) legend is applied to the national classes (PRAIS SO1-1.T3 "7 x 7 or N x N").
    """
    path = resolve_option_path(ctx, spec)
    try:
        m = load_transition_matrix(path)
    except LegendError:
        if national is None:
            raise
        m = load_transition_matrix(path, legend=national)
    if sorted(m.legend.codes) == sorted(load_legend("unccd").codes):
        return m, False
    if national is not None and sorted(m.legend.codes) == sorted(national.codes):
        return m, True
    raise LegendError(
        f"Transition matrix {m.source or m.id}: its classes are neither the 7 UNCCD classes nor those of the land "
        "cover legend: write it on one of those legends."
    )


def _regions(
    ctx: Any, like: xr.DataArray, national: Legend | None
) -> tuple[xr.DataArray, dict[int, Any], dict[int, str], bool]:
    """Region raster on the analysis grid, region code -> matrix, region code -> id, matrices on national codes."""
    ropts = ctx.assessment.land_cover.regions
    path = ctx.assessment.resolve(ropts.path)
    ids = list(ropts.matrices)
    codes = {rid: i + 1 for i, rid in enumerate(ids)}
    loaded = {codes[rid]: load_matrix(ctx, m, national) for rid, m in ropts.matrices.items()}
    flags = {f for _, f in loaded.values()}
    if len(flags) > 1:
        raise LegendError(
            "The region matrices mix the UNCCD legend and the national legend: write them all on one legend."
        )
    matrices = {c: m for c, (m, _) in loaded.items()}
    gb = ctx.geobox
    if Path(path).suffix.lower() in (".tif", ".tiff", ".vrt", ".nc"):
        import rioxarray
        from rasterio.enums import Resampling

        src = rioxarray.open_rasterio(path, masked=False).squeeze("band", drop=True)
        reg = src.rio.reproject(gb.crs.to_wkt(), shape=gb.shape, transform=gb.affine, resampling=Resampling.nearest)
        keys = np.array(sorted(int(float(rid)) for rid in codes), dtype=np.int64)
        vals = np.array([codes[next(r for r in codes if int(float(r)) == k)] for k in keys], dtype=np.int16)
        src_codes = np.nan_to_num(reg.values.astype(np.float64), nan=-(2**40)).astype(np.int64)
        pos = np.clip(np.searchsorted(keys, src_codes), 0, keys.size - 1)
        arr = np.where(keys[pos] == src_codes, vals[pos], 0).astype(np.int16)
    else:
        import geopandas as gpd
        from rasterio.features import rasterize

        gdf = gpd.read_file(path).to_crs(gb.crs.to_wkt())
        if ropts.id_field not in gdf.columns:
            raise ConfigError(
                f"Region file {path} has no field {ropts.id_field!r}: set land_cover.regions.id_field to one of "
                f"{', '.join(map(str, gdf.columns))}."
            )
        shapes = []
        for geom, rid in zip(gdf.geometry, gdf[ropts.id_field].astype(str), strict=True):
            if rid not in codes:
                raise ConfigError(
                    f"Region {rid!r} of {path} has no matrix: add it under land_cover.regions.matrices."
                )
            shapes.append((geom, codes[rid]))
        arr = rasterize(shapes, out_shape=gb.shape, transform=gb.affine, fill=0, dtype="int16")
    reg_da = xr.DataArray(arr, dims=("y", "x"), coords={"y": like["y"], "x": like["x"]})
    if like.chunks is not None:
        reg_da = reg_da.chunk({"y": like.chunks[-2], "x": like.chunks[-1]})
    return reg_da, matrices, {c: rid for rid, c in codes.items()}, flags.pop()


def _transition_legend(legend: Legend) -> Legend:
    classes = []
    for a in legend.classes:
        for b in legend.classes:
            color = "#D9D9D9" if a.code == b.code else b.color
            classes.append(LandClass(a.code * 10 + b.code, f"{a.key}__{b.key}", f"{a.label} -> {b.label}", color))
    return Legend(id=f"{legend.id}_transitions", name=f"{legend.name} transitions", classes=tuple(classes))


def _national_classes(raw: xr.DataArray, child: Legend) -> xr.DataArray:
    codes = child.codes
    out = xr.where(isin(raw, codes), raw, NODATA).astype(np.int16)
    out.attrs = {"legend": child.id, "_FillValue": NODATA}
    return out


def run(ctx: Any) -> None:
    """Reclassify the land cover, compute transitions and degradation per period, write maps and tables.

    Parameters
    ----------
    ctx : openldn.pipeline.RunContext
        The run context (architecture.md, "Stage contract").
    """
    from openldn.zonal import class_area_table, compute_table_groups, crosstab_area_table

    a = ctx.assessment
    opts = a.land_cover
    raw = ctx.input("land_cover")
    if "time" not in raw.dims:
        raise MissingYearError(
            "Land cover input has no years: give one band per year with the year as band description, or 'years'."
        )
    nesting = _nesting(ctx)
    unccd = load_legend("unccd")
    parents = {n.parent.id for n in (nesting.values() if isinstance(nesting, dict) else [nesting])}
    if parents != {"unccd"}:
        raise LegendError(
            f"The land cover nesting nests into {', '.join(sorted(parents))}, not the 7 UNCCD classes: nest every "
            "class into unccd."
        )
    ctx.progress("land_cover", 0, 4, "reclassifying land cover")
    series = reclassify(raw, nesting, strict=opts.strict_codes)  # lazy: stored below with the year layers
    years = years_of(series)

    def year_of(target: int, what: str) -> int:
        used = closest_year(years, target, opts.max_year_gap, f"land cover ({what})")
        if used != target:
            ctx.substitute(f"land cover {used} used for {target} ({what})")
        return used

    def lc_at(year: int) -> xr.DataArray:  # the stored year layer (below)
        return land_cover_of_year(ctx.layers, year)

    baseline = a.baseline_period
    pairs: dict[str, tuple[int, int, int, int]] = {}
    targets: set[int] = set(opts.extra_years)
    for p in a.periods:
        t0, t1 = period_years(p, baseline, opts.reporting_lc_start)
        pairs[p.label] = (t0, t1, year_of(t0, f"{p.label} initial"), year_of(t1, f"{p.label} final"))
        targets |= {t0, t1}

    # SO1-1.T4: area per class for each year reported.
    ctx.progress("land_cover", 1, 4, "land cover areas")
    single = nesting if isinstance(nesting, Nesting) else None
    custom = single is not None and not single.source.startswith("openldn:") and single.child.id != "unccd"
    frames = []
    year_used = {t: (year_of(t, "area table") if t not in years else t) for t in sorted(targets)}
    # every year reported stored as its own layer, in one pass: the tables and passes over one year (here and in
    # the later stages, land_cover_of_year) read one band, not strips of the whole series
    from openldn.pipeline.land_area import reported_years
    from openldn.pipeline.ledger import ledger_of

    # and the other years whose land area is reported (a reporting period's first year), for the land area stage;
    # the series and its year layers in one pass over the input (storing the years afterwards re-read the stored
    # series whole, all its years per chunk: 10 s at 10,000² x 24 years)
    extra = sorted(set(reported_years(ctx, [int(v) for v in years])) - set(year_used.values()))
    ctx.layers.update({"lc_unccd": series,
                       **{f"lc_unccd/{t}": year_band(series, y)
                          .assign_attrs({YEAR_ATTR: int(y)})
                          for t, y in [*year_used.items(), *((y, y) for y in extra)]}})
    lc = ctx.layers["lc_unccd"]

    ledger = ledger_of(ctx)  # the run's one water mask and land area (built once, here, from a stored year)
    for t, y in year_used.items():
        frames.append(
            class_area_table.plan(lc_at(y), ctx.coverage, ctx.area, variable="land_cover", period=str(t),
                                  legend=unccd)
        )
        if custom:
            assert single is not None
            nat = _national_classes(year_band(raw, y), single.child)
            frames.append(
                class_area_table.plan(nat, ctx.coverage, ctx.area, variable="land_cover_national", period=str(t),
                                      legend=single.child)
            )
        if opts.write_maps and a.outputs.maps:
            ctx.write_raster(f"lc_unccd/{t}", ctx.layers[f"lc_unccd/{t}"], legend=unccd,
                             title=f"Land cover {t} (UNCCD classes)")

    # Transitions and degradation per period (T5/T6, T7).
    ctx.progress("land_cover", 2, 4, "transitions and degradation")
    national = single.child if custom and single is not None else None
    regions = None
    if opts.regions is not None:
        regions = _regions(ctx, lc.isel(time=0), national)
        on_national = regions[3]
    else:
        matrix, on_national = load_matrix(ctx, opts.transition_matrix, national)

    def national_at(year: int) -> xr.DataArray:
        assert national is not None
        return _national_classes(year_band(raw, year), national)
    deg_legend = load_legend("degradation")
    trans_frames, deg_frames = [], []
    tr_legend = _transition_legend(unccd)
    degs: dict[str, xr.DataArray] = {}
    codes: dict[str, xr.DataArray] = {}
    maps_of: dict[str, tuple[xr.DataArray, ...]] = {}  # the period's (lc0, lc1, m0, m1), for the tables below
    for label, (_t0, _t1, y0, y1) in pairs.items():
        lc0, lc1 = lc_at(y0), lc_at(y1)
        m0, m1 = (national_at(y0), national_at(y1)) if on_national else (lc0, lc1)
        maps_of[label] = (lc0, lc1, m0, m1)
        if regions is None:
            deg = degradation(m0, m1, matrix)
        else:
            deg = degradation_by_region(m0, m1, regions[0], regions[1])
        deg.attrs.update({"initial_year": y0, "final_year": y1, "period": label})
        degs[f"lc_degradation/{label}"] = deg
        if opts.write_maps and a.outputs.maps:
            codes[f"lc_transition/{label}"] = transition_codes(lc0, lc1)
    # every period's layers and their area tables in one pass over the land cover
    degs = {k: ctx.as_stored(v) for k, v in degs.items()}
    for label, (lc0, lc1, m0, m1) in maps_of.items():
        if on_national:
            trans_frames.append(
                crosstab_area_table.plan(m0, m1, ctx.coverage, ctx.area, variable="land_cover_transition_national",
                                         period=label, legend_a=national, legend_b=national)
            )
        trans_frames.append(
            crosstab_area_table.plan(lc0, lc1, ctx.coverage, ctx.area, variable="land_cover_transition",
                                     period=label, legend_a=unccd, legend_b=unccd)
        )
        deg_frames.append(ledger.plan_class_table(degs[f"lc_degradation/{label}"], variable="lc_degradation",
                                                  period=label, legend=degradation_table_legend()))
    stored = ctx.materialize_many({**degs, **codes}, tables=[*frames, *trans_frames, *deg_frames])
    ctx.layers.update(degs)  # already stored: the same layers
    for label in maps_of:
        deg = ctx.layers[f"lc_degradation/{label}"]
        if codes:
            ctx.write_raster(f"lc_transition/{label}", stored[f"lc_transition/{label}"], legend=tr_legend,
                             title=f"Land cover change {label}")  # the years: COG tags
            ctx.write_raster(f"lc_degradation/{label}", deg, legend=deg_legend,
                             title=f"Land cover degradation {label}")
    # the stage's tables, summed in the pass above (each chunk of the land cover read once for all of them)
    groups = {"lc_area": frames, "lc_transitions": trans_frames, "lc_degradation": deg_frames}
    for key, frame in compute_table_groups(groups).items():
        ctx.add_table(key, frame)
    ctx.provenance["land_cover"] = {
        "nesting": {str(k): v.source for k, v in nesting.items()} if isinstance(nesting, dict) else nesting.source,
        "transition_matrix_legend": "national" if on_national else "unccd",
        "transition_matrix": matrix.source if regions is None else {
            regions[2][c]: m.source for c, m in regions[1].items()
        },
        "years": {k: {"initial": v[2], "final": v[3]} for k, v in pairs.items()},
        "water_for_tables": ledger.source,
    }
    ctx.progress("land_cover", 4, 4, "done")


# -- the stage declaration (openldn.core.stage; registered in openldn.registry) ---------------------------------
from openldn.core.stage import InputDecl, KeyPattern, Stage, YearNeed  # noqa: E402
from openldn.land_cover.options import LandCoverOptions  # noqa: E402


def _check(a: Any, inputs: Any) -> list[str]:
    """Codes of the land cover input that its legend (nesting) does not define, when they would stop the run."""
    from types import SimpleNamespace

    from openldn.io.checks import present_codes
    from openldn.land_cover._lookup import input_nodata_codes

    da = inputs.get("land_cover")
    if da is None:
        return []
    shim = SimpleNamespace(assessment=a)
    nest = _nesting(shim)
    nestings = list(nest.values()) if isinstance(nest, dict) else [nest]
    single = nest if isinstance(nest, Nesting) else None
    custom = single is not None and not single.source.startswith("openldn:") and single.child.id != "unccd"
    opts = a.land_cover
    specs = list(opts.regions.matrices.values()) if opts.regions is not None else [opts.transition_matrix]
    for spec in specs:  # the transition matrices load (symbols, classes) as run loads them
        load_matrix(shim, spec, single.child if custom and single is not None else None)
    if not a.land_cover.strict_codes:
        return []
    known: set[int] = set(input_nodata_codes(da))
    for n in nestings:
        known |= {int(c) for c in n.child.codes} | {int(n.child.nodata), *(int(c) for c in n.child.extra_nodata)}
    values = present_codes(da)  # listed by the input checks' scan (16-bit integers), else read here
    if values is None:
        values = _unique_values(da)
    present = {int(v) for v in values if np.isfinite(v) and float(v).is_integer()}
    bad = sorted(present - known)
    if not bad:
        return []
    legend = getattr(a.inputs.get("land_cover"), "legend", None) or "esa_cci"
    shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
    return [f"{da.attrs.get('source', 'land cover')} (inputs.land_cover): code(s) {shown} are not in the legend "
            f"{legend!r}: add them to a national legend and nesting, or set land_cover.strict_codes: false to treat "
            "them as no data."]


def _unique_values(da: xr.DataArray) -> np.ndarray:
    """Distinct values of a (possibly dask-backed) raster, one block at a time (memory bounded by a block)."""
    import dask

    from openldn.zonal import distinct_values

    data = da.data
    if not hasattr(data, "to_delayed"):
        return distinct_values(np.asarray(data))
    parts = dask.compute(*[dask.delayed(distinct_values)(b) for b in data.to_delayed().ravel()])
    return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=da.dtype)


def _year_needs(a: Any) -> list[YearNeed]:
    """Land cover years of every period's comparison (what ``run`` will ask ``closest_year`` for)."""
    opts: LandCoverOptions = a.land_cover
    baseline = a.baseline_period
    needs = []
    for p in a.periods:
        t0, t1 = period_years(p, baseline, opts.reporting_lc_start)
        needs += [YearNeed("land_cover", t0, f"land cover, start of {p.label}", opts.max_year_gap),
                  YearNeed("land_cover", t1, f"land cover, end of {p.label}", opts.max_year_gap)]
    return needs

STAGE = Stage(
    name="land_cover",
    title="Land cover (SO1-1)",
    run=run,
    options_key="land_cover",
    options=LandCoverOptions,
    inputs=(
        InputDecl("land_cover", "categorical", "Land cover maps, one band or file per year, in the legend given by "
                  "`legend` (ESA CCI, CGLS-LC100, UNCCD or a national legend file).", time="annual"),
    ),
    switched_on_by=("land_cover",),
    year_needs=_year_needs,
    check=_check,
    tables=(KeyPattern("lc_area", "UNCCD class areas per year (SO1-1.T4)"),
            KeyPattern("lc_transitions", "transition areas per period (SO1-1.T5/T6)"),
            KeyPattern("lc_degradation", "land cover degradation areas per period (SO1-1.T7)")),
    layers=(KeyPattern("lc_unccd"), KeyPattern("lc_unccd/{year}"), KeyPattern("lc_degradation/{period}"),
            KeyPattern("lc_transition/{period}")),
)
