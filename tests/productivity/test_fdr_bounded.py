"""Benjamini-Hochberg threshold on dask input: exact (same float as a sort) and bounded (one block per task)."""

from __future__ import annotations

from typing import Any

import dask
import dask.array
import numpy as np
import pytest
import scipy.stats
import xarray as xr
from dask.core import flatten, get_dependencies

from openldn.productivity import _fdr, bh_threshold, fdr_significant


def _bh_sorted(p: np.ndarray, q: float) -> float:
    """Benjamini-Hochberg step-up written from the paper: largest p_(k) with p_(k) <= k q / m, else -1."""
    v = sorted(float(x) for x in np.asarray(p, dtype=np.float64).ravel() if np.isfinite(x))
    m = len(v)
    best = -1.0
    for k in range(1, m + 1):
        if v[k - 1] <= q * k / m:
            best = v[k - 1]
    return best


def _lazy(p: np.ndarray, chunks: tuple[int, ...] | int, q: float) -> float:
    thr = bh_threshold(xr.DataArray(dask.array.from_array(p, chunks=chunks)), q=q)
    assert isinstance(thr, dask.array.Array) and thr.shape == ()
    return float(thr.compute(scheduler="threads"))


def _cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray, float]]:
    n = 2_000
    out: list[tuple[str, np.ndarray, float]] = []
    mixed = np.concatenate([rng.uniform(size=n - 300), rng.uniform(0, 2e-3, size=300)])
    rng.shuffle(mixed)
    out.append(("mixed", mixed, 0.05))
    out.append(("null", rng.uniform(size=n), 0.05))
    ties = np.round(rng.uniform(0, 0.02, size=n) * 400) / 400 / 10  # few distinct values, many ties
    out.append(("ties", ties, 0.05))
    m = 1_000
    on_line = 0.05 * np.arange(1, m + 1) / m  # every p exactly on k q / m
    rng.shuffle(on_line)
    out.append(("on_line", on_line, 0.05))
    above = np.nextafter(0.05 * np.arange(1, m + 1) / m, 1.0)  # every p one ulp above k q / m: nothing rejected
    rng.shuffle(above)
    out.append(("one_ulp_above", above, 0.05))
    last = np.full(m, 0.9)
    last[:10] = 0.1 * np.arange(1, 11) / m  # exactly on the line up to k = 10
    out.append(("on_line_then_large", last, 0.1))
    nan_blocks = mixed.copy()
    nan_blocks[:500] = np.nan  # whole leading blocks of NaN for chunks <= 500
    nan_blocks[1500:1600] = np.nan
    out.append(("nan_blocks", nan_blocks, 0.05))
    out.append(("boundary_values", np.array([0.0, 0.0, 1.0, 0.05, 0.025, 1e-300, np.inf, -np.inf, np.nan]), 0.05))
    out.append(("all_nan", np.full(50, np.nan), 0.05))
    out.append(("empty", np.empty(0), 0.05))
    out.append(("single_rejected", np.array([0.01]), 0.05))
    out.append(("single_kept", np.array([0.5]), 0.05))
    out.append(("q_large", rng.uniform(size=n), 0.9))
    return out


@pytest.mark.parametrize("chunk", [1, 7, 64, 333, 2_000, 5_000])
def test_bh_threshold__dask_equals_sorted_bh(rng: np.random.Generator, chunk: int) -> None:
    for name, p, q in _cases(rng):
        expected = _bh_sorted(p, q)
        if (p.size == 0 and chunk > 1) or (chunk == 1 and p.size > 100):
            continue  # one value per block: small arrays only (the graph has a few tasks per block)
        got = _lazy(p, min(chunk, max(p.size, 1)), q)
        assert got == expected, (name, chunk)
        assert bh_threshold(xr.DataArray(p), q=q) == expected, name


