"""Aligning inputs onto the analysis grid, lazily, with a resampling rule per kind of variable.

* ``categorical`` (land cover, climate zones, LPD, soil units): nearest neighbour, or the mode when the source
  cells are finer than the target cells (majority class, nodata ignored).
* ``continuous`` (NDVI, SOC, precipitation): bilinear when the source is coarser or equal, area-weighted average
  when it is finer.
* ``count`` (population): sum-conserving. Each source cell's count is shared among the target cells it overlaps in
  proportion to the overlap area (exact ellipsoidal areas on lon/lat grids), so totals over any area made of whole
  source cells are preserved.

When source and target share CRS, resolution and pixel phase, alignment is a crop (and a pad with nodata where
the target extends beyond the source): values are copied untouched, whatever the kind.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from openldn.exceptions import ConfigError, GridMismatchError

if TYPE_CHECKING:
    from odc.geo.crs import CRS
    from odc.geo.geobox import GeoBox

__all__ = ["align", "attach_grid", "count_weights", "crop_to"]

Kind = Literal["categorical", "continuous", "count"]

_PHASE_TOL = 1e-6  # pixels
_RES_TOL = 1e-9  # relative
_BLOCK = 2048


def crs_of(gb: GeoBox) -> CRS:
    """The CRS of a grid; a grid without one cannot be aligned (one-line error)."""
    if gb.crs is None:
        raise GridMismatchError("a raster has no coordinate reference system: declare its CRS (e.g. gdal_edit -a_srs).")
    return gb.crs


def crop_to(raw: xr.DataArray, gb: GeoBox) -> xr.DataArray:
    """``raw`` cropped lazily, by index, to ``gb``'s extent plus one cell on each side (in ``raw``'s own grid).

    For inputs used on their native grid (monthly precipitation for the SPI): nothing is resampled. Without a CRS
    the grid's extent is taken as given in ``raw``'s coordinates.
    """
    crs = raw.rio.crs
    try:
        bbox = gb.extent.to_crs(str(crs)).boundingbox if crs is not None else gb.extent.boundingbox
    except Exception:  # pragma: no cover - an extent that cannot be transformed: use the whole input
        return raw
    out = raw
    for dim, lo, hi in (("x", bbox.left, bbox.right), ("y", bbox.bottom, bbox.top)):
        c = np.asarray(raw[dim].values, dtype=float)
        if c.size < 2:
            continue
        step = abs(float(c[1] - c[0]))
        keep = np.flatnonzero((c >= lo - 1.5 * step) & (c <= hi + 1.5 * step))
        if keep.size:
            out = out.isel({dim: slice(int(keep.min()), int(keep.max()) + 1)})
    return out


def attach_grid(da: xr.DataArray, gb: GeoBox) -> xr.DataArray:
    """Give ``da`` (..., y, x) the coordinates, CRS and transform of ``gb`` (shapes must match)."""
    import rioxarray  # noqa: F401

    t = gb.affine
    xs = t.c + t.a * (np.arange(gb.shape.x) + 0.5)
    ys = t.f + t.e * (np.arange(gb.shape.y) + 0.5)
    da = da.assign_coords(y=ys, x=xs)
    da = da.drop_vars("spatial_ref", errors="ignore").copy(deep=False)
    # inplace on a shallow copy: rioxarray's default (inplace=False) deep-copies the data
    da.rio.write_crs(crs_of(gb).to_wkt(), inplace=True)
    da.rio.write_transform(gb.affine, inplace=True)
    return da


def _nodata_of(da: xr.DataArray) -> Any:
    for v in (da.attrs.get("_FillValue"), da.encoding.get("_FillValue"), da.attrs.get("nodata")):
        if v is not None:
            return v
    try:
        return da.rio.nodata
    except Exception:
        return None


def _dst_chunks(src: xr.DataArray, dst: GeoBox) -> dict[str, Any]:
    """Output chunks for odc-geo's dask reprojection (by default it copies the source chunk size, which can be tiny)."""
    if not src.chunks:
        return {}
    return {"chunks": (min(dst.shape.y, _BLOCK), min(dst.shape.x, _BLOCK))}


