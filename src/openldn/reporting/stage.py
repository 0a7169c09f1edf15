"""Reporting stage (last stage of ``openldn run``): PRAIS tables, exports, map styles and PNGs, HTML report.

Writes under ``ctx.out_dir``:

* ``report/prais_tables.xlsx`` (About sheet + a sheet per PRAIS table), ``report/csv/<code>.csv``,
  ``report/openldn-run.json`` (every table + provenance; schema ``schemas/openldn-run.schema.json``);
* next to every COG of ``ctx.outputs``: ``<name>.qml`` (QGIS style) and ``<name>.png`` (map with title, legend,
  geodesic scale bar and admin boundaries);
* ``report/report.html``: the self-contained report, and ``report/report.pdf`` (headless Chromium; skipped with a
  warning when Chromium is absent).

Tables are validated (V1-V3, C1-C8) before anything is written; a broken rule raises
:class:`~openldn.exceptions.PRAISValidationError` naming the table, the row and the rule.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np

from openldn.i18n import DEFAULT_LANGUAGE, N_, _, current_language
from openldn.reporting.prais import PRAISReport, build_report

__all__ = ["EMBED_PREFIXES", "NO_PNG_PREFIXES", "build_run_report", "continuous_ranges", "map_caption", "map_images",
           "run", "site_map"]

#: Maps embedded in the HTML report (key prefixes); the others are listed with links to their files.
EMBED_PREFIXES = ("sdg/", "sdg_before_recode/", "status/", "status7/", "lc_degradation/", "prod_degradation/",
                  "soc_degradation/", "lpd/", "population_degraded/", "drought_max/", "drought_population_max/",
                  "lc_unccd/", "agreement/", "confidence/")
#: Intermediate layers (annual drought classes, productivity components, SOC change, LC transition codes) get a
#: QGIS style but no PNG, to keep the report stage fast; every indicator map gets both.
NO_PNG_PREFIXES = ("drought_class/", "productivity_trajectory/", "productivity_state/", "productivity_performance/",
                   "soc_change/", "lc_transition/")
#: Order of the maps in the report (key prefixes); others follow.
_MAP_ORDER = ("sdg/", "status/", "status7/", "sdg_before_recode/", "lc_degradation/", "prod_degradation/",
              "soc_degradation/", "lpd/", "population_degraded/", "drought")


def _opt(ctx: Any, name: str, default: Any = None) -> Any:
    integ = getattr(ctx.assessment, "integration", None)
    if integ is None:
        return default
    if isinstance(integ, dict):
        return integ.get(name, default)
    return getattr(integ, name, default)


def build_run_report(ctx: Any) -> PRAISReport:
    """Build and validate the PRAIS tables of a run context.

    Parameters
    ----------
    ctx : openldn.pipeline.RunContext
        Run context after every other stage.

    Returns
    -------
    PRAISReport
    """
    from openldn.core.periods import Period
    from openldn.pipeline.ledger import ledger_of
    from openldn.reporting.accuracy_section import accuracy_confidence

    a = ctx.assessment
    baseline = Period.from_user_input(a.baseline)
    year = baseline.end if _opt(ctx, "water_mask_year", "baseline_initial") == "baseline_final" else baseline.start
    # the one land area of the run: every percentage divides by it (a context holding only tables, as a report
    # rebuilt from a finished run's CSVs, has no grid: its land areas come from the land_area table)
    has_grid = getattr(ctx, "area", None) is not None and getattr(ctx, "coverage", None) is not None
    ledger = ledger_of(ctx) if getattr(ctx, "ledger", None) is not None or has_grid else None
    lc_opts = getattr(a, "land_cover", None)
    report = build_report(
        ctx.tables, baseline=a.baseline, reporting=list(a.reporting),
        official_land_area_km2=_opt(ctx, "land_area_km2"), water_mask_year=year,
        substitutions=list(getattr(ctx, "substitutions", []) or []),
        confidence=_opt(ctx, "confidence") or accuracy_confidence(getattr(ctx, "provenance", None)),
        ledger=ledger.summary() if ledger is not None else None, strict_codes=getattr(lc_opts, "strict_codes", None),
    )
    cert = report.consistency
    if not cert.get("ok", True):
        bad = [e for e in cert.get("entries", []) if not e["ok"]][:5]
        ctx.log.warning(
            "CONSISTENCY CERTIFICATE FAILED: %d table total(s) differ from the area ledger by more than %g "
            "(first: %s); do not submit these tables before the cause is found (see the report's certificate).",
            cert.get("failures", 0), cert.get("tolerance", 0.0),
            "; ".join(f"{e['table']} {e['variable']} {e['period']} {e['zone_id']} {e['quantity']} "
                      f"{e['value_km2']:.6f} vs {e['ledger_km2']:.6f}" for e in bad),
        )
        if getattr(ctx, "strict", False):  # --strict: a failed certificate stops the run before anything is written
            from openldn.exceptions import PRAISValidationError

            e = bad[0] if bad else None
            raise PRAISValidationError(
                "consistency certificate failed"
                + (f": {e['table']} {e['variable']} {e['period']} zone {e['zone_id']} {e['quantity']} "
                   f"{e['value_km2']:.6f} km² vs the area ledger's {e['ledger_km2']:.6f} km²" if e else "")
                + "; every table must use the run's one water mask (report this as a bug with the run file)."
            )
    return report


def _sort_key(rec: dict[str, Any]) -> tuple[int, str]:
    key = str(rec.get("key", ""))
    for i, p in enumerate(_MAP_ORDER):
        if key.startswith(p):
            return i, key
    return len(_MAP_ORDER), key


def _boundaries(ctx: Any) -> Any:
    """Admin units (or the area of interest) to outline on the maps: from the coverage, else from the run file."""
    cov = getattr(ctx, "coverage", None)
    zones = getattr(cov, "zones", None) if cov is not None else None
    if zones is not None and hasattr(zones, "geometry") and len(zones):
        return zones
    a = ctx.assessment
    paths = []
    if getattr(a, "zones", None) is not None:
        paths.append(a.zones.path)
    if getattr(a, "aoi", None):
        paths.append(a.aoi)
    import geopandas as gpd

    for p in paths:
        try:
            full = a.resolve(p) if hasattr(a, "resolve") else Path(p)
            return gpd.read_file(full)
        except Exception as err:  # a map without outlines is better than no report
            ctx.log.warning("boundaries %s not drawn: %s", p, err)
    return None


#: GeoTIFF tags shown in a map's caption: tag -> label (the method details; titles stay short).
_CAPTION_TAGS = {
    "trend_window": N_("trend"), "state_baseline_window": N_("state baseline"),
    "state_recent_window": N_("state recent"), "performance_window": N_("performance"),
    "performance_units": N_("performance units"), "lpd_table": N_("LPD table"), "lpd_source": N_("LPD source"),
    "initial_year": N_("initial year"), "final_year": N_("final year"), "method": N_("method"),
}


def _human(tag: str, value: Any) -> str:
    """A tag value for people: data-file ids become their names (``prais_2026_table13`` -> its ``name``)."""
    if tag == "lpd_table":
        from openldn.core.vocab import read_data_file

        try:
            doc = read_data_file(f"lpd/{value}.yaml")
            return str(doc.get("name", value)) if isinstance(doc, dict) else str(value)
        except Exception:  # a user's own table: its file name
            return Path(str(value)).stem.replace("_", " ")
    return str(value).replace("_", " ") if isinstance(value, str) else str(value)


def map_caption(tags: dict[str, Any], *, units: str | None = None, ramp_name: str | None = None) -> str:
    """The caption of a map: method parameters from its GeoTIFF tags, units and colour scale."""
    parts = [_("%(label)s %(value)s") % {"label": _(label), "value": _human(k, tags[k])}
             for k, label in _CAPTION_TAGS.items() if tags.get(k) not in (None, "")]
    if units:
        parts.append(_("units %(units)s") % {"units": _(units)})
    if ramp_name:
        parts.append(_("colours: %(ramp)s") % {"ramp": _(ramp_name)})
    return _("; ").join(parts)


def _open_raster(path: Path) -> Any:
    """A COG as a lazily read DataArray (rioxarray), usable as a context manager."""
    import rioxarray

    return rioxarray.open_rasterio(path)


def _finite_sample(src: Any) -> np.ndarray:
    da = src.squeeze(drop=True)
    step = max(1, int(np.ceil(max(da.sizes["y"], da.sizes["x"]) / 1000)))
    sample = np.asarray(da.isel(y=slice(None, None, step), x=slice(None, None, step)).values, "float64")
    nod = src.rio.nodata
    if nod is not None:
        sample[sample == nod] = np.nan
    sample[np.isin(sample, (-32768, -32767))] = np.nan
    return np.asarray(sample[np.isfinite(sample)])


def continuous_ranges(ctx: Any) -> dict[str, tuple[Any, float, float]]:
    """One ramp and display range per quantity (output key prefix) over all its periods: ``{key: (ramp, lo, hi)}``.

    Maps of the same quantity in different periods share one colour scale, so they can be compared.
    """
    from openldn.reporting.styles import layer_style, ramp, ramp_range

    groups: dict[str, list[tuple[str, Path]]] = {}
    for rec in ctx.outputs:
        path = Path(ctx.out_dir) / str(rec.get("path", ""))
        if rec.get("legend") or path.suffix.lower() not in (".tif", ".tiff") or not path.is_file():
            continue
        key = str(rec.get("key", ""))
        st = layer_style(key)
        prefix = st.prefix if st is not None else key.split("/", 1)[0] + "/"
        # the quantity: the key without its period or year (population_degraded/<year>/female -> .../female)
        group = prefix + "/".join(key[len(prefix):].split("/")[1:])
        groups.setdefault(group, []).append((key, path))
    out: dict[str, tuple[Any, float, float]] = {}
    for members in groups.values():
        st = layer_style(members[0][0])
        r = ramp(st.ramp if st is not None and st.ramp else "index")
        samples = []
        for _key, path in members:
            with _open_raster(path) as src:
                samples.append(_finite_sample(src))
        lo, hi = ramp_range(r, np.concatenate(samples) if samples else np.array([]))
        for key, _path in members:
            out[key] = (r, lo, hi)
    return out


def map_images(ctx: Any, *, png: bool = True) -> list[Any]:
    """Write a QML style and a PNG map next to every COG of ``ctx.outputs`` and return the images for the report.

    Colours come from the legends and ramps of the package data (:mod:`openldn.reporting.styles`); continuous
    layers of one quantity share one range across periods, recorded as ``ramp`` in their output record (the web
    layers draw the same stops).

    Parameters
    ----------
    ctx : openldn.pipeline.RunContext
        Run context.
    png : bool
        Render PNG maps (QML styles are always written).

    Returns
    -------
    list of MapImage
    """
    from openldn.reporting.maps import boundary_lines, normalise_legend, render_map, write_qml
    from openldn.reporting.report import MapImage
    from openldn.reporting.styles import ramp_record, short_title

    zones = _boundaries(ctx)
    lines_by_crs: dict[str, Any] = {}
    images = []
    ranges = continuous_ranges(ctx)
    for rec in sorted(ctx.outputs, key=_sort_key):
        path = Path(ctx.out_dir) / str(rec.get("path", ""))
        if path.suffix.lower() not in (".tif", ".tiff") or not path.is_file():
            continue
        key = str(rec.get("key", ""))
        legend = normalise_legend(rec.get("legend"))
        title = str(rec.get("title") or "")
        if not title or title == key or current_language() != DEFAULT_LANGUAGE:
            title = short_title(key, fallback=title or None)
        with _open_raster(path) as src:
            da = src.squeeze(drop=True)
            tags = dict(src.attrs)
            rmp, lo, hi = ranges.get(key, (None, 0.0, 1.0))
            if legend is None and rmp is not None:
                write_qml(path.with_suffix(".qml"), vmin=lo, vmax=hi, ramp=rmp)
                rec["ramp"] = ramp_record(rmp, lo, hi)
            else:
                write_qml(path.with_suffix(".qml"), legend=legend)
            caption = map_caption(tags, units=rec.get("units"), ramp_name=rmp.name if rmp is not None else None)
            if not png or key.startswith(NO_PNG_PREFIXES):
                files = [str(p.relative_to(ctx.out_dir)) for p in (path, path.with_suffix(".qml"))]
                images.append(MapImage(key, title, b"", files, embed=False, caption=caption))
                continue
            crs = da.rio.crs
            ck = str(crs)
            if ck not in lines_by_crs:
                lines_by_crs[ck] = boundary_lines(zones, crs)
            out = render_map(da, path.with_suffix(".png"), title=title, legend=legend, boundaries=lines_by_crs[ck],
                             units=rec.get("units"), ramp=rmp, vmin=lo if rmp is not None else None,
                             vmax=hi if rmp is not None else None)
        rel = [str(p.relative_to(ctx.out_dir)) for p in (path.with_suffix(".png"), path, path.with_suffix(".qml"))]
        images.append(MapImage(key, title, out.read_bytes(), rel, embed=key.startswith(EMBED_PREFIXES),
                               caption=caption))
    return images


def site_map(ctx: Any) -> Any:
    """PNG of the latest land status with the hotspot (red) and brightspot (green) polygons, or None.

    Parameters
    ----------
    ctx : openldn.pipeline.RunContext
        Run context.

    Returns
    -------
    MapImage or None
    """
    from openldn.integration.fp import read_polygons
    from openldn.reporting.maps import boundary_lines, normalise_legend, render_map
    from openldn.reporting.report import MapImage
    from openldn.reporting.styles import short_title

    files = {kind: _opt(ctx, kind) for kind in ("hotspots", "brightspots")}
    if not any(files.values()):
        return None
    recs = [r for r in ctx.outputs if str(r.get("key", "")).startswith(("status/", "sdg/"))]
    status = [r for r in recs if str(r["key"]).startswith("status/")]
    rec = (status or recs or [None])[-1]
    if rec is None:
        return None
    path = Path(ctx.out_dir) / str(rec["path"])
    if not path.is_file():
        return None
    a = ctx.assessment
    with _open_raster(path) as src:
        da = src.squeeze(drop=True)
        crs = da.rio.crs
        highlights = []
        for kind, color in (("hotspots", "#D7191C"), ("brightspots", "#1A9641")):
            if files[kind]:
                gdf = read_polygons(str(a.resolve(files[kind]) if hasattr(a, "resolve") else files[kind]))
                highlights.append((boundary_lines(gdf, crs), color,
                                   _("Hotspots") if kind == "hotspots" else _("Brightspots")))
        over = str(rec.get("title") or rec["key"])
        if current_language() != DEFAULT_LANGUAGE or over == rec["key"]:
            over = short_title(str(rec["key"]), fallback=over)
        out = render_map(da, Path(ctx.out_dir) / "maps" / "hotspots_brightspots.png",
                         title=_("Hotspots and brightspots over %(map)s") % {"map": over},
                         legend=normalise_legend(rec.get("legend")), boundaries=boundary_lines(_boundaries(ctx), crs),
                         highlights=highlights)
    return MapImage("hotspots_brightspots", _("Hotspots and brightspots"), out.read_bytes(),
                    [str(out.relative_to(ctx.out_dir))])


def run(ctx: Any) -> None:
    """Build, validate and write every report output of a run.

    Parameters
    ----------
    ctx : openldn.pipeline.RunContext
        Run context after every other stage.
    """
    from openldn.reporting.export import report_document, write_csv, write_json, write_xlsx
    from openldn.reporting.report import render_html, write_html

    outputs_spec = getattr(ctx.assessment, "outputs", None)
    want = {k: getattr(outputs_spec, k, True) for k in ("maps", "png", "xlsx", "html")}
    ctx.progress("reporting", 0, 4, "PRAIS tables")
    report = build_run_report(ctx)
    folder = Path(ctx.out_dir) / "report"
    folder.mkdir(parents=True, exist_ok=True)
    name = str(getattr(ctx.assessment, "name", "Assessment"))
    prov = dict(getattr(ctx, "provenance", {}) or {})
    downloads = {}
    ctx.progress("reporting", 1, 4, "exports")
    if want["xlsx"]:
        write_xlsx(report, folder / "prais_tables.xlsx", name=name, provenance=prov)
        downloads[N_("PRAIS workbook (XLSX)")] = "prais_tables.xlsx"
    write_csv(report, folder / "csv")
    records = [{k: v for k, v in r.items() if k in ("key", "path", "title", "kind", "legend", "units")}
               for r in ctx.outputs]
    write_json(report_document(report, name=name, provenance=prov, outputs=records), folder / "openldn-run.json")
    downloads[N_("Run document (JSON)")] = "openldn-run.json"
    downloads[N_("PRAIS tables (CSV)")] = "csv/"
    ctx.progress("reporting", 2, 4, "maps")
    images = map_images(ctx, png=want["png"] and want["maps"])
    if want["png"] and want["maps"]:
        sites = site_map(ctx)
        if sites is not None:
            images.append(sites)
    if want["html"]:
        ctx.progress("reporting", 3, 4, "HTML report")
        integ = getattr(ctx.assessment, "integration", None)
        dump = getattr(integ, "model_dump", None)
        opts = dump() if dump is not None else dict(integ or {})
        from openldn.reporting.pdf import find_chromium, write_pdf
        from openldn.reporting.report import SECTIONS

        pdf = getattr(outputs_spec, "pdf", True) and find_chromium() is not None
        if pdf:
            downloads = {N_("Report (PDF)"): "report.pdf", **downloads}
        created = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

        def render(pages: dict[str, int] | None = None) -> str:
            return render_html(report, name=name, maps=images, tables=ctx.tables, provenance=prov, options=opts,
                               downloads=downloads, pages=pages, created=created)

        write_html(render(), folder / "report.html")
        if getattr(outputs_spec, "pdf", True):  # no Chromium: a warning, the HTML report stays
            ctx.progress("reporting", 3, 4, "PDF report")
            write_pdf(folder / "report.html", folder / "report.pdf", markers=SECTIONS, rerender=render, log=ctx.log)
    ctx.progress("reporting", 4, 4, "done")


# -- the stage declaration (openldn.core.stage; registered in openldn.registry) ---------------------------------
from openldn.core.stage import Stage  # noqa: E402

STAGE = Stage(
    name="reporting",
    title="PRAIS tables, maps and report",
    run=run,
)
