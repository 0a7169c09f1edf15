"""Performance: exact unit percentiles (numpy as the reference), thresholds, land productivity units."""

from __future__ import annotations

import importlib

import dask.array
import numpy as np
import pytest
import xarray as xr
from tests.productivity._helpers import raise_if_dask_computes, stack

from openldn.exceptions import ConfigError, GridMismatchError
from openldn.productivity import land_productivity_units, performance, unit_percentiles


def test_unit_percentiles__equal_numpy_per_unit(rng: np.random.Generator) -> None:
    v = rng.gamma(2.0, size=(40, 50))
    v[rng.random(v.shape) < 0.05] = np.nan
    u = rng.integers(0, 4, size=(40, 50)).astype(np.int64)
    u[0, :10] = -1
    codes, p90, counts = unit_percentiles(xr.DataArray(v, dims=("y", "x")), xr.DataArray(u, dims=("y", "x")))
    assert codes.tolist() == [0, 1, 2, 3]
    for code, got, n in zip(codes, p90, counts, strict=True):
        sel = v[(u == code) & np.isfinite(v)]
        assert n == sel.size
        assert got == pytest.approx(np.percentile(sel, 90), rel=1e-12)


def test_performance__hand_worked_and_boundaries() -> None:
    # one unit, means 1..10: p90 (linear) = 9.1; ratios i / 9.1; 0.5 * 9.1 = 4.55 -> 1..4 degraded
    mean = np.arange(1.0, 11.0).reshape(2, 5)
    units = np.zeros((2, 5), np.int64)
    ds = performance(xr.DataArray(mean, dims=("y", "x")), xr.DataArray(units, dims=("y", "x")))
    assert float(ds.unit_max[0, 0]) == pytest.approx(9.1)
    np.testing.assert_array_equal(ds.performance.values.ravel(), [-1, -1, -1, -1, 0, 0, 0, 0, 0, 0])
    # a ratio of exactly 0.5: stable with "< 0.5" (manual), degraded with "<= 0.5" (Trends.Earth)
    m2 = xr.DataArray(np.array([[1.0, 2.0]]), dims=("y", "x"))
    u2 = xr.DataArray(np.zeros((1, 2), np.int64), dims=("y", "x"))
    assert performance(m2, u2, percentile=100).performance.values.tolist() == [[0, 0]]
    assert performance(m2, u2, percentile=100, inclusive=True).performance.values.tolist() == [[-1, 0]]


def test_performance__units_separate_and_mean_over_window(rng: np.random.Generator) -> None:
    arr = np.empty((4, 2, 2))
    arr[:] = np.array([[1.0, 10.0], [100.0, 40.0]])
    arr[0, 0, 0] = np.nan  # ignored in the mean
    units = xr.DataArray(np.array([[0, 0], [1, 1]], np.int64), dims=("y", "x"))
    ds = performance(stack(arr).drop_vars(["x", "y"]), units, window="2000-2003", percentile=100)
    # unit 0: max 10 -> ratios 0.1 / 1; unit 1: max 100 -> 1 / 0.4
    np.testing.assert_allclose(ds.ratio.values, [[0.1, 1.0], [1.0, 0.4]], rtol=1e-6)
    np.testing.assert_array_equal(ds.performance.values, [[-1, 0], [0, -1]])
    assert ds.performance.attrs["performance_window"] == "2000-2003"


def test_performance__dask_lazy_equals_numpy(rng: np.random.Generator) -> None:
    mean = xr.DataArray(rng.gamma(2.0, size=(30, 30)), dims=("y", "x"))
    units = xr.DataArray(rng.integers(0, 3, size=(30, 30)).astype(np.int64), dims=("y", "x"))
    with raise_if_dask_computes():
        lazy = performance(mean.chunk(10), units.chunk(10))
    assert isinstance(lazy.performance.data, dask.array.Array)
    eager = performance(mean, units)
    np.testing.assert_array_equal(lazy.performance.values, eager.performance.values)
    np.testing.assert_allclose(lazy.ratio.values, eager.ratio.values)


