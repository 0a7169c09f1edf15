"""The active dask scheduler's workers: the distributed client, if any, and the worker threads that the zonal tables'
batches and the map chunks are sized for."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["active_client", "fuse_chains", "optimize_together", "run_graph", "worker_threads"]


def active_client() -> Any:
    """The distributed client of this process (``distributed.get_client``), or None without one.

    Returns
    -------
    distributed.Client or None
    """
    if "distributed" not in sys.modules:  # a client can only exist when distributed was imported
        return None
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        return None


def worker_threads() -> int:
    """Threads of the active dask scheduler: the distributed client's workers' when there is a client, else the
    threaded scheduler's pool (``dask.system.CPU_COUNT``, which follows CPU affinity and cgroup limits).

    Returns
    -------
    int
        1 at least.
    """
    from dask.system import CPU_COUNT

    client = active_client()
    if client is not None:
        return max(1, int(sum(client.nthreads().values())))
    return max(1, int(CPU_COUNT))


def optimize_together(arrays: Sequence[Any]) -> list[Any]:
    """Dask arrays optimised as one graph: dask's array optimisations over the keys of them all.

    ``dask.optimize(*arrays)`` optimises each array on its own graph, so a blockwise producer they share (an input
    tile, a common intermediate) is fused into each of them and computed once per array. Optimised together, a
    producer with several users stays one task per block (dask fuses a layer only into its single user).

    Parameters
    ----------
    arrays : sequence of dask.array.Array

    Returns
    -------
    list of dask.array.Array
        The same names, chunks and values, each carrying the one optimised graph.
    """
    import dask.array as dsa
    from dask.array.optimization import optimize
    from dask.core import flatten
    from dask.highlevelgraph import HighLevelGraph
    from dask.utils import ensure_dict

    if not arrays:
        return []
    graph = ensure_dict(optimize(HighLevelGraph.merge(*[a.__dask_graph__() for a in arrays]),
                                 list(flatten([a.__dask_keys__() for a in arrays]))))
    # one low-level layer (the same dict) named after each array, as ``to_delayed(optimize_graph=False)`` expects
    return [dsa.Array(HighLevelGraph({a.name: graph}, {a.name: set()}), a.name, a.chunks, meta=a._meta)
            for a in arrays]


def fuse_chains(graph: dict[Any, Any], keys: list[Any]) -> dict[Any, Any]:
    """``graph`` with its linear chains fused (``dask._task_spec.fuse_linear_task_spec``): a task with one
    dependency and one dependent becomes part of the next; ``keys`` stay.

    For graphs optimised without dask's low-level fusion (the layer stores, the tables: see their callers) and then
    computed in parts by :func:`run_graph`. No task is computed twice: only single-dependent links are fused. Fewer
    tasks matter most on a cluster, where each costs a round trip through the scheduler (2,500² run on one worker,
    about 2 ms each).

    Parameters
    ----------
    graph : dict
        Low-level dask graph.
    keys : list
        The keys that will be computed.

    Returns
    -------
    dict
    """
    from dask._task_spec import Alias, convert_legacy_graph, fuse_linear_task_spec

    fused = dict(fuse_linear_task_spec(convert_legacy_graph(graph), keys))
    # dask names a fused chain after its tasks and keeps the chain's last key as an alias of it (dask/dask#2129):
    # one more task per chain for the scheduler to run. The chain takes its last key instead (2,500² run: 5,142 ->
    # 3,631 tasks). A cluster's scheduler then learns the chain's duration under that key's prefix (the renaming
    # was for its estimates by prefix, dask/dask#1911); the keys of a pass are computed together, band by band.
    for key, node in list(fused.items()):
        if isinstance(node, Alias) and node.target not in graph and node.target in fused:
            fused[key] = fused.pop(node.target).substitute({}, key=key)
    return fused


def run_graph(graph: dict[Any, Any], keys: list[Any]) -> list[Any]:
    """``keys`` of a low-level graph (culled to them), computed by the active scheduler (threads, or a cluster's
    client).

    For work cut into several computes over one graph (the zonal tables' batches, the layer store's bands of rows):
    the graph is built and optimised once, each compute takes only its part.

    Parameters
    ----------
    graph : dict
        Low-level dask graph.
    keys : list
        The keys to compute.

    Returns
    -------
    list
        Their values, in order.
    """
    from dask.base import get_scheduler
    from dask.delayed import Delayed
    from dask.optimization import cull

    sub, _ = cull(graph, keys)
    get = get_scheduler(cls=Delayed)
    return list(get(sub, keys))
