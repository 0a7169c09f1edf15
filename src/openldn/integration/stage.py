"""Integration stage of the pipeline: SO1-4 (1OAO, status, false-positive recode) and SO2-3.

Reads ``ctx.layers``: ``lc_degradation/<p>``, ``prod_degradation/<p>``, ``soc_degradation/<p>`` for the baseline and
every reporting period; water comes from the run's area ledger (:mod:`openldn.pipeline.ledger`). Writes layers and rasters ``sdg/<p>``, ``status/<p>``,
``status7/<p>`` and tables ``sdg_degradation``, ``status``, ``population_degraded``, ``subindicator_degradation``
(the three -1/0/1 sub-indicator tables with water split off the same way as SDG, so every SO1 table shares one
land area), and ``sites`` / ``site_shares`` for false-positive, hotspot and brightspot polygons.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.codes import NODATA, STATUS_DTYPE
from openldn.core.periods import Period
from openldn.core.vocab import LandClass, Legend, load_legend
from openldn.integration.fp import polygon_class_shares, read_polygons, recode_from_polygons, site_records
from openldn.integration.options import IntegrationOptions
from openldn.integration.population import (
    GROUPS,
    nearest_year,
    population_by_class,
    population_on_class,
    signed_population,
)
from openldn.integration.sdg import one_out_all_out
from openldn.integration.status import status
from openldn.integration.summary import SDG_LABELS, STATUS7_LABELS
from openldn.pipeline.ledger import AreaLedger, ledger_of

if TYPE_CHECKING:
    from openldn.zonal import PendingTable

__all__ = ["DEGRADATION_LEGEND", "DEG_LEGEND", "S7_LEGEND", "STATUS7_LEGEND", "run"]

#: Legend of -1/0/1 rasters: code -> (label, colour), from openldn/data/legends/degradation.yaml.
DEGRADATION_LEGEND: dict[int, tuple[str, str]] = {c.code: (c.label, c.color)
                                                  for c in load_legend("degradation").classes}
#: Legend of the 7-class status, from openldn/data/legends/status7.yaml.
STATUS7_LEGEND: dict[int, tuple[str, str]] = {c.code: (c.label, c.color) for c in load_legend("status7").classes}


def _as_legend(legend_id: str, name: str, classes: dict[int, tuple[str, str]]) -> Legend:
    """A :class:`~openldn.core.vocab.Legend` for rasters written by this stage (labels and colours)."""
    return Legend(
        id=legend_id, name=name, source=f"openldn.integration:{legend_id}",
        classes=tuple(LandClass(code, re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_"), label, color)
                      for code, (label, color) in classes.items()),
    )


# the legends of the maps: the package data (one colour source for maps, QGIS styles, web layers and charts)
DEG_LEGEND = load_legend("degradation")
S7_LEGEND = load_legend("status7")
_SUB = (("land_cover", "lc_degradation"), ("productivity", "prod_degradation"), ("soil_carbon", "soc_degradation"))


def _options(ctx: Any) -> IntegrationOptions:
    from openldn.core.stage import section_options

    return section_options(ctx.assessment, "integration", IntegrationOptions)


def _resolve(ctx: Any, path: str) -> str:
    resolve = getattr(ctx.assessment, "resolve", None)
    if resolve is not None:
        return str(resolve(path))
    p = Path(path)
    return str(p if p.is_absolute() else Path(getattr(ctx.assessment, "base_dir", Path.cwd())) / p)


def _table(ledger: AreaLedger, classes: xr.DataArray, *, variable: str, period: str,
           legend: dict[int, str]) -> PendingTable:
    """Class-area table with the ledger's water row (one water mask for every table of the run)."""
    return ledger.plan_class_table(classes.astype(STATUS_DTYPE), variable=variable, period=period, legend=legend)


def _stage_rows(ctx: Any, key: str, period: str) -> pd.DataFrame | None:
    """The class-area rows of sub-indicator ``key`` for ``period`` from the table its own stage made (the same
    layer and the same ledger), with the SDG labels; None when that stage left no such rows.

    The -1/0/1 areas of a sub-indicator are computed once, by its stage: the integration's table of the three is
    those rows, not a second pass over the same layers (at 10,000², nine of its sixteen class tables).
    """
    table: pd.DataFrame | None = getattr(ctx, "tables", {}).get(key)
    if table is None:
        return None
    rows = table[(table["variable"] == key) & (table["period"] == period)]
    if rows.empty:
        return None
    labels = rows["class_code"].map(SDG_LABELS).fillna(rows["class_label"]).astype(rows["class_label"].dtype)
    out: pd.DataFrame = rows.assign(class_label=labels).reset_index(drop=True)
    return out


