"""Reference labelling of a sample design in the web app: the sample, what is known at each point, the labels store.

A *sample* is a folder written by ``openldn accuracy design`` (``points.csv`` and ``design.json``; see
docs/accuracy.md) inside a project's folder or one of its runs' output folders, or uploaded into the project
(``samples/<id>``). Its id is the folder's path relative to the data folder.

For one point :func:`point_details` gathers the value of every map of the run in the points table (with its
legend label and colour), the annual vegetation index series of the project's ``ndvi`` input at the point with its
Theil-Sen and OLS trend (:func:`openldn.productivity.trend.mann_kendall`, the trend of the productivity
sub-indicator), the land cover class of every year of the ``land_cover`` input (labels and colours of its legend)
and the ``soc`` value. Labels are kept in the project database (table ``sample_labels``, same SQLite file as the
projects) and exported as the labels CSV that ``openldn accuracy estimate`` reads
(:data:`openldn.accuracy.labels.LABEL_COLUMNS`).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from openldn.i18n import _
from openldn.web.db import Database
from openldn.web.errors import WebError

__all__ = [
    "LabelStore",
    "Sample",
    "find_samples",
    "labels_csv",
    "load_sample",
    "point_details",
    "point_list",
]

#: Columns of a points table that are not map values.
_POINT_COLUMNS = {"point_id", "stratum", "stratum_label", "row", "col", "x", "y", "lon", "lat", "zone_id",
                  "substratum", "geometry"}  # fmt: skip
#: Colours of classes whose legend gives none (as the map tiles colour them apart).
_PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")
#: Folder levels searched for sample designs below a project or run folder.
_DEPTH = 3

_LABELS_SCHEMA = """
CREATE TABLE IF NOT EXISTS sample_labels (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    sample TEXT NOT NULL,
    point_id TEXT NOT NULL,
    reference INTEGER NOT NULL,
    interpreter TEXT NOT NULL DEFAULT '',
    confidence TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL,
    PRIMARY KEY (project_id, sample, point_id)
);
"""


# --------------------------------------------------------------------------------------------------------- samples
@dataclass
class Sample:
    """A sample design: its folder, points table, design record (None for uploaded points alone) and classes."""

    id: str
    folder: Path
    points: pd.DataFrame
    design: dict[str, Any] | None
    classes: list[dict[str, Any]]
    #: Class code -> label as the design names it (English; what a labels file may give instead of the code).
    legend: dict[int, str]

    @property
    def map_columns(self) -> list[str]:
        """Columns of the points table holding map values (the design's list, else every non-point column)."""
        listed = list((self.design or {}).get("maps") or [])
        if listed:
            return [c for c in listed if c in self.points.columns]
        return [c for c in self.points.columns if c not in _POINT_COLUMNS]


def _legend_colours(legend_id: str | None) -> dict[int, str]:
    if not legend_id:
        return {}
    try:
        from openldn.core.vocab import load_legend

        return {c.code: c.color for c in load_legend(legend_id).classes}
    except Exception:  # a legend that is not a package legend: palette colours
        return {}


def find_samples(folders: Iterable[Path], root: Path) -> list[dict[str, Any]]:
    """Sample designs (folders holding ``points.csv``) below ``folders``, at most :data:`_DEPTH` levels down.

    Returns
    -------
    list of dict
        ``id`` (folder relative to ``root``), ``name``, ``map`` (design map key or None), ``n`` (points).
    """
    root = root.resolve()
    out: list[dict[str, Any]] = []
    seen: set[Path] = set()
    for base in folders:
        if not base.is_dir():
            continue
        base = base.resolve()
        stack = [(base, 0)]
        while stack:
            folder, depth = stack.pop()
            points = folder / "points.csv"
            if points.is_file() and folder not in seen and (root == folder or root in folder.parents):
                seen.add(folder)
                map_key = None
                design = folder / "design.json"
                if design.is_file():
                    try:
                        map_key = json.loads(design.read_text(encoding="utf-8")).get("map_key")
                    except (OSError, ValueError):
                        map_key = None
                with open(points, encoding="utf-8", errors="replace") as fh:
                    n = max(0, sum(1 for _ in fh) - 1)
                rel = folder.relative_to(root).as_posix()
                out.append({"id": rel, "name": rel, "map": map_key, "n": n})
            if depth < _DEPTH:
                try:
                    children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
                except OSError:
                    children = []
                stack.extend((c, depth + 1) for c in reversed(children))
    return out


def load_sample(sample_id: str, root: Path, allowed: Iterable[Path]) -> Sample:
    """Read a sample folder (its id: the path relative to the data folder) that lies in one of ``allowed``."""
    from openldn.web.security import inside, safe_join

    folder = safe_join(root, sample_id)
    if not any(inside(base, folder) for base in allowed if base.exists()):
        raise WebError(404, _("sample %(id)s is not a sample of this project") % {"id": sample_id})
    points_path = folder / "points.csv"
    if not points_path.is_file():
        raise WebError(404, _("sample %(id)s has no points.csv; draw it with 'openldn accuracy design'")
                       % {"id": sample_id})  # fmt: skip
    points = pd.read_csv(points_path, dtype={"point_id": str, "zone_id": str, "stratum_label": str})
    missing = [c for c in ("point_id", "lon", "lat") if c not in points.columns]
    if missing:
        raise WebError(422, _("%(file)s: column(s) %(cols)s missing; a sample needs point_id, lon and lat")
                       % {"file": f"{sample_id}/points.csv", "cols": ", ".join(missing)})  # fmt: skip
    design: dict[str, Any] | None = None
    if (folder / "design.json").is_file():
        design = json.loads((folder / "design.json").read_text(encoding="utf-8"))
    if design is not None:
        codes = [int(c) for c in design.get("classes") or []]
        labels = [str(v) for v in design.get("class_labels") or [str(c) for c in codes]]
        colours = _legend_colours(design.get("legend_id"))
    else:
        strata = points.drop_duplicates("stratum").sort_values("stratum") if "stratum" in points.columns else None
        codes = [int(v) for v in strata["stratum"]] if strata is not None else []
        labels = [str(v) for v in strata["stratum_label"]] if strata is not None and "stratum_label" in strata \
            else [str(c) for c in codes]  # fmt: skip
        colours = {}
    classes = [{"code": c, "label": _(lab), "color": colours.get(c, _PALETTE[i % len(_PALETTE)])}
               for i, (c, lab) in enumerate(zip(codes, labels, strict=True))]  # fmt: skip
    return Sample(id=sample_id, folder=folder, points=points, design=design, classes=classes,
                  legend=dict(zip(codes, labels, strict=True)))


def point_list(sample: Sample, labels: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every point of a sample: id, position, stratum and its label state (in the order of the points table)."""
    out = []
    strata = sample.points["stratum"] if "stratum" in sample.points.columns else [None] * len(sample.points)
    for pid, lon, lat, stratum in zip(sample.points["point_id"], sample.points["lon"], sample.points["lat"], strata,
                                      strict=True):  # fmt: skip
        lab = labels.get(str(pid))
        out.append({"point_id": str(pid), "lon": float(lon), "lat": float(lat),
                    "stratum": None if stratum is None or pd.isna(stratum) else int(stratum),
                    "labelled": lab is not None, "reference": None if lab is None else lab["reference"]})  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------------- point details
def _run_maps(sample: Sample, root: Path) -> dict[str, Any]:
    """Categorical maps of the run the design was drawn on, keyed by points-table column (empty when unknown)."""
    from openldn.web.security import inside

    map_path = (sample.design or {}).get("map_path")
    if not map_path:
        return {}
    run_dir = Path(map_path).parent.parent  # <run>/maps/<file>.tif
    if not inside(root, run_dir) or not (run_dir / "outputs.json").is_file():
        return {}
    try:
        from openldn.accuracy.design import run_categorical_maps

        return {m.column: m for m in run_categorical_maps(run_dir).values()}
    except Exception:  # a run folder without a readable manifest: values without labels
        return {}


def _map_values(sample: Sample, row: pd.Series, root: Path) -> list[dict[str, Any]]:
    maps = _run_maps(sample, root)
    out = []
    for col in sample.map_columns:
        value = row.get(col)
        code = None if value is None or pd.isna(value) else int(float(value))
        info = maps.get(col)
        label = color = None
        if info is not None and code is not None:
            label = _(info.classes[code]) if code in info.classes else None
            color = _legend_colours(info.legend_id).get(code)
        elif code is not None and sample.design and col == str(sample.design.get("map_key", "")).replace("/", "_"):
            found = next((c for c in sample.classes if c["code"] == code), None)
            label, color = (found["label"], found["color"]) if found else (None, None)
        key = info.key if info is not None else col
        out.append({"column": col, "key": key, "value": code, "label": label, "color": color})
    return out


def _input_spec(run_file: Path, name: str, root: Path) -> tuple[Any, list[Path]] | None:
    """The run file's ``inputs.<name>`` spec and its files (None when the run file has no such local input)."""
    import yaml

    from openldn.config import InputSpec
    from openldn.web.security import resolve_inside

    data = yaml.safe_load(run_file.read_text(encoding="utf-8")) or {}
    raw = (data.get("inputs") or {}).get(name)
    if not isinstance(raw, dict) or not raw.get("path"):
        return None
    spec = InputSpec.model_validate(raw)
    values = [raw["path"]] if isinstance(raw["path"], str) else list(raw["path"])
    paths: list[Path] = []
    for v in values:
        paths.extend(resolve_inside(str(v), run_file.parent, root, what=f"inputs.{name}.path"))
    paths = sorted(set(paths)) if len(paths) > 1 else paths
    return (spec, paths) if paths and all(p.exists() for p in paths) else None


def _pixel(da: Any, lon: float, lat: float) -> Any:
    """The values of ``da`` (``(time,) y, x``) in the cell holding lon/lat (None outside the grid)."""
    from pyproj import CRS, Transformer

    crs = da.rio.crs
    x, y = lon, lat
    if crs is not None and CRS.from_user_input(crs) != CRS.from_epsg(4326):
        x, y = Transformer.from_crs("EPSG:4326", CRS.from_user_input(crs), always_xy=True).transform(lon, lat)
    col_f, row_f = ~da.rio.transform() * (x, y)
    row, col = int(np.floor(row_f)), int(np.floor(col_f))
    if not (0 <= row < da.sizes["y"] and 0 <= col < da.sizes["x"]):
        return None
    return da.isel(y=row, x=col).load()


def _cell_at(
    run_file: Path, root: Path, name: str, time: str, lon: float, lat: float
) -> tuple[Any, list[Path], Any] | None:
    """The run file's ``inputs.<name>`` spec, its files and that input's values in the cell holding lon/lat (None: no
    such local input, or the point is outside its grid)."""
    from openldn.io.subannual import open_input

    found = _input_spec(run_file, name, root)
    if found is None:
        return None
    spec, paths = found
    da = open_input(name, spec, paths, time=time, resolve=lambda p: run_file.parent / p)
    cell = _pixel(da, lon, lat)
    return None if cell is None else (spec, paths, cell)


def _ndvi(run_file: Path, root: Path, lon: float, lat: float) -> dict[str, Any] | None:
    from openldn.core.periods import years_of
    from openldn.productivity.trend import mann_kendall

    found = _cell_at(run_file, root, "ndvi", "annual", lon, lat)
    if found is None or "time" not in found[2].dims:
        return None
    _spec, paths, series = found
    years = [int(y) for y in years_of(series)]
    values = [None if not np.isfinite(v) else float(v) for v in np.asarray(series.values, dtype=np.float64)]
    trend: dict[str, Any] | None = None
    ok = np.isfinite(np.asarray(series.values, dtype=np.float64))
    if ok.sum() >= 4:
        ds = mann_kendall(series.astype(np.float64))
        slope, ols = float(ds["slope"]), float(ds["ols_slope"])
        t = np.asarray(years, dtype=np.float64)[ok]
        v = np.asarray(series.values, dtype=np.float64)[ok]
        trend = {
            "slope": slope, "ols_slope": ols, "p": float(ds["p"]), "n": int(ds["n"]),
            # lines drawn through the medians (Theil-Sen, as scipy.stats.theilslopes) and the means (OLS)
            "intercept": float(np.median(v) - slope * np.median(t)),
            "ols_intercept": float(np.mean(v) - ols * np.mean(t)),
        }  # fmt: skip
    return {"years": years, "values": values, "trend": trend, "source": paths[0].name}


def _land_cover(run_file: Path, root: Path, lon: float, lat: float) -> dict[str, Any] | None:
    from openldn.core.periods import years_of
    from openldn.core.vocab import load_legend

    found = _cell_at(run_file, root, "land_cover", "annual", lon, lat)
    if found is None:
        return None
    spec, _paths, cell = found
    legend_value = spec.legend or "esa_cci"
    if isinstance(legend_value, str) and Path(legend_value).suffix:
        legend_value = str(run_file.parent / legend_value)
    legend = load_legend(legend_value)
    by_code = {c.code: c for c in legend.classes}
    nodata = cell.attrs.get("_FillValue", legend.nodata)  # isel keeps the input's attributes
    years = [int(y) for y in years_of(cell)] if "time" in cell.dims else [None]
    raw = np.atleast_1d(np.asarray(cell.values))
    items = []
    for year, value in zip(years, raw, strict=True):
        code = None if not np.isfinite(float(value)) or int(value) == nodata or int(value) == legend.nodata \
            else int(value)  # fmt: skip
        cls = by_code.get(code) if code is not None else None
        items.append({"year": year, "code": code, "label": _(cls.label) if cls else None,
                      "color": cls.color if cls else None})  # fmt: skip
    return {"legend": legend.id, "classes": items}


def _soc(run_file: Path, root: Path, lon: float, lat: float) -> dict[str, Any] | None:
    from openldn.core.periods import years_of

    found = _cell_at(run_file, root, "soc", "auto", lon, lat)
    if found is None:
        return None
    cell = found[2]
    years = [int(y) for y in years_of(cell)] if "time" in cell.dims else [None]
    vals = np.atleast_1d(np.asarray(cell.values, dtype=np.float64))
    return {"unit": "t C/ha", "values": [{"year": y, "value": float(v) if np.isfinite(v) else None}
                                         for y, v in zip(years, vals, strict=True)]}  # fmt: skip


def point_details(sample: Sample, point_id: str, run_file: Path | None, root: Path) -> dict[str, Any]:
    """Everything shown for one point (see the module docstring); inputs the project lacks are None."""
    rows = sample.points.index[sample.points["point_id"].astype(str) == point_id]
    if not len(rows):
        raise WebError(404, _("point %(id)s is not in the sample") % {"id": point_id})
    row = sample.points.loc[rows[0]]
    lon, lat = float(row["lon"]), float(row["lat"])
    point = {"point_id": point_id, "lon": lon, "lat": lat}
    for key in ("stratum", "stratum_label", "zone_id", "x", "y"):
        if key in row.index and not pd.isna(row[key]):
            value = row[key]
            point[key] = value.item() if hasattr(value, "item") else value
    if "stratum_label" in point:
        point["stratum_label"] = _(str(point["stratum_label"]))
    details: dict[str, Any] = {"point": point, "maps": _map_values(sample, row, root), "ndvi": None,
                               "land_cover": None, "soc": None}  # fmt: skip
    if run_file is not None and run_file.is_file():
        details["ndvi"] = _ndvi(run_file, root, lon, lat)
        details["land_cover"] = _land_cover(run_file, root, lon, lat)
        details["soc"] = _soc(run_file, root, lon, lat)
    return details


# ----------------------------------------------------------------------------------------------------- label store
class LabelStore:
    """Reference labels of sample points, in table ``sample_labels`` of the platform's database."""

    _ready: ClassVar[set[Path]] = set()

    def __init__(self, db: Database) -> None:
        self.db = db
        if db.path not in LabelStore._ready:
            with db.connect() as con:
                con.executescript(_LABELS_SCHEMA)
            LabelStore._ready.add(db.path)

    def labels(self, project_id: str, sample: str) -> dict[str, dict[str, Any]]:
        """Labels of a sample, keyed by point id."""
        with self.db.connect() as con:
            rows = con.execute("SELECT point_id, reference, interpreter, confidence, notes, updated FROM sample_labels "
                               "WHERE project_id = ? AND sample = ?", (project_id, sample)).fetchall()  # fmt: skip
        return {r["point_id"]: dict(r) for r in rows}

    def save(self, project_id: str, sample: str, point_id: str, *, reference: int, interpreter: str = "",
             confidence: str = "", notes: str = "") -> dict[str, Any]:  # fmt: skip
        """Insert or replace the label of a point; return it."""
        row = {"project_id": project_id, "sample": sample, "point_id": point_id, "reference": int(reference),
               "interpreter": interpreter, "confidence": confidence, "notes": notes, "updated": time.time()}  # fmt: skip
        with self.db.connect() as con:
            con.execute("INSERT OR REPLACE INTO sample_labels VALUES (:project_id, :sample, :point_id, :reference, "
                        ":interpreter, :confidence, :notes, :updated)", row)  # fmt: skip
        return {k: row[k] for k in ("point_id", "reference", "interpreter", "confidence", "notes", "updated")}

    def delete(self, project_id: str, sample: str, point_id: str) -> None:
        """Remove the label of a point (it is unlabelled again)."""
        with self.db.connect() as con:
            con.execute("DELETE FROM sample_labels WHERE project_id = ? AND sample = ? AND point_id = ?",
                        (project_id, sample, point_id))  # fmt: skip


def labels_csv(sample: Sample, labels: dict[str, dict[str, Any]]) -> str:
    """The labels file ``openldn accuracy estimate`` reads: one row per point, blank reference when unlabelled."""
    from openldn.accuracy.labels import LABEL_COLUMNS

    rows = []
    for pid in sample.points["point_id"].astype(str):
        lab = labels.get(pid)
        rows.append({"point_id": pid, "reference": "" if lab is None else str(int(lab["reference"])),
                     "interpreter": "" if lab is None else lab["interpreter"],
                     "confidence": "" if lab is None else lab["confidence"],
                     "notes": "" if lab is None else lab["notes"]})  # fmt: skip
    buf = io.StringIO()
    pd.DataFrame(rows, columns=list(LABEL_COLUMNS)).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()