def test_land_productivity_units__codes_and_nodata() -> None:
    lc = xr.DataArray(np.array([[1, 2], [-32768, 3]], np.int16), dims=("y", "x"))
    soil = xr.DataArray(np.array([[5, 5], [6, 0]], np.int16), dims=("y", "x"), attrs={"_FillValue": 0})
    u = land_productivity_units(lc, soil)
    np.testing.assert_array_equal(u.values, [[100005, 200005], [-1, -1]])
    np.testing.assert_array_equal(land_productivity_units(lc).values, [[1, 2], [-1, 3]])
    with pytest.raises(GridMismatchError):
        land_productivity_units(lc, soil.isel(x=[0]))


def test_land_productivity_units__every_kind_of_code_raster() -> None:
    # uint8 land cover with its nodata 255, float land cover (NaN, a fraction truncated as before), int32 soil
    # units beyond the 100000 limit: worked out by hand
    lc8 = xr.DataArray(np.array([[10, 255], [0, 7]], np.uint8), dims=("y", "x"), attrs={"_FillValue": 255})
    np.testing.assert_array_equal(land_productivity_units(lc8).values, [[10, -1], [0, 7]])
    lcf = xr.DataArray(np.array([[1.0, np.nan], [2.7, -3.0]], np.float32), dims=("y", "x"))
    soil = xr.DataArray(np.array([[4, 4], [100000, 99999]], np.int32), dims=("y", "x"))
    np.testing.assert_array_equal(land_productivity_units(lcf, soil).values, [[100004, -1], [-1, -1]])
    # the fraction 2.7 truncated to class 2 where its soil unit is valid (above, unit 100000 made it nodata anyway)
    valid_soil = xr.DataArray(np.array([[4, 4], [5, 99999]], np.int32), dims=("y", "x"))
    np.testing.assert_array_equal(land_productivity_units(lcf, valid_soil).values, [[100004, -1], [200005, -1]])
    lc16 = xr.DataArray(np.array([[3, 3], [2, -32768]], np.int16), dims=("y", "x"))
    np.testing.assert_array_equal(land_productivity_units(lc16, soil).values, [[300004, 300004], [-1, -1]])
    lazy = land_productivity_units(lc16.chunk({"y": 1}), soil.chunk({"y": 1}))
    assert lazy.chunks is not None and lazy.dtype == np.int64
    np.testing.assert_array_equal(lazy.values, [[300004, 300004], [-1, -1]])


def test_performance__bad_parameters() -> None:
    m = xr.DataArray(np.ones((2, 2)), dims=("y", "x"))
    u = xr.DataArray(np.zeros((2, 2), np.int64), dims=("y", "x"))
    with pytest.raises(ConfigError):
        performance(m, u, percentile=0)
    with pytest.raises(GridMismatchError):
        performance(m, u.isel(x=[0]))


