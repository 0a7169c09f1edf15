"""Vocabularies as validated data: legends, nestings, transition matrices and presets.

Package data files live in ``openldn/data`` and are read with :mod:`importlib.resources`; every loader also
accepts a path to a user file (YAML, or CSV where noted), validates it and raises :class:`LegendError` or
:class:`ConfigError` with a one-line message naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from openldn.exceptions import ConfigError, LegendError

__all__ = [
    "LandClass",
    "Legend",
    "Nesting",
    "TransitionMatrix",
    "data_file_hash",
    "list_data_files",
    "load_legend",
    "load_nesting",
    "load_preset",
    "load_transition_matrix",
    "read_data_file",
]

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def _data_root() -> Any:
    return resources.files("openldn") / "data"


def list_data_files(folder: str) -> list[str]:
    """Names (without suffix) of the YAML files in a package data folder, e.g. ``"legends"``."""
    root = _data_root() / folder
    return sorted(p.name.rsplit(".", 1)[0] for p in root.iterdir() if p.name.endswith(".yaml"))


def _read_yaml(path: Path | Any, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise LegendError(f"{what} file {path} does not exist: check the path.") from err
    except OSError as err:
        raise LegendError(f"{what} file {path} cannot be read ({err.strerror}).") from err
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise LegendError(f"{what} file {path} is not valid YAML{where}: fix the syntax.") from err


@cache
def read_data_file(relpath: str) -> Any:
    """Parsed content of a package data file, e.g. ``read_data_file("legends/unccd.yaml")``."""
    res = _data_root().joinpath(*relpath.split("/"))
    if not res.is_file():
        raise ConfigError(f"openldn data file {relpath!r} does not exist (package data is incomplete).")
    return _read_yaml(res, "Data")


def data_file_hash(relpath: str) -> str:
    """sha256 of a package data file (recorded in provenance)."""
    res = _data_root().joinpath(*relpath.split("/"))
    return hashlib.sha256(res.read_bytes()).hexdigest()


def _resolve(value: str | Path, folder: str, what: str) -> tuple[Any, str]:
    """Return (parsed document, source label) for a package id or a user path."""
    s = str(value)
    if isinstance(value, Path) or s.endswith((".yaml", ".yml", ".csv", ".json")) or "/" in s or "\\" in s:
        path = Path(s).expanduser()
        if not path.is_file():
            raise LegendError(f"{what} file {path} does not exist: check the path in the run file.")
        if path.suffix.lower() == ".csv":
            return _read_csv(path, what), str(path)
        return _read_yaml(path, what), str(path)
    names = list_data_files(folder)
    if s not in names:
        raise LegendError(f"Unknown {what.lower()} {s!r}: use one of {', '.join(names)} or a path to a file.")
    return read_data_file(f"{folder}/{s}.yaml"), f"openldn:{folder}/{s}.yaml"


def _read_csv(path: Path, what: str) -> list[dict[str, str]]:
    import csv

    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(fh)]
    except (OSError, csv.Error, UnicodeDecodeError) as err:
        raise LegendError(f"{what} file {path} cannot be read as CSV: {err}.") from err
    if not rows:
        raise LegendError(f"{what} file {path} has no rows: add one row per class.")
    return rows


@dataclass(frozen=True)
class LandClass:
    """One class of a legend."""

    #: Integer code in the rasters.
    code: int
    #: Machine key (snake_case), stable across languages.
    key: str
    #: Human label.
    label: str
    #: Display colour, ``#RRGGBB``.
    color: str = "#808080"
    #: Key of the parent class (for custom legends nested into another legend).
    parent: str | None = None


@dataclass(frozen=True)
class Legend:
    """A categorical legend: classes with unique codes and keys, plus a nodata entry.

    Build it with :func:`load_legend`; it validates on construction.
    """

    #: Legend identifier, e.g. ``"unccd"``.
    id: str
    #: Human name.
    name: str
    #: The classes, in display order.
    classes: tuple[LandClass, ...]
    #: Nodata code.
    nodata: int = -32768
    #: Other codes read as nodata (e.g. ESA 9999).
    extra_nodata: tuple[int, ...] = ()
    #: Where the legend came from (package file or user path).
    source: str = ""

    def __post_init__(self) -> None:
        src = self.source or self.id
        if not self.classes:
            raise LegendError(f"Legend {src} has no classes: list at least one class.")
        codes = [c.code for c in self.classes]
        keys = [c.key for c in self.classes]
        for c in self.classes:
            if not _KEY.match(c.key):
                raise LegendError(f"Legend {src}: class key {c.key!r} must be snake_case (a-z, 0-9, _).")
            if not _COLOR.match(c.color):
                raise LegendError(f"Legend {src}: class {c.key!r} colour {c.color!r} must be '#RRGGBB'.")
        dup = sorted({x for x in codes if codes.count(x) > 1})
        if dup:
            raise LegendError(f"Legend {src}: class code(s) {dup} appear more than once; codes must be unique.")
        dupk = sorted({x for x in keys if keys.count(x) > 1})
        if dupk:
            raise LegendError(f"Legend {src}: class key(s) {dupk} appear more than once; keys must be unique.")
        if self.nodata in codes:
            raise LegendError(f"Legend {src}: nodata code {self.nodata} is also a class code.")

    @property
    def codes(self) -> list[int]:
        """Class codes in display order."""
        return [c.code for c in self.classes]

    @property
    def keys(self) -> list[str]:
        """Class keys in display order."""
        return [c.key for c in self.classes]

    def by_code(self, code: int) -> LandClass:
        """The class with ``code``."""
        for c in self.classes:
            if c.code == code:
                return c
        raise LegendError(f"Code {code} is not in legend {self.source or self.id}: add it or fix the raster.")

    def by_key(self, key: str) -> LandClass:
        """The class with ``key``."""
        for c in self.classes:
            if c.key == key:
                return c
        raise LegendError(
            f"Class {key!r} is not in legend {self.source or self.id}: use one of {', '.join(self.keys)}."
        )

    def to_cf_attrs(self) -> dict[str, Any]:
        """CF ``flag_values`` / ``flag_meanings`` attributes plus the legend id."""
        return {
            "flag_values": np.array(self.codes, dtype="int16"),
            "flag_meanings": " ".join(self.keys),
            "legend": self.id,
        }

    def colormap(self) -> dict[int, tuple[int, int, int, int]]:
        """GDAL colour table: code -> RGBA."""
        out: dict[int, tuple[int, int, int, int]] = {}
        for c in self.classes:
            h = c.color.lstrip("#")
            out[c.code] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
        return out


def _legend_from_doc(doc: Any, source: str) -> Legend:
    if isinstance(doc, list):  # CSV rows: code,key,label,color[,parent]
        classes = []
        for i, r in enumerate(doc, start=2):
            try:
                code = int(float(r["code"]))
            except (KeyError, ValueError) as err:
                raise LegendError(f"Legend file {source}, line {i}: column 'code' must hold an integer.") from err
            label = r.get("label") or r.get("name") or r.get("key") or f"class {code}"
            key = r.get("key") or re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or f"class_{code}"
            if not key[0].isalpha():
                key = f"c_{key}"
            classes.append(LandClass(code, key, label, r.get("color") or "#808080", r.get("parent") or None))
        stem = Path(source).stem
        return Legend(id=stem, name=stem, classes=tuple(classes), source=source)
    if not isinstance(doc, dict) or "classes" not in doc:
        raise LegendError(f"Legend file {source} must be a mapping with a 'classes' list.")
    classes = []
    for i, c in enumerate(doc["classes"] or []):
        if not isinstance(c, dict) or "code" not in c or "key" not in c:
            raise LegendError(f"Legend file {source}: class #{i + 1} needs at least 'code' and 'key'.")
        try:
            code = int(c["code"])
        except (TypeError, ValueError) as err:
            raise LegendError(f"Legend file {source}: class #{i + 1} code {c['code']!r} is not an integer.") from err
        classes.append(
            LandClass(code, str(c["key"]), str(c.get("label", c["key"])), str(c.get("color", "#808080")),
                      c.get("parent"))
        )
    nod = doc.get("nodata", {"code": -32768})
    nodata = int(nod["code"] if isinstance(nod, dict) else nod)
    return Legend(
        id=str(doc.get("id", Path(source).stem)),
        name=str(doc.get("name", doc.get("id", ""))),
        classes=tuple(classes),
        nodata=nodata,
        extra_nodata=tuple(int(x) for x in doc.get("extra_nodata", []) or []),
        source=source,
    )


def load_legend(value: str | Path | Legend) -> Legend:
    """Load a legend by package id (``"unccd"``, ``"esa_cci"``) or from a YAML/CSV file.

    A CSV legend has columns ``code, key, label, color`` (``key`` and ``color`` optional) and optionally
    ``parent`` (the UNCCD class key or code each class nests into).
    """
    if isinstance(value, Legend):
        return value
    doc, source = _resolve(value, "legends", "Legend")
    return _legend_from_doc(doc, source)


@dataclass(frozen=True)
class Nesting:
    """A child legend nested into a parent legend: every child code maps to exactly one parent code."""

    #: Identifier.
    id: str
    #: The detailed legend.
    child: Legend
    #: The legend it nests into (usually the UNCCD 7 classes).
    parent: Legend
    #: child code -> parent code.
    mapping: dict[int, int] = field(default_factory=dict)
    #: Where it came from.
    source: str = ""

    def __post_init__(self) -> None:
        src = self.source or self.id
        missing = [c for c in self.child.codes if c not in self.mapping]
        if missing:
            raise LegendError(
                f"Nesting {src}: child class code(s) {missing} are not mapped to a parent class; map every class."
            )
        bad = sorted({p for p in self.mapping.values() if p not in self.parent.codes})
        if bad:
            raise LegendError(f"Nesting {src}: parent code(s) {bad} are not in legend {self.parent.id}.")

    def lookup(self) -> tuple[np.ndarray, int]:
        """Dense lookup array ``lut[code - offset] -> parent code`` (nodata for unmapped), and ``offset``.

        Codes outside the array, and codes inside it that are not child classes, map to the sentinel
        ``-32767`` so callers can detect unknown codes.
        """
        codes = np.array(list(self.mapping), dtype=np.int64)
        offset = int(min(codes.min(), 0))
        lut = np.full(int(codes.max()) - offset + 1, -32767, dtype=np.int16)
        for c, p in self.mapping.items():
            lut[c - offset] = p
        return lut, offset


def load_nesting(value: str | Path | Nesting, *, parent: str | Legend = "unccd") -> Nesting:
    """Load a nesting by package id (``"esa_cci__unccd"``) or from a user file.

    User files may be
    * a YAML nesting (``child: <legend id or file>``, ``parent: unccd``, ``map: {parent_key: [child codes]}``);
    * a YAML or CSV legend whose classes carry a ``parent`` (UNCCD key or code): the custom national legend and
      its nesting in one file.
    """
    if isinstance(value, Nesting):
        return value
    doc, source = _resolve(value, "nestings", "Nesting")
    parent_legend = load_legend(doc.get("parent", parent) if isinstance(doc, dict) else parent)
    if isinstance(doc, dict) and "map" in doc:
        child = load_legend(doc["child"])
        mapping: dict[int, int] = {}
        for pkey, codes in (doc["map"] or {}).items():
            pcode = _parent_code(parent_legend, pkey, source)
            for c in codes or []:
                if int(c) in mapping:
                    raise LegendError(f"Nesting {source}: child code {c} is mapped twice; map it once.")
                mapping[int(c)] = pcode
        return Nesting(str(doc.get("id", Path(source).stem)), child, parent_legend, mapping, source)
    child = _legend_from_doc(doc, source)
    mapping = {}
    for c in child.classes:
        if c.parent is None:
            raise LegendError(
                f"Legend file {source}: class {c.code} ({c.label}) has no 'parent'; give the UNCCD class it nests into."
            )
        mapping[c.code] = _parent_code(parent_legend, c.parent, source)
    return Nesting(f"{child.id}__{parent_legend.id}", child, parent_legend, mapping, source)


def _parent_code(parent: Legend, value: Any, source: str) -> int:
    s = str(value).strip()
    if s.lstrip("-").isdigit():
        code = int(s)
        if code not in parent.codes:
            raise LegendError(f"{source}: parent code {code} is not in legend {parent.id} ({parent.codes}).")
        return code
    try:
        return parent.by_key(s.lower().replace(" ", "_").replace("-", "_")).code
    except LegendError:
        labels = {c.label.lower(): c.code for c in parent.classes}
        if s.lower() in labels:
            return labels[s.lower()]
        raise LegendError(
            f"{source}: parent class {s!r} is not in legend {parent.id}; use one of {', '.join(parent.keys)}."
        ) from None


@dataclass(frozen=True)
class TransitionMatrix:
    """A land cover transition matrix: (initial class, final class) -> -1 / 0 / 1."""

    #: Identifier.
    id: str
    #: The legend of both axes.
    legend: Legend
    #: values[i, j] for initial class ``legend.classes[i]`` and final class ``legend.classes[j]``.
    values: np.ndarray
    #: Optional process labels per cell.
    labels: tuple[tuple[str, ...], ...] | None = None
    #: Where it came from.
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.legend.classes)
        src = self.source or self.id
        if self.values.shape != (n, n):
            raise LegendError(f"Transition matrix {src} must be {n}x{n} (legend {self.legend.id}), got {self.values.shape}.")
        bad = sorted(set(np.unique(self.values).tolist()) - {-1, 0, 1})
        if bad:
            raise LegendError(f"Transition matrix {src} has values {bad}; only -1, 0 and 1 are allowed.")

    def to_lookup(self) -> tuple[np.ndarray, int]:
        """Dense int16 table ``lut[(initial - offset) * size + (final - offset)]`` and ``(offset, size)`` packed.

        Returns
        -------
        lut : numpy.ndarray
            int16, nodata (-32768) where either code is not a class.
        size : int
            Row length; codes are used directly (``offset`` 0), ``size = max code + 1``.
        """
        codes = self.legend.codes
        size = max(codes) + 1
        lut = np.full(size * size, -32768, dtype=np.int16)
        for i, a in enumerate(codes):
            for j, b in enumerate(codes):
                lut[a * size + b] = self.values[i, j]
        return lut, size

    def value(self, initial: int, final: int) -> int:
        """Matrix value for one transition (by class codes)."""
        i = self.legend.codes.index(initial)
        j = self.legend.codes.index(final)
        return int(self.values[i, j])


def load_transition_matrix(
    value: str | Path | TransitionMatrix | None = None, *, legend: str | Path | Legend | None = None
) -> TransitionMatrix:
    """Load a transition matrix by package id (default ``"unccd_default"``) or from a YAML/CSV file.

    YAML: ``legend``, ``columns`` (class keys) and ``matrix`` (one row per initial class key).
    CSV: first column the initial class key, header the final class keys, cells -1/0/1 (or ``-``, ``0``, ``+``).
    Rows and columns may also be written as class codes. A relative ``legend`` path in a YAML file is relative to
    that file.

    Parameters
    ----------
    value : str, path or TransitionMatrix, optional
        Package id or file (default ``"unccd_default"``).
    legend : str, path or Legend, optional
        Legend of the matrix when the file does not name one (e.g. an N x N CSV matrix of a national legend);
        default ``"unccd"``.
    """
    if isinstance(value, TransitionMatrix):
        return value
    doc, source = _resolve(value or "unccd_default", "transitions", "Transition matrix")
    if isinstance(doc, list):  # CSV
        first = next(iter(doc[0]))
        columns = [k for k in doc[0] if k != first]
        rows = {r[first].strip().lower(): [r[c] for c in columns] for r in doc}
        doc = {"columns": columns, "matrix": rows}
    if not isinstance(doc, dict) or "matrix" not in doc:
        raise LegendError(f"Transition matrix file {source} must have 'columns' and 'matrix'.")
    spec = doc.get("legend", legend if legend is not None else "unccd")
    if isinstance(spec, str) and not source.startswith("openldn:") and ("/" in spec or spec.endswith(
            (".yaml", ".yml", ".csv"))) and not Path(spec).is_absolute():
        spec = str(Path(source).parent / spec)
    legend = load_legend(spec)

    def as_key(k: Any) -> str:
        s = str(k).strip()
        if s not in legend.keys and s.lstrip("-").isdigit() and int(s) in legend.codes:
            return legend.by_code(int(s)).key
        return s.lower() if s.lower() in legend.keys else s

    cols = [as_key(c) for c in doc.get("columns", legend.keys)]
    if sorted(cols) != sorted(legend.keys):
        raise LegendError(
            f"Transition matrix {source}: columns {cols} must be exactly the classes of legend {legend.id} ({legend.keys})."
        )
    doc = {**doc, "matrix": {as_key(k): v for k, v in (doc["matrix"] or {}).items()}}
    sym = {"+": 1, "-": -1, "−": -1, "0": 0, "1": 1, "-1": -1, "stable": 0, "improvement": 1, "degradation": -1}
    n = len(legend.keys)
    values = np.zeros((n, n), dtype=np.int8)
    matrix = doc["matrix"]
    if sorted(matrix) != sorted(legend.keys):
        raise LegendError(f"Transition matrix {source}: rows {list(matrix)} must be the classes of legend {legend.id}.")
    for rkey, row in matrix.items():
        if len(row) != n:
            raise LegendError(f"Transition matrix {source}: row {rkey!r} has {len(row)} values, expected {n}.")
        i = legend.keys.index(rkey)
        for ckey, v in zip(cols, row, strict=True):
            j = legend.keys.index(ckey)
            s = str(v).strip().lower()
            if s not in sym:
                raise LegendError(f"Transition matrix {source}: cell ({rkey}, {ckey}) = {v!r}; use -1, 0 or 1.")
            values[i, j] = sym[s]
    labels = None
    if isinstance(doc.get("labels"), dict):
        labels = tuple(tuple(doc["labels"][k]) for k in legend.keys)
    return TransitionMatrix(str(doc.get("id", Path(source).stem)), legend, values, labels, source)


def load_preset(name: str) -> dict[str, Any]:
    """The method preset ``name`` (``"prais_2026_te"``, ``"gpg_v2_2021"``, ``"gpg_v1_2017"``) as a dict."""
    names = list_data_files("presets")
    if name not in names:
        raise ConfigError(f"Unknown preset {name!r}: use one of {', '.join(names)}.")
    doc = dict(read_data_file(f"presets/{name}.yaml"))
    doc["hash"] = data_file_hash(f"presets/{name}.yaml")
    return doc
