"""Tidy tables of a finished run (``tables/*.csv``), listed and filtered for the browser."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from openldn.web.errors import WebError

__all__ = ["list_tables", "read_table"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

#: What the share columns divide by (the same numbers as the workbook, JSON and report: the run's area ledger).
SHARE_NOTE = ("share_of_area: class area / zone area, water included; share_of_land: class area / land area (zone "
              "area minus the water row, code -2: the run's one water mask), empty on the water row.")
#: Tables whose figures differ legitimately from another published figure, and why.
TABLE_NOTES: dict[str, str] = {
    "sdg_degradation": "Degraded area on each period's own SDG 15.3.1 map (one-out-all-out). The land status at the "
    "end of a reporting period (table status; PRAIS SO1-4.T1/T2 and the report's headline) can differ: it also "
    "counts land degraded in the baseline and unchanged in the period, and is no data where the baseline is.",
    "status": "Land status at the end of each reporting period (status matrix of the baseline and the period maps): "
    "the figure of PRAIS SO1-4.T1/T2 and of the report's headline; it can differ from the period's own map (table "
    "sdg_degradation).",
}


def _note(name: str, columns: list[str]) -> str:
    parts = [TABLE_NOTES.get(name, "")]
    if "share_of_area" in columns:
        parts.append(SHARE_NOTE)
    return " ".join(p for p in parts if p)


def _frame(out_dir: Path, name: str) -> pd.DataFrame:
    if not _NAME.match(name) or name.startswith("."):
        raise WebError(422, f"table name {name!r} may only hold letters, digits, '_', '-' and '.'")
    stem = name.removesuffix(".csv")
    path = out_dir / "tables" / f"{stem}.csv"
    if not path.is_file():
        raise WebError(404, f"table {stem!r} is not among the run's outputs")
    return pd.read_csv(path, dtype={"zone_id": str, "period": str}, keep_default_na=False, na_values=[""])


def list_tables(out_dir: Path) -> list[dict[str, Any]]:
    """List a run's tables with their human title (package data), columns, zones and periods."""
    from openldn.reporting.styles import human_name

    folder = out_dir / "tables"
    out = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        if path.name.startswith("."):  # a table being written (atomic write's temporary file): not a table yet
            continue
        df = _frame(out_dir, path.stem)
        zones = []
        if "zone_id" in df:
            names = df["zone_name"] if "zone_name" in df else df["zone_id"]
            zones = [
                {"id": str(i), "name": str(n)} for i, n in dict(zip(df["zone_id"], names, strict=True)).items()
            ]
        periods = sorted({str(p) for p in df["period"].fillna("")}) if "period" in df else []
        crosstab = {"class_label_a", "class_label_b"} <= set(df.columns)
        out.append(
            {"name": path.stem, "title": human_name(path.stem), "columns": list(df.columns), "zones": zones,
             "periods": periods, "crosstab": crosstab, "note": _note(path.stem, list(df.columns))}
        )
    return out


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value.item() if hasattr(value, "item") else value


def read_table(out_dir: Path, name: str, *, zone_id: str | None = None, period: str | None = None) -> dict[str, Any]:
    """Return the rows of one table, optionally of one zone and one period.

    Parameters
    ----------
    out_dir : pathlib.Path
        The run's output folder.
    name : str
        Table name (file stem under ``tables/``).
    zone_id, period : str, optional
        Filters on the ``zone_id`` and ``period`` columns.

    Returns
    -------
    dict
        ``name``, ``columns``, ``rows`` (list of dicts, JSON-ready) and ``note`` (what the shares divide by, and
        why the table's figures may differ from another published figure).
    """
    df = _frame(out_dir, name)
    if zone_id is not None and "zone_id" in df:
        df = df[df["zone_id"].astype(str) == zone_id]
    if period is not None and "period" in df:
        df = df[df["period"].fillna("").astype(str) == period]
    rows = [{k: _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
    stem = name.removesuffix(".csv")
    return {"name": stem, "columns": list(df.columns), "rows": rows, "note": _note(stem, list(df.columns))}
