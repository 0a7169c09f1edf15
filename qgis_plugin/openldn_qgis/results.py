"""Read what an openldn run wrote: its maps, its report files and the headline figures per admin unit.

No QGIS import and no arithmetic: the figures are copied from the run's JSON report (``report/openldn-run.json``,
the same numbers as the PRAIS workbook).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

__all__ = ["ResultsError", "headline", "maps", "read_run", "report_files", "zones_source"]

RUN_JSON = os.path.join("report", "openldn-run.json")

_PERIOD = re.compile(r"(\d{4})-(\d{4})")


class ResultsError(Exception):
    """The folder does not hold a finished openldn run (one-line message)."""


def read_run(out_dir: str) -> dict[str, Any]:
    """The run's JSON report (``report/openldn-run.json``)."""
    path = os.path.join(out_dir, RUN_JSON)
    if not os.path.isfile(path):
        raise ResultsError(f"{out_dir}: no openldn results here ({RUN_JSON} is missing); pick the output folder "
                           "of a finished run, or run the assessment first.")
    try:
        with open(path, encoding="utf-8") as fh:
            data: dict[str, Any] = json.load(fh)
    except ValueError as err:
        raise ResultsError(f"{path}: not a readable openldn run report ({err}); run the assessment again.") \
            from None
    if data.get("schema") != "openldn-run":
        raise ResultsError(f"{path}: not an openldn run report (schema {data.get('schema')!r}).")
    return data


def maps(out_dir: str, run: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The run's maps in the order written: key, title, stage, kind, absolute ``path`` and ``qml`` (or None)."""
    records = None
    manifest = os.path.join(out_dir, "outputs.json")
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8") as fh:
            records = json.load(fh)
    if records is None:
        records = (run or read_run(out_dir)).get("outputs", [])
    out = []
    for rec in records:
        path = os.path.join(out_dir, rec["path"])
        qml = os.path.splitext(path)[0] + ".qml"
        out.append({**rec, "path": path, "qml": qml if os.path.isfile(qml) else None})
    return out


def report_files(out_dir: str) -> dict[str, str]:
    """The report files that exist: ``report`` (HTML), ``workbook`` (PRAIS xlsx), ``json``."""
    names = {"report": "report.html", "workbook": "prais_tables.xlsx", "json": "openldn-run.json"}
    found = {}
    for key, name in names.items():
        path = os.path.join(out_dir, "report", name)
        if os.path.isfile(path):
            found[key] = path
    return found


def zones_source(run: dict[str, Any]) -> dict[str, Any] | None:
    """The admin units of the run: absolute ``path``, ``layer``, ``id_field``, ``name_field`` (None without)."""
    prov = run.get("provenance") or {}
    params = prov.get("parameters") or {}
    zones = params.get("zones")
    if not zones or not zones.get("path"):
        return None
    run_file = prov.get("run_file") or ""
    base = os.path.dirname(run_file) if run_file else ""
    path = zones["path"]
    if not os.path.isabs(path):
        path = os.path.normpath(os.path.join(base, path))
    return {"path": path, "layer": zones.get("layer"), "id_field": zones.get("id_field") or "id",
            "name_field": zones.get("name_field") or "name"}


def _tag(label: str) -> str:
    """``'Status 2023 (2016-2023)'`` -> ``'2016_2023'``; a label without a period -> its slug."""
    found = _PERIOD.findall(label)
    if found:
        return "_".join(found[-1])
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


def headline(run: dict[str, Any]) -> tuple[list[tuple[str, str, str]], dict[str, dict[str, Any]]]:
    """Headline figures per admin unit, as attribute fields.

    Returns
    -------
    fields : list of (name, kind, alias)
        ``kind`` is ``'double'``; in order: land area (CP-1.T1), degraded area and share of land per assessment
        (SO1-4.T2), population on degraded land per year (SO2-3.T1).
    rows : dict
        ``{zone_id: {field: value}}`` (``'ALL'`` is the whole area).
    """
    fields: list[tuple[str, str, str]] = []
    rows: dict[str, dict[str, Any]] = {}

    def put(zone: str, name: str, alias: str, value: Any) -> None:
        if name not in [f[0] for f in fields]:
            fields.append((name, "double", alias))
        rows.setdefault(zone, {})[name] = None if value is None else float(value)

    tables = run.get("tables") or []
    for code, build in (("CP-1.T1", _land), ("SO1-4.T2", _sdg), ("SO2-3.T1", _population)):
        for table in tables:
            if table.get("code") == code and table.get("rows"):
                for name, alias, value in build(table):
                    put(str(table.get("zone_id")), name, alias, value)
    return fields, rows


def _land(table: dict[str, Any]) -> list[tuple[str, str, Any]]:
    row = table["rows"][0]
    return [("land_km2", f"Land area {row.get('year', '')} (km²)".replace("  ", " "), row.get("land_km2"))]


def _sdg(table: dict[str, Any]) -> list[tuple[str, str, Any]]:
    out = []
    for row in table["rows"]:
        label = str(row.get("assessment", ""))
        tag = _tag(label)
        out.append((f"sdg_{tag}_km2", f"{label}: degraded land (km²)", row.get("degraded_km2")))
        out.append((f"sdg_{tag}_pct", f"{label}: degraded land (% of land)", row.get("percent")))
    return out


def _population(table: dict[str, Any]) -> list[tuple[str, str, Any]]:
    out = []
    for row in table["rows"]:
        year = _tag(str(row.get("year", "")))
        out.append((f"pop_{year}_n", f"{year}: people on degraded land", row.get("n_total")))
        out.append((f"pop_{year}_pct", f"{year}: population on degraded land (%)", row.get("pct_total")))
    return out
