"""Stored maps are chunked in blocks of PLANE_BLOCKS x PLANE_BLOCKS run chunks, on the run chunks' edges (issue 14).

A map's passes (class look-ups, table pieces) are light, so the fixed cost of each chunk (a dask task, a checkpoint
read or write) weighs more than the work; a series takes the same blocks while they hold at most LAYER_CHUNK_BYTES,
else it keeps the run chunk, which bounds the memory of the time axis. Checked on a small synthetic country run for
real, and on a shifted chunk grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import openldn.pipeline.context
from openldn.config import load_assessment
from openldn.datasets import make_synthetic_country
from openldn.pipeline.engine import LAYER_CHUNK_BYTES, PLANE_BLOCKS, plane_blocks
from openldn.testing import make_context, run_stage

CHUNK = 8


@pytest.fixture(scope="module")
def country(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layer_chunks_country")
    make_synthetic_country(out, width=150, height=130, years=range(2000, 2020), tile=64, cog=False, seed=5)
    return out


def _edges(chunks: tuple[int, ...]) -> set[int]:
    return set(np.cumsum(chunks).tolist())


@pytest.fixture(autouse=True)
def two_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import dask.system

    monkeypatch.setattr(dask.system, "CPU_COUNT", 2)  # the map chunks depend on the worker threads


def test_plane_blocks__enough_chunks_for_the_threads() -> None:
    # by hand, 2 threads want 8 map chunks: 10,000² has 10 x 10 of 1,024², 2,500² 3 x 3; 1,000² one (too few) and
    # 2 x 2 of 512² (too few: 1 is the floor); 2,000² 2 x 2 of 1,024² (too few), shifted by 1,000 3 x 3
    assert PLANE_BLOCKS == 2
    assert plane_blocks(10_000, 10_000, 512) == 2
    assert plane_blocks(2_500, 2_500, 512) == 2
    assert plane_blocks(1_000, 1_000, 512) == 1
    assert plane_blocks(2_000, 2_000, 512) == 1  # (1024, 976) a side
    assert plane_blocks(2_000, 2_000, 512, (1_000, 1_000)) == 2  # (24, 1024, 952) a side


def test_plane_blocks__counts_a_cluster_s_threads() -> None:
    # under a client, the workers' threads (here 8: 32 map chunks wanted) count, not this machine's 2
    distributed = pytest.importorskip("distributed")
    assert plane_blocks(2_500, 2_500, 512) == 2
    with distributed.LocalCluster(n_workers=1, threads_per_worker=8, processes=False, dashboard_address=None) as c, \
            distributed.Client(c):
        assert plane_blocks(2_500, 2_500, 512) == 1  # 3 x 3 chunks of 1,024² < 32
        assert plane_blocks(10_000, 10_000, 512) == 2  # 10 x 10
    assert plane_blocks(2_500, 2_500, 512) == 2


def test_stored_maps__plane_blocks_of_run_chunks_series_at_the_run_chunk(
    country: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the land cover series: 20 years of int16 in blocks of 16² cells hold 20 x 2 x 256 = 10,240 bytes (by hand); a
    # cap one byte below keeps it at the run chunk, as a long series at a real chunk size
    assert LAYER_CHUNK_BYTES >= 1024 * 1024 * 16  # the real cap: 1,024² cells of 16 bytes (four float years)
    monkeypatch.setattr(openldn.pipeline.context, "LAYER_CHUNK_BYTES", 20 * 2 * 16 * 16 - 1)
    ctx = make_context(load_assessment(country / "assessment.yaml", check_files=False), out_dir=tmp_path / "run",
                       chunk_size=CHUNK)
    run_stage(ctx, "land_cover")
    series = ctx.layers["lc_unccd"]
    ny, nx = series.sizes["y"], series.sizes["x"]
    assert ctx.chunk_offset == (0, 0)  # untiled inputs: the chunk grid starts at the grid's origin

    def whole(n: int, size: int) -> tuple[int, ...]:  # by hand: blocks of ``size`` from the origin, the rest last
        return (size,) * (n // size) + ((n % size,) if n % size else ())

    run_y, run_x = whole(ny, CHUNK), whole(nx, CHUNK)
    assert series.chunks[1:] == (run_y, run_x), "a series keeps the run chunk"
    maps = [k for k in ctx.layers if ctx.layers[k].ndim == 2]
    assert {"lc_unccd/2000", "lc_degradation/2000-2015"} <= set(maps)
    assert PLANE_BLOCKS == 2
    for key in maps:
        cy, cx = ctx.layers[key].chunks
        # blocks of 2 x 8 = 16 cells (enough of them for 2 threads)
        assert (cy, cx) == (whole(ny, 16), whole(nx, 16)), key
        assert _edges(cy) <= _edges(run_y) and _edges(cx) <= _edges(run_x), f"{key}: whole run chunks"
        assert len(cy) < len(run_y) and len(cx) < len(run_x)
        assert ctx.checkpoint.read_layer(key).chunks == (cy, cx), f"{key}: stored in the same chunks"
    # a resumed stage reads its maps back in the same chunks
    ctx.checkpoint.mark_done("land_cover", layers=list(ctx.layers), tables=[], outputs=[])
    before = {key: ctx.layers[key] for key in maps}
    ctx.restore_stage("land_cover")
    for key in maps:
        assert ctx.layers[key] is not before[key], f"{key}: read back"
        assert ctx.layers[key].chunks == before[key].chunks, key
        np.testing.assert_array_equal(ctx.layers[key].values, before[key].values)
    # a short series (under the cap) takes the maps' blocks
    monkeypatch.setattr(openldn.pipeline.context, "LAYER_CHUNK_BYTES", 20 * 2 * 16 * 16)
    assert ctx.layer_chunks(series).chunks[1:] == (whole(ny, 16), whole(nx, 16))


def test_layer_chunks__on_a_shifted_grid_whole_run_chunks(
    country: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xarray as xr

    # the series below (3 years of int16) over the cap in blocks of 16²: it keeps the run chunk
    monkeypatch.setattr(openldn.pipeline.context, "LAYER_CHUNK_BYTES", 3 * 2 * 16 * 16 - 1)

    ctx = make_context(load_assessment(country / "assessment.yaml", check_files=False), out_dir=tmp_path / "run",
                       chunk_size=CHUNK)
    ctx.chunk_offset = (5, 11)  # a grid cut out of tiled inputs off their tile edges
    plane = xr.DataArray(np.zeros((130, 150), np.int16), dims=("y", "x"))
    series = xr.DataArray(np.zeros((3, 130, 150), np.int16), dims=("time", "y", "x"))
    cy, cx = ctx.layer_chunks(plane).chunks
    _, ry, rx = ctx.layer_chunks(series).chunks
    # by hand: the first run chunk is 8 - 5 = 3 rows and 8 - 11 % 8 = 5 columns, the first map chunk (2 x 8 = 16
    # cells a side) 16 - 5 = 11 rows and 16 - 11 = 5 columns
    assert ry[:2] == (3, 8) and rx[:2] == (5, 8)
    assert cy[:2] == (11, 16) and cx[:2] == (5, 16)
    assert sum(cy) == 130 and sum(cx) == 150
    assert _edges(cy) <= _edges(ry) and _edges(cx) <= _edges(rx)
