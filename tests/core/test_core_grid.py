"""pixel_area against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import integrate

import openldn
from openldn.core.grid import WGS84_A, WGS84_B


def _geo_da(lat_top: float, res: float, ny: int = 3, nx: int = 2, lon0: float = 10.0) -> xr.DataArray:
    import rioxarray  # noqa: F401

    y = lat_top - res * (np.arange(ny) + 0.5)
    x = lon0 + res * (np.arange(nx) + 0.5)
    from affine import Affine

    da = xr.DataArray(np.zeros((ny, nx)), dims=("y", "x"), coords={"y": y, "x": x}).rio.write_crs(4326)
    return da.rio.write_transform(Affine(res, 0, lon0, 0, -res, lat_top))


def _quad_cell_area(lat0: float, lat1: float, dlon: float) -> float:
    """Cell area by numerical integration of the ellipsoid's area element (independent of the closed form)."""
    e2 = 1 - (WGS84_B / WGS84_A) ** 2

    def element(phi: float) -> float:
        return WGS84_A**2 * (1 - e2) * np.cos(phi) / (1 - e2 * np.sin(phi) ** 2) ** 2

    val, _ = integrate.quad(element, np.deg2rad(lat0), np.deg2rad(lat1), epsabs=0, epsrel=1e-13)
    return val * np.deg2rad(dlon)


@pytest.mark.parametrize("lat", [0.0, 10.0, 30.0, 45.0, 60.0, 75.0, 85.0])
@pytest.mark.parametrize("res", [1.0, 0.01, 1 / 1008])
def test_pixel_area__matches_integrated_ellipsoid(lat: float, res: float) -> None:
    da = _geo_da(lat + 3 * res, res)
    area = openldn.pixel_area(da)
    for i in range(3):
        top = lat + 3 * res - i * res
        expected = _quad_cell_area(top - res, top, res)
        np.testing.assert_allclose(area.values[i], expected, rtol=1e-9)


def test_pixel_area__reference_values() -> None:
    # Trends.Earth reference values (reference-implementation.md §3)
    one = openldn.pixel_area(_geo_da(1.0, 1.0, ny=1, nx=1)).values[0, 0] / 1e6
    assert one == pytest.approx(12308.46, abs=0.01)
    small = openldn.pixel_area(_geo_da(0.01, 0.01, ny=1, nx=1)).values[0, 0] / 1e6
    assert small == pytest.approx(1.230907, abs=1e-6)


def test_pixel_area__southern_hemisphere_is_symmetric() -> None:
    north = openldn.pixel_area(_geo_da(40.0, 0.5, ny=2)).values
    south = openldn.pixel_area(_geo_da(-39.0, 0.5, ny=2)).values[::-1]
    np.testing.assert_allclose(north, south, rtol=1e-12)


def test_pixel_area__equal_area_projection_is_nominal() -> None:
    import rioxarray  # noqa: F401

    da = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"),
                      coords={"y": [3_000_250.0, 2_999_750.0], "x": [4_000_250.0, 4_000_750.0]}).rio.write_crs(3035)
    np.testing.assert_allclose(openldn.pixel_area(da).values, 500.0 * 500.0, rtol=1e-7)


def test_pixel_area__utm_true_area_differs_from_nominal() -> None:
    import rioxarray  # noqa: F401

    # 1 km cells on the UTM 33N central meridian: scale factor 0.9996, true area = nominal / 0.9996**2.
    from affine import Affine
    from pyproj import Geod, Transformer

    da = xr.DataArray(np.zeros((1, 1)), dims=("y", "x"), coords={"y": [5_000_500.0], "x": [500_500.0]})
    da = da.rio.write_crs(32633).rio.write_transform(Affine(1000, 0, 500_000, 0, -1000, 5_001_000))
    got = float(openldn.pixel_area(da).values[0, 0])
    # independent: geodesic polygon of the densified cell outline
    t = Transformer.from_crs(32633, 4326, always_xy=True)
    xs = np.r_[np.linspace(500_000, 501_000, 50), np.full(50, 501_000.0), np.linspace(501_000, 500_000, 50),
               np.full(50, 500_000.0)]
    ys = np.r_[np.full(50, 5_001_000.0), np.linspace(5_001_000, 5_000_000, 50), np.full(50, 5_000_000.0),
               np.linspace(5_000_000, 5_001_000, 50)]
    lon, lat = t.transform(xs, ys)
    expected = abs(Geod(ellps="WGS84").polygon_area_perimeter(lon, lat)[0])
    assert got == pytest.approx(expected, rel=1e-5)
    assert got != pytest.approx(1e6, rel=1e-4)


def test_pixel_area__lazy_when_input_is_chunked() -> None:
    da = _geo_da(10.0, 0.1, ny=8, nx=8).chunk({"y": 4, "x": 4})
    area = openldn.pixel_area(da)
    assert area.chunks is not None
    np.testing.assert_allclose(area.values, openldn.pixel_area(da.compute()).values)


def test_pixel_area__no_crs_is_an_error() -> None:
    da = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), coords={"y": [1.0, 0.0], "x": [0.0, 1.0]})
    with pytest.raises(openldn.OpenLDNError, match="no CRS"):
        openldn.pixel_area(da)


def test_rechunk_cell_areas__same_values_blocks_stay_a_broadcast_column() -> None:
    import dask
    from affine import Affine
    from odc.geo.geobox import GeoBox

    from openldn.core.grid import pixel_area, rechunk_cell_areas
    from openldn.io import attach_grid

    gb = GeoBox((300, 400), Affine(0.01, 0, 10.0, 0, -0.01, 46.0), "EPSG:4326")
    area = pixel_area(attach_grid(xr.DataArray(np.zeros((300, 400)), dims=("y", "x")), gb).chunk({"y": 64, "x": 64}))
    full = area.values  # the values as computed whole (pixel_area's values are tested above)
    strides: list[tuple[int, ...]] = []

    def probe(block: np.ndarray) -> np.ndarray:
        strides.append(block.strides)
        return block

    for chunks in (((100, 200), (400,)), {0: (150, 150), 1: -1}):
        out = rechunk_cell_areas(area.data, chunks)
        assert out.chunks[0] == ((100, 200) if isinstance(chunks, tuple) else (150, 150)) and out.chunks[1] == (400,)
        np.testing.assert_array_equal(out.compute(), full)
        strides.clear()
        dask.compute(out.map_blocks(probe, meta=np.empty((0, 0))), scheduler="synchronous")
        assert strides and all(s[1] == 0 for s in strides)  # no float64 per cell
    # anything else (here the area changed by an operation) is rechunked as usual, with its own values
    other = (area * 2.0).data
    got = rechunk_cell_areas(other, ((100, 200), (400,)))
    np.testing.assert_array_equal(got.compute(), 2.0 * full)
    strides.clear()
    dask.compute(got.map_blocks(probe, meta=np.empty((0, 0))), scheduler="synchronous")
    assert all(s[1] == 8 for s in strides)
