"""Mann-Kendall, Theil-Sen, OLS, autocorrelation variants and FDR: hand-worked series and pymannkendall."""

from __future__ import annotations

import math

import dask.array
import numpy as np
import pytest
import scipy.stats
import xarray as xr
from tests.productivity._helpers import raise_if_dask_computes, read_annual, series, stack

from openldn.exceptions import ConfigError, MissingYearError
from openldn.productivity import bh_threshold, fdr_significant, mann_kendall
from openldn.productivity._kernels import median_bisect

mk = pytest.importorskip("pymannkendall")


def _p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))


def test_mann_kendall__increasing_no_ties() -> None:
    ds = mann_kendall(series([1, 2, 3, 4, 5]))
    # S = 10 pairs all positive; var = 5*4*15/18; z = (S-1)/sqrt(var)
    var = 5 * 4 * 15 / 18
    assert float(ds.s) == 10
    assert float(ds.var_s) == pytest.approx(var, abs=1e-9)
    assert float(ds.z) == pytest.approx(9 / math.sqrt(var), abs=1e-9)
    assert float(ds.p) == pytest.approx(_p(9 / math.sqrt(var)), abs=1e-12)
    assert float(ds.slope) == pytest.approx(1.0)
    assert float(ds.ols_slope) == pytest.approx(1.0)
    assert int(ds.n) == 5


def test_mann_kendall__ties() -> None:
    ds = mann_kendall(series([1, 2, 2, 3]))
    # S: +,+,+,0,+,+ = 5; one tie group of 2: var = (4*3*13 - 2*1*9)/18
    var = (4 * 3 * 13 - 2 * 1 * 9) / 18
    assert float(ds.s) == 5
    assert float(ds.var_s) == pytest.approx(var, abs=1e-9)
    assert float(ds.z) == pytest.approx(4 / math.sqrt(var), abs=1e-9)
    # pairwise slopes 1, 0.5, 2/3, 0, 0.5, 1 -> median (0.5 + 2/3) / 2
    assert float(ds.slope) == pytest.approx((0.5 + 2 / 3) / 2, rel=1e-6)


def test_mann_kendall__nodata_year_uses_true_years() -> None:
    ds = mann_kendall(series([1, np.nan, 3, 2, 5]))
    # valid (2000,1) (2002,3) (2003,2) (2004,5): S = 5 - 1 = 4; slopes 1, 1/3, 1, -1, 1, 3 -> median 1
    assert float(ds.s) == 4
    assert int(ds.n) == 4
    assert float(ds.var_s) == pytest.approx(4 * 3 * 13 / 18)
    assert float(ds.slope) == pytest.approx(1.0)
    # OLS on years 0, 2, 3, 4 and values 1, 3, 2, 5
    t = np.array([0, 2, 3, 4.0])
    v = np.array([1, 3, 2, 5.0])
    assert float(ds.ols_slope) == pytest.approx(np.polyfit(t, v, 1)[0], rel=1e-6)


def test_mann_kendall__constant_series() -> None:
    ds = mann_kendall(series([2.0] * 6))
    assert float(ds.s) == 0
    assert float(ds.var_s) == pytest.approx(0.0)
    assert float(ds.z) == 0.0
    assert float(ds.p) == 1.0
    assert float(ds.slope) == 0.0
    assert float(ds.ols_slope) == 0.0


def test_mann_kendall__too_few_years_is_nodata() -> None:
    ds = mann_kendall(series([1, np.nan, np.nan, 2, np.nan]), min_years=3)
    for v in ("s", "var_s", "z", "p", "slope", "ols_slope"):
        assert np.isnan(float(ds[v])), v
    assert int(ds.n) == 2


def test_mann_kendall__all_nodata_pixel_in_stack() -> None:
    arr = np.random.default_rng(1).normal(size=(8, 2, 3))
    arr[:, 0, 0] = np.nan
    ds = mann_kendall(stack(arr))
    assert np.isnan(ds.s.values[0, 0]) and not np.isnan(ds.s.values).ravel()[1:].any()


def test_mann_kendall__matches_pymannkendall_on_random_series_with_ties(rng: np.random.Generator) -> None:
    arr = np.round(rng.normal(size=(20, 4, 50)), 1)  # rounding creates ties
    ds = mann_kendall(stack(arr))
    for r in range(4):
        for c in range(50):
            ref = mk.original_test(arr[:, r, c])
            assert float(ds.s[r, c]) == ref.s
            assert float(ds.var_s[r, c]) == pytest.approx(ref.var_s, abs=1e-6)
            assert float(ds.z[r, c]) == pytest.approx(ref.z, abs=1e-6)
            assert float(ds.p[r, c]) == pytest.approx(ref.p, abs=1e-6)
            assert float(ds.slope[r, c]) == pytest.approx(ref.slope, rel=1e-6, abs=1e-12)


