"""Tidy zonal tables: class areas, class-pair (transition) areas, zonal sums and area-weighted means.

Every function streams over pieces of the grid, computes each piece with a numba kernel (pieces run in parallel
through dask, in memory-bounded batches; numpy inputs through a thread pool) and combines the pieces in order.
Areas are summed as int64 counts of 1e-4 m², so class areas are exact sums, bit-identical for any chunking or
engine; a zone's classes (nodata included) add up exactly to the zone's area. Integer tables from dask inputs use
the inputs' own chunks as pieces (no copy); sums and means are float64 sums over fixed row strips (the same strips
whatever the chunking), added in a fixed order, so they are reproducible for any chunking as well.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, ParamSpec

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.blocks import chunk_spans
from openldn.core.codes import MASK, NODATA, WATER
from openldn.core.grid import rechunk_cell_areas
from openldn.core.steps import Steps, drive
from openldn.core.workers import fuse_chains, optimize_together, run_graph, worker_threads
from openldn.exceptions import GridMismatchError
from openldn.zonal._kernels import AREA_QUANTUM_M2, mark_seen, pair_area, weighted_sums
from openldn.zonal.coverage import CodeRuns, Coverage, _with_codes

if TYPE_CHECKING:
    from openldn.core.vocab import Legend

__all__ = [
    "AREA_QUANTUM_M2",
    "NODATA_LABEL",
    "PendingTable",
    "TablePass",
    "class_area_table",
    "compute_table_groups",
    "compute_tables",
    "crosstab_area_table",
    "distinct_values",
    "zonal_mean_table",
    "zonal_sum_table",
    "zone_area_table",
]

#: Label of the nodata class in every table.
NODATA_LABEL = "No data"
_KM2_PER_QUANTUM = AREA_QUANTUM_M2 * 1e-6

SomeLegend = Any  # Legend | Mapping[int, str | Mapping | tuple] | None
_P = ParamSpec("_P")


# ---------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------


def _check_grid(da: xr.DataArray, cov: Coverage, what: str) -> None:
    """Shape (and, when the raster carries one, transform) must be the analysis grid's."""
    import rioxarray  # noqa: F401  (registers .rio)

    ny, nx = cov.shape
    if "y" not in da.dims or "x" not in da.dims:
        raise GridMismatchError(f"{what}: dims {da.dims} have no y/x; give a raster on the analysis grid.")
    if da.sizes["y"] != ny or da.sizes["x"] != nx:
        raise GridMismatchError(
            f"{what}: shape {da.sizes['y']}x{da.sizes['x']} differs from the analysis grid {ny}x{nx}; align it first "
            "(openldn.io.align)."
        )
    try:
        t = da.rio.transform(recalc=False)
    except Exception:
        return
    a = cov.geobox.affine
    if da.rio.crs is not None and not np.allclose(
        [t.a, t.c, t.e, t.f], [a.a, a.c, a.e, a.f], rtol=0, atol=1e-6 * max(abs(a.a), abs(a.e))
    ):
        raise GridMismatchError(f"{what}: transform {tuple(t)[:6]} differs from the analysis grid {tuple(a)[:6]}; align it first.")


def _yx_last(da: xr.DataArray) -> xr.DataArray:
    """Put y, x last (strips are cut along y)."""
    if da.dims[-2:] != ("y", "x"):
        da = da.transpose(..., "y", "x")
    return da


def _nodata_codes(da: xr.DataArray | None, legend: SomeLegend) -> set[int]:
    out = {NODATA, MASK}
    if legend is not None and hasattr(legend, "nodata"):
        out.add(int(legend.nodata))
        out.update(int(v) for v in getattr(legend, "extra_nodata", ()))
    if da is not None:
        for v in (da.attrs.get("_FillValue"), da.encoding.get("_FillValue"), da.attrs.get("nodata")):
            if v is not None and np.isfinite(v) and float(v).is_integer():
                out.add(int(v))
    return out


def _labels_of(legend: SomeLegend) -> tuple[list[int], dict[int, str]]:
    """Class codes in display order, and code -> label."""
    if legend is None:
        return [], {}
    if hasattr(legend, "classes"):
        codes = [int(c.code) for c in legend.classes]
        return codes, {int(c.code): str(c.label) for c in legend.classes}
    codes = []
    labels = {}
    for k, v in dict(legend).items():
        code = int(k)
        if isinstance(v, Mapping):
            lab = v.get("label", v.get("name", str(code)))
        elif isinstance(v, tuple | list):
            lab = v[0]
        else:
            lab = v
        if code in (NODATA, MASK):
            continue
        codes.append(code)
        labels[code] = str(lab)
    return codes, labels


def _as_codes(da: xr.DataArray) -> xr.DataArray:
    """Integer view of a class raster (bool -> uint8, float -> int32 with NaN as nodata)."""
    if da.dtype == np.bool_:
        return da.astype("uint8")
    if np.issubdtype(da.dtype, np.floating):
        return da.fillna(NODATA).astype("int32")
    return da


