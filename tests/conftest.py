"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("OPENLDN_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real case-study data in ../shared/data (skips when absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (set OPENLDN_SHARED_DATA to its path)")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator."""
    return np.random.default_rng(20261125)


@pytest.fixture(scope="session")
def demo_run_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small built-in demo (120 x 120 pixels): the run file's path. Shared by the tests of one worker."""
    from openldn.datasets import make_demo

    return make_demo(tmp_path_factory.mktemp("demo_inputs"), size=120)


@pytest.fixture
def table_computes(monkeypatch: pytest.MonkeyPatch):
    """Records the zonal tables' computes as they run: ``table_computes(fn)`` returns a list that receives
    ``fn(graph, keys)`` of each compute (the low-level graph and the keys handed to the scheduler), and of the
    pieces of the tables summed in a layer pass (``zonal.TablePass``: the pieces' keys and their graph, culled)."""
    from dask.highlevelgraph import HighLevelGraph
    from dask.optimization import cull
    from dask.utils import ensure_dict

    import openldn.zonal.tables as tabmod

    def record(fn):
        seen = []
        run_graph = tabmod.run_graph
        pieces = tabmod.TablePass.pieces

        def recording(graph, keys):
            seen.append(fn(graph, keys))
            return run_graph(graph, keys)

        def recording_pieces(self, optimised):
            out = pieces(self, optimised)
            if out:
                keys = [t.key for _, t in out]
                graph = ensure_dict(HighLevelGraph.merge(*[t.__dask_graph__() for _, t in out]))
                seen.append(fn(cull(graph, keys)[0], keys))
            return out

        monkeypatch.setattr(tabmod, "run_graph", recording)
        monkeypatch.setattr(tabmod.TablePass, "pieces", recording_pieces)
        return seen

    return record


@pytest.fixture
def no_dask_compute():
    """Context-manager factory: any dask compute inside the block raises (compute functions stay lazy)."""
    from openldn.testing import raise_if_dask_computes

    return raise_if_dask_computes


@pytest.fixture
def fake_context(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The stand-in run context of tests/land_cover/fake_context.py (for stage tests); each context writes in a new
    pytest temporary folder (a folder of the system's temp directory per context was never removed)."""
    import importlib.util

    path = Path(__file__).resolve().parent / "land_cover" / "fake_context.py"
    spec = importlib.util.spec_from_file_location("openldn_tests_fake_context", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def make(*args: Any, **kwargs: Any) -> Any:
        return module.FakeContext(*args, out_dir=tmp_path_factory.mktemp("stage"), **kwargs)

    return make


@pytest.fixture
def gdal_write_fails(monkeypatch: pytest.MonkeyPatch):
    """``gdal_write_fails(free)``: GDAL's COG copy fails as it does on a full disk ("TIFFAppendToStrip: Write
    error"), and every disk reports ``free`` bytes free. Returns the error's class."""
    import shutil

    import rasterio.shutil
    from rasterio._err import CPLE_AppDefinedError

    def fail(free: int) -> type[Exception]:
        def copy(*args: Any, **kwargs: Any) -> None:
            raise CPLE_AppDefinedError(3, 1, "TIFFAppendToStrip:Write error at scanline 4294967295")

        monkeypatch.setattr(rasterio.shutil, "copy", copy)
        monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**15, 10**15 - free, free))
        return CPLE_AppDefinedError

    return fail
