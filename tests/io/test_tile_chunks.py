"""Chunks of opened GeoTIFFs follow their tile grid; the run's auto chunk edge is a multiple of 512 (issue 14).

Expected chunk edges are worked by hand from dask's ``array.chunk-size`` (set per test), the band count and the
item size: the unit (512, or the tile when it is a multiple of 512) when its square block of whole bands fits the
budget. Never larger: a run chunk (512 or more, on the tile grid) is then one input chunk or a union of them, never
a piece split out of a larger one (held until all its pieces are used: memory that grew with the grid).
"""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from dask.utils import parse_bytes
from rasterio.transform import from_origin

from openldn.io.read import open_raster
from openldn.pipeline.engine import auto_chunk_size


def _write(path: Path, *, width: int, height: int, count: int, dtype: str, tile: int | None,
           tile_y: int | None = None) -> Path:
    profile = {"driver": "GTiff", "width": width, "height": height, "count": count, "dtype": dtype,
               "crs": "EPSG:32637", "transform": from_origin(300000, 100000, 30, 30), "compress": "deflate"}
    if tile is not None:
        profile.update(tiled=True, blockxsize=tile, blockysize=tile_y or tile)
    pattern = np.add.outer(np.arange(height), np.arange(width)) % 100
    with rasterio.open(path, "w", **profile) as ds:
        for b in range(1, count + 1):
            ds.write((pattern + b).astype(dtype), b)
            ds.set_band_description(b, str(2000 + b))
    with rasterio.open(path) as ds:  # the layout asked for is the layout written
        bh, bw = ds.block_shapes[0]
        if tile is not None:
            assert (bh, bw) == (tile_y or tile, tile)
        else:
            assert bw == width and bh < height
    return path


