"""The one source of colours and labels of every map, chart, QGIS style and web layer of a run.

Class colours and labels come from the legends of the package data (``openldn/data/legends/*.yaml``, the drought
classes in ``openldn/data/drought/classes.yaml``); the no-data colour, the ramps of continuous layers and which
legend or ramp each output layer uses come from ``openldn/data/ramps/styles.yaml``. The PNG maps
(:mod:`openldn.reporting.maps`), the QGIS styles, the charts (:mod:`openldn.reporting.charts`) and the records of
``outputs.json`` read by the web application all take their colours from here.

matplotlib is imported inside the functions that need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np

from openldn.core.vocab import Legend, load_legend, read_data_file
from openldn.i18n import _

__all__ = [
    "LayerStyle",
    "Ramp",
    "class_colormap",
    "human_name",
    "layer_style",
    "legend_by_id",
    "legend_spec",
    "nodata_color",
    "nodata_label",
    "ramp",
    "ramp_colormap",
    "ramp_name",
    "ramp_range",
    "ramp_record",
    "ramp_stops",
    "short_title",
]


@dataclass(frozen=True)
class Ramp:
    """A colour ramp of continuous layers (stops from the low to the high end)."""

    #: Identifier in ``styles.yaml``.
    id: str
    #: ``"diverging"`` (centred on 0, symmetric range) or ``"sequential"``.
    kind: str
    #: Colour stops, ``#RRGGBB``.
    colors: tuple[str, ...]
    #: Human name.
    name: str = ""


@dataclass(frozen=True)
class LayerStyle:
    """How an output layer is drawn: a legend (classes) or a ramp (continuous), and its short name."""

    prefix: str
    legend: str | None
    ramp: str | None
    short: str
    units: str | None = None


@lru_cache(maxsize=1)
def _doc() -> dict[str, Any]:
    doc = read_data_file("ramps/styles.yaml")
    assert isinstance(doc, dict)
    return doc


def nodata_color() -> str:
    """The one no-data colour of every map, chart, style and web layer."""
    return str(_doc()["nodata"]["color"])


def nodata_label() -> str:
    """The label of no-data pixels and rows, in the current language."""
    return _(str(_doc()["nodata"]["label"]))


@cache
def ramp(ramp_id: str) -> Ramp:
    """The ramp ``ramp_id`` of ``styles.yaml``."""
    r = _doc()["ramps"][ramp_id]
    return Ramp(ramp_id, str(r["kind"]), tuple(str(c) for c in r["colors"]), str(r.get("name", ramp_id)))


def ramp_name(r: Ramp) -> str:
    """The human name of a ramp in the current language."""
    return _(r.name)


def _styles() -> list[LayerStyle]:
    return [LayerStyle(str(s["prefix"]), s.get("legend"), s.get("ramp"), str(s.get("short", s["prefix"])),
                       s.get("units")) for s in _doc()["layers"]]


def human_name(name: str) -> str:
    """The human name of a table or variable id (``"lpd_by_lc"`` -> ``"Land productivity dynamics by land
    cover"``), in the current language; ids not listed lose their underscores."""
    names = _doc().get("names") or {}
    got = names.get(str(name))
    if got:
        return _(str(got))
    text = str(name).replace("_", " ").strip()
    return _(text[:1].upper() + text[1:])


def layer_style(key: str) -> LayerStyle | None:
    """The style of the output layer ``key`` (first matching prefix), or None."""
    for s in _styles():
        if key.startswith(s.prefix):
            return s
    return None


def short_title(key: str, fallback: str | None = None) -> str:
    """A short human title of an output layer: its short name (in the current language) and its period or year
    (``"SDG 15.3.1 2016-2019"``)."""
    s = layer_style(key)
    rest = key[len(s.prefix):] if s is not None else ""
    if s is None:
        return fallback or key.replace("_", " ").replace("/", " ")
    parts = [p for p in rest.split("/") if p]
    return " ".join([_(s.short), *parts[:1]] + ([f"({', '.join(parts[1:])})"] if parts[1:] else []))


@cache
def legend_by_id(legend_id: str) -> Legend:
    """A legend of the package data by id (``"drought"``: the drought intensity classes)."""
    if legend_id == "drought":
        from openldn.drought.classes import drought_legend

        return drought_legend()
    return load_legend(legend_id)


def legend_spec(legend: Legend | str) -> dict[int, tuple[str, str]]:
    """``{code: (label, colour)}`` of a legend (object or package id), in display order, labels in the current
    language."""
    lg = legend_by_id(legend) if isinstance(legend, str) else legend
    return {int(c.code): (_(str(c.label)), str(c.color)) for c in lg.classes}


def class_colormap(spec: dict[int, tuple[str, str]]) -> tuple[list[int], Any, Any]:
    """Codes, matplotlib ``ListedColormap`` and ``BoundaryNorm`` of a class legend (indices 0..n-1).

    The colormap's "bad" colour (masked pixels: no data) is :func:`nodata_color`.
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap

    codes = sorted(spec)
    cm = ListedColormap([spec[c][1] for c in codes], name="openldn_classes").with_extremes(bad=nodata_color())
    return codes, cm, BoundaryNorm(np.arange(-0.5, len(codes) + 0.5), cm.N)


def ramp_colormap(r: Ramp) -> Any:
    """matplotlib colormap of a ramp (linear between its stops); "bad" (no data) is :func:`nodata_color`."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(f"openldn_{r.id}", list(r.colors), N=256).with_extremes(
        bad=nodata_color())


def ramp_range(r: Ramp, values: np.ndarray) -> tuple[float, float]:
    """Display range of finite ``values`` on ramp ``r``: 2nd-98th percentile; diverging ramps symmetric around 0."""
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    if not v.size:
        return (-1.0, 1.0) if r.kind == "diverging" else (0.0, 1.0)
    if r.kind == "diverging":
        m = float(np.percentile(np.abs(v), 98)) or float(np.abs(v).max()) or 1.0
        return -m, m
    lo, hi = float(np.percentile(v, 2)), float(np.percentile(v, 98))
    if hi <= lo:
        lo, hi = float(v.min()), float(v.max())
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def ramp_stops(r: Ramp, vmin: float, vmax: float) -> list[tuple[float, str]]:
    """``(value, colour)`` stops of ramp ``r`` over ``vmin .. vmax`` (equal steps; 0 in the middle if diverging)."""
    n = len(r.colors)
    return [(float(vmin + (vmax - vmin) * i / (n - 1)), r.colors[i]) for i in range(n)]


def ramp_record(r: Ramp, vmin: float, vmax: float) -> dict[str, Any]:
    """The ramp of a continuous layer as written in ``outputs.json`` (web layers draw the same stops)."""
    return {"id": r.id, "kind": r.kind, "name": r.name, "vmin": vmin, "vmax": vmax,
            "stops": [[v, c] for v, c in ramp_stops(r, vmin, vmax)], "nodata": nodata_color()}
