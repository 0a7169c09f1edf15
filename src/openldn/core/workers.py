"""The active dask scheduler's workers: the distributed client, if any, and the worker threads that the zonal tables'
batches and the map chunks are sized for."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["active_client", "fuse_chains", "run_graph", "worker_threads"]


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
    from dask._task_spec import convert_legacy_graph, fuse_linear_task_spec

    return dict(fuse_linear_task_spec(convert_legacy_graph(graph), keys))


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
