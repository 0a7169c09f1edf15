"""Execution engines: the local threaded scheduler, a local multi-process cluster, or an existing cluster."""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import dask

from openldn.core.workers import worker_threads

__all__ = [
    "LAYER_CHUNK_BYTES", "PLANE_BLOCKS", "auto_chunk_size", "axis_chunks", "chunk_offset", "engine",
    "limit_malloc_arenas", "plane_blocks", "release_memory",
]


def _available_memory() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def release_memory() -> None:
    """Give the memory freed by the last pass over the grid back to the system (glibc's ``malloc_trim``).

    The threaded scheduler's tasks allocate and free large blocks from several threads; glibc keeps the freed pages
    in its per-thread arenas, so the process's RSS stays at the high-water mark of every earlier pass. At 10,000²
    it held about 3.7 GiB between passes, and about 1.6-2.0 GiB once trimmed. A no-op where glibc is absent. Dask's
    worker processes do the same themselves (``MALLOC_TRIM_THRESHOLD_``, set by their nanny).
    """
    trim = _libc("malloc_trim")
    if trim is not None:
        trim(0)


#: ``mallopt`` parameter of glibc's arena limit (``M_ARENA_MAX`` in malloc.h).
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int) -> None:
    """Cap glibc's malloc arenas for this process (a threaded run), unless ``MALLOC_ARENA_MAX`` is set.

    glibc gives each thread that allocates an arena of its own, up to eight per core, and each arena keeps the blocks
    freed in it. The run's worker threads, GDAL's and the COG writer then spread the large blocks of a pass over many
    arenas, each holding its own high-water mark. Capped at the number of worker threads, a 2,500² SO1 run on
    2 cores peaked at 1.04 GiB instead of 1.28 GiB, and a 10,000² run at 1.77 GiB instead of 1.87 GiB, in the same
    time (``benchmarks/bench_country.py``; with ``MALLOC_ARENA_MAX``). glibc reads the cap when it first needs more
    arenas than its default test allows, so it holds for the rest of the process; a no-op without glibc.
    """
    if "MALLOC_ARENA_MAX" in os.environ:  # the user's (or the environment's) choice
        return
    mallopt = _libc("mallopt")
    if mallopt is not None:
        mallopt(_M_ARENA_MAX, max(1, int(arenas)))


@functools.cache
def _libc(name: str) -> Callable[..., int] | None:
    """A function of glibc (``malloc_trim``, ``mallopt``), or None where the C library has none (looked up once)."""
    import ctypes
    import ctypes.util

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return getattr(lib, name, None)

#: Most run chunks a side of a stored map's chunk (a layer without a time axis): 1,024² for the usual 512² chunk.
#: A map's passes are light (class look-ups, table pieces), so the fixed costs of each chunk (a dask task, a
#: checkpoint store read or write) outweigh the work at the run chunk: at 10,000² on 2 cores, 2 x 2 run chunks made
#: the status, 1OAO and LPD passes about twice as fast and the tables 45 % faster (356 s for the SO1 run, against
#: 470-495 s); 4 x 4 gave the same time with a higher peak.
PLANE_BLOCKS = 2
#: Most bytes of a stored layer's chunk at :data:`PLANE_BLOCKS` run chunks a side: 1,024² cells of up to 16 bytes
#: (a map, four years of float stocks); a longer series is stored at the run chunk. At 64 bytes (24 years of land
#: cover classes too), the 10,000² SO1 run took 323 s instead of 299 s: one year read from a chunk of 24 costs the
#: same whatever the chunk's area, and the passes over the classes gained nothing.
LAYER_CHUNK_BYTES = 16 * 2**20
#: Fewest map chunks per worker thread: fewer, larger chunks leave threads idle while the largest one finishes.
_PLANE_CHUNKS_PER_THREAD = 4


def plane_blocks(ny: int, nx: int, chunk_size: int, offset: tuple[int, int] = (0, 0)) -> int:
    """Run chunks a side of a stored map's chunk: :data:`PLANE_BLOCKS`, halved until the grid has enough chunks for
    the worker threads (:func:`openldn.core.workers.worker_threads`, a cluster's when there is a client; four
    chunks each); 1 at least. On 2 cores with 512² run chunks: 2 at 10,000² and 2,500² (3 x 3 chunks of 1,024²),
    1 at 1,000² (one chunk of 1,024² would leave a thread idle).
    """
    want = _PLANE_CHUNKS_PER_THREAD * worker_threads()
    k = PLANE_BLOCKS
    while k > 1:
        edge = chunk_size * k
        if len(axis_chunks(ny, edge, offset[0])) * len(axis_chunks(nx, edge, offset[1])) >= want:
            break
        k //= 2
    return k


#: Upper bound (bytes) of the working set ``auto_chunk_size`` plans for, over all concurrent tasks.
_MAX_WORKING_SET = 2 * 2**30