def _present_keys(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned view of an integer array of up to 16 bits and its distinct keys (one pass over a table of every
    value of the type), in unsigned order."""
    udt = np.dtype(f"uint{8 * arr.dtype.itemsize}")
    keys = arr.view(udt)
    seen = np.zeros(1 << (8 * arr.dtype.itemsize), dtype=np.bool_)
    mark_seen(keys.reshape(-1, keys.shape[-1]) if keys.ndim != 2 else keys, seen)
    return keys, np.flatnonzero(seen)


def distinct_values(arr: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an array (:func:`numpy.unique`), in one pass for integers of up to 16 bits.

    Parameters
    ----------
    arr : numpy.ndarray
        Any array (a block of class codes, say).

    Returns
    -------
    numpy.ndarray
        The distinct values, sorted, in the array's dtype.
    """
    a = np.ascontiguousarray(arr)
    if a.dtype.kind in "iu" and a.dtype.itemsize <= 2 and a.size:
        keys, present = _present_keys(a)
        return np.sort(present.astype(keys.dtype).view(a.dtype))
    return np.unique(a)


def _strip_codes(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes present, int64 look-up table, key array) for one strip of a class raster.

    Up to 16-bit integers, the keys are the unsigned view of the data (no copy) and the table is indexed by it;
    wider types are factorised with :func:`numpy.unique`.
    """
    if arr.dtype.itemsize <= 2 and np.issubdtype(arr.dtype, np.integer):
        keys, present = _present_keys(arr)
        lut = np.zeros(1 << (8 * arr.dtype.itemsize), dtype=np.int64)
        codes = present.astype(keys.dtype).view(arr.dtype).astype(np.int64)
        order = np.argsort(codes, kind="stable")  # signed order of the codes
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        lut[present] = rank
        return codes[order], lut, keys
    codes, inv = np.unique(np.asarray(arr, dtype=np.int64), return_inverse=True)
    return codes, np.arange(codes.size, dtype=np.int64), inv.reshape(arr.shape).astype(np.int32)


def _window_parts(cov: Coverage, r0: int, r1: int, c0: int = 0, c1: int | None = None
                  ) -> tuple[CodeRuns, tuple[np.ndarray, ...]]:
    """Full-cell code runs and the sparse entries (both levels, joined) of a window (:meth:`Coverage.window`)."""
    runs, parts = cov.window(r0, r1, c0, c1)
    sparse = tuple(np.concatenate([p[k] for p in parts]) for k in range(4)) if len(parts) > 1 else parts[0]
    return runs, sparse


def _decode(acc_c: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Add full-cell sums by code ``(2 * n_zones, ...)`` into per-zone sums ``(n_zones, ...)`` (fixed order)."""
    nz = acc.shape[0]
    acc[0] += acc_c[1::2].sum(axis=0)
    if nz > 1:
        acc[1:] += acc_c[2:].reshape(nz - 1, 2, *acc_c.shape[1:]).sum(axis=1)
    return acc


#: Below this many cells per chunk, dask inputs are cut into strips rather than processed chunk by chunk.
_MIN_BLOCK_CELLS = 1 << 16


@dataclass(frozen=True, eq=False)
class _Pieces:
    """Pieces of the grid to compute ``fn(codes, sparse, *pieces)`` on, for one table (see :func:`_compute_pieces`).

    Default: fixed row strips (the same for any chunking, so float sums are reproducible). With ``any_layout``
    (integer sums, which do not depend on the order of summation) and dask inputs, the pieces are the inputs' own
    chunks, which avoids copying them into strips.
    """

    cov: Coverage
    arrays: list[xr.DataArray]
    fn: Callable[..., Any]
    any_layout: bool = False


def _layout(req: _Pieces, *, any_size: bool = False) -> tuple[list[Any], bool]:
    """The request's arrays as they are cut into pieces (dask arrays rechunked to the pieces, numpy kept as they
    are) and whether the pieces are the chunks (else row strips). With ``any_size``, the chunks whatever their size
    (where the layout may be any)."""
    import dask.array as dsa

    arrays = req.arrays
    ref = next((a for a in arrays if a.chunks), None)
    big_chunks = ref is not None and ref.data.size / max(1, ref.data.npartitions) >= _MIN_BLOCK_CELLS
    if ref is not None and req.any_layout and (big_chunks or any_size):
        chunks = ref.data.chunks
        datas = [
            (a.data if a.chunks else dsa.from_array(np.asarray(a.data), chunks=chunks, name=False))
            for a in arrays
        ]
        return [d if d.chunks == chunks else rechunk_cell_areas(d, chunks) for d in datas], True
    strip_rows = tuple(r1 - r0 for r0, r1 in req.cov.strips())
    return [rechunk_cell_areas(a.data, {0: strip_rows, **dict.fromkeys(range(1, a.ndim), -1)}) if a.chunks
            else a.data for a in arrays], False


def _plan(req: _Pieces, datas: list[Any], by_chunks: bool
          ) -> tuple[list[Any], list[int], list[tuple[int, int]], bool]:
    """The tasks of a request (dask delayed calls for dask inputs, ``(fn, args)`` otherwise), their cells and their
    first cells (row, column).

    ``datas`` are the request's arrays from :func:`_layout`, the dask ones optimised (together with those of the
    other tables computed with it, so a layer they share is read once per piece, not fused into each).
    """
    import dask
    import dask.array as dsa

    cov, fn = req.cov, req.fn
    lazy = any(isinstance(d, dsa.Array) for d in datas)
    tasks: list[Any] = []
    sizes: list[int] = []  # cells of each piece, to batch by memory
    corners: list[tuple[int, int]] = []  # first cell of each piece, to batch the pieces of several tables by region
    # cut into delayed blocks of the optimised graphs: passing `d.blocks[i, j]` to a task instead finalises and
    # optimises the whole array graph once per block (75 times for a 5 x 5 grid of three arrays)
    if by_chunks:
        chunks = datas[0].chunks
        delayed_blocks = [d.to_delayed(optimize_graph=False) for d in datas]
        for iy, (r0, r1) in enumerate(chunk_spans(chunks[0])):
            for ix, (c0, c1) in enumerate(chunk_spans(chunks[1])):
                runs, sparse = _window_parts(cov, r0, r1, c0, c1)
                blocks = [b[iy, ix] for b in delayed_blocks]
                tasks.append(dask.delayed(_with_codes, pure=False)(fn, runs, sparse, *blocks))
                sizes.append((r1 - r0) * (c1 - c0))
                corners.append((r0, c0))
        return tasks, sizes, corners, lazy
    strips = list(cov.strips())
    strip_blocks = [d.to_delayed(optimize_graph=False).reshape(len(strips)) if isinstance(d, dsa.Array) else None
                    for d in datas]
    for k, (r0, r1) in enumerate(strips):
        codes, sparse = _window_parts(cov, r0, r1)
        pieces = [np.asarray(d[r0:r1]) if b is None else b[k] for d, b in zip(datas, strip_blocks, strict=True)]
        sizes.append((r1 - r0) * cov.shape[1])
        corners.append((r0, 0))
        if lazy:
            tasks.append(dask.delayed(_with_codes, pure=False)(fn, codes, sparse, *pieces))
        else:
            tasks.append((_with_codes, (fn, codes, sparse, *pieces)))
    return tasks, sizes, corners, lazy


def _batches(sizes: list[int], budget: int) -> list[slice]:
    """Consecutive runs of pieces of at most ``budget`` cells (at least one piece each)."""
    out, k = [], 0
    while k < len(sizes):
        k1, acc = k, 0
        while k1 < len(sizes) and (k1 == k or acc + sizes[k1] <= budget):
            acc += sizes[k1]
            k1 += 1
        out.append(slice(k, k1))
        k = k1
    return out


def _lazy_arrays(layouts: list[tuple[list[Any], bool]]) -> list[Any]:
    """The dask arrays of requests laid out by :func:`_layout`, each once, in order."""
    import dask.array as dsa

    return list({id(d): d for datas, _ in layouts for d in datas if isinstance(d, dsa.Array)}.values())


def _plans(reqs: list[_Pieces], layouts: list[tuple[list[Any], bool]], lazy: list[Any], optimised: list[Any]
           ) -> list[tuple[list[Any], list[int], list[tuple[int, int]], bool]]:
    """:func:`_plan` of every request, over the optimised versions (``optimised``) of its dask arrays (``lazy``,
    from :func:`_lazy_arrays`)."""
    swap = {id(d): o for d, o in zip(lazy, optimised, strict=True)}
    return [_plan(req, [swap.get(id(d), d) for d in datas], by_chunks)
            for req, (datas, by_chunks) in zip(reqs, layouts, strict=True)]


def _compute_pieces(reqs: list[_Pieces]) -> list[list[Any]]:
    """The results of every piece of every request, in order; dask runs the pieces of all the requests together.

    The pieces of all the requests, ordered by their first row, are cut into computes of about a strip's worth of
    cells per worker thread (memory bounded whatever the number of tables): a stage's tables take a compute per
    batch of cells, not one or more per table, and the pieces of several tables over the same rows share a compute,
    hence their reads of a shared layer and of the cell areas. numpy inputs run through a thread pool.
    """
    import dask

    from openldn.zonal.coverage import _STRIP_CELLS

    layouts = [_layout(r) for r in reqs]
    lazy = _lazy_arrays(layouts)
    # optimised as one graph (a read they share stays one task per piece); for several tables without dask's
    # low-level fusion, which would fuse a shared read (a stored land cover series, say) into each of its users and
    # so read it once per table
    with dask.config.set({"optimization.fuse.active": False} if len(reqs) > 1 else {}):
        plans = _plans(reqs, layouts, lazy, optimize_together(lazy))
    out: list[list[Any]] = [[None] * len(tasks) for tasks, _, _, _ in plans]
    # (first row, request, piece) of every lazy piece: consecutive runs of at most a strip of cells per worker thread
    # are one compute (with two strips, the land cover and SOC stages of a 10,000² run peaked at 1.09 GiB in the SOC
    # tables; 0.95 GiB with one, for 1-2 s more)
    order = sorted((corner[0], i, j) for i, (_, _, corners, is_lazy) in enumerate(plans) if is_lazy
                   for j, corner in enumerate(corners))
    if order:
        from dask.highlevelgraph import HighLevelGraph
        from dask.utils import ensure_dict

        # one low-level graph for every piece, culled to each batch's pieces: a compute of the batch's tasks
        # merged and culled the whole graph of every table each time (twice the time of the tables one by one at
        # 10,000²)
        tasks = [plans[i][0][j] for _, i, j in order]
        keys = [t.key for t in tasks]
        graph = fuse_chains(ensure_dict(HighLevelGraph.merge(*[t.__dask_graph__() for t in tasks])), keys)
        for run in _batches([plans[i][1][j] for _, i, j in order], worker_threads() * _STRIP_CELLS):
            got = run_graph(graph, keys[run])
            for (_, i, j), res in zip(order[run], got, strict=True):
                out[i][j] = res
    eager = [(i, j, t) for i, (tasks, _, _, is_lazy) in enumerate(plans) if not is_lazy for j, t in enumerate(tasks)]
    if len(eager) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor() as pool:
            results = list(pool.map(lambda it: it[2][0](*it[2][1]), eager))
    else:
        results = [f(*a) for _, _, (f, a) in eager]
    for (i, j, _), res in zip(eager, results, strict=True):
        out[i][j] = res
    return out


#: A table function's steps (:mod:`openldn.core.steps`): yields the pieces it needs, is sent their results (one
#: list per piece request), returns the table.
TableSteps = Steps[pd.DataFrame]


class PendingTable:
    """A zonal table planned but not computed yet (``table_function.plan``); see :func:`compute_tables`.

    The inputs are checked when it is planned (a wrong grid fails there, not later).
    """

    def __init__(self, steps: TableSteps) -> None:
        self._steps = steps
        self._table: pd.DataFrame | None = None
        self._needs: list[_Pieces] = []
        try:
            self._needs = next(steps)
        except StopIteration as stop:
            self._table = stop.value

    def compute(self) -> pd.DataFrame:
        """The table (computed once)."""
        return compute_tables([self])[0]


def compute_tables(tables: Sequence[PendingTable]) -> list[pd.DataFrame]:
    """Compute several planned tables together: the pieces of all of them run in the same dask computes.

    A stage's tables share the cell areas and often their layers, which are then read once per piece; on a
    cluster, where every compute has a fixed cost, this is one compute per batch of pieces for all the tables
    instead of one or more per table. The tables are those each would give alone (integer area sums are exact in
    any grouping; float sums keep their fixed strips and order).

    Parameters
    ----------
    tables : sequence of PendingTable
        From the ``plan`` method of :func:`class_area_table`, :func:`crosstab_area_table`,
        :func:`zonal_sum_table` or :func:`zonal_mean_table`.

    Returns
    -------
    list of pandas.DataFrame
        In the order given.
    """
    _complete([t for t in tables if t._table is None], _compute_pieces)
    out = [t._table for t in tables]
    assert all(df is not None for df in out)
    return out  # type: ignore[return-value]


def compute_table_groups(groups: Mapping[str, Sequence[PendingTable]]) -> dict[str, pd.DataFrame]:
    """:func:`compute_tables` over the tables of every group at once, each group's frames then concatenated.

    Parameters
    ----------
    groups : mapping of str to sequence of PendingTable
        Planned tables by name (a stage's table key, say), in order.

    Returns
    -------
    dict of str to pandas.DataFrame
        One frame per group that has tables, in the order given.
    """
    frames = compute_tables([t for ts in groups.values() for t in ts])
    out: dict[str, pd.DataFrame] = {}
    k = 0
    for name, ts in groups.items():
        if ts:
            out[name] = pd.concat(frames[k : k + len(ts)], ignore_index=True)
        k += len(ts)
    return out


def _complete(tables: list[PendingTable], run: Callable[[list[_Pieces]], list[list[Any]]]) -> None:
    """Drive planned tables to their frames (:func:`openldn.core.steps.drive`), each round's pieces computed by
    ``run``."""
    started = {i: (t._steps, t._needs) for i, t in enumerate(tables)}
    for i, df in drive(started, run).items():
        tables[i]._table, tables[i]._needs = df, []


class TablePass:
    """Planned tables whose pieces are summed in a pass that computes their arrays anyway: the layer store of
    :meth:`openldn.pipeline.RunContext.materialize_many`.

    Each piece is a chunk of the pass's grid, computed with the layers of that chunk while they are in memory,
    instead of a later pass that reads the stored layers back. Only area tables whose sums are integers (class and
    cross-tab areas, the layout of which may be any) can ride a pass; a float sum keeps its fixed strips. The
    pass computes :attr:`arrays` with its own graph (optimised together, so what they share is one task per
    block), places :meth:`pieces` by their first cell, and hands their results to :meth:`finish`.

    Parameters
    ----------
    tables : sequence of PendingTable
        From the ``plan`` method of :func:`class_area_table` or :func:`crosstab_area_table`, planned on the
        arrays the pass stores (their chunks: the pieces are those chunks).

    Raises
    ------
    ValueError
        A table whose sums are floats (:func:`zonal_mean_table`, :func:`zonal_sum_table`).
    """

    def __init__(self, tables: Sequence[PendingTable]) -> None:
        import dask.array as dsa

        self.tables = [t for t in tables if t._table is None]
        self._reqs = [req for t in self.tables for req in t._needs]
        self._layouts = [_layout(req, any_size=True) for req in self._reqs]
        for datas, by_chunks in self._layouts:
            if not by_chunks and any(isinstance(d, dsa.Array) for d in datas):
                raise ValueError("a zonal sum or mean (a float sum) keeps its fixed strips: compute it after the "
                                 "pass, with compute_tables")
        #: The dask arrays of the pieces, each once (to optimise with the pass's layers).
        self.arrays: list[Any] = _lazy_arrays(self._layouts)
        self._plans: list[tuple[list[Any], list[int], list[tuple[int, int]], bool]] = []

    def pieces(self, optimised: Sequence[Any]) -> list[tuple[tuple[int, int], Any]]:
        """``(first cell, delayed task)`` of every lazy piece, over ``optimised`` (:attr:`arrays` optimised with
        the pass's layers, in the same order)."""
        self._plans = _plans(self._reqs, self._layouts, self.arrays, list(optimised))
        return [(corner, task) for tasks, _, corners, lazy in self._plans if lazy
                for task, corner in zip(tasks, corners, strict=True)]

    def finish(self, results: Mapping[Any, Any]) -> None:
        """Complete the tables: the results of the lazy pieces by task key (from the pass), the other pieces
        computed now, any further round of a table as :func:`compute_tables` does."""
        eager = [req for req, (_, _, _, lazy) in zip(self._reqs, self._plans, strict=True) if not lazy]
        done = iter(_compute_pieces(eager) if eager else [])
        first = [[results[t.key] for t in tasks] if lazy else next(done) for tasks, _, _, lazy in self._plans]
        rounds = iter([first])
        _complete(self.tables, lambda needs: next(rounds, None) or _compute_pieces(needs))


class table_function(Generic[_P]):  # a decorator: its instances are the public table functions
    """A zonal table function written as steps (:data:`TableSteps`): calling it computes the table;
    ``.plan(...)``, with the same arguments, gives a :class:`PendingTable` to compute with others
    (:func:`compute_tables`)."""

    def __init__(self, steps: Callable[_P, TableSteps]) -> None:
        self._fn = steps
        functools.update_wrapper(self, steps)

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> pd.DataFrame:
        return self.plan(*args, **kwargs).compute()

    def plan(self, *args: _P.args, **kwargs: _P.kwargs) -> PendingTable:
        """The table of these arguments, planned (inputs checked) but not computed."""
        return PendingTable(self._fn(*args, **kwargs))


def _merge_codes(parts: list[np.ndarray]) -> np.ndarray:
    return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)


