"""Exports of a validated :class:`~openldn.reporting.prais.PRAISReport`: XLSX workbook, CSV files, JSON document.

* XLSX: an "About" sheet (run, denominator, checks, provenance) and one sheet per PRAIS table code; each admin unit
  is a block on that sheet. Values only, no formulas (the Trends.Earth templates carried broken formulas,
  Trends.Earth (docs/differences.md)-15).
* CSV: one file per table code, rows of every admin unit, zone columns first.
* JSON: every table plus the run's provenance (inputs with checksums, parameters, preset, openldn version); its
  schema is ``schemas/openldn-run.schema.json`` in the repository (also shipped as package data).

Every file is written to a temporary name in the target folder and renamed (atomic).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

from openldn.i18n import N_, direction, format_decimal
from openldn.i18n import gettext as _
from openldn.io import atomic_path
from openldn.reporting.prais import PRAISReport, PRAISTable, localize

__all__ = ["SCHEMA_VERSION", "load_schema", "report_document", "write_csv", "write_json", "write_xlsx"]

#: Version of the run JSON document (``schemas/openldn-run.schema.json``).
SCHEMA_VERSION = "1.0"


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, str):  # numpy scalars
        return _clean(v.item())
    if isinstance(v, Path):
        return str(v)
    return v


def report_document(
    report: PRAISReport,
    *,
    name: str = "Assessment",
    provenance: dict[str, Any] | None = None,
    outputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The run JSON document: every table and the run's provenance.

    Parameters
    ----------
    report : PRAISReport
        Validated tables.
    name : str
        Name of the assessment.
    provenance : dict, optional
        ``ctx.provenance`` of the run (inputs with sha256, parameters, preset id and hash, openldn version).
    outputs : list of dict, optional
        Written raster records (``ctx.outputs``).

    Returns
    -------
    dict
        JSON-serialisable document valid against ``schemas/openldn-run.schema.json``.
    """
    import openldn
    from openldn.reporting.accuracy_section import accuracy_document

    prov = dict(provenance or {})
    prov.setdefault("openldn_version", openldn.__version__)
    prov.setdefault("inputs", [])
    prov.setdefault("parameters", {})
    prov.setdefault("preset", {"id": "", "hash": ""})
    return _clean({
        "schema": "openldn-run",
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "openldn_version": prov["openldn_version"],
        "baseline": report.baseline,
        "reporting": report.reporting,
        "land_area": report.land_area,
        "checks": report.checks,
        "consistency": report.consistency,
        "substitutions": report.substitutions,
        "skipped": report.skipped,
        "provenance": prov,
        **accuracy_document(prov),
        "outputs": outputs or [],
        "tables": [t.model_dump(mode="json") for t in report.tables],
    })


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the run document (package copy of ``schemas/openldn-run.schema.json``)."""
    text = (resources.files("openldn.reporting") / "templates" / "openldn-run.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def write_json(document: dict[str, Any], path: str | Path) -> Path:
    """Write the run document atomically (UTF-8, indented).

    Parameters
    ----------
    document : dict
        Output of :func:`report_document`.
    path : str or Path
        Destination ``.json`` file.

    Returns
    -------
    Path
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return path


def _file_code(code: str) -> str:
    return code.replace(".", "_")


def write_csv(report: PRAISReport, folder: str | Path) -> list[Path]:
    """One CSV per table code (every admin unit), atomically.

    Parameters
    ----------
    report : PRAISReport
        Validated tables.
    folder : str or Path
        Destination folder (created).

    Returns
    -------
    list of Path
    """
    folder = Path(folder)
    written = []
    for code in report.codes():
        tables = [t for t in report.tables if t.code == code]
        cols: dict[str, str] = {}
        for t in tables:
            for c in t.columns:
                cols.setdefault(c.key, c.label)
        path = folder / f"{_file_code(code)}.csv"
        with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["zone_id", "zone_name", *cols.values()])
            for t in tables:
                for r in t.rows:
                    w.writerow([t.zone_id, t.zone_name, *("" if r.get(k) is None else r.get(k) for k in cols)])
        written.append(path)
    return written


