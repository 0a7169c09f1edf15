"""The run's chunk grid on the inputs' tiles: chunk lengths, the offset, and layers stored with a short first chunk."""

from __future__ import annotations

from pathlib import Path

import dask.array as dsa
import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox

from openldn.io import open_raster
from openldn.pipeline.checkpoint import Checkpoint
from openldn.pipeline.engine import axis_chunks, chunk_offset


@pytest.mark.parametrize(
    ("n", "size", "offset", "expected"),
    [
        (1000, 512, 0, (512, 488)),
        (1000, 512, 57, (455, 512, 33)),  # the first edge 455 cells in: 57 + 455 = 512
        (1024, 512, 0, (512, 512)),
        (400, 512, 57, (400,)),  # one chunk, shorter than the first
        (967, 512, 57, (455, 512)),  # no remainder
        (5, 2, 1, (1, 2, 2)),
    ],
)
def test_axis_chunks__lengths(n: int, size: int, offset: int, expected: tuple[int, ...]) -> None:
    got = axis_chunks(n, size, offset)
    assert got == expected
    assert sum(got) == n


def _tiled(path: Path, shape: tuple[int, int], tile: int) -> Path:
    """A tiled GeoTIFF with a 10 m grid from (500000, 4000000)."""
    profile = {"driver": "GTiff", "width": shape[1], "height": shape[0], "count": 1, "dtype": "int16",
               "crs": "EPSG:32633", "transform": Affine(10, 0, 500000, 0, -10, 4000000), "tiled": True,
               "blockxsize": tile, "blockysize": tile}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.zeros((1, *shape), dtype="int16"))
    return path


def test_chunk_offset__puts_the_chunk_edges_on_the_input_tiles(tmp_path: Path) -> None:
    raw = open_raster(_tiled(tmp_path / "a.tif", (1024, 1024), 256), chunks={"y": 256, "x": 256})
    # the analysis grid starts 300 rows and 70 columns into the file (tiles of 256): shifted by 300 % 256 = 44 rows
    # and 70 columns, its chunk edges fall on the file's tile edges (rows 512, 768, ...)
    grid = GeoBox((600, 500), Affine(10, 0, 500000 + 70 * 10, 0, -10, 4000000 - 300 * 10), "EPSG:32633")
    assert chunk_offset({"a": raw}, grid, 256) == (300 % 256, 70)
    rows = axis_chunks(600, 256, 300 % 256)
    edges_in_file = 300 + np.cumsum(rows)[:-1]
    assert (edges_in_file % 256 == 0).all()  # every edge on a tile edge of the file


def test_chunk_offset__none_for_another_resolution_or_a_fraction_of_a_cell(tmp_path: Path) -> None:
    raw = open_raster(_tiled(tmp_path / "a.tif", (512, 512), 256), chunks={"y": 256, "x": 256})
    coarser = GeoBox((100, 100), Affine(20, 0, 500000 + 700, 0, -20, 4000000 - 3000), "EPSG:32633")
    half_cell = GeoBox((100, 100), Affine(10, 0, 500000 + 705, 0, -10, 4000000 - 3000), "EPSG:32633")
    assert chunk_offset({"a": raw}, coarser, 256) == (0, 0)
    assert chunk_offset({"a": raw}, half_cell, 256) == (0, 0)
    assert chunk_offset({}, coarser, 256) == (0, 0)


def test_checkpoint__a_short_first_chunk_is_stored_padded_and_read_back_the_same(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(-5, 5, size=(2, 70, 90)).astype(np.int16)
    chunks = ((2,), axis_chunks(70, 32, 5), axis_chunks(90, 32, 20))
    da = xr.DataArray(dsa.from_array(values, chunks=chunks), dims=("time", "y", "x"),
                      coords={"time": [2000, 2001], "y": np.arange(70.0), "x": np.arange(90.0)},
                      attrs={"units": "class"})
    ckpt = Checkpoint(tmp_path, "f" * 16)
    stored = ckpt.write_layers({"test/short_first": da})["test/short_first"]
    import zarr

    z = zarr.open_array(str(ckpt.layer_path("test/short_first") / "data"), mode="r")
    assert z.shape == (2, 70 + 32 - 27, 90 + 32 - 12)  # padded in front by what the first chunk lacks
    assert z.chunks == (2, 32, 32)  # every chunk of the layer is one stored chunk
    assert stored.dims == ("time", "y", "x")
    assert stored.chunks == chunks
    np.testing.assert_array_equal(stored.values, values)
    np.testing.assert_array_equal(stored["y"].values, np.arange(70.0))
    np.testing.assert_array_equal(stored["x"].values, np.arange(90.0))
    assert stored.attrs["units"] == "class"
