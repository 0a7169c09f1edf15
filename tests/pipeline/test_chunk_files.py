"""The checkpoint's chunk files: what zarr-python writes they read, and what they write zarr-python reads."""

from __future__ import annotations

import pickle
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr

from openldn.pipeline.chunk_files import ChunkFiles

BLOSC = numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE)


def _array(path: Path, shape: tuple[int, ...], chunks: tuple[int, ...], dtype: str, fill: object) -> zarr.Array:
    return zarr.create_array(str(path), shape=shape, chunks=chunks, dtype=dtype, fill_value=fill, zarr_format=2,
                             compressors=BLOSC)


def _values(shape: tuple[int, ...], dtype: str, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.normal(0.5, 0.2, size=shape).astype(dtype)
    values[..., :3, :] = np.nan  # part of a chunk missing
    return values


def test_reads_what_zarr_wrote_edge_chunks_and_unstored_chunks_included(tmp_path: Path) -> None:
    values = _values((3, 70, 45), "f4")
    values[:, 32:64, 0:16] = np.nan  # whole chunks of fill value: zarr-python does not store them
    z = _array(tmp_path / "a", values.shape, (3, 32, 16), "f4", np.nan)
    z[:] = values
    stored = {p.name for p in (tmp_path / "a").iterdir() if not p.name.startswith(".")}
    assert "0.1.0" not in stored and "0.2.2" in stored  # the edge chunk (rows 64..69, columns 32..44) is stored
    files = ChunkFiles(tmp_path / "a")
    assert (files.shape, files.chunks, files.dtype) == ((3, 70, 45), (3, 32, 16), np.dtype("f4"))
    for i in range(3):
        for j in range(3):
            np.testing.assert_array_equal(files.read_chunk((0, i, j)), values[:, 32 * i:32 * i + 32, 16 * j:16 * j + 16])
    # any selection of integers and unit-step slices, across chunks
    for key in [(slice(None), slice(5, 66), slice(10, 40)), (1, slice(30, 34), -1), (Ellipsis, 44),
                (slice(None), slice(10, 10)), (2,), (-3, 69, slice(0, 45))]:
        np.testing.assert_array_equal(files[key], values[key])
    with pytest.raises(TypeError, match="unsupported selection"):
        files[:, ::2]


def test_writes_what_zarr_reads_padding_in_front_and_the_edge_filled(tmp_path: Path) -> None:
    values = _values((50, 40), "f4", seed=2)
    z = _array(tmp_path / "b", (20 + 50, 40), (32, 32), "f4", np.nan)  # 20 rows of padding in front
    files = ChunkFiles(tmp_path / "b")
    files[slice(20, 32), slice(0, 32)] = values[0:12, 0:32]  # the first chunk starts after the padding
    files[slice(20, 32), slice(32, 40)] = values[0:12, 32:40]  # ... and ends at the array's edge
    files[slice(32, 64), slice(0, 32)] = values[12:44, 0:32]
    files[slice(32, 64), slice(32, None)] = values[12:44, 32:40]
    files[slice(64, 70), slice(0, 32)] = values[44:50, 0:32]
    files[slice(64, 70), slice(32, 40)] = np.full((6, 8), np.nan, "f4")  # all fill value: not stored
    assert not (tmp_path / "b" / "2.1").exists()
    expected = np.full((70, 40), np.nan, "f4")
    expected[20:64, :] = values[0:44]
    expected[64:70, 0:32] = values[44:50, 0:32]
    np.testing.assert_array_equal(z[:], expected)
    np.testing.assert_array_equal(files[:, :], expected)
    # the same bytes as zarr-python's own write of the chunk
    zarr_own = _array(tmp_path / "c", (70, 40), (32, 32), "f4", np.nan)
    zarr_own[32:64, 0:32] = values[12:44, 0:32]
    assert (tmp_path / "b" / "1.0").read_bytes() == (tmp_path / "c" / "1.0").read_bytes()


def test_a_region_that_would_leave_part_of_a_chunk_unwritten_is_refused(tmp_path: Path) -> None:
    _array(tmp_path / "d", (64, 64), (32, 32), "i2", None)
    files = ChunkFiles(tmp_path / "d")
    for region in [(slice(0, 16), slice(0, 32)), (slice(0, 64), slice(0, 32)), (slice(0, 32, 2), slice(0, 32))]:
        with pytest.raises(ValueError, match="does not end one chunk"):
            files[region] = np.zeros((16, 32), "i2")


def test_integers_without_a_fill_value_read_zero_where_a_chunk_is_not_stored(tmp_path: Path) -> None:
    z = _array(tmp_path / "e", (40, 40), (32, 32), "i2", None)
    values = np.arange(40 * 40, dtype="i2").reshape(40, 40) - 800
    files = ChunkFiles(tmp_path / "e")
    files[0:32, 0:32] = values[0:32, 0:32]
    files[0:32, 32:40] = values[0:32, 32:40]
    files[32:40, 0:32] = np.zeros((8, 32), "i2")  # all zero: not stored, as zarr-python does not store it
    assert sorted(p.name for p in (tmp_path / "e").iterdir() if not p.name.startswith(".")) == ["0.0", "0.1"]
    expected = values.copy()
    expected[32:, :] = 0
    np.testing.assert_array_equal(z[:], expected)
    np.testing.assert_array_equal(files[:, :], expected)


def test_lazily_one_task_per_chunk_and_the_same_after_pickling(tmp_path: Path) -> None:
    values = _values((70, 45), "f4", seed=3)
    z = _array(tmp_path / "f", values.shape, (32, 16), "f4", np.nan)
    z[:] = values
    files = ChunkFiles(tmp_path / "f")
    lazy = files.to_dask()
    assert lazy.chunks == ((32, 32, 6), (16, 16, 13))
    np.testing.assert_array_equal(lazy.compute(scheduler="sync"), values)
    assert ChunkFiles(tmp_path / "f").to_dask().name == lazy.name  # one layer read twice is one graph
    again = pickle.loads(pickle.dumps(files))
    np.testing.assert_array_equal(again[:, :], values)