def _yx(out: xr.DataArray) -> xr.DataArray:
    """odc-geo names geographic output dims latitude/longitude: rename them y/x."""
    ren = {a: b for a, b in (("latitude", "y"), ("longitude", "x")) if a in out.dims}
    if ren:
        out = out.drop_vars(list(ren), errors="ignore").rename(ren)
    return out


def _to_float(da: xr.DataArray, dtype: str) -> xr.DataArray:
    """Integer raster -> float with NaN where nodata (grid and attributes kept)."""
    nd = _nodata_of(da)
    out = da.astype(dtype)
    if nd is not None:
        out = out.where(da != nd)
    out.attrs = {k: v for k, v in da.attrs.items() if k not in ("_FillValue", "nodata")}
    out.attrs["_FillValue"] = np.nan
    out.encoding.pop("_FillValue", None)
    if da.rio.crs is not None and out.rio.crs is None:
        out = out.rio.write_crs(da.rio.crs)
    return out


def _pad_value(da: xr.DataArray) -> Any:
    nd = _nodata_of(da)
    if np.issubdtype(da.dtype, np.floating):
        return np.nan if nd is None else nd
    if np.issubdtype(da.dtype, np.bool_):
        return False
    info = np.iinfo(da.dtype)
    if nd is not None and info.min <= nd <= info.max:
        return da.dtype.type(nd)
    return da.dtype.type(-32768) if info.min <= -32768 else da.dtype.type(info.max)


def pixel_offset(src: GeoBox, dst: GeoBox) -> tuple[int, int] | None:
    """Integer (col, row) offset of ``dst`` in ``src`` when both share CRS, resolution and phase; else None."""
    if src.crs != dst.crs:
        return None
    a, b = src.affine, dst.affine
    if a.b != 0 or a.d != 0 or b.b != 0 or b.d != 0:
        return None
    if abs(a.a - b.a) > _RES_TOL * abs(a.a) or abs(a.e - b.e) > _RES_TOL * abs(a.e):
        return None
    fc = (b.c - a.c) / a.a
    fr = (b.f - a.f) / a.e
    if abs(fc - round(fc)) > _PHASE_TOL or abs(fr - round(fr)) > _PHASE_TOL:
        return None
    return round(fc), round(fr)


def _crop_pad(da: xr.DataArray, dst: GeoBox, off: tuple[int, int]) -> xr.DataArray:
    dc, dr = off
    ny, nx = dst.shape.y, dst.shape.x
    sy, sx = da.sizes["y"], da.sizes["x"]
    r0, r1 = max(dr, 0), min(dr + ny, sy)
    c0, c1 = max(dc, 0), min(dc + nx, sx)
    fill = _pad_value(da)
    if r0 >= r1 or c0 >= c1:
        shape = (*tuple(da.sizes[d] for d in da.dims[:-2]), ny, nx)
        data: Any
        if da.chunks:
            import dask.array as dsa

            data = dsa.full(shape, fill, dtype=da.dtype, chunks=(-1,) * (len(shape) - 2) + (_BLOCK, _BLOCK))
        else:
            data = np.full(shape, fill, dtype=da.dtype)
        out = xr.DataArray(data, dims=da.dims, coords={k: v for k, v in da.coords.items() if k not in ("y", "x", "spatial_ref")},
                           attrs=dict(da.attrs))
    else:
        out = da.isel(y=slice(r0, r1), x=slice(c0, c1))
        pads = {"y": (r0 - dr, dr + ny - r1), "x": (c0 - dc, dc + nx - c1)}
        if any(p != (0, 0) for p in pads.values()):
            out = out.drop_vars(["y", "x"]).pad(pads, mode="constant", constant_values=fill)
            out.attrs = dict(da.attrs)
    out = attach_grid(out, dst)
    if not np.issubdtype(out.dtype, np.floating) and "_FillValue" not in out.attrs and fill is not None:
        out.attrs["_FillValue"] = fill
    return out


