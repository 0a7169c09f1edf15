"""The worker threads of the active dask scheduler: what the zonal tables' batches and the map chunks are sized for."""

from __future__ import annotations

import sys

__all__ = ["worker_threads"]


def worker_threads() -> int:
    """Threads of the active dask scheduler: the distributed client's workers' when there is a client, else the
    threaded scheduler's pool (``dask.system.CPU_COUNT``, which follows CPU affinity and cgroup limits).

    Returns
    -------
    int
        1 at least.
    """
    from dask.system import CPU_COUNT

    if "distributed" in sys.modules:  # a client can only exist when distributed was imported
        try:
            from distributed import get_client

            return max(1, sum(get_client().nthreads().values()))  # type: ignore[no-untyped-call]
        except ValueError:
            pass
    return max(1, int(CPU_COUNT))
