"""One pass over the grid (issue 14): the productivity stage reads each NDVI tile once; ``materialize_many``.

Reads are counted at rioxarray's file access (``RasterioArrayWrapper._getitem``, one call per dask chunk of the
opened file) while a real run context (:func:`openldn.testing.make_context`) runs the stage on a small synthetic
country written as GeoTIFF. The expected count is worked out from the geometry: the chunks of the opened NDVI that
the analysis window (the AOI's window of the reference grid) touches.
"""

from __future__ import annotations

import collections
import itertools
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from rioxarray._io import RasterioArrayWrapper

from openldn.config import load_assessment
from openldn.datasets import make_synthetic_country
from openldn.io import open_raster
from openldn.testing import make_context, run_stage

SIZE = 200
YEARS = range(2000, 2020)  # baseline 2000-2015, reporting 2016-2019 (the generated run file's periods)
NDVI_CHUNK = 18  # chunks of the opened NDVI: 11 x 18 + 2 pixels a side (the window leaves some out)
RUN_CHUNK = 64  # the run's chunk edge (the aligned input is rechunked to it)


@pytest.fixture(scope="module")
def country(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("one_pass_country")
    make_synthetic_country(out, width=SIZE, height=SIZE, years=YEARS, tile=64, cog=False, seed=14)
    return out


def _context(country: Path, out: Path) -> Any:
    a = load_assessment(country / "assessment.yaml", check_files=False)
    ndvi = open_raster(country / "ndvi.tif", scale=0.0001, chunks={"y": NDVI_CHUNK, "x": NDVI_CHUNK}, name="ndvi")
    return make_context(a, inputs={"ndvi": ndvi, "land_cover": country / "land_cover.tif"}, out_dir=out,
                        chunk_size=RUN_CHUNK)


class _Reads:
    """Counts the file reads of rioxarray, by file name."""

    def __init__(self) -> None:
        self.by_file: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def ndvi(self) -> int:
        return sum(v for k, v in self.by_file.items() if Path(k).name == "ndvi.tif")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Reads]:
    counter = _Reads()
    original = RasterioArrayWrapper._getitem

    def counted(self: RasterioArrayWrapper, key: Any) -> Any:
        args = getattr(self.manager, "_args", None)
        with counter._lock:
            counter.by_file[str(args[0]) if args else "?"] += 1
        return original(self, key)

    monkeypatch.setattr(RasterioArrayWrapper, "_getitem", counted)
    yield counter


def _chunks_touched(chunks: tuple[int, ...], start: int, stop: int) -> int:
    edges = np.cumsum((0, *chunks))
    return int(sum(1 for a, b in itertools.pairwise(edges) if a < stop and b > start))