def _cell_area_at_centre(gb: GeoBox, crs_to: Any) -> float:
    """Area of ``gb``'s centre cell expressed in ``crs_to`` units² (shoelace of the transformed corners)."""
    from pyproj import Transformer

    t = gb.affine
    cy, cx = gb.shape.y // 2, gb.shape.x // 2
    corners = [t * (cx, cy), t * (cx + 1, cy), t * (cx + 1, cy + 1), t * (cx, cy + 1)]
    if gb.crs != crs_to:
        tr = Transformer.from_crs(crs_of(gb).to_wkt(), crs_to.to_wkt(), always_xy=True)
        corners = [tr.transform(x, y) for x, y in corners]
    xs = np.array([c[0] for c in corners])
    ys = np.array([c[1] for c in corners])
    return float(abs(0.5 * (np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1)))))


def _src_is_finer(src: GeoBox, dst: GeoBox) -> bool:
    a_src = _cell_area_at_centre(src, dst.crs)
    a_dst = abs(dst.affine.a * dst.affine.e)
    return bool(np.isfinite(a_src) and a_src < a_dst * (1 - 1e-9))


def align(da: xr.DataArray, geobox: GeoBox, *, kind: Kind) -> xr.DataArray:
    """Put ``da`` on the analysis grid ``geobox`` lazily.

    Parameters
    ----------
    da : xarray.DataArray
        ``(y, x)`` or ``(time, y, x)`` raster with a CRS (numpy- or dask-backed).
    geobox : odc.geo.geobox.GeoBox
        Target grid (see :func:`openldn.io.analysis_grid`).
    kind : {"categorical", "continuous", "count"}
        Resampling rule (module docstring).

    Returns
    -------
    xarray.DataArray
        On ``geobox`` (same dims order, coordinates ``y``/``x`` and ``spatial_ref`` of the grid), dask-backed when
        ``da`` is. Categorical: same integer dtype, nodata kept (``attrs["_FillValue"]``). Continuous: float with
        NaN. Count: float64 with NaN where no source cell overlaps.

    Raises
    ------
    ConfigError
        Unknown ``kind``.
    GridMismatchError
        ``da`` has no CRS.
    """
    from openldn.io.grid import geobox_of

    if kind not in ("categorical", "continuous", "count"):
        raise ConfigError(f"align: kind {kind!r} is not one of categorical, continuous, count.")
    if "y" not in da.dims or "x" not in da.dims:
        raise GridMismatchError(f"align: raster {da.name!r} has dims {da.dims}; expected (..., y, x).")
    src = geobox_of(da)
    if kind == "continuous" and not np.issubdtype(da.dtype, np.floating):
        da = _to_float(da, "float32")
    attrs = dict(da.attrs)
    off = pixel_offset(src, geobox)
    if off is not None:
        if off == (0, 0) and src.shape == geobox.shape:
            return da
        return _crop_pad(da, geobox, off)
    out = _align_count(da, src, geobox) if kind == "count" else _align_warp(da, src, geobox, kind)
    out.attrs.update({k: v for k, v in attrs.items() if k not in out.attrs})
    out.name = da.name
    return out


def _align_warp(da: xr.DataArray, src: GeoBox, dst: GeoBox, kind: Kind) -> xr.DataArray:
    from odc.geo.xr import xr_reproject

    finer = _src_is_finer(src, dst)
    if kind == "categorical":
        resampling = "mode" if finer else "nearest"
        fill = _pad_value(da)
        work = da
        nd = _nodata_of(da)
        if nd is None:
            work = da.copy()
            work.attrs["nodata"] = fill
        out = xr_reproject(work, dst, resampling=resampling, dst_nodata=fill, **_dst_chunks(work, dst))
        out = out.astype(da.dtype)
        out.attrs["_FillValue"] = fill
    else:
        resampling = "average" if finer else "bilinear"
        work = da if np.issubdtype(da.dtype, np.floating) else da.astype("float32")
        work = work.copy()
        work.attrs["nodata"] = np.nan
        out = xr_reproject(work, dst, resampling=resampling, dst_nodata=np.nan, **_dst_chunks(work, dst))
        out.attrs["_FillValue"] = np.nan
    out = _yx(out)
    out.attrs.pop("nodata", None)
    out.encoding.pop("_FillValue", None)
    dims = [d for d in da.dims if d not in ("y", "x")] + ["y", "x"]
    return attach_grid(out.transpose(*dims), dst)


