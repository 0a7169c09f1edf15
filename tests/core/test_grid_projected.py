"""pixel_area on projected grids (Web Mercator, UTM, polar stereographic) against independent computations.

The references never call openldn: Web Mercator cells are longitude/latitude boxes whose edges come from the
spherical inverse Mercator formula that defines EPSG:3857, and whose ellipsoidal area is integrated with scipy;
UTM and polar stereographic cells are measured as geodesic polygons (pyproj ``Geod``) of their outline densified
to 200 points per edge.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from affine import Affine
from pyproj import Geod, Transformer
from scipy import integrate

import openldn

A, B = 6378137.0, 6356752.314245179  # WGS84 semi-axes (m)
GEOD = Geod(ellps="WGS84")


def _grid(epsg: int, x0: float, y0: float, res: float, n: int = 3) -> xr.DataArray:
    import rioxarray  # noqa: F401

    da = xr.DataArray(
        np.zeros((n, n)), dims=("y", "x"),
        coords={"y": y0 - res * (np.arange(n) + 0.5), "x": x0 + res * (np.arange(n) + 0.5)},
    )
    return da.rio.write_crs(epsg).rio.write_transform(Affine(res, 0, x0, 0, -res, y0))


def _box_area(lat0: float, lat1: float, dlon: float) -> float:
    """Ellipsoidal area of a longitude/latitude box, integrating the WGS84 area element."""
    e2 = 1 - (B / A) ** 2

    def element(phi: float) -> float:
        return A**2 * (1 - e2) * np.cos(phi) / (1 - e2 * np.sin(phi) ** 2) ** 2

    val, _ = integrate.quad(element, np.deg2rad(lat0), np.deg2rad(lat1), epsabs=0, epsrel=1e-13)
    return abs(val * np.deg2rad(dlon))


def _mercator_lat(y: float) -> float:
    """Latitude (degrees) of an EPSG:3857 northing: the spherical inverse Mercator on the 6378137 m sphere."""
    return float(np.rad2deg(2 * np.arctan(np.exp(y / A)) - np.pi / 2))


def _densified_area(epsg: int, x0: float, y0: float, res: float, m: int = 200) -> float:
    t = Transformer.from_crs(epsg, 4326, always_xy=True)
    xs = np.r_[np.linspace(x0, x0 + res, m), np.full(m, x0 + res), np.linspace(x0 + res, x0, m), np.full(m, x0)]
    ys = np.r_[np.full(m, y0), np.linspace(y0, y0 - res, m), np.full(m, y0 - res), np.linspace(y0 - res, y0, m)]
    lon, lat = t.transform(xs, ys)
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


def _origin(epsg: int, lon: float, lat: float, res: float) -> tuple[float, float]:
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    return float(np.floor(x / res) * res), float(np.floor(y / res) * res)


@pytest.mark.parametrize("lat", [0.0, 45.0, 70.0])
@pytest.mark.parametrize("res", [30.0, 1000.0])
def test_pixel_area__web_mercator_exact_on_the_ellipsoid(lat: float, res: float) -> None:
    # pyproj's areal scale factor is spherical on Web Mercator: 0.5 % too small an area at 70 N
    x0, y0 = _origin(3857, 10.0, lat, res)
    area = openldn.pixel_area(_grid(3857, x0, y0, res)).values
    dlon = np.rad2deg(res / A)
    for i in range(3):
        top, bottom = y0 - i * res, y0 - (i + 1) * res
        expected = _box_area(_mercator_lat(bottom), _mercator_lat(top), dlon)
        np.testing.assert_allclose(area[i], expected, rtol=1e-7)


@pytest.mark.parametrize("lat", [0.0, 45.0, 70.0])
@pytest.mark.parametrize(("epsg", "lon", "sign"), [(32633, 13.7, 1), (3413, -30.0, 1), (3031, 40.0, -1)])
@pytest.mark.parametrize("res", [30.0, 1000.0, 20_000.0])
def test_pixel_area__utm_and_polar_match_geodesic_outline(epsg: int, lon: float, sign: int, lat: float, res: float) -> None:
    x0, y0 = _origin(epsg, lon, sign * lat, res)
    area = openldn.pixel_area(_grid(epsg, x0, y0, res)).values
    for i in range(3):
        for j in range(3):
            expected = _densified_area(epsg, x0 + j * res, y0 - i * res, res)
            # the polygon of the corners differs from the true outline by (res / R)**2 (4e-7 at 20 km); the
            # reference itself sums edge terms of ~1e13 m2, so it is good to ~1e-3 m2 only
            np.testing.assert_allclose(area[i, j], expected, rtol=1e-6 if res > 10_000 else 5e-8, atol=1e-3)


@pytest.mark.parametrize("epsg", [3857, 32633, 3413])
def test_pixel_area__equals_geodesic_polygon_of_the_corners(epsg: int) -> None:
    res = 1000.0
    x0, y0 = _origin(epsg, 20.0 if epsg != 3413 else -45.0, 70.0, res)
    area = openldn.pixel_area(_grid(epsg, x0, y0, res, n=2)).values
    t = Transformer.from_crs(epsg, 4326, always_xy=True)
    for i in range(2):
        for j in range(2):
            xs = np.array([0, 1, 1, 0]) * res + x0 + j * res
            ys = y0 - i * res - np.array([0, 0, 1, 1]) * res
            lon, lat = t.transform(xs, ys)
            np.testing.assert_allclose(area[i, j], abs(GEOD.polygon_area_perimeter(lon, lat)[0]), rtol=1e-8)


def test_pixel_area__polar_grid_over_the_pole_lazy_equals_eager() -> None:
    # 6 x 6 cells of 100 km around the north pole in chunks of 4: same values as in one block, total = cap area
    res = 100_000.0
    da = _grid(3413, -3 * res, 3 * res, res, n=6)
    eager = openldn.pixel_area(da).values
    lazy = openldn.pixel_area(da.chunk({"y": 4, "x": 4}))
    assert lazy.chunks is not None
    # each block is measured in its own local equal-area projection: (100 km / R)**2 agreement
    np.testing.assert_allclose(lazy.values, eager, rtol=1e-6)
    total = sum(_densified_area(3413, -3 * res + j * res, 3 * res - i * res, res) for i in range(6) for j in range(6))
    assert eager.sum() == pytest.approx(total, rel=5e-5)  # (100 km / R)**2 order
