"""Benjamini-Hochberg threshold over a dask array in bounded memory, exactly as the sort-based algorithm.

The sort-based threshold is ``v[k*]`` with ``k* = max{k : v_(k) <= crit(k)}``, ``crit(k) = (q * k) / m`` in float64
(``v`` the sorted finite p-values, ``m`` their number). Equivalently ``v_(k) <= crit(k)`` holds exactly when at least
``k`` values are ``<= crit(k)``, so the threshold is decided by counts, and counts add over blocks.

The real line is partitioned into cells ``[E_i, E_{i+1})`` with exact counts ``c_i`` (``L_i`` values below ``E_i``).
The ranks ``k`` whose ``crit(k)`` falls in cell ``i`` form a range ``[a_i, b_i]`` (``crit`` is non-decreasing in
``k``). Such a ``k`` surely passes when ``k <= L_i``, surely fails when ``k > L_{i+1}``, and is undecided in between.
Let ``K`` be the largest sure pass; ``k*`` is ``K`` or an undecided rank above ``K``. The values of the cells holding
undecided ranks above ``K``, and of the cell holding rank ``K``, settle the answer: they are gathered as distinct
values with counts (ties cost one entry) and ``k*`` is read off exactly. Pass 1 counts every block into fine cells over
``[0, q]`` (the threshold is at most ``crit(m) ~ q``); when the cells to gather hold too many values they are split
finer and counted again (at most :data:`_MAX_REFINE` times) before the gather pass. Each block of p-values is read
by one task, which keeps only its values below ``q_hi = q (1 + 2**-40)`` (above every ``crit(k)``; sorted, with
multiplicities when ties abound): the passes
work on these, so the blocks need not stay in memory between passes. The combining tasks see only counts, cell edges
and the gathered values.

References
----------
Benjamini and Hochberg (1995), J. R. Stat. Soc. B 57, 289-300.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import dask
import dask.array
import numpy as np

#: Cells over ``[0, q]`` in the first pass.
_FIRST_CELLS = 1 << 16
#: Most values gathered without a further counting pass.
_GATHER_BUDGET = 1 << 20
#: Most cell edges created by one refinement.
_REFINE_EDGES = 1 << 20
#: Largest number of refinement passes built into the graph (unused ones cost one no-op task per block).
_MAX_REFINE = 2
#: Fan-in of the combining tree.
_SPLIT_EVERY = 8


def _crit(k: np.ndarray, q: float, m: int) -> np.ndarray:
    """``q * k / m`` evaluated as ``q * np.arange(1, m + 1) / m`` does."""
    return (q * np.asarray(k, dtype=np.int64).astype(np.float64)) / m


def _n_below(x: np.ndarray, q: float, m: int) -> np.ndarray:
    """Number of ranks ``k`` in ``1..m`` with ``crit(k) < x``, for each ``x`` (exact)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        est = np.floor(x * (m / q))
    est = np.where(np.isnan(est), 0.0, est)
    k = np.clip(est, 0, m).astype(np.int64)
    for _ in range(1000):
        up = (k < m) & (_crit(np.minimum(k + 1, m), q, m) < x)
        down = (k > 0) & (_crit(np.maximum(k, 1), q, m) >= x)
        if not (up.any() or down.any()):
            return k
        k = k + up.astype(np.int64) - down.astype(np.int64)
    raise RuntimeError("bh_threshold: rank search did not converge")  # pragma: no cover - crit is monotone


def _finite(block: np.ndarray) -> np.ndarray:
    v = np.asarray(block, dtype=np.float64).ravel()
    return v[np.isfinite(v)]


@dataclass(frozen=True)
class _Cells:
    """A partition of the finite values into cells ``[edges[i], edges[i+1])`` with exact counts."""

    edges: np.ndarray
    counts: np.ndarray
    m: int


@dataclass(frozen=True)
class _Plan:
    """What the next pass over the blocks does: count into finer cells, gather values, or nothing."""

    mode: str  # "refine", "gather" or "done"
    cells: _Cells | None = None
    spec_edges: np.ndarray | None = None  # sorted edges of the cells the blocks count or gather
    spec_active: np.ndarray | None = None  # per spec cell: counted / gathered
    refine: np.ndarray | None = None  # per cell of ``cells``: split in this pass
    sure: int = 0  # largest rank known to pass
    result: float = -1.0


