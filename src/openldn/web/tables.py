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


def _frame(out_dir: Path, name: str) -> pd.DataFrame:
    if not _NAME.match(name) or name.startswith("."):
        raise WebError(422, f"table name {name!r} may only hold letters, digits, '_', '-' and '.'")
    stem = name.removesuffix(".csv")
    path = out_dir / "tables" / f"{stem}.csv"
    if not path.is_file():
        raise WebError(404, f"table {stem!r} is not among the run's outputs")
    return pd.read_csv(path, dtype={"zone_id": str, "period": str}, keep_default_na=False, na_values=[""])


def list_tables(out_dir: Path) -> list[dict[str, Any]]:
    """List a run's tables with their columns, zones and periods."""
    folder = out_dir / "tables"
    out = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
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
            {"name": path.stem, "columns": list(df.columns), "zones": zones, "periods": periods, "crosstab": crosstab}
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
        ``name``, ``columns`` and ``rows`` (list of dicts, JSON-ready).
    """
    df = _frame(out_dir, name)
    if zone_id is not None and "zone_id" in df:
        df = df[df["zone_id"].astype(str) == zone_id]
    if period is not None and "period" in df:
        df = df[df["period"].fillna("").astype(str) == period]
    rows = [{k: _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
    return {"name": name.removesuffix(".csv"), "columns": list(df.columns), "rows": rows}