def _time_slices(da: xr.DataArray, period: str | None) -> list[tuple[str, xr.DataArray]]:
    if "time" not in da.dims:
        return [("" if period is None else str(period), da)]
    from openldn.core.periods import years_of

    years = years_of(da)
    out = []
    for i, y in enumerate(years):
        label = str(y) if period is None else str(period)
        out.append((label, da.isel(time=i)))
    return out


def _paired_slices(values: xr.DataArray, by: xr.DataArray | None, period: str | None
                   ) -> list[tuple[str, xr.DataArray, xr.DataArray | None]]:
    """(period label, values, by) per time step of whichever input has a time axis (matched by date if both)."""
    if by is not None and "time" in by.dims and "time" not in values.dims:
        return [(per, values, b) for per, b in _time_slices(by, period)]
    out = []
    for per, v in _time_slices(values, period):
        b = by
        if by is not None and "time" in by.dims:
            b = by.sel(time=v["time"].values)
        out.append((per, v, b))
    return out


def _area2d(area: xr.DataArray, cov: Coverage) -> xr.DataArray:
    _check_grid(area, cov, "area")
    if area.dims != ("y", "x"):
        area = area.transpose("y", "x")
    return area


# ---------------------------------------------------------------------------------------------------------------
# Class areas and crosstabs
# ---------------------------------------------------------------------------------------------------------------