def _georef(ctx: Any, da: xr.DataArray) -> xr.DataArray:
    """Make sure ``da`` carries the analysis grid's CRS (``xr.where`` may drop it)."""
    if da.rio.crs is None and getattr(ctx, "geobox", None) is not None:
        return da.rio.write_crs(ctx.geobox.crs.to_wkt())
    return da


def _write(ctx: Any, key: str, da: xr.DataArray, **kw: Any) -> None:
    ctx.write_raster(key, _georef(ctx, da), **kw)


def _zeros_like(like: xr.DataArray) -> xr.DataArray:
    return xr.zeros_like(like, dtype=STATUS_DTYPE)


def run(ctx: Any) -> None:
    """Run SO1-4 and SO2-3 on a :class:`openldn.pipeline.RunContext`.

    Parameters
    ----------
    ctx : openldn.pipeline.RunContext
        The run context (layers from the land cover, productivity and soil carbon stages).
    """
    from openldn.zonal import compute_tables

    opts = _options(ctx)
    a = ctx.assessment
    baseline = Period.from_user_input(a.baseline, name="baseline")
    reporting = [Period.from_user_input(p) for p in a.reporting]
    periods = [baseline, *reporting]
    ledger = ledger_of(ctx)
    water = ledger.water

    fp_polys = read_polygons(_resolve(ctx, opts.false_positives), required=("reason", "target")) \
        if opts.false_positives else None

    sdg: dict[str, xr.DataArray] = {}
    used: dict[str, list[str]] = {}
    present_of: dict[str, dict[str, xr.DataArray]] = {}
    oaos: dict[str, xr.DataArray] = {}
    for p in periods:
        subs = {name: ctx.layers.get(f"{key}/{p.label}") for name, key in _SUB}
        present = {k: v for k, v in subs.items() if v is not None}
        if not present:
            continue
        like = next(iter(present.values()))
        missing = [k for k in subs if k not in present]
        if missing:
            ctx.substitute(
                f"SDG 15.3.1 {p.label}: sub-indicator(s) {', '.join(missing)} not computed; "
                "1OAO uses the available ones"
            )
        used[p.label] = list(present)
        present_of[p.label] = present
        oaos[p.label] = one_out_all_out(
            *(present.get(k, _zeros_like(like)) for k, _ in _SUB),
            improved_rule=opts.improved_rule, nodata_rule=opts.nodata_rule,
        )
    # every period's layers in one pass over the sub-indicators (then one over the recoded layers)
    ctx.progress("integration", 0, len(periods) + 1, "1OAO of every period")
    # (table key, planned table or its rows, columns to add)
    tables: list[tuple[str, PendingTable | pd.DataFrame, dict[str, str]]] = []
    before: dict[str, xr.DataArray] = {}
    if fp_polys is not None:
        before = ctx.materialize_many({f"sdg_before_recode/{k}": _georef(ctx, v) for k, v in oaos.items()})
        oaos = {k: recode_from_polygons(before[f"sdg_before_recode/{k}"], fp_polys, period=k) for k in oaos}
    # the SDG layers and their area tables in one pass (each chunk's classes summed while in memory)
    sdg_lazy = {k: ctx.as_stored(_georef(ctx, v)) for k, v in oaos.items()}
    sdg_tables = {k: _table(ledger, v, variable="sdg_15_3_1", period=k, legend=SDG_LABELS) for k, v in sdg_lazy.items()}
    ctx.materialize_many({f"sdg/{k}": v for k, v in sdg_lazy.items()}, tables=list(sdg_tables.values()))
    ctx.layers.update({f"sdg/{k}": v for k, v in sdg_lazy.items()})
    for i, p in enumerate(periods):
        if p.label not in oaos:
            continue
        ctx.progress("integration", i, len(periods) + 1, f"1OAO {p.label}")
        present = present_of[p.label]
        if fp_polys is not None:
            key = f"sdg_before_recode/{p.label}"
            _write(ctx, key, before[key], legend=DEG_LEGEND,
                   title=f"SDG 15.3.1 before false-positive recode, {p.label}")
            tables.append(("sdg_degradation", _table(ledger, before[key], variable="sdg_15_3_1_before_recode",
                                                     period=p.label, legend=SDG_LABELS), {}))
        for name, key in _SUB:
            if name in present:
                rows = _stage_rows(ctx, key, p.label)
                tables.append(("subindicator_degradation", rows if rows is not None else
                               _table(ledger, present[name], variable=key, period=p.label, legend=SDG_LABELS), {}))
        layer = ctx.layers[f"sdg/{p.label}"]
        sdg[p.label] = layer
        title = "SDG 15.3.1 baseline" if p is baseline else "SDG 15.3.1 reporting period"
        _write(ctx, f"sdg/{p.label}", layer, legend=DEG_LEGEND, title=f"{title} {p.label}")
        tables.append(("sdg_degradation", sdg_tables[p.label],
                       {"role": "baseline" if p is baseline else "reporting",
                        "sub_indicators": ",".join(used[p.label])}))

    status_layers: dict[str, xr.DataArray] = {}
    if baseline.label in sdg:
        b = sdg[baseline.label]
        todo = [p for p in reporting if p.label in sdg]
        lazy = {f"status/{p.label}": ctx.as_stored(_georef(ctx, status(b, sdg[p.label]))) for p in todo}
        if opts.status == "matrix_and_7class":
            lazy.update({f"status7/{p.label}": ctx.as_stored(_georef(ctx, status(b, sdg[p.label], expanded=True)))
                         for p in todo})
        status_tables = {key: _table(ledger, v, variable=key.split("/")[0], period=key.split("/")[1],
                                     legend=SDG_LABELS if key.startswith("status/") else STATUS7_LABELS)
                         for key, v in lazy.items()}
        # the status layers of every period and their area tables in one pass
        ctx.materialize_many(lazy, tables=list(status_tables.values()))
        ctx.layers.update(lazy)
        for p in todo:
            s3 = ctx.layers[f"status/{p.label}"]
            status_layers[p.label] = s3
            _write(ctx, f"status/{p.label}", s3, legend=DEG_LEGEND, title=f"Land status {p.label}")
            tables.append(("status", status_tables[f"status/{p.label}"], {}))
            if opts.status == "matrix_and_7class":
                s7 = ctx.layers[f"status7/{p.label}"]
                _write(ctx, f"status7/{p.label}", s7, legend=S7_LEGEND, title=f"Expanded land status {p.label}")
                tables.append(("status", status_tables[f"status7/{p.label}"], {}))
    # the tables not summed in a pass (before the false-positive recode; a sub-indicator its stage did not
    # tabulate) in one compute over the stored layers; every table registered in the order it was planned
    computed = iter(compute_tables([t for _, t, _ in tables if not isinstance(t, pd.DataFrame)]))
    for key, t, extra in tables:
        ctx.add_table(key, (t if isinstance(t, pd.DataFrame) else next(computed)).assign(**extra))

    _population(ctx, opts, baseline, reporting, sdg, status_layers, water)
    _sites(ctx, opts, fp_polys, sdg)
    ctx.progress("integration", len(periods) + 1, len(periods) + 1, "done")