def _sheet_name(code: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    return "".join("_" if ch in "[]:*?/\\" else ch for ch in code)[:31]


def write_xlsx(
    report: PRAISReport,
    path: str | Path,
    *,
    name: str = "Assessment",
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write the workbook: an About sheet and one formatted sheet per PRAIS table code.

    Every word (sheet names, titles, headings, row labels, notes) is in the current language
    (:func:`openldn.i18n.use_language`; Arabic sheets run right to left); the table codes (``SO1-1.T4``) stay codes,
    and every value is a number cell whatever the language.

    Parameters
    ----------
    report : PRAISReport
        Validated tables.
    path : str or Path
        Destination ``.xlsx``.
    name : str
        Assessment name (About sheet).
    provenance : dict, optional
        Run provenance shown on the About sheet.

    Returns
    -------
    Path
    """
    import xlsxwriter

    path = Path(path)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"nan_inf_to_errors": False, "strings_to_formulas": False,
                                            "strings_to_urls": False})
        title = wb.add_format({"bold": True, "font_size": 14})
        head = wb.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True,
                              "valign": "top"})
        zone_f = wb.add_format({"bold": True, "font_size": 12, "font_color": "#1F4E78"})
        text_f = wb.add_format({"border": 1})
        note_f = wb.add_format({"italic": True, "font_color": "#595959"})
        num = {
            "area": wb.add_format({"num_format": "#,##0.000", "border": 1}),
            "change": wb.add_format({"num_format": "+#,##0.000;-#,##0.000;0.000", "border": 1}),
            "percent": wb.add_format({"num_format": "0.000", "border": 1}),
            "change_percent": wb.add_format({"num_format": "+0.000;-0.000;0.000", "border": 1}),
            "count": wb.add_format({"num_format": "#,##0", "border": 1}),
            "thousands": wb.add_format({"num_format": "#,##0.000", "border": 1}),
            "stock": wb.add_format({"num_format": "0.00", "border": 1}),
            "index": wb.add_format({"num_format": "0.000", "border": 1}),
        }

        about = wb.add_worksheet(_sheet_name(_("About")))
        about.set_column(0, 0, 34)
        about.set_column(1, 1, 90)
        about.write(0, 0, _("openldn PRAIS tables: %(name)s") % {"name": name}, title)
        prov = provenance or {}
        info = [
            (_("Baseline"), report.baseline),
            (_("Reporting periods"), ", ".join(report.reporting)),
            (_("openldn version"), str(prov.get("openldn_version", ""))),
            (_("Preset"), f"{(prov.get('preset') or {}).get('id', '')} {(prov.get('preset') or {}).get('hash', '')}"),
            (_("Checks passed"), ", ".join(report.checks)),
            (_("Consistency certificate"), _certificate_line(report.consistency)),
        ]
        for zid, la in report.land_area.items():
            info.append((_("Total land area, %(zone)s (km²)") % {"zone": zid},
                         _("%(land)s (%(source)s); water %(water)s km² reported separately") % {
                             "land": format_decimal(la["land_km2"], 3), "source": localize(str(la["source"])),
                             "water": format_decimal(la["water_km2"], 3)}))
        info += [(_("Substitution"), localize(s)) for s in report.substitutions]
        info += [(_("Not built"), localize(s)) for s in report.skipped]
        for rec in prov.get("inputs", []) or []:
            info.append((_("Input %(role)s") % {"role": rec.get("role", "")},
                         f"{rec.get('path', '')} sha256 {rec.get('sha256', '')}"))
        for i, (k, v) in enumerate(info, start=2):
            about.write_string(i, 0, k, head)
            about.write_string(i, 1, v)

        from openldn.reporting.accuracy_section import write_accuracy_sheets

        write_accuracy_sheets(wb, prov, head)
        if report.consistency:
            _certificate_sheet(wb.add_worksheet(_sheet_name(_("Consistency"))), report.consistency, title, head,
                               text_f, note_f, num["area"])
        for code in report.codes():
            ws = wb.add_worksheet(_sheet_name(code))
            tables = [t for t in report.tables if t.code == code]
            ws.write_string(0, 0, f"{code}  {localize(tables[0].title)}", title)
            row = 2
            width = max(len(t.columns) for t in tables)
            ws.set_column(0, 0, 30)
            ws.set_column(1, max(width - 1, 1), 16)
            for t in tables:
                row = _write_block(ws, t, row, head, zone_f, text_f, note_f, num)
            ws.freeze_panes(2, 0)
        if direction() == "rtl":
            for sheet in wb.worksheets():
                sheet.right_to_left()
        wb.close()
    return path


def _write_block(ws: Any, t: PRAISTable, row: int, head: Any, zone_f: Any, text_f: Any, note_f: Any,
                 num: dict[str, Any]) -> int:
    ws.write_string(row, 0, f"{localize(t.zone_name)} ({t.zone_id})", zone_f)
    row += 1
    for j, c in enumerate(t.columns):
        ws.write_string(row, j, localize(c.label), head)
    row += 1
    for r in t.rows:
        for j, c in enumerate(t.columns):
            v = r.get(c.key)
            if v is None:
                ws.write_blank(row, j, None, text_f)
            elif c.kind == "text":
                ws.write_string(row, j, localize(str(v)), text_f)
            else:
                ws.write_number(row, j, float(v), num[c.kind])
        row += 1
    for n in t.notes:
        ws.write_string(row, 0, localize(n), note_f)
        row += 1
    return row + 1


def _certificate_line(cert: dict[str, Any]) -> str:
    if not cert:
        return _("not computed")
    if cert.get("ok"):
        return (_("PASSED: every table total equals the area ledger within %(tolerance)s (relative); see the "
                  "Consistency sheet") % {"tolerance": f"{cert.get('tolerance', 0):g}"})
    return (_("FAILED: %(n)s table total(s) differ from the area ledger; do not submit before the cause is found "
              "(Consistency sheet)") % {"n": cert.get("failures", 0)})


#: Headings of the consistency certificate's entries, by key.
_ENTRY_HEADINGS = {
    "source": N_("Source"), "table": N_("Table"), "variable": N_("Variable"), "period": N_("Period"),
    "zone_id": N_("Zone"), "quantity": N_("Quantity"), "value_km2": N_("Value (km²)"),
    "ledger_km2": N_("Area ledger (km²)"), "difference_km2": N_("Difference (km²)"),
    "relative_difference": N_("Relative difference"), "ok": N_("Result"),
}


def _certificate_sheet(ws: Any, cert: dict[str, Any], title: Any, head: Any, text_f: Any, note_f: Any,
                       area_f: Any) -> None:
    """The consistency certificate: ledger, rules, notes and every table total against the ledger."""
    ws.set_column(0, 0, 26)
    ws.set_column(1, 9, 18)
    ws.write_string(0, 0, _("Consistency certificate"), title)
    ws.write_string(1, 0, _certificate_line(cert), note_f)
    row = 3
    led = cert.get("ledger") or {}
    if led:
        ws.write_string(row, 0, _("Area ledger"), head)
        ws.write_string(row, 1, f"{localize(str(led.get('source', '')))}; {localize(str(led.get('definition', '')))}")
        row += 1
        heads = [_("Zone"), _("Total area (km²)"), _("Water (km²)"), _("Land (km²)"), _("No data on land (km²)"),
                 _("Denominator (km²)")]
        for j, h in enumerate(heads):
            ws.write_string(row, j, h, head)
        row += 1
        for zid, z in led.get("zones", {}).items():
            ws.write_string(row, 0, str(zid), text_f)
            for j, k in enumerate(("total_km2", "water_km2", "land_km2", "land_nodata_km2", "denominator_km2"), 1):
                ws.write_number(row, j, float(z[k]), area_f)
            row += 1
        row += 1
    ws.write_string(row, 0, _("Rules"), head)
    row += 1
    for j, h in enumerate([_("Rule"), _("Status"), _("What was done"), _("Rule text")]):
        ws.write_string(row, j, h, head)
    row += 1
    for r in cert.get("rules", []):
        for j, k in enumerate(("rule", "status", "how", "text")):
            ws.write_string(row, j, localize(str(r.get(k, ""))) if k != "rule" else str(r.get(k, "")), text_f)
        row += 1
    row += 1
    for n in cert.get("notes", []):
        ws.write_string(row, 0, _("Note %(period)s") % {"period": n.get("period", "")}, head)
        ws.write_string(row, 1, localize(str(n.get("text", ""))), note_f)
        row += 1
    row += 1
    cols = ["source", "table", "variable", "period", "zone_id", "quantity", "value_km2", "ledger_km2",
            "difference_km2", "relative_difference", "ok"]
    for j, h in enumerate(cols):
        ws.write_string(row, j, _(_ENTRY_HEADINGS[h]), head)
    row += 1
    for e in cert.get("entries", []):
        for j, k in enumerate(cols):
            v = e.get(k)
            if isinstance(v, bool):
                ws.write_string(row, j, _("ok") if v else _("FAILED"), text_f)
            elif isinstance(v, int | float) and math.isfinite(float(v)):
                ws.write_number(row, j, float(v), text_f if k == "relative_difference" else area_f)
            else:
                ws.write_string(row, j, "" if v is None else localize(str(v)), text_f)
        row += 1
