"""analysis_grid and align: snapping, crop/pad, resampling rules, sum-conserving counts, laziness."""

from __future__ import annotations

import dask
import dask.array as dsa
import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from odc.geo.geobox import GeoBox

from openldn.core.grid import pixel_area
from openldn.exceptions import EmptyAOIError, OpenLDNWarning
from openldn.io import align, analysis_grid, attach_grid, crosses_antimeridian


def _raster(data, gb: GeoBox, *, nodata=None, chunks=None) -> xr.DataArray:
    da = attach_grid(xr.DataArray(data, dims=("y", "x") if data.ndim == 2 else ("time", "y", "x")), gb)
    if nodata is not None:
        da.attrs["_FillValue"] = nodata
    return da.chunk(chunks) if chunks else da


class _NoCompute:
    """Dask scheduler that fails on any compute (the functions under test must stay lazy)."""

    def __call__(self, dsk, keys, **kwargs):
        raise AssertionError("a dask graph was computed")


def test_analysis_grid_snaps_to_reference_with_margin():
    ref_gb = GeoBox((100, 200), Affine(0.5, 0, 0.0, 0, -0.5, 50.0), "EPSG:4326")
    ref = _raster(np.zeros((100, 200), "uint8"), ref_gb)
    aoi = gpd.GeoDataFrame(geometry=[shapely.box(10.2, 30.1, 20.7, 40.0)], crs="EPSG:4326")
    gb = analysis_grid(ref, aoi)
    # AOI columns 20.4..41.4 -> 20..42, rows (50-40)/0.5=20 .. (50-30.1)/0.5=39.8 -> 20..40; plus one pixel each side
    assert gb.affine == Affine(0.5, 0, 9.5, 0, -0.5, 40.5)
    assert (gb.shape.y, gb.shape.x) == (22, 24)
    assert gb.crs == ref_gb.crs


def test_analysis_grid_aoi_in_other_crs_and_outside():
    ref_gb = GeoBox((10, 10), Affine(1000, 0, 3_600_000, 0, -1000, 2_200_000), "EPSG:3035")
    ref = _raster(np.zeros((10, 10), "float32"), ref_gb)
    far = gpd.GeoDataFrame(geometry=[shapely.box(100, 10, 101, 11)], crs="EPSG:4326")
    with pytest.raises(EmptyAOIError, match=r"does not overlap the reference raster.*\(3\.6e\+06"):
        analysis_grid(ref, far)


def test_analysis_grid_from_crs_resolution():
    aoi = gpd.GeoDataFrame(geometry=[shapely.box(1010, 2020, 4990, 5950)], crs="EPSG:3857")
    gb = analysis_grid(None, aoi, crs="EPSG:3857", resolution=100)
    assert gb.affine.a == 100 and gb.affine.e == -100
    assert gb.affine.c % 100 == 0 and gb.affine.f % 100 == 0
    b = gb.extent.boundingbox
    assert b.left == 900 and b.right == 5100 and b.bottom == 1900 and b.top == 6100


