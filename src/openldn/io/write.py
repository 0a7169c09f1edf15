"""Writing rasters as Cloud-Optimized GeoTIFFs, streamed block by block from dask, atomically."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.blocks import chunk_spans
from openldn.exceptions import ConfigError, GridMismatchError
from openldn.io._atomic import _tmp_name, atomic_path

if TYPE_CHECKING:
    from openldn.core.vocab import Legend

__all__ = ["deflate_predictor", "write_cog"]

_BLOCKSIZE = 512
#: Target bytes per written window (all bands), to bound memory when streaming from dask: a window is held with the
#: chunks under its band of rows (:class:`_ChunkWindows`), per map being written.
_WINDOW_BYTES = 16 * 2**20
#: Most bytes of chunks a map writer keeps between windows (:class:`_ChunkWindows`): two rows of chunks across the
#: map, 74 MB for a 10,000-wide float32 map at 1,024-pixel chunks. A wider or deeper raster is written without
#: keeping them, each window computing the chunks it meets as before.
_KEEP_BYTES = 8 * _WINDOW_BYTES


def _windows(ny: int, nx: int, cell_bytes: int) -> list[tuple[int, int, int, int]]:
    """The windows ``(r0, r1, c0, c1)`` a raster of ``ny`` x ``nx`` cells of ``cell_bytes`` each (all bands) is
    written by, in row order: whole rows when 512 of them fit in ``_WINDOW_BYTES``, else strips of 512 rows cut
    across into column spans that fit (multiples of 512; a 512 x 512 tile at least). Edges are multiples of the COG
    tile, so no tile is written in parts by two windows (windows on the chunks' edges cut tiles in two, and a
    10,000² run once lost the first part of such a tile: GDAL's read-back of a partly written block is not to be
    relied on); memory is bounded whatever the width (a 10,000-wide 24-band series took 512 whole rows, 123 MB).

    Examples
    --------
    >>> _windows(1000, 1000, 4)
    [(0, 1000, 0, 1000)]
    >>> _windows(600, 20000, 24)[:3]
    [(0, 512, 0, 1024), (0, 512, 1024, 2048), (0, 512, 2048, 3072)]
    """
    rows = (_WINDOW_BYTES // max(1, nx * cell_bytes)) // _BLOCKSIZE * _BLOCKSIZE
    if rows:
        return [(r0, min(ny, r0 + rows), 0, nx) for r0 in range(0, ny, rows)]
    cols = max(_BLOCKSIZE, (_WINDOW_BYTES // (_BLOCKSIZE * cell_bytes)) // _BLOCKSIZE * _BLOCKSIZE)
    return [(r0, min(ny, r0 + _BLOCKSIZE), c0, min(nx, c0 + cols))
            for r0 in range(0, ny, _BLOCKSIZE) for c0 in range(0, nx, cols)]


class _ChunkWindows:
    """The windows of a dask raster ``(..., y, x)`` assembled from its chunks, each chunk computed once.

    A window's chunks are computed whole (together, in one compute) and kept until the windows, which come in row
    order and left to right, have passed them. Computing each window as a slice of the array computed every chunk it
    met, whole, once per window: at a 1,024-pixel chunk and windows of 512 rows, two or three times (a map's read
    from the checkpoint, its AOI mask and its ``where``). What is kept is at most the chunks under a band of 512
    rows across the map (see :data:`_KEEP_BYTES`).
    """

    @classmethod
    def of(cls, da: xr.DataArray, scheduler: str | None, cell_bytes: int) -> _ChunkWindows | None:
        """The chunk windows of ``da`` (cells of ``cell_bytes``, every band), or None: a numpy raster, or one whose
        two rows of chunks across the map exceed :data:`_KEEP_BYTES` (each window then computes its chunks)."""
        if da.chunks is None or 2 * max(da.chunksizes["y"]) * da.sizes["x"] * cell_bytes > _KEEP_BYTES:
            return None
        return cls(da.data, scheduler)

    def __init__(self, data: Any, scheduler: str | None) -> None:
        self.data = data
        self.scheduler = scheduler
        self.rows = chunk_spans(data.chunks[-2])
        self.cols = chunk_spans(data.chunks[-1])
        self.kept: dict[tuple[int, int], np.ndarray] = {}

    def window(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """The values of rows ``r0:r1`` and columns ``c0:c1`` (every leading axis)."""
        import dask

        iy = [i for i, (a, b) in enumerate(self.rows) if a < r1 and b > r0]
        ix = [j for j, (a, b) in enumerate(self.cols) if a < c1 and b > c0]
        todo = [(i, j) for i in iy for j in ix if (i, j) not in self.kept]
        lead = (slice(None),) * (self.data.ndim - 2)
        parts = [self.data[(*lead, slice(*self.rows[i]), slice(*self.cols[j]))] for i, j in todo]
        for key, value in zip(todo, dask.compute(*parts, scheduler=self.scheduler), strict=True):
            self.kept[key] = np.asarray(value)
        out = np.empty((*self.data.shape[:-2], r1 - r0, c1 - c0), dtype=self.data.dtype)
        for i in iy:
            for j in ix:
                (a, b), (c, d) = self.rows[i], self.cols[j]
                ya, yb, xa, xb = max(a, r0), min(b, r1), max(c, c0), min(d, c1)
                out[..., ya - r0:yb - r0, xa - c0:xb - c0] = self.kept[(i, j)][..., ya - a:yb - a, xa - c:xb - c]
        for i, j in [k for k in self.kept if self.rows[k[0]][1] <= r1 and self.cols[k[1]][1] <= c1]:
            del self.kept[(i, j)]  # no later window reaches it
        return out


def deflate_predictor(dtype: np.dtype[Any], *, categorical: bool = False) -> int:
    """TIFF predictor for a DEFLATE-compressed raster of ``dtype``: 3 (floating point), 2 (horizontal differencing,
    for continuous integers) or 1 (none, for class codes).

    All are lossless. On the 10,000² rasters of ``benchmarks/bench_country.py``: a float32 SOC stock map took 3.5 s
    in GDAL's COG driver instead of 9.0 s with the floating-point predictor, in 62 MB instead of 66 MB; on class maps
    (land cover transitions, LPD) differencing made the files 10-30 % larger in the same time.
    """
    if np.issubdtype(dtype, np.floating):
        return 3
    return 1 if categorical else 2


#: The COG driver's names of the TIFF predictors.
_COG_PREDICTOR = {1: "NO", 2: "STANDARD", 3: "FLOATING_POINT"}


def _overview_scratch(dtype: np.dtype[Any]) -> dict[str, str]:
    """GDAL settings for the temporary file in which the COG driver builds the overviews before copying them.

    The driver compresses that file (ZSTD at level 9 by default) and reads it back; its pixels never reach the COG
    (which is DEFLATE). Measured on 10,000² maps with GDAL 3.10, the temporary compression was a quarter of the
    copy's CPU: a float32 SOC stock map 5.1 -> 3.9 CPU-s with PackBits (floats barely compress, and it costs
    nothing), five class maps 3.14 -> 2.98 CPU-s with ZSTD at level 1. The COGs are byte-identical either way. The
    file must stay compressed: uncompressed, GDAL computes each overview level from the one above instead of from
    the full resolution, which changes the overview pixels.
    """
    if np.issubdtype(dtype, np.floating):
        return {"COG_TMP_COMPRESSION": "PACKBITS"}
    return {"COG_TMP_COMPRESSION": "ZSTD", "ZSTD_LEVEL_OVERVIEW": "1"}


def _band_labels(da: xr.DataArray) -> list[str]:
    if da.ndim == 2:
        return [str(da.name)] if da.name is not None else [""]
    lead = da.dims[0]
    vals = da[lead].values if lead in da.coords else np.arange(da.sizes[lead])
    if np.issubdtype(np.asarray(vals).dtype, np.datetime64):
        ts = pd.DatetimeIndex(vals)
        if (ts.month == 1).all() and (ts.day == 1).all() and len(set(ts.year)) == len(ts):
            return [f"{t.year:04d}" for t in ts]
        return [f"{t.year:04d}-{t.month:02d}" for t in ts]
    return [str(v) for v in vals]


def _legend_colormap(legend: Any) -> dict[int, tuple[int, int, int, int]]:
    if legend is None:
        return {}
    if hasattr(legend, "colormap"):
        return dict(legend.colormap())
    out: dict[int, tuple[int, int, int, int]] = {}
    for code, v in dict(legend).items():
        color = v.get("color") if isinstance(v, Mapping) else (v if isinstance(v, str) and v.startswith("#") else None)
        if isinstance(v, tuple | list) and len(v) >= 3:
            out[int(code)] = (int(v[0]), int(v[1]), int(v[2]), int(v[3]) if len(v) > 3 else 255)
        elif color:
            h = color.lstrip("#")
            out[int(code)] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
    return out


def _legend_tags(legend: Any) -> dict[str, str]:
    if legend is None:
        return {}
    if hasattr(legend, "classes"):
        items = [{"code": c.code, "key": c.key, "label": c.label, "color": c.color} for c in legend.classes]
        return {"legend": str(legend.id), "legend_classes": json.dumps(items), "legend_nodata": str(legend.nodata)}
    items = []
    for code, v in dict(legend).items():
        label = v.get("label", str(code)) if isinstance(v, Mapping) else (v if isinstance(v, str) else str(code))
        items.append({"code": int(code), "label": label})
    return {"legend_classes": json.dumps(items)}


def write_cog(
    da: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    nodata: float | None = None,
    legend: Legend | Mapping[int, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    overviews: bool = True,
    scheduler: str | None = None,
    threads: int | None = None,
) -> Path:
    """Write ``da`` as a Cloud-Optimized GeoTIFF (tiled 512 x 512, DEFLATE; floating-point predictor for floats),
    atomically.

    The array is streamed strip by strip (bounded memory, computed from dask per strip) into an intermediate tiled
    GeoTIFF next to the target, which GDAL's COG driver then copies with overviews. Both files use temporary names;
    on any error nothing is left at ``path``.

    Parameters
    ----------
    da : xarray.DataArray
        ``(y, x)`` or ``(band-like, y, x)`` raster with a CRS. A ``time`` axis gives one band per step, described
        ``YYYY`` (annual) or ``YYYY-MM`` (monthly), with the matching ``YEAR``/``MONTH`` band tag.
    path : str or os.PathLike
        Destination ``.tif``.
    nodata : float, optional
        Declared nodata; default ``attrs["_FillValue"]`` / ``rio.nodata``, NaN for floats. Float NaNs are written
        as this value.
    legend : Legend or dict, optional
        For categorical rasters: a :class:`~openldn.core.vocab.Legend` or ``{code: "#RRGGBB" | (r, g, b[, a]) |
        {"label":..., "color":...}}``. Its colour table is embedded for uint8/uint16 rasters (the only types GeoTIFF
        colour tables allow); the classes are written as JSON dataset tags in every case.
    tags : dict, optional
        Extra dataset tags.
    overviews : bool
        Build internal overviews (nearest for integers, average for floats).
    scheduler : str, optional
        Dask scheduler of the strips of a lazy ``da`` (``"synchronous"``: in the calling thread); default the
        active one.
    threads : int, optional
        GDAL's compression threads; default all the cores. A map written while other work keeps the cores busy
        is best written with one: the threads then cost 10-20 % more CPU for the same file.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import rasterio
    import rasterio.errors
    import rasterio.shutil
    import rioxarray  # noqa: F401
    from rasterio._err import CPLE_BaseError  # GDAL's own errors (rasterio raises them as they come)

    final = Path(path)
    if "y" not in da.dims or "x" not in da.dims or da.ndim not in (2, 3):
        raise GridMismatchError(f"{final}: cannot write dims {da.dims}; expected (y, x) or (band, y, x).")
    if da.ndim == 3 and da.dims[-2:] != ("y", "x"):
        da = da.transpose(da.dims[0] if da.dims[0] not in ("y", "x") else da.dims[2], "y", "x")
    crs = da.rio.crs
    if crs is None:
        raise GridMismatchError(f"{final}: the raster has no CRS; write one with da.rio.write_crs() first.")
    transform = da.rio.transform(recalc=False)
    dtype = np.dtype(da.dtype)
    if dtype == np.bool_:
        da = da.astype("uint8")
        dtype = np.dtype("uint8")
    if dtype == np.int64:
        raise ConfigError(f"{final}: int64 rasters are not supported by GeoTIFF readers; cast to int32 or int16.")
    nd = nodata
    if nd is None:
        nd = da.attrs.get("_FillValue", da.encoding.get("_FillValue"))
        if nd is None:
            with contextlib.suppress(Exception):
                nd = da.rio.nodata
    if nd is None and np.issubdtype(dtype, np.floating):
        nd = np.nan
    labels = _band_labels(da)
    count = 1 if da.ndim == 2 else da.sizes[da.dims[0]]
    ny, nx = da.sizes["y"], da.sizes["x"]
    cmap = _legend_colormap(legend)
    all_tags = {**_legend_tags(legend), **{str(k): str(v) for k, v in (tags or {}).items()}}
    for k in ("units", "long_name"):
        if k in da.attrs and k not in all_tags:
            all_tags[k] = str(da.attrs[k])
    monthly = bool(labels) and all(len(s) == 7 and s[4] == "-" for s in labels)
    annual = bool(labels) and all(len(s) == 4 and s.isdigit() for s in labels)
    profile = {
        "driver": "GTiff",
        "width": nx,
        "height": ny,
        "count": count,
        "dtype": dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nd,
        "tiled": True,
        "blockxsize": _BLOCKSIZE,
        "blockysize": _BLOCKSIZE,
        # uncompressed: this intermediate is read once by the COG driver, which compresses (compressing it too
        # deflated every map twice)
        "BIGTIFF": "YES" if ny * nx * count * dtype.itemsize > 3 * 2**30 else "IF_SAFER",
        "interleave": "band",
    }
    final.parent.mkdir(parents=True, exist_ok=True)
    inter = _tmp_name(final, "stage")
    try:
        with rasterio.open(inter, "w", **profile) as dst:
            chunked = _ChunkWindows.of(da, scheduler, count * dtype.itemsize)
            for r0, r1, c0, c1 in _windows(ny, nx, count * dtype.itemsize):
                if chunked is not None:
                    block = chunked.window(r0, r1, c0, c1)
                else:
                    window = da.isel(y=slice(r0, r1), x=slice(c0, c1))
                    block = np.asarray(window.compute(scheduler=scheduler).values)
                if block.ndim == 2:
                    block = block[None]
                if np.issubdtype(dtype, np.floating) and nd is not None and not np.isnan(nd):
                    block = np.where(np.isnan(block), nd, block).astype(dtype)
                dst.write(block, window=rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0))
                del block  # before the next window is computed: one window's pixels in memory at a time
            for i, lab in enumerate(labels, start=1):
                if lab:
                    dst.set_band_description(i, lab)
                if annual:
                    dst.update_tags(i, YEAR=lab)
                elif monthly:
                    dst.update_tags(i, MONTH=lab)
            if all_tags:
                dst.update_tags(**all_tags)
            if cmap and dtype in (np.dtype("uint8"), np.dtype("uint16")):
                dst.write_colormap(1, cmap)
        resampling = "NEAREST" if (not np.issubdtype(dtype, np.floating) or legend is not None) else "AVERAGE"
        with atomic_path(final) as tmp, rasterio.Env(**_overview_scratch(dtype)):
            rasterio.shutil.copy(
                inter,
                tmp,
                driver="COG",
                COMPRESS="DEFLATE",
                PREDICTOR=_COG_PREDICTOR[deflate_predictor(dtype, categorical=True)],  # integer maps are classes
                BLOCKSIZE=str(_BLOCKSIZE),
                OVERVIEWS="AUTO" if overviews else "NONE",
                OVERVIEW_RESAMPLING=resampling,
                BIGTIFF="IF_SAFER",
                NUM_THREADS="ALL_CPUS" if threads is None else str(threads),
            )
    except (rasterio.errors.RasterioError, CPLE_BaseError):
        full = _disk_full(final, ny * nx * count * dtype.itemsize)
        if full is not None:
            raise full from None
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            inter.unlink()
    return final


def _disk_full(final: Path, need: int) -> OSError | None:
    """The full-disk error to report for a GDAL error writing ``final``, when the disk has less room than the raster
    needs uncompressed (the size of the intermediate file alone); else None.

    GDAL words a full disk as a failed write or directory update ("TIFFAppendToStrip: Write error at scanline ...",
    "TIFFRewriteDirectory: Error fetching directory count"), not as the system's "No space left on device", so the
    free space tells it apart.
    """
    try:
        free = shutil.disk_usage(final.parent).free
    except OSError:
        return None
    if free >= need:
        return None
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(final))
