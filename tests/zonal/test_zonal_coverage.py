"""Fractional coverage: exact polygon/cell areas checked against shapely, and equal-area AOI areas."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from odc.geo.geobox import GeoBox

from openldn.core.grid import row_areas
from openldn.exceptions import ConfigError, EmptyAOIError
from openldn.zonal import ALL_ZONE, build_coverage


def _shapely_fractions(poly, gb: GeoBox) -> np.ndarray:
    """Independent reference: shapely intersection area of every cell polygon / cell area."""
    t = gb.affine
    ny, nx = gb.shape.y, gb.shape.x
    jj, ii = np.meshgrid(np.arange(nx), np.arange(ny))
    x0 = t.c + t.a * jj
    y0 = t.f + t.e * ii
    boxes = shapely.box(x0, y0 + t.e, x0 + t.a, y0)
    inter = shapely.area(shapely.intersection(boxes, poly))
    return inter / abs(t.a * t.e)


def _random_polygon(draw, cx, cy, r, n):
    angles = np.sort(np.array(draw(st.lists(st.floats(0, 2 * np.pi), min_size=n, max_size=n, unique=True))))
    radii = np.array(draw(st.lists(st.floats(0.2, 1.0), min_size=n, max_size=n)))
    pts = np.column_stack([cx + r * radii * np.cos(angles), cy + r * radii * np.sin(angles)])
    return shapely.make_valid(shapely.Polygon(pts))


@st.composite
def polygons(draw):
    """Star-shaped polygons (sometimes with a hole, sometimes sticking out of the grid)."""
    n = draw(st.integers(3, 12))
    cx = draw(st.floats(-20, 170))
    cy = draw(st.floats(-20, 140))
    r = draw(st.floats(3, 90))
    poly = _random_polygon(draw, cx, cy, r, n)
    if draw(st.booleans()):
        hole = shapely.Point(cx, cy).buffer(r * 0.15, 5)
        poly = poly.difference(hole)
    return poly


#: Grid origin offsets. GEOS's overlay (the reference here) loses precision at the smallest normal doubles: with an
#: offset of 2.2e-308 its fraction of one cell was off by 6e-6, and exact again at 1e-12 or 0. Offsets under 1e-9
#: are drawn as 0.
OFFSETS = st.floats(-5, 5).map(lambda v: 0.0 if abs(v) < 1e-9 else v)


@settings(max_examples=60, deadline=None)
@given(poly=polygons(), res=st.sampled_from([7.0, 10.0, 13.3]), ox=OFFSETS, oy=OFFSETS)
def test_fractions_match_shapely(poly, res, ox, oy):
    gb = GeoBox((int(140 / res) + 1, int(160 / res) + 1), Affine(res, 0, ox, 0, -res, 140 + oy), "EPSG:3857")
    if poly.is_empty or poly.area == 0:
        return
    ref = _shapely_fractions(poly, gb)
    if ref.sum() == 0:
        with pytest.raises(EmptyAOIError):
            build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=[poly], crs="EPSG:3857"))
        return
    if ref.max() < 1e-6:  # slivers below the snapping tolerance: either outcome is right
        return
    cov = build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=[poly], crs="EPSG:3857"))
    lev = cov.levels[0]
    got = cov.full_mask().astype(float).reshape(-1)
    got[lev.cells] += lev.fractions
    np.testing.assert_allclose(got.reshape(ref.shape), ref, rtol=0, atol=1e-9)
    # only boundary cells are stored sparsely
    assert np.all((lev.fractions > 0) & (lev.fractions <= 1))


def test_cell_aligned_box_has_no_partial_cells():
    gb = GeoBox((10, 10), Affine(1, 0, 0, 0, -1, 10), "EPSG:3857")
    cov = build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=[shapely.box(2, 3, 7, 8)], crs="EPSG:3857"))
    assert cov.levels[0].cells.size == 0
    assert cov.codes.dtype == np.int16
    assert int(cov.full_mask().sum()) == 25
    assert int(cov.aoi_mask().sum()) == 25


@pytest.mark.parametrize("chunks", [None, ((7, 13, 9), (5, 11, 7)), ((29,), (23,))])
def test_aoi_mask_matches_shapely_on_any_chunks(chunks):
    """The AOI mask, by row strips or on the chunks of the maps it masks: a cell is in when shapely finds any part
    of it inside the polygon (a hole and boundary cells cut across chunk edges)."""
    gb = GeoBox((29, 23), Affine(5.0, 0, 1.7, 0, -5.0, 142.3), "EPSG:3857")
    poly = shapely.Point(60, 70).buffer(52, 9).difference(shapely.Point(55, 80).buffer(17, 5))
    cov = build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=[poly], crs="EPSG:3857"))
    mask = cov.aoi_mask(chunks)
    if chunks is not None:
        assert mask.data.chunks == chunks
    np.testing.assert_array_equal(mask.values, _shapely_fractions(poly, gb) > 1e-9)


@pytest.fixture(params=[None, 23], ids=["one-band", "small-bands"])
def bands(request, monkeypatch):
    """The coverage built in one band of rows, or in bands of a few rows (``_STRIP_CELLS`` cells each)."""
    if request.param is not None:
        import openldn.zonal.coverage as covmod

        monkeypatch.setattr(covmod, "_STRIP_CELLS", request.param)
    return request.param


def test_fractions_match_shapely_in_bands_of_rows(bands):
    """A polygon with a hole over many bands of rows: every cell's fraction as shapely's, once."""
    gb = GeoBox((29, 23), Affine(5.0, 0, 1.7, 0, -5.0, 142.3), "EPSG:3857")
    poly = shapely.Point(60, 70).buffer(52, 9).difference(shapely.Point(55, 80).buffer(17, 5))
    cov = build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=[poly], crs="EPSG:3857"))
    lev = cov.levels[0]
    got = cov.full_mask().astype(float).reshape(-1)
    np.add.at(got, lev.cells, lev.fractions)
    np.testing.assert_allclose(got.reshape(gb.shape.y, gb.shape.x), _shapely_fractions(poly, gb), rtol=0, atol=1e-9)
    assert np.all(np.diff(lev.cells) > 0)  # sorted, each cell once


def test_zones_clipped_to_aoi_overlaps_and_names(bands):
    gb = GeoBox((10, 10), Affine(1, 0, 0, 0, -1, 10), "EPSG:3857")
    aoi = gpd.GeoDataFrame({"name": ["Country"]}, geometry=[shapely.box(1, 1, 9, 9)], crs="EPSG:3857")
    zones = gpd.GeoDataFrame(
        {"code": ["A", "B", "A"], "label": ["Alpha", "Beta", "Alpha"]},
        geometry=[shapely.box(0, 0, 5.5, 10), shapely.box(4, 0, 10, 10), shapely.box(0, 9.5, 1, 10)],
        crs="EPSG:3857",
    )
    cov = build_coverage(gb, aoi=aoi, zones=zones, id_field="code", name_field="label")
    assert cov.zone_ids == (ALL_ZONE, "A", "B")
    assert cov.zone_names == ("Country", "Alpha", "Beta")
    fa = cov.fraction("A").values
    fb = cov.fraction("B").values
    fall = cov.fraction().values
    box = lambda g: _shapely_fractions(g, gb)  # noqa: E731
    np.testing.assert_allclose(fa, box(shapely.box(1, 1, 5.5, 9)), atol=1e-6)
    np.testing.assert_allclose(fb, box(shapely.box(4, 1, 9, 9)), atol=1e-6)
    np.testing.assert_allclose(fall, box(shapely.box(1, 1, 9, 9)), atol=1e-6)
    # cells fully inside both A and B (column 4) are kept for both zones
    assert fa[5, 4] == 1 and fb[5, 4] == 1
    # zone labels: the unit holding the largest part of each cell
    lab = cov.zone_labels().values
    assert lab[5, 2] == 1 and lab[5, 7] == 2 and lab[0, 0] == 0
    with pytest.raises(ConfigError, match="nope"):
        build_coverage(gb, aoi=aoi, zones=zones, id_field="nope")


def test_aoi_outside_grid():
    gb = GeoBox((10, 10), Affine(1, 0, 0, 0, -1, 10), "EPSG:3857")
    with pytest.raises(EmptyAOIError, match="does not cover any cell"):
        build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=[shapely.box(50, 50, 60, 60)], crs="EPSG:3857"))


def _equal_area_m2(poly_lonlat) -> float:
    """Independent area: densify in lon/lat, project to the WGS84 cylindrical equal-area CRS, planar area."""
    g = gpd.GeoSeries([shapely.segmentize(poly_lonlat, 0.001)], crs="EPSG:4326").to_crs("EPSG:6933")
    return float(g.area.iloc[0])


def _coverage_area_m2(cov, gb) -> float:
    t = gb.affine
    rows = row_areas(t.f + t.e * np.arange(gb.shape.y + 1), t.a)
    lev = cov.levels[0]
    full = cov.full_mask().sum(axis=1) @ rows
    part = (lev.fractions * rows[lev.cells // gb.shape.x]).sum()
    return float(full + part)


def test_aoi_area_lonlat_box_matches_equal_area_projection():
    res = 1 / 120  # 30 arc-seconds
    gb = GeoBox((600, 720), Affine(res, 0, 20.0, 0, -res, 50.0), "EPSG:4326")
    box = shapely.box(21.0, 45.5, 25.0, 49.0)  # edges on cell boundaries
    cov = build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=[box], crs="EPSG:4326"))
    assert cov.levels[0].cells.size == 0
    assert _coverage_area_m2(cov, gb) == pytest.approx(_equal_area_m2(box), rel=1e-6)


def test_aoi_area_polygon_fine_grid_close_to_equal_area():
    res = 1 / 240
    gb = GeoBox((600, 720), Affine(res, 0, -72.0, 0, -res, 19.5), "EPSG:4326")
    tri = shapely.Polygon([(-71.9, 18.2), (-69.2, 18.4), (-70.6, 19.45)])
    cov = build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=[tri], crs="EPSG:4326"))
    # partial cells use lon/lat-plane fractions: differences are second order in the cell size
    assert _coverage_area_m2(cov, gb) == pytest.approx(_equal_area_m2(tri), rel=2e-5)


def test_projected_aoi_onto_geographic_grid():
    # AOI given in a projected CRS is reprojected (and densified) onto the lon/lat grid
    res = 1 / 120
    gb = GeoBox((240, 240), Affine(res, 0, 1.0, 0, -res, 43.0), "EPSG:4326")
    box_ll = shapely.box(1.5, 41.5, 2.5, 42.5)
    aoi_3035 = gpd.GeoSeries([shapely.segmentize(box_ll, 0.01)], crs="EPSG:4326").to_crs("EPSG:3035")
    cov = build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=aoi_3035))
    assert _coverage_area_m2(cov, gb) == pytest.approx(_equal_area_m2(box_ll), rel=1e-4)


def test_centre_rule_matches_cell_centres(bands):
    gb = GeoBox((12, 15), Affine(1, 0, 0, 0, -1, 12), "EPSG:3857")
    aoi_poly = shapely.Polygon([(0.3, 0.7), (13.2, 1.9), (11.6, 11.4), (2.5, 10.2)])
    zones = gpd.GeoDataFrame({"id": ["w", "e"]}, geometry=[shapely.box(-1, -1, 6.3, 13), shapely.box(6.3, -1, 16, 13)],
                             crs="EPSG:3857")
    cov = build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=[aoi_poly], crs="EPSG:3857"), zones=zones, rule="centre")
    jj, ii = np.meshgrid(np.arange(15), np.arange(12))
    centres = shapely.points(jj + 0.5, 12 - ii - 0.5)
    inside = shapely.contains(aoi_poly, centres)
    np.testing.assert_array_equal(cov.fraction().values, inside.astype("float32"))
    west = inside & (jj + 0.5 < 6.3)
    np.testing.assert_array_equal(cov.fraction("w").values, west.astype("float32"))
    assert all(lev.cells.size == 0 for lev in cov.levels)
    assert cov.rule == "centre"
    with pytest.raises(ConfigError, match="rule"):
        build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=[aoi_poly], crs="EPSG:3857"), rule="touch")
