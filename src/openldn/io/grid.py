"""The analysis grid: a reference input's pixel grid cropped to the area of interest, or a grid at a CRS/resolution."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from openldn.exceptions import ConfigError, EmptyAOIError, GridMismatchError, OpenLDNWarning

if TYPE_CHECKING:
    import geopandas as gpd
    from odc.geo.geobox import GeoBox

__all__ = ["analysis_grid", "crosses_antimeridian", "geobox_of"]

#: Relative tolerance when snapping bounds to a pixel grid (absorbs float noise in transforms).
_SNAP_EPS = 1e-6


def geobox_of(da: xr.DataArray) -> GeoBox:
    """The :class:`odc.geo.geobox.GeoBox` of a raster (CRS and transform from rioxarray).

    Raises
    ------
    GridMismatchError
        The raster has no CRS or a rotated transform.
    """
    import rioxarray  # noqa: F401
    from odc.geo.geobox import GeoBox

    crs = da.rio.crs
    if crs is None:
        raise GridMismatchError(f"Raster {da.name or ''!s}: no CRS; write one with da.rio.write_crs(...).")
    t = da.rio.transform(recalc=False)
    if t.b != 0 or t.d != 0:
        raise GridMismatchError(f"Raster {da.name or ''!s}: rotated grids are not supported; warp it north-up first.")
    return GeoBox((da.sizes["y"], da.sizes["x"]), t, crs)


def crosses_antimeridian(aoi: gpd.GeoDataFrame | gpd.GeoSeries) -> bool:
    """Whether a lon/lat area of interest straddles the 180° meridian.

    Detected as: geographic CRS, parts touching both longitude edges (west of -170° and east of 170°) and an
    empty band of longitudes in between (the parts do not span the globe continuously).
    """
    import shapely

    if aoi.crs is None or not aoi.crs.is_geographic:
        return False
    parts = shapely.get_parts(np.asarray(aoi.geometry.values))
    if len(parts) < 2:
        return False
    b = shapely.bounds(parts)
    west = b[:, 0] < -170
    east = b[:, 2] > 170
    if not (west.any() and east.any()):
        return False
    # Longitudes covered by the parts: a gap somewhere between the two groups means the AOI wraps around 180°.
    intervals = sorted(zip(b[:, 0], b[:, 2], strict=True))
    reach = intervals[0][1]
    for lo, hi in intervals[1:]:
        if lo > reach + 1.0:
            return True
        reach = max(reach, hi)
    return False


def _aoi_bounds(aoi: Any, crs: Any) -> tuple[float, float, float, float]:
    import geopandas as gpd

    if isinstance(aoi, gpd.GeoDataFrame | gpd.GeoSeries):
        if aoi.crs is None:
            raise ConfigError("Area of interest: no CRS; set one (e.g. aoi.set_crs('EPSG:4326')).")
        geo = aoi.to_crs(crs)
        if len(geo) == 0 or geo.geometry.is_empty.all():
            raise EmptyAOIError("Area of interest: no geometry; give at least one polygon.")
        b = geo.total_bounds
    else:
        raise ConfigError(f"Area of interest: expected a GeoDataFrame, got {type(aoi).__name__}.")
    if not np.all(np.isfinite(b)):
        raise EmptyAOIError(f"Area of interest: cannot be projected to {crs} (bounds {b}); pick another CRS.")
    return float(b[0]), float(b[1]), float(b[2]), float(b[3])


def analysis_grid(
    reference: xr.DataArray | None,
    aoi: gpd.GeoDataFrame,
    *,
    crs: Any = None,
    resolution: float | tuple[float, float] | None = None,
) -> GeoBox:
    """The analysis grid of a run.

    Parameters
    ----------
    reference : xarray.DataArray or None
        Input whose pixel grid is used. The grid is cropped to the AOI bounds (snapped outwards to whole pixels,
        plus a one-pixel margin). Where the AOI extends beyond the reference raster, the grid follows the AOI
        (the extra cells are nodata after alignment), so AOI and zone areas are never truncated.
    aoi : geopandas.GeoDataFrame
        Area of interest (any CRS).
    crs : Any, optional
        CRS of the grid when there is no reference (EPSG code, WKT, ``pyproj.CRS``).
    resolution : float or (float, float), optional
        Cell size in CRS units when there is no reference.

    Returns
    -------
    odc.geo.geobox.GeoBox

    Raises
    ------
    EmptyAOIError
        The AOI does not overlap the reference raster (both extents are named).
    ConfigError
        Neither a reference nor ``crs`` and ``resolution`` are given.

    Notes
    -----
    Antimeridian: an AOI in lon/lat whose parts sit on both sides of 180° (e.g. Fiji, Chukotka) is detected with
    :func:`crosses_antimeridian`; the grid then spans the full longitude range between the parts' extreme
    longitudes (-180..180 for such an AOI), which is correct (areas and coverage are exact) but wider than needed.
    A warning says so.
    """
    from affine import Affine
    from odc.geo.geobox import GeoBox

    if reference is not None:
        ref = geobox_of(reference)
        x0, y0, x1, y1 = _aoi_bounds(aoi, ref.crs)
        rb = ref.extent.boundingbox
        if x0 >= rb.right or x1 <= rb.left or y0 >= rb.top or y1 <= rb.bottom:
            raise EmptyAOIError(
                f"Area of interest ({x0:.6g}, {y0:.6g}, {x1:.6g}, {y1:.6g}) does not overlap the reference raster "
                f"{reference.name or ''} ({rb.left:.6g}, {rb.bottom:.6g}, {rb.right:.6g}, {rb.top:.6g}) in {ref.crs}; "
                "check the AOI file and the reference input."
            )
        _warn_antimeridian(aoi)
        inv = ~ref.affine
        cols, rows = zip(*(inv * (x, y) for x in (x0, x1) for y in (y0, y1)), strict=True)
        c0 = math.floor(min(cols) + _SNAP_EPS) - 1
        c1 = math.ceil(max(cols) - _SNAP_EPS) + 1
        r0 = math.floor(min(rows) + _SNAP_EPS) - 1
        r1 = math.ceil(max(rows) - _SNAP_EPS) + 1
        if ref.crs is not None and ref.crs.geographic:
            c0, c1, r0, r1 = _clamp_geographic(ref.affine, c0, c1, r0, r1)
        return GeoBox((r1 - r0, c1 - c0), ref.affine * Affine.translation(c0, r0), ref.crs)

    if crs is None or resolution is None:
        raise ConfigError(
            "grid: give either a reference input (grid: {reference: land_cover}) or both crs and resolution."
        )
    if isinstance(resolution, tuple | list):
        rx, ry = float(resolution[0]), float(resolution[1])
    else:
        rx = ry = float(resolution)
    if rx <= 0 or ry <= 0:
        raise ConfigError(f"grid: resolution must be positive, got {resolution!r}.")
    from odc.geo import CRS as OdcCRS

    ocrs = OdcCRS(crs)
    x0, y0, x1, y1 = _aoi_bounds(aoi, ocrs)
    _warn_antimeridian(aoi)
    c0 = math.floor(x0 / rx + _SNAP_EPS) - 1
    c1 = math.ceil(x1 / rx - _SNAP_EPS) + 1
    rt = math.ceil(y1 / ry - _SNAP_EPS) + 1
    rb_ = math.floor(y0 / ry + _SNAP_EPS) - 1
    affine = Affine(rx, 0.0, c0 * rx, 0.0, -ry, rt * ry)
    ncol, nrow = c1 - c0, rt - rb_
    if ocrs.geographic:
        cc0, cc1, rr0, rr1 = _clamp_geographic(affine, 0, ncol, 0, nrow)
        affine = affine * Affine.translation(cc0, rr0)
        ncol, nrow = cc1 - cc0, rr1 - rr0
    return GeoBox((nrow, ncol), affine, ocrs)


def _clamp_geographic(a: Any, c0: int, c1: int, r0: int, r1: int) -> tuple[int, int, int, int]:
    """Keep a lon/lat window within -180..180 / -90..90 (whole pixels)."""
    inv = ~a
    lc0, lr0 = inv * (-180.0, 90.0)
    lc1, lr1 = inv * (180.0, -90.0)
    c_lo, c_hi = sorted((lc0, lc1))
    r_lo, r_hi = sorted((lr0, lr1))
    c0 = max(c0, math.ceil(c_lo - _SNAP_EPS))
    c1 = min(c1, math.floor(c_hi + _SNAP_EPS))
    r0 = max(r0, math.ceil(r_lo - _SNAP_EPS))
    r1 = min(r1, math.floor(r_hi + _SNAP_EPS))
    return c0, c1, r0, r1


def _warn_antimeridian(aoi: Any) -> None:
    if crosses_antimeridian(aoi):
        warnings.warn(
            "Area of interest crosses the 180° meridian: the analysis grid spans the whole longitude range between "
            "its parts (results are exact but the grid is wide); split the AOI to process each side separately.",
            OpenLDNWarning,
            stacklevel=3,
        )
