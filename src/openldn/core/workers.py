"""The active dask scheduler's workers: the distributed client, if any, and the worker threads that the zonal tables'
batches and the map chunks are sized for."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["active_client", "run_graph", "worker_threads"]


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