def auto_chunk_size(n_time: int = 48, *, threads: int | None = None, memory: int | None = None) -> int:
    """Chunk edge (pixels) so that a (time, edge, edge) float64 block and its temporaries fit in memory.

    Parameters
    ----------
    n_time : int
        Longest time axis a stage holds in one chunk (e.g. 516 months of precipitation).
    threads : int, optional
        Concurrent tasks (defaults to the number of CPUs).
    memory : int, optional
        Bytes available (defaults to the machine's available memory).

    Returns
    -------
    int
        Between 256 and 2048: a multiple of 512 (the tile of GDAL's COGs, so input tiles are decoded once) when the
        budget allows 512 pixels, else 256.
    """
    threads = threads or os.cpu_count() or 1
    memory = memory or _available_memory()
    # well under the available memory, and at most 2 GiB of working set in all: the peak of a run is then set by
    # the chunk, not by the machine's free memory nor by the grid (bounded memory at any grid size)
    budget = min(memory / 8, _MAX_WORKING_SET) / threads
    edge = math.sqrt(budget / (8 * max(n_time, 1) * 6))
    step = 512 if edge >= 512 else 256
    return int(min(2048, max(256, (edge // step) * step)))


def axis_chunks(n: int, size: int, offset: int = 0) -> tuple[int, ...]:
    """Chunk lengths along an axis of ``n`` cells: ``size`` each, the first ``size - offset`` when shifted.

    Examples
    --------
    >>> axis_chunks(1000, 512)
    (512, 488)
    >>> axis_chunks(1000, 512, 57)
    (455, 512, 33)
    """
    first = min(n, size - offset % size)
    rest = n - first
    return (first,) * (first > 0) + (size,) * (rest // size) + ((rest % size,) if rest % size else ())


def chunk_offset(inputs: Mapping[str, Any], geobox: Any, size: int) -> tuple[int, int]:
    """Shift (rows, columns) of the run's chunk grid that puts its edges on the largest input's chunk edges.

    An analysis grid cut out of a tiled raster rarely starts on a tile edge (an area of interest starts where it
    starts). Chunks of ``size`` from the grid's origin then cut every input chunk in four pieces, which dask's
    rechunk holds until the four output chunks that need them are done: at 10,000², 0.8 GB of vegetation index
    pieces were held in the productivity pass. Shifted by this offset, each run chunk is read from input chunks
    whole (when the input's chunks are multiples of ``size`` or divide it).

    Parameters
    ----------
    inputs : mapping of str to xarray.DataArray
        The inputs as opened (lazy, on their own grid).
    geobox : odc.geo.geobox.GeoBox
        The analysis grid.
    size : int
        The run's chunk edge.

    Returns
    -------
    tuple of int
        ``(0, 0)`` when no input shares the analysis grid's CRS and resolution with whole-pixel offsets.
    """
    from openldn.exceptions import GridMismatchError
    from openldn.io.align import pixel_offset
    from openldn.io.grid import geobox_of

    best: tuple[int, tuple[int, int]] = (0, (0, 0))
    for da in inputs.values():
        if da.chunks is None:
            continue
        try:
            off = pixel_offset(geobox_of(da), geobox)  # None unless the input is a whole-pixel crop of the grid
        except GridMismatchError:  # no usable grid: no offset from this input
            continue
        cy, cx = (da.chunksizes[d][0] for d in ("y", "x"))
        if off is None or not all(c % size == 0 or size % c == 0 for c in (cy, cx)):
            continue
        if da.size > best[0]:
            best = (da.size, (off[1] % size, off[0] % size))
    return best[1]


@contextlib.contextmanager
def engine(
    *, workers: int | None = None, scheduler: str | None = None, log: Callable[[str], Any] | None = None
) -> Iterator[Any]:
    """Run the enclosed dask computations on the chosen engine.

    Parameters
    ----------
    workers : int, optional
        Start a local cluster of this many single-threaded worker processes.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``).
    log : callable, optional
        Receives a line with the dashboard link when a cluster is used.

    Yields
    ------
    distributed.Client or None
    """
    if scheduler is None and workers is None:
        from dask.system import CPU_COUNT

        limit_malloc_arenas(CPU_COUNT)  # one per thread of dask's pool (its size)
        with dask.config.set(scheduler="threads"):
            yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover
        from openldn.exceptions import ConfigError

        raise ConfigError("--workers/--scheduler need dask.distributed: pip install 'openldn[distributed]'.") from err
    if scheduler is not None:
        client = Client(scheduler, timeout="20s")
        cluster = None
    else:
        # each compute is a band of rows or a batch of table pieces, bounded in memory by its caller: the
        # scheduler sends the workers all its ready tasks rather than queueing them (2,500² run, one worker: the
        # idle gaps between tasks went from 16.8 to 8.2 s and the run from 63 to 55 s)
        with dask.config.set({"distributed.scheduler.worker-saturation": "inf"}):
            cluster = LocalCluster(
                n_workers=int(workers or 1), threads_per_worker=1, processes=True, dashboard_address=":0",
                memory_limit=None,
            )
        client = Client(cluster)
    try:
        if log is not None:
            log(f"Dask dashboard: {client.dashboard_link}")
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
