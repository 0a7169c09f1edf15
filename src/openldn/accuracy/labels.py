"""Reference labels of sample points: reading and checking a CSV or GeoPackage filled in by interpreters.

Columns: ``point_id`` and ``reference`` (required); ``interpreter``, ``confidence``, ``notes`` (optional, kept).
``reference`` is a class code of the map's legend or its label (case-insensitive); a blank ``reference`` means
"not labelled yet" (partial labelling is allowed). Every problem is a one-line error naming the file, the row and
the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from openldn.exceptions import ConfigError, InputFileError, LegendError

__all__ = ["LABEL_COLUMNS", "check_labels", "label_template", "read_labels"]

#: Columns of a labels file (the first two are required).
LABEL_COLUMNS: tuple[str, ...] = ("point_id", "reference", "interpreter", "confidence", "notes")


def label_template(point_ids: Iterable[str]) -> pd.DataFrame:
    """An empty labels table for the given points (what interpreters fill in)."""
    ids = list(point_ids)
    return pd.DataFrame({c: ids if c == "point_id" else [""] * len(ids) for c in LABEL_COLUMNS})


def read_labels(path: str | Path) -> pd.DataFrame:
    """Read a labels file (CSV, or GeoPackage / any vector file; geometry is dropped) as text columns.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    pandas.DataFrame
        The table with string columns (blank cells as ``""``); not yet checked (see :func:`check_labels`).
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: labels file not found; give the CSV or GeoPackage filled in by the interpreters")
    try:
        if p.suffix.lower() in (".csv", ".txt"):
            df = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
        else:
            import geopandas as gpd

            gdf = gpd.read_file(p)
            df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name) if gdf.geometry is not None else gdf)
            df = df.astype(object).where(df.notna(), "").astype(str)
    except Exception as err:  # pandas/pyogrio raise many kinds
        raise InputFileError(f"{p}: cannot read the labels file ({type(err).__name__}: {err}); save it as CSV (UTF-8) "
                             "or GeoPackage") from err  # fmt: skip
    df.columns = [str(c).strip().lower() for c in df.columns]
    df.attrs["source"] = str(p)
    return df


def check_labels(df: pd.DataFrame, classes: Mapping[int, str], point_ids: Iterable[str]) -> pd.DataFrame:
    """Validate labels against the sample and the legend; return them with integer reference codes.

    Parameters
    ----------
    df : pandas.DataFrame
        Labels as read by :func:`read_labels` (string columns).
    classes : mapping of int to str
        Legend of the stratifying map: class code -> label.
    point_ids : iterable of str
        The sample's point ids.

    Returns
    -------
    pandas.DataFrame
        Columns ``point_id``, ``reference`` (int, or ``pd.NA`` when not labelled), ``interpreter``, ``confidence``,
        ``notes``; one row per labels row.

    Raises
    ------
    openldn.exceptions.ConfigError
        A required column is missing, a point id is unknown or repeated.
    openldn.exceptions.LegendError
        A reference class is not in the legend.
    """
    src = df.attrs.get("source", "labels")
    missing = [c for c in LABEL_COLUMNS[:2] if c not in df.columns]
    if missing:
        raise ConfigError(f"{src}: column(s) {missing} missing (columns: {list(df.columns)}); a labels file needs "
                          "point_id and reference")  # fmt: skip
    out = df.copy()
    for c in LABEL_COLUMNS:
        out[c] = out[c].astype(str).str.strip() if c in out.columns else ""
    known = set(point_ids)
    blank_id = out["point_id"] == ""
    if blank_id.any():
        raise ConfigError(f"{src}: row {int(blank_id.to_numpy().argmax()) + 2} has no point_id; every row needs one")
    unknown = out.loc[~out["point_id"].isin(known), "point_id"]
    if len(unknown):
        shown = ", ".join(unknown.head(5))
        raise ConfigError(f"{src}: {len(unknown)} point id(s) not in the sample ({shown}); check that the labels "
                          "belong to this sample design")  # fmt: skip
    dup = out.loc[out["point_id"].duplicated(), "point_id"]
    if len(dup):
        raise ConfigError(f"{src}: point id(s) {', '.join(dup.unique()[:5])} appear more than once; keep one label "
                          "per point")  # fmt: skip
    by_label = {str(v).strip().lower(): k for k, v in classes.items()}
    codes: list[int | None] = []
    for i, value in enumerate(out["reference"]):
        if value == "" or value.lower() in ("nan", "none"):
            codes.append(None)
            continue
        code: int | None = None
        try:
            code = int(float(value))
        except ValueError:
            code = by_label.get(value.lower())
        if code is None or code not in classes:
            allowed = ", ".join(f"{k} ({v})" for k, v in classes.items())
            raise LegendError(f"{src}: row {i + 2}, point {out['point_id'].iloc[i]}: reference class {value!r} is not "
                              f"in the map's legend; use one of {allowed}")  # fmt: skip
        codes.append(code)
    out["reference"] = pd.array(codes, dtype="Int64")
    return out[list(LABEL_COLUMNS)]