def _pair_strip(codes: np.ndarray, sparse: tuple[np.ndarray, ...], a: np.ndarray, b: np.ndarray | None,
                area: np.ndarray, n_zones: int) -> tuple[np.ndarray, ...]:
    a = np.asarray(a)
    ca, lut_a, aa = _strip_codes(a)
    if b is None:
        cb = np.zeros(1, dtype=np.int64)
        lut_b = np.zeros(1, dtype=np.int64)
        bb = np.broadcast_to(np.zeros((1, 1), dtype=np.uint8), a.shape)
    else:
        cb, lut_b, bb = _strip_codes(np.asarray(b))
    nab = ca.size * cb.size
    acc_c = np.zeros((2 * n_zones, nab), dtype=np.int64)
    acc = np.zeros((n_zones, nab), dtype=np.int64)
    area = np.asarray(area, dtype=np.float64)
    sp_i, sp_j, sp_z, sp_f = sparse
    pair_area(codes, aa, lut_a, bb, lut_b, cb.size, area, sp_i, sp_j, sp_z, sp_f, acc_c, acc)
    return ca, cb, _decode(acc_c, acc).reshape(n_zones, ca.size, cb.size)


def _pair_task(nz: int, single: bool, codes: np.ndarray, sparse: tuple[np.ndarray, ...], *p: np.ndarray
               ) -> tuple[np.ndarray, ...]:
    """One piece of :func:`_pair_counts` (module level: a task ships it by reference, with the kernels it calls)."""
    return _pair_strip(codes, sparse, p[0], None if single else p[1], p[-1], nz)


