"""The monthly drought bulletin: maps, per-unit table and charts, generated text; HTML, PDF, CSV, JSON, GeoTIFF.

Layout of ``out/<YYYY-MM>/``:

* ``bulletin.html`` (self-contained: images embedded) and ``bulletin.pdf`` (printed by a headless Chromium when one
  is installed; otherwise skipped with a warning);
* ``bulletin.json`` (everything a dashboard needs), ``units.csv`` (one row per unit), ``series.csv`` (tidy unit
  histories);
* ``maps/*.png`` (index at 3, 6 and 12 months, alert level), ``charts/<zone>.png`` (index history per unit);
* ``rasters/*.tif`` (COGs of the month's indices and alert level).

``out/latest.json`` names the most recent bulletin of the folder (read by the web app).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from openldn.core.codes import NODATA
from openldn.exceptions import OpenLDNWarning
from openldn.io import atomic_path
from openldn.monitoring.alerts import months_in_a_row
from openldn.monitoring.text import Texts, texts

if TYPE_CHECKING:
    from openldn.monitoring.monitor import MonitorResult

__all__ = ["chromium_path", "index_classes", "write_bulletin"]

log = logging.getLogger("openldn.monitoring")

#: Scales shown as maps and chart lines.
MAP_SCALES = (3, 6, 12)
_SCALE_COLORS = {1: "#9ecae1", 3: "#3182bd", 6: "#e6550d", 12: "#31a354", 24: "#756bb1"}
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """Path of a Chromium/Chrome executable for printing the PDF, or None."""
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _index_name(res: MonitorResult) -> str:
    return res.indices.spec.index.upper()


def _maps(res: MonitorResult, folder: Path) -> dict[str, Path]:
    from openldn.reporting.maps import render_map

    ind = res.indices
    name = _index_name(res)
    outlines = res.boundaries if res.boundaries is not None else res.aoi
    out: dict[str, Path] = {}
    tx = texts(res.language)
    legend = {c: (tx.spi_class(c, lab), col) for c, lab, col, _lo, _hi in _spi_classes()}
    for s in MAP_SCALES:
        if s not in ind.values:
            continue
        da = index_classes(ind.values[s].isel(time=-1))
        out[f"{ind.spec.index}_{s}"] = render_map(
            da, folder / f"{ind.spec.index}_{s:02d}.png", title=tx("map_index", index=name, scale=s,
                                                                   month=tx.month(ind.month)), legend=legend,
            boundaries=outlines,
        )
    lev = ind.levels.isel(time=-1)
    levels = {c: (tx.level(ind.rules.by_code(c).key, lab), col) for c, (lab, col) in ind.rules.legend().items()}
    out["alert_level"] = render_map(lev, folder / "alert_level.png", title=tx("map_level", month=tx.month(ind.month)),
                                    legend=levels, boundaries=outlines)
    run = _run_length(res)
    binned = run.copy(data=np.digitize(run.values, [1, 2, 3, 6, 12]).astype(np.int16))
    binned = binned.where(run != NODATA, NODATA).astype(np.int16)
    out["months_in_a_row"] = render_map(binned, folder / "months_in_a_row.png",
                                        title=tx("map_duration", month=tx.month(ind.month)), boundaries=outlines,
                                        legend=_RUN_LEGEND)
    return out


#: Display classes of the run-length map (months; language-neutral labels).
_RUN_LEGEND = {0: ("0", "#F2F2F2"), 1: ("1", "#FED976"), 2: ("2", "#FD8D3C"), 3: ("3-5", "#E31A1C"),
               4: ("6-11", "#B10026"), 5: (">= 12", "#67000D")}


def _run_length(res: MonitorResult) -> Any:
    """Months in a row at watch or above ending at the bulletin month (int16, nodata -32768)."""
    lev = res.indices.levels
    out = lev.isel(time=-1).copy(data=months_in_a_row(lev.values, 1))
    out.attrs = {"_FillValue": NODATA, "units": "months"}
    return out


def _spi_classes() -> list[tuple[int, str, str, float | None, float | None]]:
    from openldn.core.vocab import read_data_file

    doc = read_data_file("drought/spi_map_classes.yaml")
    return [(int(c["code"]), str(c["label"]), str(c["color"]), c.get("lower"), c.get("upper"))
            for c in doc["classes"]]


def index_classes(da: Any) -> Any:
    """SPI/SPEI values -> the map classes of ``drought/spi_map_classes.yaml`` (int16, nodata -32768).

    Dry classes (code < 0) include their upper bound, wet classes their lower bound (WMO-No. 1090, Table 1).
    """
    v = np.asarray(da.values, dtype=np.float64)
    out = np.full(v.shape, NODATA, dtype=np.int16)
    ok = np.isfinite(v)
    for code, _lab, _col, lower, upper in _spi_classes():
        lo = -np.inf if lower is None else float(lower)
        hi = np.inf if upper is None else float(upper)
        if code < 0:
            sel = ok & (v <= hi) & (v > lo)
        elif code > 0:
            sel = ok & (v >= lo) & (v < hi)
        else:
            sel = ok & (v > lo) & (v < hi)
        out[sel] = code
    res = da.copy(data=out)
    res.attrs = {"_FillValue": NODATA}
    return res


def _charts(res: MonitorResult, folder: Path) -> dict[str, Path]:
    from openldn.reporting.charts import _plt

    plt = _plt()
    tx = texts(res.language)
    ind = res.indices
    rules = ind.rules
    s = res.series
    out: dict[str, Path] = {}
    months = list(dict.fromkeys(s["month"]))
    x = np.arange(len(months))
    colors = {lv.code: lv.color for lv in rules.levels}
    for zid, zname in dict(zip(res.units["zone_id"], res.units["zone_name"], strict=True)).items():
        z = s[s["zone_id"] == zid]
        fig, ax = plt.subplots(figsize=(7.2, 2.6), dpi=100)
        lev = z[z["variable"] == "level"].set_index("month")["value"].reindex(months).to_numpy()
        for i, v in enumerate(lev):
            if np.isfinite(v) and int(v) > 0:
                ax.axvspan(i - 0.5, i + 0.5, color=colors.get(int(v), "#DDDDDD"), alpha=0.45, lw=0)
        for sc in (3, 6, 12):
            key = f"{ind.spec.index}_{sc}"
            vals = z[z["variable"] == key].set_index("month")["value"].reindex(months).to_numpy()
            if np.isfinite(vals).any():
                ax.plot(x, vals, marker="o", ms=2.5, lw=1.4, color=_SCALE_COLORS[sc], label=f"{_index_name(res)}-{sc}")
        for thr in (-1.0, -1.5, -2.0):
            ax.axhline(thr, color="#888888", lw=0.6, ls="--")
        ax.axhline(0.0, color="#444444", lw=0.6)
        ax.set_ylim(-3.2, 3.2)
        ax.set_xlim(-0.5, len(months) - 0.5)
        step = max(1, len(months) // 8)
        ax.set_xticks(x[::step])
        ax.set_xticklabels(months[::step], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(tx("chart", unit=zname, index=_index_name(res)), fontsize=9)
        ax.legend(fontsize=7, loc="upper left", ncol=3, frameon=False)
        fig.tight_layout()
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(zid))
        path = folder / f"{safe}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
        out[str(zid)] = path
    return out


def _rasters(res: MonitorResult, folder: Path) -> dict[str, Path]:
    from openldn.io import write_cog

    ind = res.indices
    out: dict[str, Path] = {}
    folder.mkdir(parents=True, exist_ok=True)
    for s, da in ind.values.items():
        out[f"{ind.spec.index}_{s}"] = write_cog(da.isel(time=-1), folder / f"{ind.spec.index}_{s:02d}.tif",
                                                  tags={"month": ind.label, "scale_months": s}, overviews=False)
    lev = ind.levels.isel(time=-1)
    out["alert_level"] = write_cog(lev, folder / "alert_level.tif", nodata=NODATA, legend=ind.rules.legend(),
                                   tags={"month": ind.label, "rules": ind.rules.source}, overviews=False)
    out["months_in_a_row"] = write_cog(_run_length(res), folder / "months_in_a_row.tif", nodata=NODATA,
                                       tags={"month": ind.label, "history_months": len(ind.months)}, overviews=False)
    return out


def _clean(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, Path):
        return str(v)
    return v


def _document(res: MonitorResult, files: dict[str, Any]) -> dict[str, Any]:
    ind = res.indices
    rules = ind.rules
    units = res.units.replace({np.nan: None}).to_dict(orient="records")
    hist: dict[str, dict[str, list[Any]]] = {}
    for (zid, var), g in res.series.groupby(["zone_id", "variable"], sort=False):
        hist.setdefault(str(zid), {})[str(var)] = [None if not np.isfinite(v) else round(float(v), 4)
                                                   for v in g["value"]]
    doc: dict[str, Any] = _clean({
        "name": res.name,
        "month": ind.label,
        "index": ind.spec.index,
        "distribution": ind.spec.distribution,
        "reference_period": ind.spec.calibration,
        "scales": sorted(ind.values),
        "last_data_month": ind.last_data_month,
        "missing_months": ind.missing_months,
        "incomplete_months": ind.incomplete_months,
        "provisional_months": ind.provisional_months,
        "population": res.population_note,
        "language": res.language,
        "rules": {"source": rules.source, "unit_min_share": rules.unit_min_share,
                  "levels": [{"code": lv.code, "key": lv.key, "label": lv.label, "color": lv.color,
                              "description": lv.description} for lv in rules.levels]},
        "text": res.text,
        "units": units,
        "history_months": [f"{m:%Y-%m}" for m in ind.months],
        "history": hist,
        "fit_cache": ind.fit_cache,
        "files": {k: str(Path(v).relative_to(res.out_dir / ind.label)) if res.out_dir else str(v)
                  for k, v in files.items()},
    })
    return doc


def _img(path: Path, alt: str, cls: str = "") -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img class="{cls}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:0;color:#222;font-size:13px}
header{background:#1f3b57;color:#fff;padding:14px 24px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0 0;font-size:12px;opacity:.9}main{padding:12px 24px}
h2{font-size:16px;border-bottom:2px solid #1f3b57;padding-bottom:3px;margin-top:22px}
.summary li{margin:3px 0}.maps{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.maps img{width:100%;border:1px solid #ddd}.charts img{width:100%;max-width:760px;display:block;margin:6px 0}
table{border-collapse:collapse;font-size:11.5px;width:100%}th,td{border:1px solid #ccc;padding:3px 5px;text-align:right}
th{background:#eef2f6}td.l{text-align:left}.lev{font-weight:bold;text-align:center}
.note{font-size:11px;color:#555}footer{font-size:10.5px;color:#555;padding:10px 24px;border-top:1px solid #ccc}
@media print{.charts img{max-width:100%;page-break-inside:avoid}section{page-break-inside:avoid}}
"""