def _expected_reads(ctx: Any, country: Path) -> int:
    """NDVI chunks the analysis window touches, from the file's transform and the analysis grid's."""
    import rasterio

    with rasterio.open(country / "ndvi.tif") as src:
        t_src, height, width = src.transform, src.height, src.width
    t_dst = ctx.geobox.affine
    col0 = round((t_dst.c - t_src.c) / t_src.a)
    row0 = round((t_dst.f - t_src.f) / t_src.e)
    ny, nx = ctx.geobox.shape
    assert row0 >= 0 and row0 + ny <= height and col0 >= 0 and col0 + nx <= width  # a window inside the file
    edges = [NDVI_CHUNK] * (SIZE // NDVI_CHUNK) + [SIZE % NDVI_CHUNK]
    n = _chunks_touched(tuple(edges), row0, row0 + ny) * _chunks_touched(tuple(edges), col0, col0 + nx)
    return n


def test_productivity_stage__reads_each_ndvi_chunk_once(country: Path, tmp_path: Path, reads: _Reads) -> None:
    ctx = _context(country, tmp_path / "run")
    assert ctx.input("ndvi").chunks is not None
    expected = _expected_reads(ctx, country)
    assert 4 < expected < 12 * 12  # several chunks, not all of them
    reads.by_file.clear()
    run_stage(ctx, "productivity")
    periods = [p.label for p in ctx.assessment.periods]
    assert len(periods) == 2
    for label in periods:  # every sub-indicator of every period was computed in that pass
        for kind in ("trajectory", "state", "performance"):
            assert ctx.checkpoint.has_layer(f"productivity_{kind}/{label}")
    assert reads.ndvi() == expected, dict(reads.by_file)
    assert reads.by_file  # the counter is wired to the file reads


def test_productivity_stage__the_counter_sees_one_read_per_layer_when_stored_apart(
    country: Path, tmp_path: Path, reads: _Reads, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control: storing the six sub-indicator layers one by one (the code before 7c41ef0) reads every chunk 6x."""
    from openldn.productivity import stage

    def one_by_one(ctx: Any, arrays: dict[str, xr.DataArray], tables: Any = None) -> dict[str, xr.DataArray]:
        from openldn.zonal import compute_tables

        out = {k: ctx.materialize(k, da) for k, da in arrays.items()}
        compute_tables(tables or [])
        return out

    monkeypatch.setattr(stage, "_store_many", one_by_one)
    ctx = _context(country, tmp_path / "run")
    expected = _expected_reads(ctx, country)
    reads.by_file.clear()
    run_stage(ctx, "productivity")
    assert reads.ndvi() == 6 * expected


def _two_layers(ctx: Any) -> dict[str, xr.DataArray]:
    ndvi = ctx.input("ndvi")
    return {"test/mean": ndvi.mean("time"), "test/max": ndvi.max("time")}


def test_materialize_many__same_values_as_separate_calls_one_read(country: Path, tmp_path: Path,
                                                                    reads: _Reads) -> None:
    ctx = _context(country, tmp_path / "run")
    expected_reads = _expected_reads(ctx, country)
    values = np.asarray(ctx.input("ndvi").values, dtype=np.float32)  # in memory, read outside the counted calls
    reads.by_file.clear()
    together = ctx.materialize_many(_two_layers(ctx))
    assert reads.ndvi() == expected_reads  # the shared input is read once for both layers
    assert list(together) == ["test/mean", "test/max"]
    reads.by_file.clear()
    apart = {k: ctx.materialize(k.replace("test/", "apart/"), da) for k, da in _two_layers(ctx).items()}
    assert reads.ndvi() == 2 * expected_reads
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells
        exp_mean, exp_max = np.nanmean(values, axis=0), np.nanmax(values, axis=0)
    for key, exp in (("test/mean", exp_mean), ("test/max", exp_max)):
        got = together[key]
        assert isinstance(got.data, dsa.Array)  # lazily read back from the store
        assert ctx.checkpoint.has_layer(key)
        np.testing.assert_array_equal(got.values, apart[key].values)
        np.testing.assert_allclose(got.values, exp, rtol=1e-6, equal_nan=True)


def test_materialize_many__area_tables_summed_in_the_pass(country: Path, tmp_path: Path, reads: _Reads) -> None:
    """Class and cross-tab area tables planned on the layers as stored are summed in the pass that stores them:
    the input is read once for the layers and the tables, and the tables equal those computed afterwards from the
    stored layers. A float sum (zonal mean) cannot ride a pass."""
    from openldn.zonal import class_area_table, compute_tables, crosstab_area_table, zonal_mean_table

    ctx = _context(country, tmp_path / "run")
    expected_reads = _expected_reads(ctx, country)
    ndvi = ctx.input("ndvi")
    lazy = {"test/high": ctx.as_stored((ndvi.mean("time") > 0.5).astype("int16")),
            "test/rise": ctx.as_stored((ndvi.isel(time=-1) > ndvi.isel(time=0)).astype("int16"))}

    def plans(layers: dict[str, xr.DataArray]) -> list[Any]:
        return [class_area_table.plan(layers["test/high"], ctx.coverage, ctx.area, variable="high"),
                crosstab_area_table.plan(layers["test/high"], layers["test/rise"], ctx.coverage, ctx.area,
                                         variable="high_rise")]

    in_pass = plans(lazy)
    reads.by_file.clear()
    stored = ctx.materialize_many(lazy, tables=in_pass)
    assert reads.ndvi() == expected_reads  # once for the two layers and the two tables
    assert all(t._table is not None for t in in_pass)  # complete when the pass returns
    afterwards = compute_tables(plans(stored))
    assert reads.ndvi() == expected_reads  # those read the stored layers
    for got, exp in zip(compute_tables(in_pass), afterwards, strict=True):
        assert len(got) > 2 and got["area_km2"].sum() > 0
        pd.testing.assert_frame_equal(got, exp)
    with pytest.raises(ValueError, match="float sum"):
        ctx.materialize_many({"test/mean": ctx.as_stored(ndvi.mean("time"))},
                             tables=[zonal_mean_table.plan(ctx.as_stored(ndvi.mean("time")), ctx.coverage, ctx.area,
                                                           variable="mean")])


def test_materialize_many__writes_nothing_when_the_graph_raises(country: Path, tmp_path: Path) -> None:
    ctx = _context(country, tmp_path / "run")
    layers = _two_layers(ctx)

    def fail_in_one_block(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        if block_info is not None and block_info[0]["chunk-location"] == (1, 1):
            raise RuntimeError("a tile cannot be computed")
        return block

    bad = layers["test/max"].copy(data=layers["test/max"].data.map_blocks(fail_in_one_block, dtype=np.float32))
    with pytest.raises(RuntimeError, match="a tile cannot be computed"):
        ctx.materialize_many({"test/mean": layers["test/mean"], "test/bad": bad})
    root = ctx.checkpoint.root
    for key in ("test/mean", "test/bad"):
        assert not ctx.checkpoint.has_layer(key)
        assert not ctx.checkpoint.layer_path(key).exists()
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]
    # the failure is not cached: the good layer is stored by a later call
    stored = ctx.materialize_many({"test/mean": layers["test/mean"]})
    assert ctx.checkpoint.has_layer("test/mean")
    np.testing.assert_array_equal(stored["test/mean"].values, layers["test/mean"].values)


def test_materialize_many__second_call_returns_the_cached_arrays(country: Path, tmp_path: Path,
                                                                 reads: _Reads) -> None:
    ctx = _context(country, tmp_path / "run")
    layers = _two_layers(ctx)
    first = ctx.materialize_many(layers)
    reads.by_file.clear()
    second = ctx.materialize_many(layers)
    assert reads.ndvi() == 0  # nothing recomputed
    assert all(second[k] is first[k] for k in layers)
    # the stored arrays themselves are recognised too (a stage handing back what it got)
    assert all(v is first[k] for k, v in ctx.materialize_many(first).items())
    assert ctx.materialize("test/mean", layers["test/mean"]) is first["test/mean"]


def test_layers_update__stores_the_layers_in_one_pass(country: Path, tmp_path: Path, reads: _Reads) -> None:
    ctx = _context(country, tmp_path / "run")
    expected_reads = _expected_reads(ctx, country)
    layers = _two_layers(ctx)
    reads.by_file.clear()
    ctx.layers.update(layers)
    assert reads.ndvi() == expected_reads  # one pass for both, as materialize_many
    for key, da in layers.items():
        assert ctx.checkpoint.has_layer(key)
        assert isinstance(ctx.layers[key].data, dsa.Array)  # the stored layer, lazily read back
        np.testing.assert_array_equal(ctx.layers[key].values, da.values)


def test_stages__per_period_layers_in_one_pass_each(country: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                    ) -> None:
    """The stages store every period's layers together: one store call per step, not one per layer and period; the
    area tables of the degradation and LPD layers are summed in that pass."""
    from openldn.pipeline.checkpoint import Checkpoint

    calls: list[list[str]] = []
    in_pass: dict[str, list[str]] = {}
    original = Checkpoint.write_layers

    def recorded(self: Checkpoint, arrays: dict[str, xr.DataArray], tables: Any = None) -> Any:
        calls.append(sorted(arrays))
        out = original(self, arrays, tables)
        for key in arrays:  # after the pass: the tables are complete
            in_pass[key] = [] if tables is None else sorted({v for t in tables.tables for v in t._table["variable"]})
        return out

    monkeypatch.setattr(Checkpoint, "write_layers", recorded)
    ctx = _context(country, tmp_path / "run")
    for stage in ("land_cover", "productivity"):
        run_stage(ctx, stage)
    labels = [p.label for p in ctx.assessment.periods]
    for prefix in ("lc_degradation", "lpd"):
        together = [c for c in calls if any(k.startswith(prefix + "/") for k in c)]
        assert len(together) == 1, calls  # one pass for every period
        assert {f"{prefix}/{label}" for label in labels} <= set(together[0])
    assert in_pass[f"lc_degradation/{labels[0]}"] == ["land_cover", "land_cover_transition", "lc_degradation"]
    assert in_pass[f"lpd/{labels[0]}"] == ["lpd_by_lc", "prod_degradation"]


def test_release_memory__returns_freed_pages_to_the_system() -> None:
    """glibc keeps freed blocks in its arenas; after ``release_memory`` the RSS falls back (Linux with glibc)."""
    import ctypes.util
    import sys

    import psutil

    from openldn.pipeline.engine import release_memory

    if not sys.platform.startswith("linux") or not ctypes.util.find_library("c"):
        pytest.skip("malloc_trim is glibc's (Linux)")
    me = psutil.Process()
    # many mid-sized blocks (below mmap's threshold, so they live in the heap), then all but the last freed
    blocks = [bytearray(64 * 1024) for _ in range(4000)]  # 250 MiB
    keep = blocks[-1]
    del blocks
    before = me.memory_info().rss
    release_memory()
    after = me.memory_info().rss
    assert keep
    assert before - after > 100 * 2**20, f"RSS {before / 2**20:.0f} -> {after / 2**20:.0f} MiB"


_ARENAS = """
import ctypes, ctypes.util, sys, threading
import dask.system
dask.system.CPU_COUNT = 2  # the pool of a 2-core machine, whatever this one has
from openldn.pipeline.engine import engine
barrier = threading.Barrier(6)
def work():  # six threads alive at once, each allocating: without a cap each takes an arena of its own
    blocks = [bytearray(1000) for _ in range(1000)]
    barrier.wait()
def run():
    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
if sys.argv[1] == "threaded":
    with engine():
        run()
else:
    run()
ctypes.CDLL(ctypes.util.find_library("c")).malloc_stats()  # one "Arena <n>:" block per arena, on stderr
"""


@pytest.mark.parametrize(("how", "env", "expected"), [("threaded", {}, 2), ("none", {}, 7),
                                                      ("threaded", {"MALLOC_ARENA_MAX": "4"}, 4)])
def test_engine__threaded_run_caps_malloc_arenas(how: str, env: dict[str, str], expected: int) -> None:
    """A threaded run caps glibc's arenas at its worker threads (a 2-core pool, forced), unless the environment sets
    ``MALLOC_ARENA_MAX``; without the cap six live threads take seven arenas (the main thread's and theirs)."""
    import ctypes.util
    import os
    import subprocess
    import sys

    if not sys.platform.startswith("linux") or not ctypes.util.find_library("c"):
        pytest.skip("malloc arenas are glibc's (Linux)")
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    proc = subprocess.run([sys.executable, "-c", _ARENAS, how], capture_output=True, text=True, env=environ,
                          check=True)
    arenas = [line for line in proc.stderr.splitlines() if line.startswith("Arena ")]
    assert len(arenas) == expected, proc.stderr[-500:]


def test_engine__local_cluster_scheduler_sends_every_ready_task() -> None:
    """The local cluster's scheduler does not queue ready tasks (``worker-saturation``: inf) while the caller's
    computes are bounded bands: each queued task cost a round trip between a finished task and the next. The
    setting must reach the scheduler, which reads it when the cluster starts."""
    import math

    pytest.importorskip("distributed")
    from openldn.pipeline.engine import engine

    with engine(workers=1) as client:
        assert client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.WORKER_SATURATION) == math.inf


def test_productivity_stage__unit_percentiles_of_every_period_in_three_computes(country: Path,
                                                                                 tmp_path: Path) -> None:
    """The performance percentiles of both periods share each of their three passes: three computes, each over
    the two periods' means (one per period before: six; each compute has a fixed cost on a cluster)."""
    from dask.callbacks import Callback

    per_compute: list[set[str]] = []

    class _Percentile(Callback):  # type: ignore[misc]
        def _start(self, dsk: Any) -> None:
            names = {str(k[0]) for k in dsk if isinstance(k, tuple)}
            per_compute.append({n for n in names if n.startswith("unit-percentiles-")})

    ctx = _context(country, tmp_path / "run")
    with _Percentile():
        run_stage(ctx, "productivity")
    passes = [names for names in per_compute if names]
    assert len(passes) == 3
    assert all(len(names) == 2 for names in passes)  # both periods' percentiles in each
    assert passes[0] == passes[1] == passes[2]
