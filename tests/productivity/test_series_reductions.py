"""The one-pass time reductions (issue 14) give the same float64 values as the array expressions they replaced.

``count_sum`` and ``ols_slope_parts`` (numba kernels over a ``(time, y, x)`` block) are compared bit for bit with the
xarray expressions of the earlier code, written out here: ``notnull().sum`` and ``astype(float64).sum`` (NaN
skipped), and ``num = n sum(t x) - sum(t) sum(x)``, ``den = n sum(t t) - sum(t)^2`` with ``t`` the years counted from
the first one. The expected values are always computed on the in-memory ``(time, y, x)`` array, whatever chunking
the function under test receives. The Performance mean and the State dead band are checked the same way.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from openldn.core.periods import year_coords
from openldn.productivity._series import count_sum
from openldn.productivity.performance import land_productivity_units, performance
from openldn.productivity.state import state_percentile_shift
from openldn.productivity.trajectory import ols_slope_parts

YEARS = list(range(2001, 2021))  # 20 years, not starting at 2000: t counts from the first year


def _series(dtype: str, *, ny: int = 9, nx: int = 11, seed: int = 14) -> xr.DataArray:
    """A (time, y, x) stack with NaN-only pixels, one-valid-year pixels and scattered gaps (float dtypes)."""
    rng = np.random.default_rng(seed)
    nt = len(YEARS)
    if dtype == "int16":
        v = rng.integers(-2000, 9000, size=(nt, ny, nx)).astype(np.int16)
    else:
        v = rng.normal(0.45, 0.2, size=(nt, ny, nx)).astype(dtype)  # float64: full 53-bit mantissas
        v[rng.random((nt, ny, nx)) < 0.15] = np.nan
        v[:, 0, 0] = np.nan  # no valid year
        v[:, 1, 1] = np.nan
        v[7, 1, 1] = 0.3  # one valid year
        v[:, 2, 2] = np.nan
        v[0, 2, 2], v[-1, 2, 2] = 0.1, 0.7  # first and last year only
    coords = {"time": year_coords(YEARS), "y": np.arange(ny, dtype=float), "x": np.arange(nx, dtype=float)}
    return xr.DataArray(v, dims=("time", "y", "x"), coords=coords)


def _old_count_sum(series: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    x = series.astype(np.float64)
    return x.notnull().sum("time").astype(np.float64).values, x.sum("time").values  # sum skips NaN


def _old_ols_parts(series: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """The expression of ``ols_slope_parts`` before commit 001f269."""
    t_abs = series["time"].dt.year.values.astype(np.float64)
    t = xr.DataArray(t_abs - t_abs[0], dims="time")
    x = series.astype(np.float64)
    m = x.notnull()
    x0 = x.fillna(0.0)
    n = m.sum("time").astype(np.float64)
    st = (m * t).sum("time")
    sx = x0.sum("time")
    stt = (m * t * t).sum("time")
    stx = (x0 * t).sum("time")
    return (n * stx - st * sx).values, (n * stt - st * st).values


def _bits(a: xr.DataArray | np.ndarray) -> np.ndarray:
    arr = np.asarray(a.values if isinstance(a, xr.DataArray) else a)
    assert arr.dtype == np.float64
    return np.ascontiguousarray(arr).view(np.uint64)


CHUNKINGS = [
    None,  # numpy
    {"time": -1, "y": 4, "x": 5},
    {"time": -1, "y": -1, "x": -1},
    {"time": 7, "y": 3, "x": -1},  # time split over chunks
    {"time": 1, "y": 9, "x": 4},
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16"])
@pytest.mark.parametrize("chunks", CHUNKINGS, ids=lambda c: "numpy" if c is None else "-".join(map(str, c.values())))
def test_count_sum__bit_identical_to_notnull_sum_and_nan_skipping_sum(dtype: str, chunks: dict | None) -> None:
    series = _series(dtype)
    exp_n, exp_s = _old_count_sum(series)
    n, s = count_sum(series if chunks is None else series.chunk(chunks))
    assert n.dims == s.dims == ("y", "x")
    np.testing.assert_array_equal(_bits(n.compute()), _bits(exp_n))
    np.testing.assert_array_equal(_bits(s.compute()), _bits(exp_s))
    if dtype != "int16":
        assert n.values[0, 0] == 0 and s.values[0, 0] == 0  # NaN-only pixel: count 0, sum 0
        assert n.values[1, 1] == 1 and s.values[1, 1] == np.float64(np.asarray(0.3, dtype=dtype))
    else:
        assert (n.values == len(YEARS)).all()


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16"])
@pytest.mark.parametrize("chunks", CHUNKINGS, ids=lambda c: "numpy" if c is None else "-".join(map(str, c.values())))
def test_ols_slope_parts__bit_identical_to_the_array_expression(dtype: str, chunks: dict | None) -> None:
    series = _series(dtype)
    exp_num, exp_den = _old_ols_parts(series)
    parts = ols_slope_parts(series if chunks is None else series.chunk(chunks)).compute()
    np.testing.assert_array_equal(_bits(parts["num"]), _bits(exp_num))
    np.testing.assert_array_equal(_bits(parts["den"]), _bits(exp_den))
    if dtype != "int16":
        assert parts["num"].values[0, 0] == 0 and parts["den"].values[0, 0] == 0  # no valid year
        assert parts["num"].values[1, 1] == 0 and parts["den"].values[1, 1] == 0  # one valid year: no slope
        # first and last year only (t = 0 and 19): den = 2 * 361 - 19^2, num = 2 * 19 x1 - 19 (x0 + x1)
        x0, x1 = (np.float64(np.asarray(v, dtype=dtype)) for v in (0.1, 0.7))
        assert parts["den"].values[2, 2] == 2 * 361.0 - 19.0**2
        assert parts["num"].values[2, 2] == 2.0 * (x1 * 19.0) - 19.0 * (x0 + x1)


def test_ols_slope_parts__hand_worked_integer_case() -> None:
    """x = 3 + 2 t over 4 years (one missing): slope num / den = 2 exactly."""
    v = np.array([3.0, np.nan, 7.0, 9.0])[:, None, None]  # t = 0, (1), 2, 3
    da = xr.DataArray(v, dims=("time", "y", "x"), coords={"time": year_coords([2010, 2011, 2012, 2013])})
    parts = ols_slope_parts(da)
    # n = 3, st = 5, sx = 19, stt = 13, stx = 14 + 27 = 41: num = 123 - 95 = 28, den = 39 - 25 = 14
    assert float(parts["num"].values[0, 0]) == 28.0 and float(parts["den"].values[0, 0]) == 14.0


@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_one_dimensional_series__bit_identical(dtype: str) -> None:
    series = _series(dtype).isel(y=3, x=4)
    assert series.dims == ("time",)
    exp_n, exp_s = _old_count_sum(series)
    n, s = count_sum(series)
    assert n.shape == s.shape == ()
    np.testing.assert_array_equal(_bits(n), _bits(exp_n))
    np.testing.assert_array_equal(_bits(s), _bits(exp_s))
    exp_num, exp_den = _old_ols_parts(series)
    parts = ols_slope_parts(series)
    np.testing.assert_array_equal(_bits(parts["num"]), _bits(exp_num))
    np.testing.assert_array_equal(_bits(parts["den"]), _bits(exp_den))


def test_one_dimensional_float64_series__year_order_sum_whatever_the_layout() -> None:
    # numpy sums a time-contiguous float64 series pairwise (its last bit depends on the memory layout); the kernel
    # sums in year order whatever the layout: a 1-D series gives the sequential sum written here, and the same
    # floats as the same values laid out (time, y, x)
    full = _series("float64", ny=6, nx=6, seed=3).fillna(0.5)
    for iy in range(full.sizes["y"]):
        for ix in range(full.sizes["x"]):
            series = full.isel(y=iy, x=ix)
            acc = 0.0
            for v in series.values.tolist():
                acc += v
            _, s = count_sum(series)
            assert _bits(s).tolist() == _bits(xr.DataArray(np.float64(acc))).tolist()
    _, s3 = count_sum(full)
    _, s1 = count_sum(full.isel(y=2, x=3))
    assert _bits(s3.isel(y=2, x=3)).tolist() == _bits(s1).tolist()


@pytest.mark.parametrize("chunks", [None, {"time": -1, "y": 4, "x": 4}, {"time": 5, "y": 9, "x": 3}],
                         ids=["numpy", "space", "time-split"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_performance_mean__float64_nanmean_of_the_window_stored_as_float32(dtype: str, chunks: dict | None) -> None:
    ndvi = _series(dtype)
    units = land_productivity_units(xr.zeros_like(ndvi.isel(time=0, drop=True), dtype=np.int16))
    window = "2004-2019"
    expected = ndvi.sel(time=slice("2004", "2019")).astype(np.float64).mean("time", skipna=True).astype(np.float32)
    ds = performance(ndvi if chunks is None else ndvi.chunk(chunks), units, window=window)
    got = ds["mean"].compute()
    assert got.dtype == np.float32
    nan = np.isnan(expected.values)
    np.testing.assert_array_equal(np.isnan(got.values), nan)  # (the sign of a NaN is not compared)
    np.testing.assert_array_equal(got.values[~nan].view(np.uint32), expected.values[~nan].view(np.uint32))
    assert np.isnan(got.values[0, 0])  # no valid year: no mean


def _state_case(scale: float) -> tuple[xr.DataArray, np.ndarray]:
    """Pixels whose recent mean sits at, just inside and just outside a dead band of 100 units of the baseline mean.

    Baseline 2000-2012: 5000 + 10 k (mean 5060, k = 0..12); recent 2013-2015: three values summing to
    3 * 5060 + 3 d. Returns the series (times ``scale``) and whether each pixel is inside the band
    (|d| <= 100, worked by hand).
    """
    hist = 5000.0 + 10.0 * np.arange(13)
    sums = [3 * 5060 + 300, 3 * 5060 + 301, 3 * 5060 + 299, 3 * 5060 - 300, 3 * 5060 - 301, 3 * 5060 - 299]
    inside = np.array([True, False, True, True, False, True])
    cols = []
    for s in sums:
        a = s // 3
        rec = [a, a, s - 2 * a]  # integers summing to s
        cols.append(np.concatenate([hist, rec]))
    # one pixel with gaps: 12 baseline years (mean 5065, 5000 missing) and 2 recent years at exactly + 100
    gap = np.concatenate([hist, [5165.0, 5165.0, np.nan]])
    gap[0] = np.nan
    cols.append(gap)
    inside = np.append(inside, True)
    v = np.stack(cols, axis=-1)[:, None, :] * scale  # (16, 1, 7)
    da = xr.DataArray(v.astype(np.float32 if scale != 1 else np.float64), dims=("time", "y", "x"),
                      coords={"time": year_coords(list(range(2000, 2016)))})
    return da, inside[None, :]


@pytest.mark.parametrize(("scale", "quantum", "band"), [(1.0, None, 100.0), (1e-4, 1e-4, 0.01)],
                         ids=["integers", "quantum"])
@pytest.mark.parametrize("chunked", [False, True])
def test_state_dead_band__same_classes_as_the_old_formula_at_the_band_edge(
    scale: float, quantum: float | None, band: float, chunked: bool
) -> None:
    ndvi, inside = _state_case(scale)
    # the old formula on the integer units, written out
    units = ndvi if quantum is None else (ndvi.astype(np.float64) / quantum).round()
    h64 = units.sel(time=slice("2000", "2012")).astype(np.float64)
    r64 = units.sel(time=slice("2013", "2015")).astype(np.float64)
    nh = h64.notnull().sum("time").astype(np.float64)
    nr = r64.notnull().sum("time").astype(np.float64)
    old_flat = (abs(r64.sum("time") * nh - h64.sum("time") * nr) <= 100.0 * nh * nr).values
    np.testing.assert_array_equal(old_flat, inside)  # the hand-worked band decision
    data = ndvi.chunk({"time": 4, "y": 1, "x": 3}) if chunked else ndvi
    kw = {"baseline": "2000-2012", "recent": "2013-2015", "quantum": quantum}
    free = state_percentile_shift(data, **kw)["state"].values
    # without the band every test pixel moves by two classes or more: the band is what makes them stable
    np.testing.assert_array_equal(free, [[1, 1, 1, -1, -1, -1, 1]])
    banded = state_percentile_shift(data, dead_band=band, **kw)["state"].values
    np.testing.assert_array_equal(banded, np.where(old_flat, 0, free))
    np.testing.assert_array_equal(banded, [[0, 1, 0, 0, -1, 0, 0]])


def test_time_reduction_tasks_ship_the_kernel_by_name() -> None:
    """A numba dispatcher pickled into a task is rebuilt and compiled again in every worker process (about 4 s)."""
    import cloudpickle
    import dask.array

    da = xr.DataArray(dask.array.ones((6, 8, 8), chunks=(6, 4, 4)), dims=("time", "y", "x"))
    n, s = count_sum(da)
    parts = ols_slope_parts(da.assign_coords(time=year_coords(list(range(2000, 2006)))))
    for out in (n, s, *parts.data_vars.values()):
        assert b"numba.core.serialize" not in cloudpickle.dumps(dict(out.data.__dask_graph__()))
    with pytest.raises(ValueError, match="not a kernel"):
        from openldn.productivity._series import reduce_time

        reduce_time(da, lambda *a: None, 1)
