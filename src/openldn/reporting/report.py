"""One self-contained HTML report per run: maps, tables, charts, and the method and data section.

Everything is inside the one file: map PNGs and charts are embedded as ``data:`` URIs, tables are plain HTML, the
style sheet is inline, and there is no JavaScript, so the report opens offline in any browser.

The report is written in the current language (:func:`openldn.i18n.use_language`): text through the ``openldn``
catalogue, numbers formatted as the language writes them, ``<html lang dir>`` set (Arabic right to left; the style
sheet uses logical properties, so it mirrors), and a font stack covering Arabic and Chinese
(:data:`openldn.reporting.fonts.CSS_FONT_STACK`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
from pathlib import Path
from typing import Any

import pandas as pd

from openldn.i18n import N_, _, current_language, direction, format_decimal, format_percent, ngettext
from openldn.io import atomic_path
from openldn.reporting.accuracy_section import accuracy_html
from openldn.reporting.fonts import CSS_FONT_STACK
from openldn.reporting.prais import PRAISReport, PRAISTable

__all__ = ["REFERENCES", "SECTIONS", "MapImage", "data_uri", "render_html", "section_headings", "write_html"]

_CSS = """
body{font-family:__FONTS__;margin:0;color:#1d2733;
background:#fafbfc;line-height:1.45}
header{background:#1F4E78;color:#fff;padding:18px 32px}header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;opacity:.9}
nav.bar{background:#e9eef4;padding:8px 32px;font-size:14px}nav.bar a{margin-inline-end:14px;color:#1F4E78}
main{padding:8px 32px 40px;max-width:1280px;box-sizing:border-box}
h2{border-bottom:2px solid #1F4E78;padding-bottom:4px;margin-top:32px}
.toc ol{margin:4px 0;padding-inline-start:4px;list-style:none;max-width:60ch}.toc li{margin:2px 0}.toc .pg{display:none}
.summary p{max-width:78ch;font-size:15px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;
padding:10px 16px;min-width:200px}.card .v{font-size:26px;font-weight:600;color:#1F4E78}.card .k{font-size:13px}
.atlas{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:10px}
.ptables{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:4px 24px;align-items:start}
.ptable{min-width:0}.ptable h3{font-size:15px;margin:14px 0 2px}
.ptable details{display:inline-block;margin-block:2px;margin-inline:0 14px;vertical-align:top}.ptable details[open]{display:block}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
figure{margin:0;background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:6px;min-width:0}
figure img{width:100%;height:auto;display:block}figcaption{font-size:12px;color:#444;margin-top:4px}
figcaption .m{display:block;color:#666;font-size:11px}figcaption code{font-size:10px;word-break:break-all}
.tablewrap{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;margin:8px 0 4px;font-size:13px;background:#fff}
th,td{border:1px solid #c9d1d9;padding:3px 8px;overflow-wrap:break-word}th{background:#DCE6F1;text-align:start}
td.n{text-align:end;font-variant-numeric:tabular-nums;white-space:nowrap;unicode-bidi:plaintext}
table.wide{table-layout:fixed;width:100%}table.wide td{word-break:break-word}
.note{font-size:12px;color:#555;margin:2px 0}details{margin:6px 0}summary{cursor:pointer;color:#1F4E78}
code{background:#eef1f4;padding:0 3px;border-radius:3px;font-size:12px;overflow-wrap:anywhere}
@page{size:A4;margin:16mm 12mm 18mm 12mm;
@bottom-center{content:__PAGE__;font-size:9pt;color:#555}}
@media print{
body{background:#fff;font-size:10pt}header{padding:10px 0;background:#fff;color:#1F4E78;border-bottom:3px solid #1F4E78}
nav.bar{display:none}main{padding:0;max-width:none}
.toc .pg{display:inline;float:inline-end}.toc li{border-bottom:1px dotted #bbb}
h2{break-before:page;margin-top:0}#contents,#summary{break-before:auto}
h2,h3{break-after:avoid}figure,tr,.card{break-inside:avoid}
.atlas{grid-template-columns:repeat(3,1fr);gap:6px}.ptables{display:block}.charts{grid-template-columns:repeat(2,1fr)}
table{font-size:7.5pt;width:100%;table-layout:fixed}th,td{padding:1px 3px;overflow-wrap:anywhere}
td.n{white-space:normal}.tablewrap{overflow:visible}
a{color:inherit;text-decoration:none}details:not([open]){display:none}
}
"""


class MapImage:
    """A map to show: title, PNG bytes, and the files it was made from."""

    def __init__(self, key: str, title: str, png: bytes, files: list[str] | None = None, *,
                 embed: bool = True, caption: str = "") -> None:
        self.key = key
        self.title = title
        self.png = png
        self.files = files or []
        #: Embed the image in the report (False: listed with links to its files only).
        self.embed = embed
        #: Method details (windows, tables, years, units, colour scale) shown under the map.
        self.caption = caption


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` URI of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _num(v: float, digits: int, *, signed: bool = False) -> str:
    """A number as the current language writes it (``signed``: a ``+`` before positive values)."""
    text = format_decimal(v, digits)
    return "+" + text if signed and v > 0 else text


def _fmt(v: Any, kind: str) -> str:
    if v is None:
        return ""
    if kind == "text":
        return html.escape(_(str(v)) if isinstance(v, str) else str(v))
    f = float(v)
    if kind == "count":
        return _num(f, 0)
    if kind in ("percent", "change_percent", "index"):
        return _num(f, 3, signed=kind == "change_percent")
    if kind == "change":
        return _num(f, 3, signed=True)
    if kind == "stock":
        return _num(f, 2)
    return _num(f, 3)


def _table_html(t: PRAISTable) -> str:
    head = "".join(f"<th>{html.escape(_(c.label))}</th>" for c in t.columns)
    body = []
    for r in t.rows:
        cells = "".join(
            f'<td class="{"" if c.kind == "text" else "n"}">{_fmt(r.get(c.key), c.kind)}</td>' for c in t.columns
        )
        body.append(f"<tr>{cells}</tr>")
    notes = "".join(f'<p class="note">{html.escape(_(n))}</p>' for n in t.notes)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{notes}"


def _cards(report: PRAISReport) -> str:
    cards = []
    t2 = report.get("SO1-4.T2")
    if t2 is not None and t2.rows:
        base, last = t2.rows[0], t2.rows[-1]
        cards.append((_("SDG 15.3.1, %(assessment)s") % {"assessment": _(str(base["assessment"]))},
                      format_percent(float(base.get("percent") or 0), 2)))
        if len(t2.rows) > 1:
            cards.append((_("SDG 15.3.1, %(assessment)s") % {"assessment": _(str(last["assessment"]))},
                          format_percent(float(last.get("percent") or 0), 2)))
            cards.append((_("Change in degraded area"),
                          _("%(area)s km²") % {"area": _num(float(last.get("change_km2") or 0), 1, signed=True)}))
    la = report.land_area.get("ALL")
    if la:
        cards.append((_("Total land area (denominator)"), _("%(area)s km²") % {"area": _num(la["land_km2"], 1)}))
    pop = report.get("SO2-3.T1")
    if pop is not None and pop.rows and pop.rows[-1].get("pct_total") is not None:
        cards.append((_("Population on degraded land, %(year)s") % {"year": pop.rows[-1]["year"]},
                      format_percent(float(pop.rows[-1]["pct_total"]), 2)))
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="v">{html.escape(v)}</div><div class="k">{html.escape(k)}</div></div>'
        for k, v in cards
    ) + "</div>"


def _certificate_banner(report: PRAISReport) -> str:
    cert = report.consistency
    if not cert or cert.get("ok", True):
        return ""
    n = int(cert.get("failures", 0))
    text = html.escape(ngettext(
        "Consistency certificate FAILED: %(n)s table total differs from the area ledger, or a rule failed. Do not "
        "submit these tables before the cause is found; see the consistency certificate.",
        "Consistency certificate FAILED: %(n)s table totals differ from the area ledger, or a rule failed. Do not "
        "submit these tables before the cause is found; see the consistency certificate.", n) % {"n": n})
    return ('<div class="card" style="border:2px solid #C00000;background:#FDECEA;padding:8px;margin:8px 0">'
            f'<a href="#consistency">{text}</a></div>')


def _figure_notes(report: PRAISReport) -> str:
    """Why the period-based and status-based degraded areas differ, beside both figures."""
    from openldn.reporting.certificate import note_text

    notes = (report.consistency or {}).get("notes") or []
    if not notes:
        return ""
    return "<h3>" + html.escape(_("Two degraded areas per reporting period")) + "</h3>" + "".join(
        f'<p class="note">{html.escape(note_text(n))}</p>' for n in notes)


def _certificate_html(report: PRAISReport) -> str:
    """The consistency certificate section: the ledger, the rules and every table total against the ledger."""
    from openldn.reporting.certificate import certificate_rows, rule_text, status_text
    from openldn.reporting.styles import human_name

    esc = html.escape
    cert = report.consistency or {}
    parts = [f'<h2 id="consistency">{esc(section_headings()["consistency"])}</h2>']
    if not cert:
        return parts[0] + '<p class="note">' + esc(_("Not computed.")) + "</p>"
    tol = format_decimal(float(cert.get("tolerance", 0)), 0) if float(cert.get("tolerance", 0)) >= 1 else \
        f"{float(cert.get('tolerance', 0)):g}"
    n = int(cert.get("failures", 0))
    verdict = (_("PASSED: every table's total, water and land equal the area ledger within a relative %(tolerance)s.")
               % {"tolerance": tol} if cert.get("ok") else
               ngettext("FAILED: %(n)s difference above %(tolerance)s, or a rule failed.",
                        "FAILED: %(n)s differences above %(tolerance)s, or a rule failed.", n)
               % {"n": n, "tolerance": tol})
    reference = _(str(cert.get("reference", "")))
    ref_text = _("Reference: %(reference)s.") % {"reference": reference}
    parts.append(f"<p><strong>{esc(verdict)}</strong> {esc(ref_text)}</p>")
    led = cert.get("ledger") or {}
    if led:
        parts.append(f'<p class="note">{esc(_(str(led.get("source", ""))))}; '
                     f'{esc(_(str(led.get("definition", ""))))}.</p>')
        rows = "".join(
            "<tr><td>" + esc(_("Whole area") if str(z) == "ALL" else str(z)) + "</td>" + "".join(
                f'<td class="n">{_fmt(v[k], "area")}</td>'
                for k in ("total_km2", "water_km2", "land_km2", "land_nodata_km2", "denominator_km2")) + "</tr>"
            for z, v in led.get("zones", {}).items())
        heads = (_("Zone"), _("Total area (km²)"), _("Water (km²)"), _("Land (km²)"), _("No data on land (km²)"),
                 _("Denominator (km²)"))
        parts.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in heads) + "</tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    rule_heads = (_("Rule"), _("Status"), _("What was done"), _("Rule text"))
    parts.append("<h3>" + esc(_("PRAIS rules and openldn checks")) + "</h3><table><thead><tr>"
                 + "".join(f"<th>{esc(h)}</th>" for h in rule_heads) + "</tr></thead><tbody>")
    for r in cert.get("rules", []):
        parts.append(f"<tr><td>{esc(str(r.get('rule', '')))}</td><td>{esc(status_text(str(r.get('status', ''))))}"
                     f"</td><td>{esc(_(str(r.get('how', ''))))}</td>"
                     f"<td>{esc(rule_text(str(r.get('rule', '')), str(r.get('text', ''))))}</td></tr>")
    parts.append("</tbody></table>")

    def _rows(entries: list[dict[str, Any]]) -> str:
        out = []
        ok, failed = esc(_("ok")), "<strong>" + esc(_("FAILED")) + "</strong>"
        for e in entries:
            rel = e.get("relative_difference")
            zone = _("Whole area") if str(e["zone_id"]) == "ALL" else str(e["zone_id"])
            out.append(
                f"<tr><td>{esc(human_name(str(e['table'])))}</td><td>{esc(human_name(str(e['variable'])))}</td>"
                f"<td>{esc(str(e['period']))}"
                f"</td><td>{esc(zone)}</td><td>{esc(_(str(e['quantity'])))}</td>"
                f'<td class="n">{_fmt(e.get("value_km2"), "area")}</td>'
                f'<td class="n">{_fmt(e.get("ledger_km2"), "area")}</td>'
                f'<td class="n">{"" if rel is None else f"{float(rel):.1e}"}</td>'
                f"<td>{ok if e.get('ok') else failed}</td></tr>")
        return "".join(out)

    entry_heads = (_("Table"), _("Variable"), _("Period"), _("Zone"), _("Quantity"), _("Table (km²)"),
                   _("Ledger (km²)"), _("Relative difference"), "")
    head = "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in entry_heads) + "</tr></thead>"
    whole = certificate_rows(cert, zone="ALL")
    n = len(whole)
    summary = (ngettext("%(n)s comparison, all within the tolerance", "%(n)s comparisons, all within the tolerance",
                        n) if cert.get("ok") else ngettext("%(n)s comparison", "%(n)s comparisons", n)) % {"n": n}
    parts.append("<h3>" + esc(_("Table totals against the ledger (whole area)")) + "</h3>"
                 f"<details{' open' if not cert.get('ok') else ''}><summary>{esc(summary)}</summary>"
                 f"<table>{head}<tbody>{_rows(whole)}</tbody></table></details>")
    others = [e for e in certificate_rows(cert, zone=None) if e["zone_id"] != "ALL"]
    if others:
        summary = ngettext("Admin units (%(n)s comparison)", "Admin units (%(n)s comparisons)", len(others)) % {
            "n": len(others)}
        parts.append(f"<details><summary>{esc(summary)}</summary><table>{head}<tbody>"
                     f"{_rows(others)}</tbody></table></details>")
    return "".join(parts)


def _zone_summary(report: PRAISReport) -> str:
    """One row per admin unit: land area, SDG 15.3.1 at baseline and latest status, change, population share."""
    esc = html.escape
    rows = []
    for t in (t for t in report.tables if t.code == "SO1-4.T2"):
        base, last = t.rows[0], t.rows[-1]
        la = report.land_area.get(t.zone_id, {})
        pop = report.get("SO2-3.T1", t.zone_id)
        pct_pop = pop.rows[-1].get("pct_total") if pop is not None and pop.rows else None
        cells = [esc(_zone_name(t.zone_id, t.zone_name)), _fmt(la.get("land_km2"), "area"),
                 _fmt(base.get("percent"), "percent"),
                 _fmt(last.get("percent"), "percent") if len(t.rows) > 1 else "",
                 _fmt(last.get("change_km2"), "change") if len(t.rows) > 1 else "", _fmt(pct_pop, "percent")]
        rows.append("<tr>" + "".join(f'<td class="{"" if i == 0 else "n"}">{c}</td>' for i, c in enumerate(cells))
                    + "</tr>")
    if len(rows) < 2:
        return ""
    heads = (_("Admin unit"), _("Total land area (km²)"), _("Degraded, baseline (%)"),
             _("Degraded, latest status (%)"), _("Change (km²)"), _("Population on degraded land, latest (%)"))
    head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in heads) + "</tr>"
    return ("<h3>" + esc(_("By admin unit")) + f"</h3><table><thead>{head}</thead><tbody>{''.join(rows)}</tbody>"
            "</table>")


def _zone_name(zone_id: str, name: str) -> str:
    """The name of a zone: names made by openldn in the current language, the user's names as given."""
    if name in _ZONE_WORDS:
        return _(name)
    return _("Whole area") if str(zone_id) == "ALL" and name in ("", "ALL") else name


#: Zone names made by openldn (admin unit names are the user's and stay as given).
_ZONE_WORDS = frozenset({"Whole area", "National", "Area of interest"})


def _charts(report: PRAISReport, tables: dict[str, pd.DataFrame]) -> list[tuple[str, bytes]]:
    from openldn.reporting import charts
    from openldn.reporting.styles import human_name

    out: list[tuple[str, bytes]] = []
    t2 = report.get("SO1-2.T2") or report.get("SO1-2.T1")
    if t2 is not None:
        out.append((_(t2.title), charts.lpd_by_lc_chart(t2.rows,
                                                         title=_("Land productivity dynamics by land cover"))))
    t1 = report.get("SO1-4.T1")
    sdg_src = tables.get("sdg_degradation")
    series: dict[str, dict[str, float]] = {}
    if sdg_src is not None and len(sdg_src):
        sel = sdg_src[(sdg_src["zone_id"].astype(str) == "ALL") & (sdg_src["variable"] == "sdg_15_3_1")]
        for p, g in sel.groupby(sel["period"].astype(str), sort=False):
            series[_("Period %(period)s") % {"period": p}] = {
                _(str(lab)): float(a) for lab, a in zip(g["class_label"], g["area_km2"], strict=True)
                if str(lab) != "Water body"}
    if t1 is not None:
        for r in t1.rows:
            series.setdefault(_("Status %(period)s") % {"period": r["period"]}, {})[_(str(r["class"]))] = \
                float(r["area_km2"])
    if series:
        out.append((human_name("sdg_degradation"),
                    charts.degradation_chart(series, title=_("SDG 15.3.1 areas (km²)"))))
    tr = tables.get("lc_transitions")
    if tr is not None and len(tr):
        for p, g in tr[tr["zone_id"].astype(str) == "ALL"].groupby(tr["period"].astype(str), sort=False):
            try:
                a, b = p.split("-")
            except ValueError:
                a, b = _("initial"), _("final")
            title = _("Land cover transitions %(period)s") % {"period": p}
            out.append((title, charts.transition_sankey(g, title=title, left_title=a, right_title=b)))
    return out


#: Sections of the report: id -> heading in English (the table of contents, the PDF outline and the page numbers);
#: :func:`section_headings` gives them in the current language.
SECTIONS: dict[str, str] = {
    "summary": N_("1. Executive summary"),
    "tables": N_("2. PRAIS tables"),
    "maps": N_("3. Atlas of maps"),
    "charts": N_("4. Charts"),
    "method": N_("5. Methods and data"),
    "consistency": N_("6. Consistency certificate"),
}


def section_headings() -> dict[str, str]:
    """Section id -> heading in the current language."""
    return {k: _(v) for k, v in SECTIONS.items()}


def _page_footer_css() -> str:
    """CSS ``content`` of the page footer, "Page n of N" in the current language."""
    import re

    text = _("Page %(page)s of %(pages)s")
    out = []
    for piece in re.split(r"(%\(pages?\)s)", text):
        if piece == "%(page)s":
            out.append("counter(page)")
        elif piece == "%(pages)s":
            out.append("counter(pages)")
        elif piece:
            out.append('"' + piece.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(out)

#: Public references of the methods (cited in the report instead of internal documents).
REFERENCES = (
    "Sims, N.C. et al. (2021). Good Practice Guidance. SDG Indicator 15.3.1, Proportion of land that is degraded "
    "over total land area. Version 2.0. United Nations Convention to Combat Desertification, Bonn. "
    "https://www.unccd.int/resources/manuals-and-guides/good-practice-guidance-sdg-indicator-1531-proportion-land-"
    "degraded-over",
    "UNCCD (2025). PRAIS 4 reporting manual for the 2026 reporting process (strategic objectives 1, 2 and 3). "
    "https://www.unccd.int/land-and-life/reporting",
    "Trends.Earth (Conservation International): methods documentation. https://docs.trends.earth",
    "McKee, T.B., Doesken, N.J., Kleist, J. (1993). The relationship of drought frequency and duration to time "
    "scales. 8th Conference on Applied Climatology, 179-184 (Standardized Precipitation Index).",
    N_("openldn documentation in the source repository: docs/differences.md (differences from Trends.Earth), "
       "docs/run-file.md (every option of a run)."),
)


#: Values of the integration options shown in the method section, in words.
_OPTION_WORDS: dict[str, str] = {
    "trends_earth": N_("trends earth"),
    "any_improved": N_("any improved"),
    "any_nodata": N_("any nodata"),
    "degraded_wins": N_("degraded wins"),
}


def _option_word(value: Any) -> str:
    text = str(value)
    return _(_OPTION_WORDS[text]) if text in _OPTION_WORDS else text.replace("_", " ")


def _preset_name(preset: dict[str, Any]) -> str:
    """Human name of a method preset (its data file's ``name``), else its id."""
    pid = str(preset.get("id", "") or "")
    if not pid:
        return _("custom")
    try:
        from openldn.core.vocab import read_data_file

        doc = read_data_file(f"presets/{pid}.yaml")
        return _(str(doc.get("name", pid))) if isinstance(doc, dict) else pid
    except Exception:  # a user's preset file: its name as given
        return Path(pid).stem.replace("_", " ")


def _toc(pages: dict[str, int] | None) -> str:
    items = "".join(
        f'<li><a href="#{k}">{html.escape(v)}</a><span class="pg">'
        f'{format_decimal(pages[k], 0) if pages and k in pages else ""}</span></li>'
        for k, v in section_headings().items())
    contents = html.escape(_("Contents"))
    return f'<nav class="toc" aria-label="{contents}"><h2 id="contents">{contents}</h2><ol>{items}</ol></nav>'


def _summary_text(report: PRAISReport) -> str:
    from openldn.reporting.summary import executive_summary

    paras = executive_summary(report)
    if not paras:
        return '<p class="note">' + html.escape(_("No SDG 15.3.1 table in this run: no summary.")) + "</p>"
    return '<div class="summary">' + "".join(f"<p>{html.escape(p)}</p>" for p in paras) + "</div>"


def _figure(m: MapImage, esc: Any) -> str:
    files = ", ".join(f"<code>{esc(f)}</code>" for f in m.files)
    meta = f'<span class="m">{esc(m.caption)}</span>' if m.caption else ""
    return (f'<figure id="map-{esc(m.key.replace("/", "-"))}"><img class="map" alt="{esc(m.title)}" '
            f'src="{data_uri(m.png)}"><figcaption><strong>{esc(m.title)}</strong>{meta}'
            f'{"<span class=m>" + files + "</span>" if files else ""}</figcaption></figure>')


def render_html(
    report: PRAISReport,
    *,
    name: str,
    maps: list[MapImage],
    tables: dict[str, pd.DataFrame] | None = None,
    provenance: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    downloads: dict[str, str] | None = None,
    pages: dict[str, int] | None = None,
    created: str | None = None,
) -> str:
    """The HTML text of the report.

    Sections: contents, executive summary (sentences generated from the figures), PRAIS tables, an atlas of the
    maps (a grid of small maps), charts, methods and data, consistency certificate. The print style sheet makes
    A4 pages with page numbers (:mod:`openldn.reporting.pdf`).

    Parameters
    ----------
    report : PRAISReport
        Validated PRAIS tables.
    name : str
        Assessment name.
    maps : list of MapImage
        Maps to embed.
    tables : dict of str to pandas.DataFrame, optional
        Tidy stage tables (for the charts).
    provenance : dict, optional
        Run provenance (inputs with checksums, preset, version).
    options : dict, optional
        Integration options shown in the method section.
    downloads : dict of str to str, optional
        Label -> relative path of the other outputs (workbook, JSON, CSV folder).
    pages : dict of str to int, optional
        Section id -> page of the PDF, printed in the table of contents of the PDF.
    created : str, optional
        Creation time shown in the header (default: now).

    Returns
    -------
    str
    """
    import openldn

    prov = provenance or {}
    esc = html.escape
    created = created or _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    heads = section_headings()
    lang = current_language()
    css = _CSS.replace("__FONTS__", CSS_FONT_STACK).replace("__PAGE__", _page_footer_css())
    header = _("Land degradation indicators (SDG 15.3.1, SO1, SO2-3, SO3); baseline %(baseline)s, reporting "
               "%(reporting)s; openldn %(version)s; %(created)s") % {
        "baseline": report.baseline, "reporting": _(", ").join(report.reporting),
        "version": str(prov.get("openldn_version", openldn.__version__)), "created": created}
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}" dir="{direction(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>" + esc(_("%(name)s: land degradation report") % {"name": name}) + f"</title><style>{css}</style>"
        "</head><body>",
        f"<header><h1>{esc(name)}</h1><p>{esc(header)}</p></header>",
        '<nav class="bar">' + "".join(f'<a href="#{k}">{esc(v.split(". ", 1)[-1])}</a>' for k, v in heads.items())
        + "</nav><main>",
        _toc(pages),
        f'<section><h2 id="summary">{esc(heads["summary"])}</h2>',
        _certificate_banner(report),
        _summary_text(report),
        _cards(report),
        accuracy_html(prov),
        _figure_notes(report),
        _zone_summary(report),
    ]
    if downloads:
        links = " | ".join(f'<a href="{esc(p)}">{esc(_(k))}</a>' for k, p in downloads.items())
        parts.append('<p class="note">' + esc(_("Files:")) + f" {links}</p>")
    parts.append("</section>")

    parts.append(f'<section><h2 id="tables">{esc(heads["tables"])}</h2><div class="ptables">')
    for code in report.codes():
        ts = [t for t in report.tables if t.code == code]
        main_t = next((t for t in ts if t.zone_id == "ALL"), ts[0])
        parts.append(f'<div class="ptable"><h3 id="t-{esc(code)}">{esc(code)} {esc(_(main_t.title))}</h3>')
        parts.append(f"<p class=\"note\">{esc(_zone_name(main_t.zone_id, main_t.zone_name))}</p>"
                     f"{_table_html(main_t)}")
        for t in ts:
            if t is main_t:
                continue
            parts.append(f"<details><summary>{esc(_zone_name(t.zone_id, t.zone_name))}</summary>{_table_html(t)}"
                         "</details>")
        parts.append("</div>")
    parts.append("</div></section>")

    parts.append(f'<section><h2 id="maps">{esc(heads["maps"])}</h2><p class="note">'
                 + esc(_("Every map of a quantity uses one colour scale across periods; the method parameters of "
                         "each map are under its title and in its GeoTIFF tags."))
                 + '</p><div class="atlas">')
    parts.extend(_figure(m, esc) for m in maps if m.embed)
    parts.append("</div>")
    others = [m for m in maps if not m.embed]
    if others:
        parts.append("<details><summary>" + esc(_("Other maps (files next to the report folder)"))
                     + "</summary><table><tbody>")
        for m in others:
            links = " ".join(f'<a href="../{esc(f)}">{esc(Path(f).suffix[1:])}</a>' for f in m.files)
            parts.append(f"<tr><td>{esc(m.title)}</td><td>{links}</td></tr>")
        parts.append("</tbody></table></details>")
    parts.append("</section>")

    parts.append(f'<section><h2 id="charts">{esc(heads["charts"])}</h2><div class="charts">')
    for title, png in _charts(report, tables or {}):
        parts.append(f'<figure><img class="chart" alt="{esc(title)}" src="{data_uri(png)}">'
                     f"<figcaption>{esc(title)}</figcaption></figure>")
    parts.append("</div></section>")

    parts.append(f'<section><h2 id="method">{esc(heads["method"])}</h2>')
    preset = prov.get("preset") or {}
    opts = options or {}
    source = str((report.consistency.get("ledger") or {}).get("source", ""))
    method = [
        (_("Method preset"), _preset_name(preset)),
        (_("Integration"), _("One out, all out over land cover, land productivity and soil organic carbon (Good "
                             "Practice Guidance v2, §4): land is degraded if any sub-indicator shows degradation.")),
        (_("Improvement rule"), _option_word(opts.get("improved_rule", "trends_earth"))),
        (_("No-data rule"), _option_word(opts.get("nodata_rule", "any_nodata"))),
        (_("Status"), _("Baseline against each reporting period through the 3 x 3 status matrix (Good Practice "
                        "Guidance v2, 2021); expanded 7-class status.")),
        (_("Land-area denominator"),
         _("Total land area = area minus inland water (land cover class 'Water bodies' of one year), one "
           "denominator per run and one water area in every table; no data kept in the denominator and reported "
           "as its own row; water reported separately.") + (" " + _(source) if source else "")),
        (_("Population"), _("Counts aggregated onto the analysis grid with a count-conserving rule; fractional "
                            "counts kept (no integer rounding).")),
        (_("Drought"), _("Standardized Precipitation Index (McKee et al. 1993) in four intensity classes; the "
                         "highest intensity of each period and the population living under it (PRAIS 2026, SO3).")),
        (_("Checks passed"), _(", ").join(report.checks)),
        (_("Differences from Trends.Earth"),
         _("One land-area denominator for every SO1 table (water and no data reported separately); fractional "
           "population; status bands carry their own content; tables generated from data (no formula templates); "
           "see docs/differences.md in the openldn source.")),
    ]
    for zid, la in report.land_area.items():
        zname = _("Whole area") if zid == "ALL" else next(
            (t.zone_name for t in report.tables if t.zone_id == zid), zid)
        method.append((_("Land area, %(zone)s") % {"zone": zname},
                       _("%(land)s km² (%(source)s); water %(water)s km²; no data %(nodata)s km²") % {
                           "land": _num(la["land_km2"], 3), "source": _(str(la["source"])),
                           "water": _num(la["water_km2"], 3), "nodata": _num(la["nodata_km2"], 3)}))
    method += [(_("Substitution"), _(s)) for s in report.substitutions]
    method += [(_("Not built"), _(s)) for s in report.skipped]
    parts.append('<table class="wide"><colgroup><col style="width:22%"><col></colgroup><tbody>' + "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in method) + "</tbody></table>")
    inputs = prov.get("inputs") or []
    if inputs:
        parts.append(_input_data_table(inputs, esc))
    parts.append("<h3>" + esc(_("References")) + '</h3><ol class="note">'
                 + "".join(f"<li>{esc(_(r))}</li>" for r in REFERENCES) + "</ol></section>")

    parts.append("<section>" + _certificate_html(report) + "</section>")
    parts.append("</main></body></html>")
    text = "\n".join(parts)
    # every table scrolls inside its own box on screen (wide tables never widen the page)
    return text.replace("<table", '<div class="tablewrap"><table').replace("</table>", "</table></div>")


def _input_data_table(inputs: list[dict[str, Any]], esc: Any) -> str:
    """The data section: one row per input in the layout of the PRAIS metadata form (PRAIS 2026 reporting manual, Annex II metadata form)."""
    try:
        from openldn.catalog import metadata_forms

        rows = metadata_forms(inputs)
    except ImportError:  # catalog extra absent: role, file and checksum only
        rows = [{"input": r.get("role", ""), "Source link / identifier": r.get("path", ""),
                 "sha256": r.get("sha256", "")} for r in inputs]
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{esc(_(str(c)))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(
            f"<td><code>{esc(str(r.get(c, '')))}</code></td>" if c == "sha256" else f"<td>{esc(str(r.get(c, '')))}</td>"
            for c in cols) + "</tr>"
        for r in rows)
    title = str(esc(_("Input data")))
    return f'<h3>{title}</h3><table class="wide"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def write_html(text: str, path: str | Path) -> Path:
    """Write the report atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