def _population(
    ctx: Any, opts: IntegrationOptions, baseline: Period, reporting: list[Period],
    sdg: dict[str, xr.DataArray], status_layers: dict[str, xr.DataArray], water: xr.DataArray | None,
) -> None:
    stacks = {g: ctx.input(f"population_{g}") for g in GROUPS if ctx.has_input(f"population_{g}")}
    if not stacks or baseline.label not in sdg:
        return
    cases = [("baseline", opts.population_baseline_year or baseline.end, sdg[baseline.label], baseline.label)]
    # the latest year: on the last period's own 1OAO map (population_classes: period_sdg) or its status map
    latest_maps = sdg if opts.population_classes == "period_sdg" else status_layers
    if reporting and reporting[-1].label in latest_maps:
        last = reporting[-1]
        cases.append(("latest", opts.population_latest_year or last.end, latest_maps[last.label], last.label))
    for role, year, classes, plabel in cases:
        layers = {}
        for g, stack in stacks.items():
            layer, used = nearest_year(stack, int(year))
            if used != int(year):
                ctx.substitute(f"population_{g} {used} used for {year} (SO2-3 {role})")
            layers[g] = layer
        cls = classes if water is None else xr.where(water, np.int16(NODATA), classes).astype(STATUS_DTYPE)
        t = population_by_class(layers, cls, ctx.coverage, period=str(year))
        t["role"] = role
        t["assessment_period"] = plabel
        t["classes"] = "period_sdg" if role == "baseline" else opts.population_classes
        ctx.add_table("population_degraded", t)
        for g, layer in layers.items():
            exposed = population_on_class(layer, cls, -1)
            _write(ctx, f"population_degraded/{year}/{g}", exposed,
                   title=f"{g.capitalize()} population on degraded land, {year}", units="people")
            if opts.te_population_band:
                _write(ctx, f"population_te_signed/{year}/{g}", signed_population(layer, cls),
                       title=f"{g.capitalize()} population affected by degradation (Trends.Earth sign), {year}",
                       units="people")