def test_antimeridian_detection_warns():
    fiji = gpd.GeoDataFrame(geometry=[shapely.box(177, -19, 180, -16), shapely.box(-180, -19, -178, -16)],
                            crs="EPSG:4326")
    assert crosses_antimeridian(fiji)
    assert not crosses_antimeridian(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326"))
    with pytest.warns(OpenLDNWarning, match="180"):
        gb = analysis_grid(None, fiji, crs="EPSG:4326", resolution=0.25)
    b = gb.extent.boundingbox
    assert b.left >= -180 and b.right <= 180


def test_align_same_grid_is_noop_and_crop_pad_copies_values(rng):
    gb = GeoBox((6, 8), Affine(1, 0, 0, 0, -1, 6), "EPSG:3857")
    data = rng.integers(1, 9, (6, 8)).astype("int16")
    da = _raster(data, gb, nodata=-32768, chunks=3)
    assert align(da, gb, kind="categorical") is da
    # target shifted by (-2 cols, +1 row) and larger: crop + pad with nodata
    tgt = GeoBox((6, 8), Affine(1, 0, -2, 0, -1, 5), "EPSG:3857")
    with dask.config.set(scheduler=_NoCompute()):
        out = align(da, tgt, kind="categorical")
    assert isinstance(out.data, dsa.Array)
    vals = out.values
    expected = np.full((6, 8), -32768, "int16")
    expected[0:5, 2:8] = data[1:6, 0:6]
    np.testing.assert_array_equal(vals, expected)
    assert out.dtype == np.int16
    assert out.rio.transform() == tgt.affine


def test_categorical_mode_when_source_finer():
    src = GeoBox((4, 4), Affine(1, 0, 0, 0, -1, 4), "EPSG:3857")
    data = np.array([[1, 1, 2, 2], [1, 3, 2, 2], [5, 5, 4, 4], [6, 5, 4, 7]], dtype="uint8")
    da = _raster(data, src, nodata=0)
    tgt = GeoBox((2, 2), Affine(2, 0, 0, 0, -2, 4), "EPSG:3857")
    out = align(da, tgt, kind="categorical").values
    np.testing.assert_array_equal(out, [[1, 2], [5, 4]])  # majority of each 2x2 block


def test_categorical_nearest_when_source_coarser():
    src = GeoBox((2, 2), Affine(2, 0, 0, 0, -2, 4), "EPSG:3857")
    da = _raster(np.array([[1, 2], [3, 4]], "uint8"), src, nodata=0)
    tgt = GeoBox((4, 4), Affine(1, 0, 0, 0, -1, 4), "EPSG:3857")
    out = align(da, tgt, kind="categorical").values
    np.testing.assert_array_equal(out, np.kron([[1, 2], [3, 4]], np.ones((2, 2), int)))


def test_continuous_average_when_downsampling():
    src = GeoBox((4, 4), Affine(1, 0, 0, 0, -1, 4), "EPSG:3857")
    data = np.arange(16, dtype="float32").reshape(4, 4)
    data[0, 0] = np.nan
    da = _raster(data, src)
    tgt = GeoBox((2, 2), Affine(2, 0, 0, 0, -2, 4), "EPSG:3857")
    out = align(da, tgt, kind="continuous").values
    expected = [[np.mean([1, 4, 5]), np.mean([2, 3, 6, 7])], [np.mean([8, 9, 12, 13]), np.mean([10, 11, 14, 15])]]
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_continuous_integer_input_becomes_float_with_nan():
    gb = GeoBox((2, 2), Affine(1, 0, 0, 0, -1, 2), "EPSG:3857")
    da = _raster(np.array([[1, 65535], [3, 4]], "uint16"), gb, nodata=65535)
    out = align(da, gb, kind="continuous")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.values, [[1, np.nan], [3, 4]])


@settings(max_examples=25, deadline=None)
@given(
    fx=st.floats(0.3, 3.0), fy=st.floats(0.3, 3.0), ox=st.floats(-2.0, 2.0), oy=st.floats(-2.0, 2.0),
    seed=st.integers(0, 2**16),
)
def test_count_is_sum_conserving_projected(fx, fy, ox, oy, seed):
    rng = np.random.default_rng(seed)
    src = GeoBox((9, 11), Affine(100, 0, 1000, 0, -100, 5000), "EPSG:3035")
    counts = rng.random((9, 11)) * 1000
    da = _raster(counts, src, chunks=4)
    # target covers the source fully (margin), with random resolution and phase
    rx, ry = 100 * fx, 100 * fy
    x0 = 1000 - 2 * rx + ox * 10
    y0 = 5000 + 2 * ry + oy * 10
    nx = int(np.ceil((1100 + 4 * rx + 50) / rx))
    ny = int(np.ceil((900 + 4 * ry + 50) / ry))
    tgt = GeoBox((ny, nx), Affine(rx, 0, x0, 0, -ry, y0), "EPSG:3035")
    with dask.config.set(scheduler=_NoCompute()):
        out = align(da, tgt, kind="count")
    assert isinstance(out.data, dsa.Array)
    total = float(np.nansum(out.values))
    assert total == pytest.approx(counts.sum(), rel=1e-9)