def _level_cell(rules: Any, code: int, tx: Texts) -> str:
    if code == NODATA:
        return f'<td class="lev">{html.escape(tx.level("nodata", rules.nodata_label))}</td>'
    lv = rules.by_code(int(code))
    dark = lv.code >= len(rules.levels) - 1
    return (f'<td class="lev" style="background:{lv.color};color:{"#fff" if dark else "#000"}">'
            f"{html.escape(tx.level(lv.key, lv.label))}</td>")


def _html(res: MonitorResult, maps: dict[str, Path], charts: dict[str, Path]) -> str:
    tx = texts(res.language)
    ind = res.indices
    rules = ind.rules
    name = _index_name(res)
    esc = html.escape
    u = res.units
    levels = [lv for lv in rules.levels if lv.code > 0]
    has_people = any(c.startswith("people_total_") for c in u.columns)
    has_sex = f"people_female_{levels[0].key}" in u.columns
    head = [tx("col_unit"), tx("col_level"), tx("col_previous"), tx("col_since")]
    head += [tx("col_share", level=tx.level(lv.key, lv.label)) for lv in levels]
    scales = sorted(ind.values)
    head += [f"{name}-{s}" for s in scales]
    if has_people:
        head += [tx("col_people", level=tx.level(lv.key, lv.label).lower()) for lv in levels]
        if has_sex:
            head += [tx("col_women"), tx("col_men")]
    rows = []
    for r in u.to_dict(orient="records"):
        cells = [f'<td class="l">{esc(str(r["zone_name"]))}</td>', _level_cell(rules, int(r["level"]), tx),
                 _level_cell(rules, int(r["previous_level"]), tx), f'<td class="l">{esc(str(r["since"] or ""))}</td>']
        cells += [f"<td>{100 * r[f'share_{lv.key}']:.0f}</td>" for lv in levels]
        for s in scales:
            v = r[f"{ind.spec.index}_{s}"]
            cells.append(f"<td>{v:.2f}</td>" if v == v else "<td>-</td>")
        if has_people:
            cells += [f"<td>{tx.number(r[f'people_total_{lv.key}'])}</td>" for lv in levels]
            if has_sex:
                cells += [f"<td>{tx.number(sum(r[f'people_{g}_{lv.key}'] for lv in levels))}</td>"
                          for g in ("female", "male")]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = ("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>"
             + "".join(rows) + "</tbody></table>")
    map_imgs = "".join(_img(p, k) for k, p in maps.items())
    chart_imgs = "".join(_img(p, f"chart {k}") for k, p in charts.items())
    rule_items = "".join(f"<li><b style='color:{lv.color}'>&#9632;</b> <b>{esc(tx.level(lv.key, lv.label))}</b>: "
                         f"{esc(lv.description)}</li>" for lv in levels)
    none = tx("n_none")
    data_notes = [tx("n_latest", month=ind.last_data_month),
                  tx("n_missing", months=", ".join(ind.missing_months) if ind.missing_months else none)]
    if ind.incomplete_months:
        data_notes.append(tx("n_incomplete", months=", ".join(
            f"{m} ({100 * v:.0f} %)" for m, v in ind.incomplete_months.items())))
    data_notes.append(tx("n_provisional", months=", ".join(ind.provisional_months) if ind.provisional_months
                         else tx("n_none_declared")))
    if res.population_note:
        data_notes.append(tx("n_population", note=res.population_note))
    summary = "".join(f"<li>{esc(t)}</li>" for t in res.text)
    title = tx("title", name=res.name, month=tx.month(ind.month))
    subtitle = tx("subtitle", index=name, scales=", ".join(str(s) for s in scales),
                  distribution=ind.spec.distribution, reference=ind.spec.calibration,
                  rules=Path(str(rules.source)).name)
    return f"""<!DOCTYPE html>
<html lang="{esc(tx.language)}"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>{_CSS}</style></head><body>
<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>
<main>
<section><h2>{esc(tx("h_summary"))}</h2><ul class="summary">{summary}</ul></section>
<section><h2>{esc(tx("h_maps"))}</h2><div class="maps">{map_imgs}</div></section>
<section><h2>{esc(tx("h_units"))}</h2>{table}
<p class="note">{esc(tx("unit_note", pct=f"{100 * rules.unit_min_share:.0f}", index=name))}</p></section>
<section><h2>{esc(tx("h_history", index=name, n=len(ind.months)))}</h2><div class="charts">{chart_imgs}</div></section>
<section><h2>{esc(tx("h_method"))}</h2><ul>{rule_items}</ul><p class="note">{esc(" ".join(data_notes))}</p>
<p class="note">{esc(tx("sources", index=name))}</p></section>
</main><footer>{esc(tx("footer"))}</footer></body></html>
"""