def _pair_request(a: xr.DataArray, b: xr.DataArray | None, cov: Coverage, area: xr.DataArray) -> _Pieces:
    """The pieces of the int64 (zones, codes_a, codes_b) area quanta of ``a`` (by ``b``), for :func:`_pair_merge`."""
    arrays = [a, area] if b is None else [a, b, area]
    return _Pieces(cov, arrays, functools.partial(_pair_task, cov.n_zones, b is None), any_layout=True)


def _pair_merge(parts: list[Any], nz: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int64 (zones, codes_a, codes_b) area quanta with the code lists, from the pieces of :func:`_pair_request`."""
    codes_a = _merge_codes([p[0] for p in parts])
    codes_b = _merge_codes([p[1] for p in parts])
    total = np.zeros((nz, codes_a.size, codes_b.size), dtype=np.int64)
    for ca, cb, acc in parts:
        ia = np.searchsorted(codes_a, ca)
        ib = np.searchsorted(codes_b, cb)
        total[:, ia[:, None], ib[None, :]] += acc
    return codes_a, codes_b, total


def _collapse_nodata(codes: np.ndarray, acc: np.ndarray, axis: int, nodata: set[int]) -> tuple[np.ndarray, np.ndarray]:
    """Merge every nodata code into NODATA along ``axis``."""
    out_codes = np.array([NODATA if int(c) in nodata else int(c) for c in codes], dtype=np.int64)
    uniq = np.unique(out_codes)
    idx = np.searchsorted(uniq, out_codes)
    shape = list(acc.shape)
    shape[axis] = uniq.size
    out = np.zeros(shape, dtype=acc.dtype)
    moved = np.moveaxis(acc, axis, 0)
    target = np.moveaxis(out, axis, 0)
    np.add.at(target, idx, moved)
    return uniq, out


def _ordered_codes(present: np.ndarray, legend_codes: list[int], *, with_nodata: bool = True) -> list[int]:
    seen = set(legend_codes)
    rest = sorted(int(c) for c in present if int(c) not in seen and int(c) != NODATA)
    out = list(legend_codes) + rest
    if with_nodata:
        out.append(NODATA)
    return out


def _label(code: int, labels: dict[int, str]) -> str:
    if code == NODATA:
        return NODATA_LABEL
    return labels.get(code, str(code))


@table_function
def class_area_table(
    classes: xr.DataArray,
    cov: Coverage,
    area: xr.DataArray,
    *,
    variable: str,
    period: str | None = None,
    legend: Legend | Mapping[int, Any] | None = None,
    land_share: bool = False,
) -> TableSteps:
    """Area of each class in each zone.

    Parameters
    ----------
    classes : xarray.DataArray
        Integer class raster ``(y, x)`` on the analysis grid (a ``time`` axis gives one block of rows per year,
        ``period`` = the year unless given). Nodata: -32768, the legend's nodata codes or ``attrs["_FillValue"]``;
        all are reported as class -32768 ``"No data"``.
    cov : Coverage
        From :func:`openldn.zonal.build_coverage`.
    area : xarray.DataArray
        Cell area in m² ``(y, x)`` (``openldn.core.grid.pixel_area``).
    variable : str
        Written in the ``variable`` column.
    period : str, optional
        Written in the ``period`` column (default ``""``).
    legend : Legend or dict, optional
        Class labels; with a legend every legend class gets a row (zero area when absent).
    land_share : bool
        The classes partition the zone into land and water, water coded :data:`openldn.core.codes.WATER` (as
        :meth:`openldn.pipeline.ledger.AreaLedger.class_table` makes them): fill ``share_of_land``.

    Returns
    -------
    pandas.DataFrame
        ``zone_id, zone_name, period, variable, class_code, class_label, area_km2, share_of_area, share_of_land``;
        one row per zone and class, ``"ALL"`` first, classes in legend order then by code, nodata last.
        ``share_of_area`` is the class area over the zone area (water and nodata included); zones with no area have
        0. ``share_of_land`` (with ``land_share``) is the class area over the zone's land area (zone area minus the
        water row; nodata on land included), NaN on the water row and in tables that are not split into land and
        water.
    """
    _check_grid(classes, cov, variable)
    area2 = _area2d(area, cov)
    frames = []
    legend_codes, labels = _labels_of(legend)
    nodata = _nodata_codes(classes, legend)
    slices = _time_slices(_yx_last(classes), period)
    parts = yield [_pair_request(_as_codes(cl), None, cov, area2) for _, cl in slices]
    for (per, _), piece in zip(slices, parts, strict=True):
        codes, _, acc = _pair_merge(piece, cov.n_zones)
        codes, acc2 = _collapse_nodata(codes, acc[:, :, 0], 1, nodata)
        present = codes[(acc2 > 0).any(axis=0)]
        order = _ordered_codes(present, legend_codes)
        pos = {int(c): i for i, c in enumerate(codes)}
        full = np.zeros((cov.n_zones, len(order)), dtype=np.int64)
        for k, c in enumerate(order):
            if c in pos:
                full[:, k] = acc2[:, pos[c]]
        frames.append(_class_frame(cov, per, variable, order, labels, full, land_share=land_share))
    return pd.concat(frames, ignore_index=True)


def _class_frame(cov: Coverage, period: str, variable: str, order: list[int], labels: dict[int, str],
                 q: np.ndarray, *, land_share: bool = False) -> pd.DataFrame:
    nz, nk = q.shape
    zone_tot = q.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(zone_tot[:, None] > 0, q / np.maximum(zone_tot[:, None], 1), 0.0)
    if land_share:
        is_water = np.array([c == WATER for c in order], dtype=bool)
        land_tot = zone_tot - q[:, is_water].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            of_land = np.where(land_tot[:, None] > 0, q / np.maximum(land_tot[:, None], 1), 0.0)
        of_land[:, is_water] = np.nan
    else:
        of_land = np.full(q.shape, np.nan)
    return pd.DataFrame({
        "zone_id": np.repeat(cov.zone_ids, nk),
        "zone_name": np.repeat(cov.zone_names, nk),
        "period": period,
        "variable": variable,
        "class_code": np.tile(np.array(order, dtype=np.int64), nz),
        "class_label": np.tile([_label(c, labels) for c in order], nz),
        "area_km2": (q * _KM2_PER_QUANTUM).reshape(-1),
        "share_of_area": share.reshape(-1),
        "share_of_land": of_land.reshape(-1),
    })


@table_function
def crosstab_area_table(
    a: xr.DataArray,
    b: xr.DataArray,
    cov: Coverage,
    area: xr.DataArray,
    *,
    variable: str,
    period: str | None = None,
    legend_a: Legend | Mapping[int, Any] | None = None,
    legend_b: Legend | Mapping[int, Any] | None = None,
) -> TableSteps:
    """Area of each pair of classes (``a``, ``b``) in each zone, e.g. land cover transitions or LPD by land cover.

    Parameters
    ----------
    a, b : xarray.DataArray
        Integer class rasters ``(y, x)`` on the analysis grid.
    cov : Coverage
        Zone coverage.
    area : xarray.DataArray
        Cell area in m².
    variable : str
        ``variable`` column.
    period : str, optional
        ``period`` column.
    legend_a, legend_b : Legend or dict, optional
        Labels; when both are given every pair of legend classes (and nodata) gets a row.

    Returns
    -------
    pandas.DataFrame
        ``zone_id, zone_name, period, variable, class_code_a, class_label_a, class_code_b, class_label_b,
        area_km2, share_of_area`` (share of the zone's area, water included). Without both legends only pairs
        with area in some zone are listed.
    """
    _check_grid(a, cov, f"{variable} (a)")
    _check_grid(b, cov, f"{variable} (b)")
    if "time" in a.dims or "time" in b.dims:
        raise GridMismatchError(f"{variable}: crosstab inputs must be (y, x); select one time step of each.")
    area2 = _area2d(area, cov)
    (parts,) = yield [_pair_request(_as_codes(_yx_last(a)), _as_codes(_yx_last(b)), cov, area2)]
    ca, cb, acc = _pair_merge(parts, cov.n_zones)
    ca, acc = _collapse_nodata(ca, acc, 1, _nodata_codes(a, legend_a))
    cb, acc = _collapse_nodata(cb, acc, 2, _nodata_codes(b, legend_b))
    la, lab_a = _labels_of(legend_a)
    lb, lab_b = _labels_of(legend_b)
    zone_tot = acc.sum(axis=(1, 2))
    pos_a = {int(c): i for i, c in enumerate(ca)}
    pos_b = {int(c): i for i, c in enumerate(cb)}
    nonzero: np.ndarray = np.asarray((acc > 0).any(axis=0))
    if legend_a is not None and legend_b is not None:
        pairs = [(x, y) for x in _ordered_codes(ca[nonzero.any(axis=1)], la) for y in _ordered_codes(cb[nonzero.any(axis=0)], lb)]
        pairs_set = set(pairs)
        extra = [(int(ca[i]), int(cb[j])) for i, j in zip(*np.nonzero(nonzero), strict=True)]
        pairs += sorted(p for p in extra if p not in pairs_set)
    else:
        oa = {c: k for k, c in enumerate(_ordered_codes(ca, la))}
        ob = {c: k for k, c in enumerate(_ordered_codes(cb, lb))}
        pairs = sorted(((int(ca[i]), int(cb[j])) for i, j in zip(*np.nonzero(nonzero), strict=True)),
                       key=lambda p: (oa[p[0]], ob[p[1]]))
    q = np.zeros((cov.n_zones, len(pairs)), dtype=np.int64)
    for k, (x, y) in enumerate(pairs):
        if x in pos_a and y in pos_b:
            q[:, k] = acc[:, pos_a[x], pos_b[y]]
    nz, nk = q.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(zone_tot[:, None] > 0, q / np.maximum(zone_tot[:, None], 1), 0.0)
    codes_a = np.array([p[0] for p in pairs], dtype=np.int64)
    codes_b = np.array([p[1] for p in pairs], dtype=np.int64)
    return pd.DataFrame({
        "zone_id": np.repeat(cov.zone_ids, nk),
        "zone_name": np.repeat(cov.zone_names, nk),
        "period": "" if period is None else str(period),
        "variable": variable,
        "class_code_a": np.tile(codes_a, nz),
        "class_label_a": np.tile([_label(int(c), lab_a) for c in codes_a], nz) if nk else np.array([], dtype=object),
        "class_code_b": np.tile(codes_b, nz),
        "class_label_b": np.tile([_label(int(c), lab_b) for c in codes_b], nz) if nk else np.array([], dtype=object),
        "area_km2": (q * _KM2_PER_QUANTUM).reshape(-1),
        "share_of_area": share.reshape(-1),
    })


# ---------------------------------------------------------------------------------------------------------------
# Zonal sums and means
# ---------------------------------------------------------------------------------------------------------------


def _weighted_strip(nz: int, has_by: bool, has_w: bool, cells: np.ndarray, sparse: tuple[np.ndarray, ...],
                    *p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted sums of one strip (module level: a task ships it by reference, with the kernels it calls)."""
    v = np.asarray(p[0], dtype=np.float64)
    k = 1
    if has_by:
        codes, lut, bb = _strip_codes(np.asarray(p[k]))
        k += 1
    else:
        codes = np.zeros(1, dtype=np.int64)
        lut = np.zeros(1, dtype=np.int64)
        bb = np.broadcast_to(np.zeros((1, 1), dtype=np.uint8), v.shape)
    w = np.asarray(p[k], dtype=np.float64) if has_w else np.broadcast_to(np.ones((1, 1)), v.shape)
    vw = np.zeros((nz, codes.size), dtype=np.float64)
    ww = np.zeros((nz, codes.size), dtype=np.float64)
    vw_c = np.zeros((2 * nz, codes.size), dtype=np.float64)
    ww_c = np.zeros((2 * nz, codes.size), dtype=np.float64)
    sp_i, sp_j, sp_z, sp_f = sparse
    weighted_sums(cells, bb, lut, v, w, sp_i, sp_j, sp_z, sp_f, vw_c, ww_c, vw, ww)
    return codes, _decode(vw_c, vw), _decode(ww_c, ww)


def _weighted_request(values: xr.DataArray, by: xr.DataArray | None, cov: Coverage,
                      weight: xr.DataArray | None) -> _Pieces:
    """The pieces of the weighted sums of ``values`` per zone (and class of ``by``), for :func:`_weighted_merge`."""
    arrays = [values] + [a for a in (by, weight) if a is not None]
    fn = functools.partial(_weighted_strip, cov.n_zones, by is not None, weight is not None)
    return _Pieces(cov, arrays, fn)


def _weighted_merge(parts: list[Any], nz: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = _merge_codes([p[0] for p in parts])
    vw_all = np.zeros((len(parts), nz, codes.size))
    ww_all = np.zeros((len(parts), nz, codes.size))
    for s, (c, vw, ww) in enumerate(parts):
        idx = np.searchsorted(codes, c)
        vw_all[s][:, idx] = vw
        ww_all[s][:, idx] = ww
    # Fixed strip order: sum strip by strip (deterministic whatever the chunking).
    vw_tot = np.zeros((nz, codes.size))
    ww_tot = np.zeros((nz, codes.size))
    for s in range(len(parts)):
        vw_tot += vw_all[s]
        ww_tot += ww_all[s]
    return codes, vw_tot, ww_tot


def _by_frame(cov: Coverage, period: str, variable: str, by: xr.DataArray | None, legend: SomeLegend,
              codes: np.ndarray, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    nz = cov.n_zones
    if by is None:
        df = pd.DataFrame({
            "zone_id": list(cov.zone_ids),
            "zone_name": list(cov.zone_names),
            "period": period,
            "variable": variable,
            "class_code": pd.array([pd.NA] * nz, dtype="Int64"),
            "class_label": "",
        })
        for k, v in cols.items():
            df[k] = v[:, 0] if v.shape[1] else np.zeros(nz)
        return df
    legend_codes, labels = _labels_of(legend)
    nodata = _nodata_codes(by, legend)
    merged = {k: _collapse_nodata(codes, v, 1, nodata) for k, v in cols.items()}
    ucodes = next(iter(merged.values()))[0]
    present = ucodes[np.any([(np.abs(m[1]) > 0).any(axis=0) for m in merged.values()], axis=0)] if ucodes.size else ucodes
    order = _ordered_codes(present, legend_codes)
    pos = {int(c): i for i, c in enumerate(ucodes)}
    nk = len(order)
    df = pd.DataFrame({
        "zone_id": np.repeat(cov.zone_ids, nk),
        "zone_name": np.repeat(cov.zone_names, nk),
        "period": period,
        "variable": variable,
        "class_code": pd.array(np.tile(np.array(order, dtype=np.int64), nz), dtype="Int64"),
        "class_label": np.tile([_label(c, labels) for c in order], nz),
    })
    for k, (_, arr) in merged.items():
        out = np.zeros((nz, nk))
        for j, c in enumerate(order):
            if c in pos:
                out[:, j] = arr[:, pos[c]]
        df[k] = out.reshape(-1)
    return df


@table_function
def zonal_sum_table(
    values: xr.DataArray,
    cov: Coverage,
    *,
    by: xr.DataArray | None = None,
    variable: str,
    period: str | None = None,
    legend: Legend | Mapping[int, Any] | None = None,
) -> TableSteps:
    """Sum of ``values`` in each zone (and class of ``by``), boundary cells weighted by their coverage fraction.

    Parameters
    ----------
    values : xarray.DataArray
        Quantity per cell ``(y, x)`` (e.g. people); NaN cells add nothing. A ``time`` axis gives one block of rows
        per year.
    cov : Coverage
        Zone coverage.
    by : xarray.DataArray, optional
        Integer class raster to split the sums by (e.g. 1OAO status, drought class).
    variable, period : str
        ``variable`` and ``period`` columns.
    legend : Legend or dict, optional
        Labels of ``by`` classes (every legend class gets a row).

    Returns
    -------
    pandas.DataFrame
        ``zone_id, zone_name, period, variable, class_code, class_label, value``; ``class_code`` is NA and
        ``class_label`` empty when ``by`` is None.
    """
    _check_grid(values, cov, variable)
    if by is not None:
        _check_grid(by, cov, f"{variable} (by)")
    frames = []
    by = None if by is None else _yx_last(by)
    slices = _paired_slices(_yx_last(values), by, period)
    parts = yield [_weighted_request(v, None if b is None else _as_codes(b), cov, None) for _, v, b in slices]
    for (per, _, b), piece in zip(slices, parts, strict=True):
        codes, vw, _ = _weighted_merge(piece, cov.n_zones)
        frames.append(_by_frame(cov, per, variable, b, legend, codes, {"value": vw}))
    return pd.concat(frames, ignore_index=True)


@table_function
def zonal_mean_table(
    values: xr.DataArray,
    cov: Coverage,
    area: xr.DataArray,
    *,
    by: xr.DataArray | None = None,
    variable: str,
    period: str | None = None,
    legend: Legend | Mapping[int, Any] | None = None,
) -> TableSteps:
    """Area-weighted mean of ``values`` in each zone (and class of ``by``), over cells with data.

    Parameters
    ----------
    values : xarray.DataArray
        Quantity per unit area ``(y, x)`` (e.g. SOC in t/ha); NaN cells are left out of the mean.
    cov : Coverage
        Zone coverage.
    area : xarray.DataArray
        Cell area in m².
    by : xarray.DataArray, optional
        Integer class raster to split by (e.g. land cover).
    variable, period : str
        ``variable`` and ``period`` columns.
    legend : Legend or dict, optional
        Labels of ``by`` classes.

    Returns
    -------
    pandas.DataFrame
        ``zone_id, zone_name, period, variable, class_code, class_label, value, area_km2``: ``value`` is
        ``sum(v * a * f) / sum(a * f)`` (NaN where no cell has data), ``area_km2`` the area with data.
    """
    _check_grid(values, cov, variable)
    area2 = _area2d(area, cov)
    if by is not None:
        _check_grid(by, cov, f"{variable} (by)")
    frames = []
    by = None if by is None else _yx_last(by)
    slices = _paired_slices(_yx_last(values), by, period)
    parts = yield [_weighted_request(v, None if b is None else _as_codes(b), cov, area2) for _, v, b in slices]
    for (per, _, b), piece in zip(slices, parts, strict=True):
        codes, vw, ww = _weighted_merge(piece, cov.n_zones)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(ww > 0, vw / np.where(ww > 0, ww, 1.0), np.nan)
        df = _by_frame(cov, per, variable, b, legend, codes, {"vw": vw, "ww": ww})
        with np.errstate(invalid="ignore", divide="ignore"):
            df["value"] = np.where(df["ww"] > 0, df["vw"] / df["ww"].where(df["ww"] > 0, 1.0), np.nan)
        df["area_km2"] = df["ww"] * 1e-6
        del mean
        frames.append(df.drop(columns=["vw", "ww"]))
    return pd.concat(frames, ignore_index=True)


def zone_area_table(cov: Coverage, area: xr.DataArray) -> pd.DataFrame:
    """Area of every zone (the AOI ``"ALL"`` first), counting boundary cells by their covered fraction.

    Parameters
    ----------
    cov : Coverage
        Zone coverage.
    area : xarray.DataArray
        Cell area in m² on the analysis grid.

    Returns
    -------
    pandas.DataFrame
        ``zone_id, zone_name, area_km2``; the same totals as the class tables of any variable.
    """
    import rioxarray  # noqa: F401

    area2 = _area2d(area, cov)
    ones = xr.zeros_like(area2, dtype=np.uint8)
    t = class_area_table(ones, cov, area2, variable="zone_area")
    out: pd.DataFrame = t.groupby(["zone_id", "zone_name"], sort=False, as_index=False)[["area_km2"]].sum()
    return out
