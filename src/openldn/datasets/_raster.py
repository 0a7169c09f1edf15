"""Private helpers of :mod:`openldn.datasets`: atomic GeoTIFF/COG writing and smooth random fields."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.enums import Resampling
from rasterio.windows import Window

from openldn.io import atomic_path
from openldn.io.write import deflate_predictor

__all__ = [
    "block_windows",
    "convert_to_cog",
    "open_stack_writer",
    "smooth_field",
    "write_stack",
]

#: GDAL block cache (MB) used while converting to COG, to keep memory bounded.
GDAL_CACHE_MB = 64
#: Creation options shared by every GeoTIFF written by the generators.
GTIFF_OPTIONS: dict[str, Any] = {"tiled": True, "compress": "deflate", "bigtiff": "if_safer"}




def _blocksize(height: int, width: int, tile: int) -> int:
    """Tile edge: ``tile`` or smaller for tiny rasters (a multiple of 16, as GeoTIFF requires)."""
    need = max(height, width)
    return int(min(tile, max(16, -(-need // 16) * 16)))


def _label_band(dst: Any, index: int, label: str) -> None:
    """Write the band description and the ``YEAR`` or ``MONTH`` tag of band ``index`` (1-based)."""
    dst.set_band_description(index, label)
    if len(label) == 7:  # YYYY-MM
        dst.update_tags(index, MONTH=label)
    else:
        dst.update_tags(index, YEAR=label)


def open_stack_writer(
    path: Path,
    *,
    height: int,
    width: int,
    count: int,
    dtype: str,
    transform: Affine,
    nodata: float | int | None,
    labels: Sequence[str] | None = None,
    scale: float | None = None,
    tile: int = 256,
    crs: str = "EPSG:4326",
    tags: dict[str, str] | None = None,
    fast: bool = False,
) -> Any:
    """Open a tiled, deflate-compressed GeoTIFF for writing and label its bands.

    Parameters
    ----------
    path : pathlib.Path
        File to create (normally a temporary name from :func:`atomic_path`).
    height, width, count : int
        Raster size and number of bands.
    dtype : str
        Numpy/GDAL data type name.
    transform : affine.Affine
        Geotransform.
    nodata : float or int or None
        Declared nodata value.
    labels : sequence of str, optional
        One label per band (``YYYY`` or ``YYYY-MM``), written as band description and ``YEAR``/``MONTH`` tag.
    scale : float, optional
        Scale factor declared on every band (physical = stored x scale).
    tile : int
        Tile edge in pixels.
    crs : str
        Coordinate reference system.
    tags : dict, optional
        Dataset-level metadata items.
    fast : bool
        Use fast ZSTD level-1 compression (for staging files that are converted to COG afterwards).

    Returns
    -------
    rasterio.io.DatasetWriter
        The open dataset (to be used as a context manager).
    """
    block = _blocksize(height, width, tile)
    dst = rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=height,
        width=width,
        count=count,
        dtype=dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
        blockxsize=block,
        blockysize=block,
        predictor=deflate_predictor(np.dtype(dtype)),
        interleave="band",
        num_threads="2",
        **{**GTIFF_OPTIONS, **({"compress": "zstd", "zstd_level": 1} if fast else {})},
    )
    if labels is not None:
        for i, label in enumerate(labels, start=1):
            _label_band(dst, i, label)
    if scale is not None:
        dst.scales = [scale] * count
        dst.offsets = [0.0] * count
    if tags:
        dst.update_tags(**tags)
    return dst


def write_stack(
    path: Path,
    data: np.ndarray,
    *,
    transform: Affine,
    nodata: float | int | None,
    labels: Sequence[str] | None = None,
    scale: float | None = None,
    tile: int = 256,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write a (band, y, x) or (y, x) array to a tiled GeoTIFF, atomically.

    Parameters
    ----------
    path : pathlib.Path
        Output file.
    data : numpy.ndarray
        Values, already in the storage dtype.
    transform : affine.Affine
        Geotransform (EPSG:4326).
    nodata : float or int or None
        Declared nodata value.
    labels : sequence of str, optional
        Band labels (``YYYY`` / ``YYYY-MM``).
    scale : float, optional
        Declared scale factor.
    tile : int
        Tile edge in pixels.
    tags : dict, optional
        Dataset-level metadata items.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    arr = data if data.ndim == 3 else data[np.newaxis]
    count, height, width = arr.shape
    with (
        atomic_path(path) as tmp,
        open_stack_writer(
            tmp,
            height=height,
            width=width,
            count=count,
            dtype=arr.dtype.name,
            transform=transform,
            nodata=nodata,
            labels=labels,
            scale=scale,
            tile=tile,
            tags=tags,
        ) as dst,
    ):
        dst.write(arr)
    return Path(path)


def convert_to_cog(src: Path, dst: Path, *, categorical: bool, tile: int = 512) -> Path:
    """Copy a tiled GeoTIFF to a Cloud Optimized GeoTIFF with overviews, atomically.

    The overviews are first built inside ``src`` (band by band, so memory does not grow with the number of bands
    or the raster width), then the COG driver copies data and overviews. Memory stays within the GDAL block cache
    (``GDAL_CACHE_MB``) plus a few blocks.

    Parameters
    ----------
    src : pathlib.Path
        Source GeoTIFF (tiled, band-interleaved); it is modified (internal overviews are added).
    dst : pathlib.Path
        Output COG.
    categorical : bool
        Class codes: overviews by nearest neighbour rather than averaging, and no predictor
        (:func:`openldn.io.write.deflate_predictor`).
    tile : int
        COG block size.

    Returns
    -------
    pathlib.Path
        ``dst``.
    """
    with rasterio.open(src) as ds:
        dtype = np.dtype(ds.dtypes[0])
        block = _blocksize(ds.height, ds.width, tile)
        size = max(ds.height, ds.width)
    factors = []
    factor = 2
    while size / (factor // 2) > block:
        factors.append(factor)
        factor *= 2
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 1024 * 1024):
        if factors:
            with rasterio.open(src, "r+") as ds:
                ds.build_overviews(factors, Resampling.nearest if categorical else Resampling.average)
        with atomic_path(dst) as tmp:
            rasterio.shutil.copy(
                src,
                tmp,
                driver="COG",
                compress="deflate",
                predictor=deflate_predictor(dtype, categorical=categorical),  # no differencing of class codes
                blocksize=block,
                overviews="FORCE_USE_EXISTING" if factors else "NONE",
                bigtiff="if_safer",
                num_threads="2",
            )
    return Path(dst)


def block_windows(height: int, width: int, tile: int) -> Iterator[Window]:
    """Windows of ``tile`` x ``tile`` pixels covering a raster, row by row.

    Parameters
    ----------
    height, width : int
        Raster size.
    tile : int
        Block edge in pixels.

    Yields
    ------
    rasterio.windows.Window
        One window per block (the last row/column of blocks may be smaller).
    """
    for row in range(0, height, tile):
        for col in range(0, width, tile):
            yield Window(col, row, min(tile, width - col), min(tile, height - row))


def smooth_field(
    seed: int | Sequence[int],
    *,
    coarse: tuple[int, int],
    shape: tuple[int, int],
    window: Window | None = None,
) -> np.ndarray:
    """A spatially smooth standard-normal-like field: coarse white noise, bilinearly upsampled.

    The value at a pixel depends only on the seed, the coarse grid size and the full raster shape, never on the
    window, so that block-by-block generation equals whole-raster generation.

    Parameters
    ----------
    seed : int or sequence of int
        Seed of the coarse noise.
    coarse : tuple of int
        Size (rows, cols) of the coarse noise grid (>= 2 each); more cells give finer structures.
    shape : tuple of int
        Full raster size (rows, cols).
    window : rasterio.windows.Window, optional
        Part of the raster to evaluate; the whole raster by default.

    Returns
    -------
    numpy.ndarray
        float32 array of the window's shape, values roughly N(0, 0.6²) (bilinear smoothing shrinks the variance).
    """
    grid = np.random.default_rng(seed).standard_normal(coarse)
    if window is None:
        window = Window(0, 0, shape[1], shape[0])
    r0, c0 = int(window.row_off), int(window.col_off)
    rows = np.arange(r0, r0 + int(window.height), dtype=np.float64)
    cols = np.arange(c0, c0 + int(window.width), dtype=np.float64)
    # pixel centre -> continuous coarse index in [0, n-1]
    fy = (rows + 0.5) / shape[0] * (coarse[0] - 1)
    fx = (cols + 0.5) / shape[1] * (coarse[1] - 1)
    iy = np.clip(np.floor(fy).astype(np.int64), 0, coarse[0] - 2)
    ix = np.clip(np.floor(fx).astype(np.int64), 0, coarse[1] - 2)
    wy = (fy - iy)[:, None]
    wx = (fx - ix)[None, :]
    g00 = grid[iy[:, None], ix[None, :]]
    g01 = grid[iy[:, None], ix[None, :] + 1]
    g10 = grid[iy[:, None] + 1, ix[None, :]]
    g11 = grid[iy[:, None] + 1, ix[None, :] + 1]
    top = g00 * (1 - wx) + g01 * wx
    bottom = g10 * (1 - wx) + g11 * wx
    return (top * (1 - wy) + bottom * wy).astype(np.float32)