@pytest.mark.parametrize("q", [90.0, 50.0, 100.0, 1.0])
def test_unit_percentiles__blockwise_dask_equals_in_memory(q: float, rng: np.random.Generator) -> None:
    v = np.round(rng.gamma(2.0, size=(60, 70)), 1)  # ties
    v[rng.random(v.shape) < 0.05] = np.nan
    u = rng.integers(0, 5, size=(60, 70)).astype(np.int64)
    u[:3] = -1
    u[10, 10] = 9  # a one-pixel unit
    v[10, 10] = 2.0
    u[u == 3] = 7
    v[u == 7] = 1.5  # a constant unit
    vv, uu = xr.DataArray(v, dims=("y", "x")), xr.DataArray(u, dims=("y", "x"))
    eager = unit_percentiles(vv, uu, q=q)
    with raise_if_dask_computes():
        lazy = unit_percentiles(vv.chunk(17), uu.chunk(17), q=q)
    for a, b in zip(eager, lazy.compute(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_unit_percentiles__histogram_kernels_bin_as_numpy(rng: np.random.Generator) -> None:
    # the kernels of the histogram and gather passes against the numpy bins they replace (same bins, same values)
    perf = importlib.import_module("openldn.productivity.performance")  # the module (the package exports a function)

    v = rng.gamma(2.0, size=(40, 50)).astype(np.float32)
    v[rng.random(v.shape) < 0.05] = np.nan
    u = rng.integers(3, 9, size=(40, 50)).astype(np.int16)
    u[:2] = -1
    v[u == 5] = 1.25  # a unit of one value: zero span
    stats = perf._stats_merge(perf._stats_block(v, u))
    bins = perf._bin_table(stats)
    assert bins is not None
    hist = perf._hist_block(v, u, stats, bins)
    np.testing.assert_array_equal(hist, perf._hist_block(v, u, stats))
    assert hist.sum() == np.count_nonzero(np.isfinite(v) & (u != -1))
    tg = perf._targets(stats, hist, 90.0)
    for a, b in zip(perf._gather_block(v, u, stats, tg, bins), perf._gather_block(v, u, stats, tg), strict=True):
        np.testing.assert_array_equal(a, b)


def test_unit_percentiles__codes_too_wide_for_the_kernels(rng: np.random.Generator) -> None:
    # unit codes spanning more than _DENSE_UNITS take the numpy bins; the same percentiles as in memory
    v = np.round(rng.gamma(2.0, size=(30, 40)), 1)
    u = np.where(rng.random(v.shape) < 0.5, 1, 1 << 22).astype(np.int64)
    vv, uu = xr.DataArray(v, dims=("y", "x")), xr.DataArray(u, dims=("y", "x"))
    eager = unit_percentiles(vv, uu)
    for a, b in zip(eager, unit_percentiles(vv.chunk(16), uu.chunk(16)).compute(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert eager[0].tolist() == [1, 1 << 22]


def test_performance__computed_percentiles_hold_a_few_blocks_not_the_raster() -> None:
    """With ``compute_percentiles``, the three percentile passes and the class pass each compute the blocks again
    instead of holding them between passes.

    The bound is the raster: holding the mean and the units of every block until the last pass (as one graph does)
    keeps at least the mean, 100 % of its bytes, in the scheduler's cache.
    """
    from dask.callbacks import Callback
    from dask.sizeof import sizeof

    n, edge = 1024, 128  # 64 blocks of each, made by their tasks (an in-memory source would be held whole)
    gen = dask.array.random.RandomState(5)
    v = gen.gamma(2.0, size=(n, n), chunks=edge)
    u = gen.randint(0, 6, size=(n, n), chunks=edge)
    held = [0]

    class _Held(Callback):  # type: ignore[misc]
        def _posttask(self, key: object, result: object, dsk: object, state: dict, id: object) -> None:
            held[0] = max(held[0], sum(sizeof(r) for r in state["cache"].values()))

    class _Target:  # written block by block, as a run writes its layers (held by reference, not counted)
        def __init__(self) -> None:
            self.values = np.empty((n, n), np.int16)

        def __setitem__(self, where: object, block: np.ndarray) -> None:
            self.values[where] = block

    out = _Target()
    with _Held(), dask.config.set(scheduler="threads", num_workers=2):
        ds = performance(xr.DataArray(v, dims=("y", "x")), xr.DataArray(u, dims=("y", "x")), compute_percentiles=True)
        dask.array.store(ds["performance"].data, out, lock=False)
    cls = out.values
    raster = n * n * 8
    assert held[0] < 0.25 * raster, f"{held[0] / raster:.0%} of the raster held"
    # and the classes are those of the in-memory computation
    eager = performance(xr.DataArray(v.compute(), dims=("y", "x")), xr.DataArray(u.compute(), dims=("y", "x")))
    np.testing.assert_array_equal(cls, eager["performance"].values)


@pytest.mark.parametrize("span", [9, 1 << 21])  # a dense range of unit codes, and one too wide for it (sorted)
def test_unit_stats_block__count_min_max_per_unit_against_a_loop(span: int, rng: np.random.Generator) -> None:
    from openldn.productivity.performance import _stats_block

    units = np.array([-1, 3, span - 1, 3, 0, span - 1, 5, -1, 3], dtype=np.int64)
    v = np.array([9.0, 0.5, 2.0, np.nan, 1.0, -4.0, 7.0, 1.0, -0.25])
    want: dict[int, list[float]] = {}
    for x, g in zip(v, units, strict=True):  # the expected values, one pixel at a time
        if g != -1 and np.isfinite(x):
            want.setdefault(int(g), []).append(float(x))
    codes, count, vmin, vmax = _stats_block(v.reshape(3, 3), units.reshape(3, 3))
    assert codes.tolist() == sorted(want)
    assert count.tolist() == [len(want[g]) for g in sorted(want)]
    assert vmin.tolist() == [min(want[g]) for g in sorted(want)]
    assert vmax.tolist() == [max(want[g]) for g in sorted(want)]


def test_performance_percentiles__every_mean_in_three_computes_equal_to_each_alone(rng: np.random.Generator) -> None:
    """The percentiles of several means (a run's periods) take three computes in all, one per pass, and each
    table equals the in-memory percentiles of its own mean and units."""
    from dask.callbacks import Callback

    from openldn.productivity import performance_percentiles

    shape = (90, 110)
    means = [np.round(rng.gamma(2.0 + k, size=shape), 2) for k in range(3)]
    units = [rng.integers(0, 4 + k, size=shape).astype(np.int64) for k in range(3)]
    means[1][rng.random(shape) < 0.1] = np.nan
    mask = rng.random(shape) < 0.9
    computes = [0]

    class _Count(Callback):  # type: ignore[misc]
        def _start(self, dsk: object) -> None:
            computes[0] += 1

    lazy_m = [xr.DataArray(m, dims=("y", "x")).chunk(32) for m in means]
    lazy_u = [xr.DataArray(u, dims=("y", "x")).chunk(32) for u in units]
    with _Count(), dask.config.set(scheduler="threads"):
        tables = performance_percentiles(lazy_m, lazy_u, percentile=90.0, mask=xr.DataArray(mask, dims=("y", "x")))
    assert computes[0] == 3
    for m, u, (codes, p90, counts) in zip(means, units, tables, strict=True):
        ok = mask & np.isfinite(m)
        expect_codes = np.unique(u[ok])
        np.testing.assert_array_equal(codes, expect_codes)
        np.testing.assert_array_equal(p90, [np.percentile(m[ok & (u == c)], 90) for c in expect_codes])
        np.testing.assert_array_equal(counts, [np.count_nonzero(ok & (u == c)) for c in expect_codes])


def test_performance__given_unit_table_is_used_as_is(rng: np.random.Generator) -> None:
    """A unit table from performance_percentiles gives the classes of the performance that computes its own."""
    from openldn.productivity import performance_percentiles

    m = xr.DataArray(rng.gamma(2.0, size=(40, 50)), dims=("y", "x")).chunk(16)
    u = xr.DataArray(rng.integers(0, 3, size=(40, 50)).astype(np.int64), dims=("y", "x")).chunk(16)
    (table,) = performance_percentiles([m], [u])
    given = performance(m, u, unit_table=table)["performance"].values
    own = performance(m.compute(), u.compute())["performance"].values
    np.testing.assert_array_equal(given, own)
    doubled = (table[0], table[1] * 2, table[2])  # the given table classifies: degraded now below the unit's p90
    mv, uv = m.values, u.values
    p90 = np.select([uv == c for c in range(3)], [np.percentile(mv[uv == c], 90) for c in range(3)])
    expect = np.where(mv < p90, -1, 0)
    np.testing.assert_array_equal(performance(m, u, unit_table=doubled)["performance"].values, expect)