def test_bh_threshold__2d_chunkings_match_scipy_and_statsmodels(rng: np.random.Generator) -> None:
    p = np.concatenate([rng.uniform(size=(80, 50)), rng.uniform(0, 1e-3, size=(20, 50))])
    p = rng.permuted(p, axis=0)
    p[rng.uniform(size=p.shape) < 0.1] = np.nan
    p[:30, :20] = np.nan  # a NaN block
    finite = np.isfinite(p)
    adj = scipy.stats.false_discovery_control(p[finite], method="bh")
    rejected = p[finite][adj <= 0.05]
    expected = _bh_sorted(p, 0.05)
    assert expected == rejected.max()
    for chunks in [(100, 50), (10, 10), (30, 20), (7, 13), (1, 50), (100, 1)]:
        assert _lazy(p, chunks, 0.05) == expected
        sig = fdr_significant(xr.DataArray(dask.array.from_array(p, chunks=chunks), dims=("y", "x")), q=0.05)
        np.testing.assert_array_equal(sig.values[finite], adj <= 0.05)


def test_bh_threshold__matches_statsmodels(rng: np.random.Generator) -> None:
    sm = pytest.importorskip("statsmodels.stats.multitest")
    p = np.concatenate([rng.uniform(size=3_000), rng.uniform(0, 1e-3, size=400)])
    p[::37] = np.nan
    finite = np.isfinite(p)
    reject = sm.multipletests(p[finite], alpha=0.05, method="fdr_bh")[0]
    for chunk in (100, 1_000):
        thr = _lazy(p, chunk, 0.05)
        np.testing.assert_array_equal(p[finite] <= thr, reject)


@pytest.mark.parametrize("chunk", [97, 1_000])
def test_bh_threshold__refinement_passes_are_exact(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # Tiny budgets force the split-and-count-again passes (and running out of them) on small data.
    monkeypatch.setattr(_fdr, "_FIRST_CELLS", 4)
    monkeypatch.setattr(_fdr, "_GATHER_BUDGET", 8)
    monkeypatch.setattr(_fdr, "_REFINE_EDGES", 16)
    for name, p, q in _cases(rng):
        if p.size < 100:
            continue
        assert _lazy(p, chunk, q) == _bh_sorted(p, q), name
    negative = rng.uniform(-1, 0.01, size=3_000)  # not p-values, but the sort-based rule still applies
    assert _lazy(negative, chunk, 0.05) == _bh_sorted(negative, 0.05)


def test_bh_threshold__hand_worked() -> None:
    # m = 5, q = 0.05: k q / m = 0.01, 0.02, 0.03, 0.04, 0.05; sorted p = 0.001, 0.02, 0.035, 0.04, 0.2
    # passes at k = 1, 2, 4 (0.04 <= 0.04), not 3 or 5: threshold 0.04 (the step-up takes the largest k).
    p = np.array([0.2, 0.04, np.nan, 0.001, 0.035, 0.02])
    assert _lazy(p, 2, 0.05) == 0.04
    assert _lazy(np.array([0.2, 0.5, np.nan]), 1, 0.05) == -1.0


def _block_keys(arr: dask.array.Array) -> set[object]:
    return set(flatten(arr.__dask_keys__()))


def test_bh_threshold__no_task_receives_more_than_one_block(rng: np.random.Generator) -> None:
    base = dask.array.from_array(rng.uniform(size=(60, 60)), chunks=(10, 15))
    p = base * 1.0  # blocks that are tasks of their own (not slices of one in-memory array)
    thr = bh_threshold(xr.DataArray(p), q=0.05)
    assert isinstance(thr, dask.array.Array)
    dsk = dict(thr.__dask_graph__())
    blocks = _block_keys(p)
    assert blocks <= set(dsk)
    readers = 0
    for key in dsk:
        deps = get_dependencies(dsk, key)
        n = len(deps & blocks)
        assert n <= 1, f"task {key} receives {n} blocks of p-values"
        readers += n
    assert readers == len(blocks)  # each block is read once (compacted), so it can be freed after the first pass
    # and at run time: no task's inputs hold more values than one block
    sizes: list[int] = []

    class _Record(dask.callbacks.Callback):
        def _pretask(self, key: Any, dsk: dict[Any, Any], state: dict[str, Any]) -> None:
            for dep in get_dependencies(dsk, key):
                val = state["cache"].get(dep)
                if isinstance(val, np.ndarray) and val.dtype == np.float64 and key not in blocks:
                    sizes.append(val.size)

    with _Record():  # type: ignore[no-untyped-call]
        got = float(thr.compute(scheduler="sync", optimize_graph=False))  # no fusing of block tasks into readers
    assert got == _bh_sorted(p.compute(), 0.05)
    assert sizes and max(sizes) == 10 * 15  # one block of p-values at most
