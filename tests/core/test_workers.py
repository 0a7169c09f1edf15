"""core.workers: graphs fused along their linear chains and computed in parts."""

from __future__ import annotations

from typing import Any

import dask
import dask.array as dsa
import numpy as np
from dask.core import flatten
from dask.highlevelgraph import HighLevelGraph
from dask.utils import ensure_dict

from openldn.core.workers import fuse_chains, optimize_together, run_graph


def test_fuse_chains__fewer_tasks_none_computed_twice_same_values() -> None:
    """A chain of block steps after a producer two outputs share: the chain is fused, the producer stays one task
    per block (computed once for both outputs), and every output keeps its key and value."""
    calls: list[int] = []

    def produce(block: np.ndarray) -> np.ndarray:
        calls.append(1)
        return block * 2.0

    rng = np.random.default_rng(3)
    base = rng.random((40, 30))
    shared = dsa.from_array(base, chunks=(20, 15)).map_blocks(produce, dtype=float)
    a = (shared[1:] + 1.0)[:, 2:] * 3.0  # slices between block steps: chains that blockwise fusion leaves
    b = shared[2:] - 1.0  # sliced too: blockwise fusion would put a second copy of the producer in it
    with dask.config.set({"optimization.fuse.active": False}):
        a, b = dask.optimize(a, b)
    graph = ensure_dict(HighLevelGraph.merge(a.__dask_graph__(), b.__dask_graph__()))
    keys_a, keys_b = list(flatten(a.__dask_keys__())), list(flatten(b.__dask_keys__()))
    fused = fuse_chains(graph, keys_a + keys_b)

    assert len(fused) < len(graph)  # 32 tasks (6 of them aliases, which the scheduler runs too), 16 once fused
    calls.clear()  # map_blocks tried the function on empty arrays (its meta)
    with dask.config.set(scheduler="threads"):
        got = run_graph(fused, keys_a + keys_b)
    assert len(calls) == 4  # 2 x 2 blocks, each once for both outputs
    got_a = np.block([got[0:2], got[2:4]])  # the blocks in row-major order
    got_b = np.block([got[4:6], got[6:8]])
    np.testing.assert_array_equal(got_a, (base[1:, 2:] * 2.0 + 1.0) * 3.0)
    np.testing.assert_array_equal(got_b, base[2:] * 2.0 - 1.0)


def test_fuse_chains__a_fused_chain_is_one_task_under_its_last_key() -> None:
    """dask's linear fusion names a fused chain after its tasks and leaves the chain's last key as an alias of it:
    a second task per chain that the scheduler runs (a round trip through a cluster's scheduler). The chain takes
    its last key instead: one task per block, no alias, no key the graph did not have, the same values."""
    from dask._task_spec import Alias

    base = np.arange(48.0).reshape(6, 8)
    x = dsa.from_array(base, chunks=(3, 4))
    y = ((x + 1.0) * 2.0)[1:, :]  # a chain of block steps over each read block
    with dask.config.set({"optimization.fuse.active": False}):
        (y,) = dask.optimize(y)
    graph = ensure_dict(y.__dask_graph__())
    keys = list(flatten(y.__dask_keys__()))
    fused = fuse_chains(graph, keys)
    assert not [k for k, v in fused.items() if isinstance(v, Alias)]
    assert set(fused) <= set(graph) and set(keys) <= set(fused)
    assert len(fused) == len(keys)  # one task per block (dask fused: two, the chain and its alias)
    with dask.config.set(scheduler="threads"):
        got = run_graph(fused, keys)
    np.testing.assert_array_equal(np.block([got[0:2], got[2:4]]), ((base + 1.0) * 2.0)[1:, :])


def test_optimize_together__a_shared_producer_computed_once() -> None:
    """Two arrays made of blockwise steps over one producer: optimised together, the producer runs once per block
    for both (dask.optimize(a, b) optimises each on its own graph and fuses a copy into each: twice per block), and
    the arrays keep their names and values."""
    calls: list[int] = []

    def produce(block: np.ndarray) -> np.ndarray:
        calls.append(1)
        return block + 1.0

    base = np.arange(24.0).reshape(4, 6)
    shared = dsa.from_array(base, chunks=(2, 3)).map_blocks(produce, dtype=float)
    a, b = (shared * 2.0).astype("float32"), shared - 3.0

    def run(arrays: list[Any]) -> list[Any]:
        graph = ensure_dict(HighLevelGraph.merge(*[x.__dask_graph__() for x in arrays]))
        calls.clear()
        with dask.config.set(scheduler="threads"):
            return run_graph(graph, [k for x in arrays for k in flatten(x.__dask_keys__())])

    with dask.config.set({"optimization.fuse.active": False}):
        run(list(dask.optimize(a, b)))
        assert len(calls) == 8  # what this guards against: 4 blocks, once per array
        together = optimize_together([a, b])
    assert [x.name for x in together] == [a.name, b.name]
    got = run(together)
    assert len(calls) == 4
    np.testing.assert_array_equal(np.block([got[0:2], got[2:4]]), ((base + 1.0) * 2.0).astype("float32"))
    np.testing.assert_array_equal(np.block([got[4:6], got[6:8]]), base + 1.0 - 3.0)
    # the arrays are ordinary dask arrays: cut into delayed blocks, computed alone
    np.testing.assert_array_equal(together[1].compute(scheduler="threads"), base - 2.0)
    assert len(together[0].to_delayed(optimize_graph=False)) == 2