@lru_cache(maxsize=8)
def _first_edges_cached(q_hi: float, cells: int) -> np.ndarray:
    edges = np.concatenate([[-np.inf], np.linspace(0.0, q_hi, cells + 1), [np.inf]])
    edges.setflags(write=False)
    return edges


def _first_edges(q_hi: float) -> np.ndarray:
    """Edges of the first cells: below 0, ``_FIRST_CELLS`` equal cells over ``[0, q_hi)``, and the rest."""
    return _first_edges_cached(q_hi, _FIRST_CELLS)


@dataclass(frozen=True)
class _Compact:
    """The part of one block that later passes can need: its values below ``q_hi``, sorted, and its count.

    Values at or above ``q_hi`` exceed every ``crit(k)``, so they only count towards ``m``. Values are kept once
    with their multiplicity when that is smaller (p-values of short series take few distinct values).
    """

    values: np.ndarray
    counts: np.ndarray | None  # multiplicity of each value; None: each value once
    m: int

    def weights(self) -> np.ndarray:
        return np.ones(self.values.size, np.int64) if self.counts is None else self.counts


def _compact(block: np.ndarray, q_hi: float) -> _Compact:
    """Per block (the only task that reads a block of p-values)."""
    v = _finite(block)
    low = np.sort(v[v < q_hi])
    if low.size == 0:
        return _Compact(low, None, int(v.size))
    starts = np.flatnonzero(np.concatenate([[True], low[1:] != low[:-1]]))
    if 3 * starts.size > low.size:
        return _Compact(low, None, int(v.size))
    counts = np.diff(np.append(starts, low.size)).astype(np.int64)
    return _Compact(low[starts], counts, int(v.size))