@pytest.mark.realdata
def test_mann_kendall__matches_pymannkendall_on_alaska(shared_data) -> None:
    ndvi = read_annual(shared_data / "alaska" / "ndvi_annual_1982_2013.tif")
    vals = ndvi.values
    valid = np.argwhere(np.isfinite(vals[0]))
    pick = valid[np.random.default_rng(7).choice(len(valid), 300, replace=False)]
    ds = mann_kendall(ndvi)
    for r, c in pick:
        x = vals[:, r, c].astype(np.float64)
        ref = mk.original_test(x)
        assert float(ds.s[r, c]) == ref.s
        assert float(ds.var_s[r, c]) == pytest.approx(ref.var_s, abs=1e-6)
        assert float(ds.z[r, c]) == pytest.approx(ref.z, abs=1e-6)
        assert float(ds.p[r, c]) == pytest.approx(ref.p, abs=1e-6)
        assert float(ds.slope[r, c]) == pytest.approx(ref.slope, rel=1e-6)
        ols = scipy.stats.linregress(np.arange(1982, 2014), x).slope
        assert float(ds.ols_slope[r, c]) == pytest.approx(ols, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize(
    ("method", "ref"),
    [("hamed_rao", "hamed_rao_modification_test"), ("pre_whitening", "pre_whitening_modification_test")],
)
def test_mann_kendall__autocorrelation_variants_match_pymannkendall(
    method: str, ref: str, rng: np.random.Generator
) -> None:
    # AR(1) series with a trend
    n, npx = 24, 60
    e = rng.normal(size=(n, npx))
    x = np.zeros((n, npx))
    for i in range(n):
        x[i] = (0.6 * x[i - 1] if i else 0) + e[i]
    x += 0.05 * np.arange(n)[:, None]
    ds = mann_kendall(stack(x[:, None, :]), autocorrelation=method)
    fn = getattr(mk, ref)
    for c in range(npx):
        r = fn(x[:, c])
        assert float(ds.s[0, c]) == r.s
        assert float(ds.var_s[0, c]) == pytest.approx(r.var_s, rel=1e-9)
        assert float(ds.z[0, c]) == pytest.approx(r.z, abs=1e-6)
        assert float(ds.p[0, c]) == pytest.approx(r.p, abs=1e-6)
        assert float(ds.slope[0, c]) == pytest.approx(r.slope, rel=1e-6)


def test_mann_kendall__dask_is_lazy_and_equal(rng: np.random.Generator) -> None:
    arr = rng.normal(size=(12, 30, 40)).astype(np.float32)
    arr[rng.random(arr.shape) < 0.1] = np.nan
    da_np = stack(arr)
    da_dk = da_np.chunk({"time": 4, "y": 10, "x": 15})
    with raise_if_dask_computes():
        lazy = mann_kendall(da_dk, min_years=5)
    assert isinstance(lazy.slope.data, dask.array.Array)
    eager = mann_kendall(da_np, min_years=5)
    xr.testing.assert_identical(lazy.compute(), eager)


def test_mann_kendall__rejects_bad_parameters() -> None:
    s = series([1, 2, 3, 4])
    with pytest.raises(ConfigError):
        mann_kendall(s, dim="year")
    with pytest.raises(ConfigError):
        mann_kendall(s, autocorrelation="bogus")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        mann_kendall(s, min_years=2)
    with pytest.raises(MissingYearError):
        mann_kendall(series([1, 2, 3, 4], years=[2000, 2002, 2001, 2003]))


@pytest.mark.parametrize("m", [1, 2, 3, 7, 8, 189, 190])
def test_median_bisect__equals_numpy_median(m: int, rng: np.random.Generator) -> None:
    for trial in range(200):
        v = rng.standard_t(2, size=m)
        if trial % 3 == 0:
            v = np.round(v, 0)  # many ties
        buf = np.full(m + 5, np.inf)
        buf[:m] = v
        rng.shuffle(buf)
        got = median_bisect(buf, m + 5, m, v.min(), v.max(), np.empty(m + 5))
        assert got == np.median(v)


def test_fdr__matches_scipy_benjamini_hochberg(rng: np.random.Generator) -> None:
    p = np.concatenate([rng.uniform(size=900), rng.uniform(0, 1e-3, size=100)])
    p[::50] = np.nan
    da = xr.DataArray(p.reshape(25, 40), dims=("y", "x"))
    sig = fdr_significant(da, q=0.05)
    finite = np.isfinite(p)
    adj = scipy.stats.false_discovery_control(p[finite], method="bh")
    expected = np.zeros(p.size, bool)
    expected[finite] = adj <= 0.05
    np.testing.assert_array_equal(sig.values.ravel(), expected)
    # lazily on dask, same answer
    lazy = fdr_significant(da.chunk({"y": 5}), q=0.05)
    assert isinstance(lazy.data, dask.array.Array)
    np.testing.assert_array_equal(lazy.values, sig.values)
    assert bh_threshold(xr.DataArray(np.array([0.5, 0.9])), q=0.05) == -1.0


def test_mann_kendall__exact_p_values_match_scipy_kendalltau(rng: np.random.Generator) -> None:
    x = rng.normal(size=(16, 1, 30))
    x[:, 0, :10] += np.arange(16)[:, None] * 0.1
    x[3, 0, 20:] = np.nan  # 15 valid years in these pixels
    ds = mann_kendall(stack(x), p_method="exact")
    for c in range(30):
        ok = np.isfinite(x[:, 0, c])
        ref = scipy.stats.kendalltau(np.arange(16)[ok], x[ok, 0, c], method="exact").pvalue
        assert float(ds.p[0, c]) == pytest.approx(ref, abs=1e-12)
    # with ties the normal approximation is kept
    tied = mann_kendall(series([1, 2, 2, 3, 5, 4]), p_method="exact")
    assert float(tied.p) == pytest.approx(float(mann_kendall(series([1, 2, 2, 3, 5, 4])).p))