# ---------------------------------------------------------------------------------------------------------------
# Sum-conserving redistribution of counts
# ---------------------------------------------------------------------------------------------------------------


def _edges(origin: float, step: float, n: int) -> np.ndarray:
    return origin + step * np.arange(n + 1, dtype=np.float64)


def count_weights(
    src_edges: np.ndarray, dst_edges: np.ndarray, *, measure: Any = None
) -> np.ndarray:
    """Share of each source interval falling in each target interval (one axis).

    Parameters
    ----------
    src_edges, dst_edges : numpy.ndarray
        Monotonic interval edges (increasing or decreasing) of the source and target cells along one axis.
    measure : callable, optional
        Maps a coordinate to a cumulative measure (e.g. the ellipsoidal zone area of a latitude), so shares are
        proportional to the measure rather than to the coordinate length.

    Returns
    -------
    numpy.ndarray
        ``w[i, k]`` = fraction of source interval ``i`` inside target interval ``k``; rows sum to 1 for source
        intervals fully inside the target range.
    """
    f = (lambda v: v) if measure is None else measure
    s_lo = np.minimum(src_edges[:-1], src_edges[1:])
    s_hi = np.maximum(src_edges[:-1], src_edges[1:])
    d_lo = np.minimum(dst_edges[:-1], dst_edges[1:])
    d_hi = np.maximum(dst_edges[:-1], dst_edges[1:])
    lo = np.maximum(s_lo[:, None], d_lo[None, :])
    hi = np.minimum(s_hi[:, None], d_hi[None, :])
    inside = hi > lo
    num = np.where(inside, np.abs(f(np.where(inside, hi, 0.0)) - f(np.where(inside, lo, 0.0))), 0.0)
    den = np.abs(f(s_hi) - f(s_lo))
    with np.errstate(invalid="ignore", divide="ignore"):
        w = num / den[:, None]
    return np.where(np.isfinite(w), w, 0.0)


def _overlap_range(edges: np.ndarray, a: float, b: float) -> tuple[int, int]:
    """Index range [i0, i1) of the intervals of monotonic ``edges`` that overlap the interval between a and b."""
    lo, hi = min(a, b), max(a, b)
    inc = edges[-1] >= edges[0]
    e = edges if inc else edges[::-1]
    n = e.size - 1
    s0 = int(np.searchsorted(e, lo, side="right")) - 1  # interval containing lo
    s1 = int(np.searchsorted(e, hi, side="left"))  # first edge >= hi
    s0, s1 = max(s0, 0), min(s1, n)
    if s1 <= s0:
        return 0, 0
    return (s0, s1) if inc else (n - s1, n - s0)


def _count_block(src: np.ndarray, wy: np.ndarray, wx: np.ndarray) -> np.ndarray:
    """``wy.T @ x @ wx`` per leading index with sparse (banded) weights; NaN where no valid source cell overlaps."""
    from scipy import sparse

    x = np.asarray(src, dtype=np.float64)
    valid = np.isfinite(x)
    x = np.where(valid, x, 0.0)
    wyt = sparse.csr_matrix(wy.T)
    wxs = sparse.csc_matrix(wx)
    lead = x.shape[:-2]
    out = np.empty((*lead, wy.shape[1], wx.shape[1]), dtype=np.float64)
    for idx in np.ndindex(*lead):
        tot = wyt @ np.asarray((wxs.T @ x[idx].T).T)
        cov = wyt @ np.asarray((wxs.T @ valid[idx].astype(np.float64).T).T)
        out[idx] = np.where(cov > 0, tot, np.nan)
    return out