def _bincount(idx: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    if weights is None:
        return np.bincount(idx, minlength=size).astype(np.int64)
    return np.rint(np.bincount(idx, weights=weights, minlength=size)).astype(np.int64)


def _first_count(part: _Compact, q_hi: float) -> tuple[np.ndarray, float]:
    """Per block: counts into the first cells (the last cell gets the values at or above ``q_hi``), smallest value."""
    edges = _first_edges(q_hi)
    idx = np.searchsorted(edges, part.values, side="right") - 1
    counts = _bincount(idx, part.counts, edges.size - 1)
    counts[-1] += part.m - int(counts.sum())
    return counts, float(part.values[0]) if part.values.size else np.inf


def _add_first(parts: list[tuple[np.ndarray, float]]) -> tuple[np.ndarray, float]:
    counts = parts[0][0].copy()
    for c, _ in parts[1:]:
        counts += c
    return counts, min(p[1] for p in parts)


def _select(part: _Compact, plan: _Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Spec cell index, value and multiplicity of the values of ``part`` lying in the active spec cells."""
    assert plan.spec_edges is not None and plan.spec_active is not None
    e = plan.spec_edges
    lo, hi = np.searchsorted(part.values, [e[0], e[-1]], side="left")
    v = part.values[lo:hi]
    w = None if part.counts is None else part.counts[lo:hi]
    idx = np.searchsorted(e, v, side="right") - 1
    keep = plan.spec_active[idx]
    return idx[keep], v[keep], None if w is None else w[keep]


def _spec_count(part: _Compact, plan: _Plan) -> np.ndarray | None:
    """Per block: counts into the active spec cells (refinement pass)."""
    if plan.mode != "refine":
        return None
    assert plan.spec_edges is not None
    idx, _, w = _select(part, plan)
    return _bincount(idx, w, plan.spec_edges.size - 1)


def _add_counts(parts: list[np.ndarray | None]) -> np.ndarray | None:
    got = [p for p in parts if p is not None]
    if not got:
        return None
    out = got[0].copy()
    for p in got[1:]:
        out += p
    return out


def _spec_gather(part: _Compact, plan: _Plan) -> tuple[np.ndarray, np.ndarray] | None:
    """Per block: distinct values (with counts) lying in the active spec cells (gather pass)."""
    if plan.mode != "gather":
        return None
    _, v, w = _select(part, plan)
    if w is None:
        u, c = np.unique(v, return_counts=True)
        return u, c.astype(np.int64)
    return v, w


def _merge_values(parts: list[tuple[np.ndarray, np.ndarray] | None]) -> tuple[np.ndarray, np.ndarray] | None:
    got = [p for p in parts if p is not None]
    if not got:
        return None
    u, inv = np.unique(np.concatenate([p[0] for p in got]), return_inverse=True)
    c = np.bincount(inv.ravel(), weights=np.concatenate([p[1] for p in got]), minlength=u.size)
    return u, np.rint(c).astype(np.int64)


def _plan(cells: _Cells, q: float, *, can_refine: bool) -> _Plan:
    """Classify the ranks against the cells; decide what the next pass does."""
    m = cells.m
    if m == 0:
        return _Plan("done", result=-1.0)
    e, c = cells.edges, cells.counts
    below = np.concatenate([[0], np.cumsum(c)])  # values below each edge
    nb = _n_below(e, q, m)
    a, b = nb[:-1] + 1, nb[1:]  # ranks whose crit lies in each cell
    lo_edge, hi_edge = below[:-1], below[1:]
    sure_k = np.minimum(b, lo_edge)
    sure = int(sure_k[sure_k >= a].max(initial=0))
    und_lo, und_hi = np.maximum(a, lo_edge + 1), np.minimum(b, hi_edge)
    need = (und_hi >= und_lo) & (und_hi > sure)
    if sure > 0:
        need[np.searchsorted(below, sure, side="left") - 1] = True  # the cell holding rank ``sure``
    if not need.any():
        return _Plan("done", result=-1.0)
    gather = int(c[need].sum())
    width_ok = np.isfinite(e[:-1]) & np.isfinite(e[1:]) & (np.nextafter(e[:-1], np.inf) < e[1:])
    split = need & (c > 1) & width_ok
    if gather > _GATHER_BUDGET and can_refine and split.any():
        n_split = int(split.sum())
        per = int(max(2, min(_FIRST_CELLS, _REFINE_EDGES // n_split)))
        starts, ends = e[:-1][split], e[1:][split]
        frac = np.linspace(0.0, 1.0, per + 1)
        sub = starts[:, None] + (ends - starts)[:, None] * frac[None, :]
        sub = np.clip(sub, starts[:, None], ends[:, None])
        sub[:, 0], sub[:, -1] = starts, ends
        spec = np.unique(sub.ravel())
        owner = np.searchsorted(e, spec[:-1], side="right") - 1
        return _Plan(
            "refine", cells=cells, spec_edges=spec, spec_active=split[owner], refine=split, sure=sure
        )
    spec = np.unique(np.concatenate([e[:-1][need], e[1:][need]]))
    owner = np.searchsorted(e, spec[:-1], side="right") - 1
    return _Plan("gather", cells=cells, spec_edges=spec, spec_active=need[owner], sure=sure)


def _after_refine(plan: _Plan, counts: np.ndarray | None, q: float, can_refine: bool) -> _Plan:
    """Merge the counts of a refinement pass into the cells and plan again (a no-op unless refining)."""
    if plan.mode != "refine":
        return plan
    assert plan.cells is not None and plan.spec_edges is not None and plan.refine is not None
    assert counts is not None
    old, spec = plan.cells, plan.spec_edges
    edges = np.union1d(old.edges, spec)
    owner = np.searchsorted(old.edges, edges[:-1], side="right") - 1
    from_spec = plan.refine[owner]
    new_counts = old.counts[owner].copy()
    new_counts[from_spec] = counts[np.searchsorted(spec, edges[:-1][from_spec], side="right") - 1]
    if int(new_counts.sum()) != old.m:  # pragma: no cover - the blocks changed between passes
        raise RuntimeError("bh_threshold: p-values changed between passes over the same blocks")
    return _plan(_Cells(edges, new_counts, old.m), q, can_refine=can_refine)


def _first_plan(first: tuple[np.ndarray, float], q: float, q_hi: float, can_refine: bool) -> _Plan:
    counts, vmin = first
    edges = _first_edges(q_hi).copy()
    if counts[0] > 0:
        edges[0] = vmin  # negative "p-values": make the lowest cell finite so that it can be split
    return _plan(_Cells(edges, counts, int(counts.sum())), q, can_refine=can_refine)


def _finish(plan: _Plan, values: tuple[np.ndarray, np.ndarray] | None, q: float) -> np.float64:
    """The threshold from the gathered values of the undecided cells."""
    if plan.mode == "done":
        return np.float64(plan.result)
    assert plan.cells is not None and values is not None
    cells, m = plan.cells, plan.cells.m
    u, cnt = values
    below = np.concatenate([[0], np.cumsum(cells.counts)])
    cell = np.searchsorted(cells.edges, u, side="right") - 1
    # global rank of the last copy of each distinct value: values below its cell + gathered ones up to it
    csum = np.cumsum(cnt)
    first_in_cell = np.searchsorted(cell, cell, side="left")
    before = np.where(first_in_cell > 0, csum[np.maximum(first_in_cell - 1, 0)], 0)
    rank = below[cell] + csum - before
    passed = u <= _crit(rank, q, m)
    k_star = max(plan.sure, int(rank[passed].max(initial=0)))
    if k_star == 0:  # pragma: no cover - a sure pass or a gathered pass exists whenever the plan gathers
        return np.float64(-1.0)
    j = int(np.searchsorted(rank, k_star, side="left"))  # distinct value holding rank k*
    return np.float64(u[j])


def _tree(dsk: dict[Any, Any], parts: list[Any], combine: Any, prefix: str) -> Any:
    """Add tasks combining ``parts`` (keys) ``_SPLIT_EVERY`` at a time down to one; return the last key."""
    level = 0
    while True:
        groups = [parts[i : i + _SPLIT_EVERY] for i in range(0, len(parts), _SPLIT_EVERY)]
        keys = [(f"{prefix}-{level}", j) for j in range(len(groups))]
        for key, group in zip(keys, groups, strict=True):
            dsk[key] = (combine, list(group))
        if len(keys) == 1:
            return keys[0]
        parts, level = keys, level + 1


def bh_threshold_dask(p: dask.array.Array, q: float) -> dask.array.Array:
    """Lazy, exact Benjamini-Hochberg threshold of a dask array of p-values (0-d float64 dask array).

    The graph is written out by hand (plain tasks referring to the blocks' keys): one task per block reduces it to its
    values below ``q_hi`` (:class:`_Compact`); then one task per compacted block and pass, small combining trees,
    and the planning steps between passes.
    """
    from dask.base import tokenize
    from dask.core import flatten
    from dask.highlevelgraph import HighLevelGraph

    name = f"bh-threshold-{tokenize(p, q)}"
    q_hi = q * (1.0 + 2.0**-40)  # above crit(m) = fl(fl(q m) / m) whatever the rounding
    dsk: dict[Any, Any] = {}
    blocks = [(f"{name}-compact", i) for i in range(p.npartitions)]
    for key, block in zip(blocks, flatten(p.__dask_keys__()), strict=True):
        dsk[key] = (_compact, block, q_hi)  # the blocks of p are free once compacted
    counts = [(f"{name}-count-first", i) for i in range(len(blocks))]
    for key, block in zip(counts, blocks, strict=True):
        dsk[key] = (_first_count, block, q_hi)
    plan: Any = (f"{name}-plan", 0)
    dsk[plan] = (_first_plan, _tree(dsk, counts, _add_first, f"{name}-sum-first"), q, q_hi, _MAX_REFINE > 0)
    for level in range(_MAX_REFINE):
        counts = [(f"{name}-count-{level}", i) for i in range(len(blocks))]
        for key, block in zip(counts, blocks, strict=True):
            dsk[key] = (_spec_count, block, plan)
        total = _tree(dsk, counts, _add_counts, f"{name}-sum-{level}")
        dsk[(f"{name}-plan", level + 1)] = (_after_refine, plan, total, q, level + 1 < _MAX_REFINE)
        plan = (f"{name}-plan", level + 1)
    values = [(f"{name}-gather", i) for i in range(len(blocks))]
    for key, block in zip(values, blocks, strict=True):
        dsk[key] = (_spec_gather, block, plan)
    dsk[(name,)] = (_finish, plan, _tree(dsk, values, _merge_values, f"{name}-merge"), q)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[p])  # type: ignore[list-item]
    return dask.array.Array(graph, name, chunks=(), dtype=np.float64, meta=np.empty((), dtype=np.float64))
