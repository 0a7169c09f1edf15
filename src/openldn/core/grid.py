"""Grid helpers: true pixel area on the ellipsoid.

On geographic grids the area of a cell is the area of its ellipsoidal quadrangle on WGS84
(reference-implementation.md §3): with ``Z(phi)`` the area between the equator and latitude ``phi`` over 360 degrees
of longitude, ``A = (Z(phi_max) - Z(phi_min)) * dlon / 360``. On projected grids the true ground area of each cell is
the nominal cell area divided by the projection's areal scale factor; it equals ``res**2`` only on equal-area
projections.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from pyproj import CRS, Transformer

__all__ = ["WGS84_A", "WGS84_B", "ellipsoid_zone_area", "pixel_area", "row_areas"]

#: WGS84 semi-major axis (m).
WGS84_A = 6378137.0
#: WGS84 semi-minor axis (m).
WGS84_B = 6356752.314245179


def ellipsoid_zone_area(lat_deg: Any, *, a: float = WGS84_A, b: float = WGS84_B) -> np.ndarray:
    """Area (m²) between the equator and latitude ``lat_deg`` over 360° of longitude on an ellipsoid.

    Parameters
    ----------
    lat_deg : array-like
        Latitude in degrees.
    a, b : float
        Semi-major and semi-minor axes (m); WGS84 by default.

    Returns
    -------
    numpy.ndarray
        Signed area in m² (negative south of the equator).
    """
    e = np.sqrt(1.0 - (b / a) ** 2)
    s = np.sin(np.deg2rad(np.asarray(lat_deg, dtype=np.float64)))
    return np.pi * b**2 * (np.arctanh(e * s) / e + s / ((1.0 + e * s) * (1.0 - e * s)))


def row_areas(lat_edges: np.ndarray, dlon_deg: float, *, crs: CRS | None = None) -> np.ndarray:
    """Area (m²) of one cell in each row of a geographic grid, from the row edge latitudes."""
    a, b = WGS84_A, WGS84_B
    if crs is not None:
        ell = crs.ellipsoid
        if ell is not None:
            a, b = ell.semi_major_metre, ell.semi_minor_metre
    z = ellipsoid_zone_area(lat_edges, a=a, b=b)
    return np.abs(np.diff(z)) * abs(dlon_deg) / 360.0


def pixel_area(obj: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """True ground area of every cell of ``obj``'s grid, in m².

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        Any object with ``y`` / ``x`` dimensions and a CRS readable by rioxarray.

    Returns
    -------
    xarray.DataArray, [m2]
        float64, dims ``(y, x)``, on ``obj``'s grid. Lazy (dask) when ``obj`` is chunked.

    Notes
    -----
    Geographic CRS: exact ellipsoidal quadrangle area per row (the same formula as Trends.Earth, so areas agree).
    Projected CRS: nominal cell area divided by the projection's areal scale factor at the cell centre
    (pyproj ``Proj.get_factors``), i.e. the true ground area whatever the projection's distortion; exactly the
    nominal area on equal-area projections.
    """
    import rioxarray  # noqa: F401  (registers .rio)

    crs = obj.rio.crs
    if crs is None:
        from openldn.exceptions import GridMismatchError

        raise GridMismatchError("The raster has no CRS: pixel areas need one; write it with da.rio.write_crs().")
    crs = CRS.from_user_input(crs)
    t = obj.rio.transform()
    ny, nx = obj.sizes["y"], obj.sizes["x"]
    if crs.is_geographic and t.b == 0 and t.d == 0:
        lat_edges = t.f + t.e * np.arange(ny + 1)
        rows = row_areas(lat_edges, t.a, crs=crs)
        data = np.broadcast_to(rows[:, None], (ny, nx))
        values: Any = data
    else:
        values = _projected_areas(crs, t, ny, nx)
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": obj["y"], "x": obj["x"]}, name="pixel_area")
    da.attrs["units"] = "m2"
    da.attrs["long_name"] = "Pixel area"
    if obj.chunks:
        chunks = dict(zip(obj.dims, obj.chunks, strict=False)) if isinstance(obj, xr.DataArray) else obj.chunks
        da = da.chunk({"y": chunks.get("y", -1), "x": chunks.get("x", -1)})
    if "spatial_ref" in obj.coords:
        da = da.assign_coords(spatial_ref=obj["spatial_ref"])
    return da


def _projected_areas(crs: CRS, t: Any, ny: int, nx: int, block: int = 1024) -> np.ndarray:
    """Cell areas on a projected grid: nominal cell area divided by the projection's areal scale factor.

    The areal scale factor (pyproj ``Proj.get_factors``) is evaluated at each cell centre; it is 1 on
    equal-area projections, so their cells keep ``|det(transform)|`` exactly.
    """
    from pyproj import Proj

    proj = Proj(crs)
    to_ll = Transformer.from_crs(crs, crs.geodetic_crs or "EPSG:4326", always_xy=True)
    nominal = abs(t.a * t.e - t.b * t.d)
    out = np.empty((ny, nx), dtype=np.float64)
    cols = np.arange(nx) + 0.5
    for r0 in range(0, ny, block):
        r1 = min(ny, r0 + block)
        cc, rr = np.meshgrid(cols, np.arange(r0, r1) + 0.5)
        xs = t.c + cc * t.a + rr * t.b
        ys = t.f + cc * t.d + rr * t.e
        lon, lat = to_ll.transform(xs, ys)
        scale = np.asarray(proj.get_factors(lon, lat, errcheck=False).areal_scale, dtype=np.float64)
        out[r0:r1] = nominal / scale
    return out