def _spatial(da: xr.DataArray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return da.chunks[da.get_axis_num("y")], da.chunks[da.get_axis_num("x")]


def _assert_grid(chunks: tuple[int, ...], edge: int, size: int) -> None:
    """``edge``-sized chunks, the last one the remainder."""
    full, rest = divmod(size, edge)
    assert chunks == (edge,) * full + ((rest,) if rest else ())


@pytest.mark.parametrize(
    ("budget", "tile", "count", "dtype", "edge"),
    [
        # 1 MiB / (2 bands x 2 bytes) = 262,144 pixels: 512²
        ("1MiB", 512, 2, "int16", 512),
        # 3 MiB / 4 = 786,432 pixels, edge 886.8 -> 512 (a multiple of 512, not 768 nor 886)
        ("3MiB", 512, 2, "int16", 512),
        # 4 MiB / 4 = 1,048,576 pixels: 1024² would fit; 512² (the unit, no larger)
        ("4MiB", 512, 2, "int16", 512),
        # 256-pixel tiles: still multiples of 512 (two tiles): 3 MiB -> 512
        ("3MiB", 256, 2, "int16", 512),
        # 4 MiB / (1 band x 4 bytes): 1024² of float32 would fit; tiles of 256: 512
        ("4MiB", 256, 1, "float32", 512),
        # 7 MiB / 1 byte, edge 2709 (a single-band uint8 input, 2560² with the old rule): 512
        ("7MiB", 512, 1, "uint8", 512),
        # 1024-pixel tiles: multiples of the tile; 12 MiB / 4 bytes, edge 1773.6 -> 1024
        ("12MiB", 1024, 2, "int16", 1024),
    ],
)
def test_open_raster__tiled_geotiff_chunks_on_the_tile_grid(tmp_path: Path, budget: str, tile: int, count: int,
                                                            dtype: str, edge: int) -> None:
    width, height = 2900, 2300  # several chunks, cut edges
    p = _write(tmp_path / "tiled.tif", width=width, height=height, count=count, dtype=dtype, tile=tile)
    with dask.config.set({"array.chunk-size": budget}):
        da = open_raster(p)
    cy, cx = _spatial(da)
    _assert_grid(cy, edge, height)
    _assert_grid(cx, edge, width)
    assert edge % tile == 0 and edge % 512 == 0
    assert edge * edge * count * np.dtype(dtype).itemsize <= parse_bytes(budget)
    if count > 1:
        assert da.chunks[da.get_axis_num("time")] == (count,)  # whole bands
    else:
        assert "time" not in da.dims or da.chunks[0] == (1,)


def test_open_raster__small_file_is_one_chunk(tmp_path: Path) -> None:
    p = _write(tmp_path / "small.tif", width=300, height=200, count=3, dtype="int16", tile=256)
    with dask.config.set({"array.chunk-size": "128MiB"}):
        da = open_raster(p)
    assert _spatial(da) == ((200,), (300,))


@pytest.mark.parametrize(
    ("kind", "budget", "count"),
    [
        ("striped", "1MiB", 2),  # no tile grid to follow
        ("rectangular", "1MiB", 2),  # 512 x 256 tiles
        # 1 MiB / (3 bands x 2 bytes) = 174,762 pixels, edge 418 < 512: a tile-grid chunk would exceed the budget
        ("tiled", "1MiB", 3),
        ("tiled", "1MiB", 24),  # a long series
    ],
)
def test_open_raster__falls_back_to_dask_auto_chunks(tmp_path: Path, kind: str, budget: str, count: int) -> None:
    tile = {"striped": None, "rectangular": 512, "tiled": 512}[kind]
    p = _write(tmp_path / f"{kind}.tif", width=1100, height=900, count=count, dtype="int16", tile=tile,
               tile_y=256 if kind == "rectangular" else None)
    with dask.config.set({"array.chunk-size": budget}):
        da = open_raster(p)
        plain = rioxarray.open_rasterio(p, chunks={"band": -1, "y": "auto", "x": "auto"}, mask_and_scale=False)
    assert _spatial(da) == (plain.chunks[1], plain.chunks[2])
    assert da.chunks[da.get_axis_num("time")] == (count,)
    if kind == "tiled":  # dask's auto chunks keep to the budget (which no 512-multiple square edge does)
        cy, cx = _spatial(da)
        assert max(cy) * max(cx) * count * 2 <= parse_bytes(budget)


def test_open_raster__explicit_chunks_are_kept(tmp_path: Path) -> None:
    p = _write(tmp_path / "tiled.tif", width=1100, height=900, count=2, dtype="int16", tile=512)
    da = open_raster(p, chunks={"y": 300, "x": 200})
    assert _spatial(da) == ((300, 300, 300), (200,) * 5 + (100,))


# auto_chunk_size: budget = min(memory / 8, 2 GiB) / threads, edge = sqrt(budget / (48 n_time)), rounded down to a
# multiple of 512 when edge >= 512 (else of 256), within 256..2048. With n_time = 1 and threads = 1:
# memory = 384 edge².
@pytest.mark.parametrize(
    ("n_time", "threads", "memory", "expected"),
    [
        (1, 1, 384 * 600**2, 512),  # edge 600: 512 (the old rounding gave 512 too)
        (1, 1, 384 * 1100**2, 1024),  # edge 1100: 1024 (the old rounding to 256 gave 1024 too)
        (1, 1, 384 * 800**2, 512),  # edge 800: 512, not 768
        (1, 1, 384 * 1500**2, 1024),  # edge 1500: 1024, not 1280
        (1, 1, 384 * 511**2, 256),  # edge 511 < 512: a multiple of 256
        (1, 1, 384 * 300**2, 256),
        (1, 1, 384 * 100**2, 256),  # lower bound
        (1, 2, 384 * 2 * 1600**2, 1536),  # two threads halve the budget: edge 1600
        (24, 1, 384 * 24 * 700**2, 512),  # 24 years: edge 700
        # memory capped at 2 GiB of working set: 2^31 / 2 threads / (48 x 2) = 11,184,810.7, edge 3344 -> 2048
        (2, 2, 10**13, 2048),
        # 2^31 / 4 threads / (48 x 24) = 466,033.8, edge 682.7 -> 512
        (24, 4, 10**13, 512),
        # 2^31 / 2 / (48 x 48) = 466,033.8 again -> 512; and 516 months: edge 208 -> 256 (the floor)
        (48, 2, 10**13, 512),
        (516, 2, 10**13, 256),
    ],
)
def test_auto_chunk_size__hand_computed(n_time: int, threads: int, memory: int, expected: int) -> None:
    got = auto_chunk_size(n_time, threads=threads, memory=memory)
    assert got == expected
    assert 256 <= got <= 2048 and (got % 512 == 0 or got == 256)