def test_count_hand_worked_split():
    # one source cell of 8 people split over target cells it half-covers along x
    src = GeoBox((1, 1), Affine(2, 0, 0, 0, -2, 2), "EPSG:3857")
    da = _raster(np.array([[8.0]]), src)
    tgt = GeoBox((1, 3), Affine(1.5, 0, -0.5, 0, -2, 2), "EPSG:3857")  # edges -0.5, 1, 2.5, 4
    out = align(da, tgt, kind="count").values
    np.testing.assert_allclose(out, [[4.0, 4.0, np.nan]])


def test_count_geographic_uses_ellipsoidal_areas():
    # A 1 degree source cell split into two 0.5 degree rows: shares follow the true (ellipsoidal) areas.
    src = GeoBox((1, 1), Affine(1, 0, 10, 0, -1, 61), "EPSG:4326")
    da = _raster(np.array([[1000.0]]), src)
    tgt = GeoBox((2, 1), Affine(1, 0, 10, 0, -0.5, 61), "EPSG:4326")
    out = align(da, tgt, kind="count").values[:, 0]
    a = pixel_area(_raster(np.zeros((2, 1)), tgt)).values[:, 0]
    np.testing.assert_allclose(out, 1000 * a / a.sum(), rtol=1e-12)
    assert out.sum() == pytest.approx(1000.0, rel=1e-12)


@settings(max_examples=15, deadline=None)
@given(fx=st.floats(0.4, 2.5), fy=st.floats(0.4, 2.5), seed=st.integers(0, 2**16))
def test_count_geographic_conserved(fx, fy, seed):
    rng = np.random.default_rng(seed)
    src = GeoBox((12, 10), Affine(1 / 120, 0, -71.8, 0, -1 / 120, 18.7), "EPSG:4326")
    counts = rng.random((12, 10)) * 50
    counts[3, 4] = np.nan  # missing source cell: counts as nothing
    da = _raster(counts, src, chunks=5)
    rx, ry = fx / 120, fy / 120
    tgt = GeoBox((int(12 / fy) + 4, int(10 / fx) + 4), Affine(rx, 0, -71.8 - 1.3 * rx, 0, -ry, 18.7 + 1.7 * ry), "EPSG:4326")
    out = align(da, tgt, kind="count")
    assert float(np.nansum(out.values)) == pytest.approx(np.nansum(counts), rel=1e-6)


def test_count_time_axis_and_other_crs(rng):
    src = GeoBox((20, 20), Affine(0.01, 0, 2.0, 0, -0.01, 42.0), "EPSG:4326")
    counts = rng.random((2, 20, 20)) * 10
    da = _raster(counts, src)
    tgt_same = GeoBox((11, 11), Affine(0.02, 0, 1.99, 0, -0.02, 42.01), "EPSG:4326")
    out = align(da, tgt_same, kind="count")
    assert out.dims == ("time", "y", "x")
    np.testing.assert_allclose(np.nansum(out.values, axis=(1, 2)), counts.sum(axis=(1, 2)), rtol=1e-9)
    # Across CRSs (density route through GDAL's average): totals close, not exact.
    aoi = gpd.GeoDataFrame(geometry=[shapely.box(1.95, 41.75, 2.25, 42.05)], crs="EPSG:4326")
    tgt = analysis_grid(None, aoi, crs="EPSG:3035", resolution=250)
    out2 = align(da.isel(time=0), tgt, kind="count")
    assert out2.dims == ("y", "x")
    assert float(np.nansum(out2.values)) == pytest.approx(counts[0].sum(), rel=0.02)