def _align_count(da: xr.DataArray, src: GeoBox, dst: GeoBox) -> xr.DataArray:
    """Sum-conserving redistribution (separable overlap weights) or, across CRSs, density averaging."""
    a, b = src.affine, dst.affine
    nd = _nodata_of(da)
    if not np.issubdtype(da.dtype, np.floating):
        work = _to_float(da, "float64")
    else:
        work = da
        if nd is not None and not (isinstance(nd, float) and math.isnan(nd)):
            work = work.where(da != nd)
    if src.crs != dst.crs or a.b or a.d or b.b or b.d:
        return _align_count_density(work, src, dst)
    measure = None
    if crs_of(src).geographic:
        from openldn.core.grid import ellipsoid_zone_area

        measure = ellipsoid_zone_area
    sx = _edges(a.c, a.a, src.shape.x)
    sy = _edges(a.f, a.e, src.shape.y)
    tx = _edges(b.c, b.a, dst.shape.x)
    ty = _edges(b.f, b.e, dst.shape.y)
    lead = tuple(da.sizes[d] for d in da.dims[:-2])
    data = work.data
    ny, nx = dst.shape.y, dst.shape.x
    rows_blocks = []
    is_dask = bool(da.chunks)
    if is_dask:
        import dask
        import dask.array as dsa
    for k0 in range(0, ny, _BLOCK):
        k1 = min(ny, k0 + _BLOCK)
        i0, i1 = _overlap_range(sy, ty[k0], ty[k1])
        wy = count_weights(sy[i0 : i1 + 1], ty[k0 : k1 + 1], measure=measure) if i1 > i0 else None
        row_blocks = []
        for l0 in range(0, nx, _BLOCK):
            l1 = min(nx, l0 + _BLOCK)
            shape = (*lead, k1 - k0, l1 - l0)
            j0, j1 = _overlap_range(sx, tx[l0], tx[l1])
            if wy is None or j1 <= j0:
                blk = dsa.full(shape, np.nan, dtype=np.float64) if is_dask else np.full(shape, np.nan)
            else:
                wx = count_weights(sx[j0 : j1 + 1], tx[l0 : l1 + 1])
                piece = data[..., i0:i1, j0:j1]
                if is_dask:
                    task = dask.delayed(_count_block, pure=True)(piece, wy, wx)
                    blk = dsa.from_delayed(task, shape=shape, dtype=np.float64)
                else:
                    blk = _count_block(piece, wy, wx)
            row_blocks.append(blk)
        rows_blocks.append(row_blocks)
    out_data = dsa.block(rows_blocks) if is_dask else np.block(rows_blocks)
    dims = da.dims
    coords = {k: v for k, v in da.coords.items() if k not in ("y", "x", "spatial_ref") and set(v.dims) <= set(dims[:-2])}
    out = xr.DataArray(out_data, dims=dims, coords=coords, attrs={"_FillValue": np.nan})
    return attach_grid(out, dst)


def _align_count_density(work: xr.DataArray, src: GeoBox, dst: GeoBox) -> xr.DataArray:
    """Across CRSs: counts -> density per m², area-weighted average onto the target, x target cell area.

    Totals are conserved up to the accuracy of GDAL's average resampling (exact overlap weights are used by GDAL
    >= 3.1 when downsampling).
    """
    from odc.geo.xr import xr_reproject

    from openldn.core.grid import pixel_area

    src_area = pixel_area(work)
    dens = (work / src_area).astype("float64")
    dens.attrs["nodata"] = np.nan
    dens = dens.rio.write_crs(work.rio.crs)
    finer = _src_is_finer(src, dst)
    out = _yx(xr_reproject(dens, dst, resampling="average" if finer else "nearest", dst_nodata=np.nan,
                            **_dst_chunks(dens, dst)))
    dims = [d for d in work.dims if d not in ("y", "x")] + ["y", "x"]
    out = attach_grid(out.transpose(*dims), dst)
    dst_area = pixel_area(out)
    res = (out * dst_area).astype("float64")
    res.attrs = {"_FillValue": np.nan}
    return attach_grid(res, dst)