def _pdf(html_path: Path, pdf_path: Path) -> Path | None:
    exe = chromium_path()
    if exe is None:
        warnings.warn("No headless Chromium found (chromium, chromium-browser or google-chrome): the PDF bulletin is "
                      "skipped; install one (e.g. apt-get install chromium) or print the HTML.", OpenLDNWarning,
                      stacklevel=3)
        return None
    tmp = pdf_path.with_name(pdf_path.name + ".part")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
           f"--print-to-pdf={tmp}", html_path.resolve().as_uri()]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError) as err:
        warnings.warn(f"Chromium could not print the PDF bulletin ({type(err).__name__}); the HTML is complete.",
                      OpenLDNWarning, stacklevel=3)
        tmp.unlink(missing_ok=True)
        return None
    if not tmp.is_file() or tmp.stat().st_size == 0:
        warnings.warn("Chromium wrote no PDF; the HTML bulletin is complete.", OpenLDNWarning, stacklevel=3)
        return None
    tmp.replace(pdf_path)
    return pdf_path


def write_bulletin(res: MonitorResult, out: str | Path, *, pdf: bool = True) -> dict[str, Path]:
    """Write the bulletin of ``res`` into ``out/<YYYY-MM>`` (see the module docstring).

    Returns
    -------
    dict
        Written files by role.
    """
    out = Path(out)
    res.out_dir = out
    ind = res.indices
    folder = out / ind.label
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    maps = _maps(res, folder / "maps")
    charts = _charts(res, folder / "charts")
    files.update({f"map_{k}": v for k, v in maps.items()})
    files.update({f"chart_{k}": v for k, v in charts.items()})
    files.update({f"raster_{k}": v for k, v in _rasters(res, folder / "rasters").items()})
    from openldn.io import write_table

    files["units_csv"] = write_table(res.units, folder / "units.csv")
    files["series_csv"] = write_table(res.series, folder / "series.csv")
    files["html"] = _write_text(folder / "bulletin.html", _html(res, maps, charts))
    if pdf:
        p = _pdf(files["html"], folder / "bulletin.pdf")
        if p is not None:
            files["pdf"] = p
    files["json"] = folder / "bulletin.json"
    _write_text(files["json"], json.dumps(_document(res, files), indent=1, ensure_ascii=False))
    latest = out / "latest.json"
    current = None
    if latest.is_file():
        try:
            current = json.loads(latest.read_text(encoding="utf-8")).get("month")
        except (OSError, ValueError):
            current = None
    if current is None or str(current) <= ind.label:
        _write_text(latest, json.dumps({"month": ind.label, "bulletin": f"{ind.label}/bulletin.json"}))
    res.files = files
    return files