def _sites(ctx: Any, opts: IntegrationOptions, fp_polys: Any, sdg: dict[str, xr.DataArray]) -> None:
    frames = []
    shares = []
    for kind, gdf in (
        ("recode", fp_polys),
        ("hotspot", read_polygons(_resolve(ctx, opts.hotspots)) if opts.hotspots else None),
        ("brightspot", read_polygons(_resolve(ctx, opts.brightspots)) if opts.brightspots else None),
    ):
        if gdf is None or not len(gdf):
            continue
        rec = site_records(gdf, kind=kind)
        frames.append(rec)
        if sdg:
            last = list(sdg)[-1]
            layers = {"sdg_15_3_1": sdg[last]}
            for name, key in _SUB:
                if f"{key}/{last}" in ctx.layers:
                    layers[name] = ctx.layers[f"{key}/{last}"]
            sh = polygon_class_shares(gdf, layers, ctx.area)
            sh["kind"] = kind
            sh["period"] = last
            shares.append(sh)
    if frames:
        ctx.add_table("sites", pd.concat(frames, ignore_index=True))
    if shares:
        ctx.add_table("site_shares", pd.concat(shares, ignore_index=True))


# -- the stage declaration (openldn.core.stage; registered in openldn.registry) ---------------------------------
from openldn.core.stage import InputDecl, KeyPattern, Stage, YearNeed  # noqa: E402


def _year_needs(a: Any) -> list[YearNeed]:
    """Population years of SO2-3: the baseline's end and the last reporting period's end (or the options' years)."""
    opts: IntegrationOptions = a.integration
    years = [("baseline", opts.population_baseline_year or a.baseline_period.end)]
    if a.reporting_periods:
        years.append(("latest", opts.population_latest_year or a.reporting_periods[-1].end))
    return [YearNeed(f"population_{g}", y, f"population_{g} for SO2-3 ({role} year)")
            for role, y in years for g in ("total", "female", "male")]

STAGE = Stage(
    name="integration",
    title="SDG 15.3.1 and population on degraded land (SO1-4, SO2-3)",
    run=run,
    options_key="integration",
    options=IntegrationOptions,
    inputs=(
        InputDecl("population_total", "count", "Population counts (people per cell), one band or file per year.",
                  time="annual", valid_range=(0.0, None), units="people per cell"),
        InputDecl("population_female", "count", "Female population counts, one band or file per year.",
                  time="annual", valid_range=(0.0, None), units="people per cell"),
        InputDecl("population_male", "count", "Male population counts, one band or file per year.",
                  time="annual", valid_range=(0.0, None), units="people per cell"),
    ),
    switched_on_by=("land_cover",),
    year_needs=_year_needs,
    tables=(KeyPattern("sdg_degradation"), KeyPattern("subindicator_degradation"), KeyPattern("status"),
            KeyPattern("population_degraded"), KeyPattern("sites"), KeyPattern("site_shares")),
    layers=(KeyPattern("sdg/{period}"), KeyPattern("sdg_before_recode/{period}"), KeyPattern("status/{period}"),
            KeyPattern("status7/{period}"), KeyPattern("population_degraded/{year}/{group}"),
            KeyPattern("population_te_signed/{year}/{group}")),
)
