"""Checkpoint.write_layers stores its layers band of chunk rows by band: same values, bounded work per compute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr

from openldn.pipeline import checkpoint as ck


def _layers() -> dict[str, xr.DataArray]:
    rng = np.random.default_rng(4)
    base = dsa.from_array(rng.random((90, 70)), chunks=(20, 30))
    shared = base * 2.0  # an intermediate two layers share (dask held it from the first layer to the last)
    series = dsa.from_array(rng.integers(0, 9, size=(3, 90, 70)).astype(np.int16), chunks=(3, 20, 30))
    yx = {"y": np.arange(90.0), "x": np.arange(70.0)}
    return {
        "a/ratio": xr.DataArray(shared + 1.0, dims=("y", "x"), coords=yx),
        "b/class": xr.DataArray((shared > 1.0).astype(np.int16), dims=("y", "x"), coords=yx),
        "c/series": xr.DataArray(series, dims=("time", "y", "x"), coords=yx),
    }


def test_write_layers__bands_of_whole_chunks_in_row_major_order_same_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openldn.core import workers

    layers = _layers()
    want = {k: v.values for k, v in layers.items()}
    bands: list[list[Any]] = []
    real = workers.run_graph

    def recording(graph: dict[Any, Any], keys: list[Any]) -> list[Any]:
        bands.append(list(keys))
        return real(graph, keys)

    monkeypatch.setattr(workers, "run_graph", recording)
    # 2 threads x 1,500 cells: a band closes once it holds 3,000 cells, after a chunk of every layer (a whole chunk
    # of the three layers holds 20 x 30 x (1 + 1 + 3) = 3,000 cells; the last column's, 20 x 10 x 5 = 1,000)
    monkeypatch.setattr(ck, "STORE_BAND_CELLS", 1500)
    monkeypatch.setattr(workers, "worker_threads", lambda: 2)
    cp = ck.Checkpoint(tmp_path, "f")
    with dask.config.set(scheduler="threads"):
        got = cp.write_layers(layers)
    corners = [[(k[-2], k[-1]) for k in keys] for keys in bands]  # (row, column) of each stored chunk
    # every chunk of every layer once: 5 x 3 corners, three layers
    assert sorted(c for band in corners for c in band) == sorted([(i, j) for i in range(5) for j in range(3)] * 3)
    # each corner wholly in one band (its three layers together), the bands in row-major order
    order = [c for band in corners for c in dict.fromkeys(band)]
    assert order == sorted(order) and len(order) == 15
    # 90 x 70 cells: rows of chunks 20, 20, 20, 20, 10 high; columns 30, 30, 10 wide. A whole corner of the three
    # layers holds 3,000 cells (20 x 30 x 5) and closes its band; a corner of the last column (1,000) or row (1,500)
    # joins the next ones until the band reaches 3,000
    assert [list(dict.fromkeys(band)) for band in corners] == [
        [(0, 0)], [(0, 1)], [(0, 2), (1, 0)], [(1, 1)], [(1, 2), (2, 0)], [(2, 1)], [(2, 2), (3, 0)], [(3, 1)],
        [(3, 2), (4, 0), (4, 1)], [(4, 2)],
    ]
    for k, v in got.items():
        np.testing.assert_array_equal(v.values, want[k])


def test_write_layers__a_series_and_its_years_compute_the_series_once(tmp_path: Path) -> None:
    """Layers taken from a series stored in the same call (a year of a land cover or SOC series) share its blocks.

    With dask's low-level fusion the producer was computed once per layer: six times for a series and five years
    (24 calls here), which made storing them together slower than reading the stored series back. Without it, this
    minimal graph still computes it twice per block (once within the series' own store task); in the stages' graphs
    counters show once per block (2,500² run: the reclassification 30 calls for 25 blocks, the 5 more at band
    edges, the SOC stocks 25).
    """
    calls: list[int] = []

    def produce(block: np.ndarray) -> np.ndarray:
        calls.append(1)
        return block * 3

    rng = np.random.default_rng(6)
    raw = dsa.from_array(rng.integers(0, 9, size=(6, 40, 50)).astype(np.int16), chunks=(6, 20, 25))
    series = xr.DataArray(raw.map_blocks(produce, meta=np.empty((0, 0, 0), np.int16)), dims=("time", "y", "x"),
                          coords={"y": np.arange(40.0), "x": np.arange(50.0)})
    layers = {"s": series, **{f"s/{k}": series.isel(time=k) for k in range(5)}}
    with dask.config.set(scheduler="threads"):
        got = ck.Checkpoint(tmp_path, "f").write_layers(layers)
    assert len(calls) <= 2 * 4  # 2 x 2 blocks, one band: not once per layer (24)
    np.testing.assert_array_equal(got["s/3"].values, raw[3].compute() * 3)


def test_write_layers__integers_stored_unshuffled_floats_shuffled_read_back_by_zarr(tmp_path: Path) -> None:
    """The layers' Blosc codec is chosen by type (byte shuffle for floats only), and zarr-python reads every layer
    back as written."""
    import json

    import zarr

    layers = _layers()
    want = {k: v.values for k, v in layers.items()}
    cp = ck.Checkpoint(tmp_path, "f")
    with dask.config.set(scheduler="threads"):
        cp.write_layers(layers)
    for key, shuffle in {"a/ratio": 1, "b/class": 0, "c/series": 0}.items():
        path = cp.layer_path(key)
        codec = json.loads((path / "data" / ".zarray").read_text())["compressor"]
        assert (codec["id"], codec["cname"], codec["shuffle"]) == ("blosc", "lz4", shuffle), key
        np.testing.assert_array_equal(zarr.open_group(str(path), mode="r")["data"][...], want[key])
