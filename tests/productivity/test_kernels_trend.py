"""The Mann-Kendall / Theil-Sen strip kernel against independent straightforward implementations.

Expected values come from scipy (``kendalltau``, ``theilslopes``, ``norm``), numpy (``polyfit``, ``median``,
``unique``) and per-pixel Python loops, never from the kernel. Random stacks carry missing years (NaN), ties
(quantised values), constant series, gaps in the years and widths that are not multiples of the strip.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from openldn.productivity._kernels import MK_OUTPUTS, STRIP, _key_median, mk_block, mk_test_block

OUT = {name: i for i, name in enumerate(MK_OUTPUTS)}


def _stack(rng: np.random.Generator, nt: int, ny: int, nx: int) -> np.ndarray:
    """Random float32 stack with a trend, 10 % missing years, quantised rows (ties) and odd pixels."""
    t = np.arange(nt)
    x = rng.normal(0.5, 0.1, size=(nt, ny, nx)) + 0.003 * t[:, None, None]
    x[:, ::3] = np.round(x[:, ::3] * 20) / 20  # every third row: 0.05 steps, many ties
    x[:, 1, :5] = 0.25  # constant series
    x[:, 2, :3] = np.nan  # all missing
    x[: nt - 3, 2, 3:6] = np.nan  # 3 valid years
    x = x.astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    return x


def _reference(v: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """Per-pixel statistics computed the plain way (scipy / numpy), valid years only."""
    ok = ~np.isnan(v)
    y = v[ok].astype(np.float64)
    tt = t[ok]
    n = y.size
    tau = scipy.stats.kendalltau(tt, y).statistic  # tau-b; the years have no ties
    n0 = n * (n - 1) / 2
    _, counts = np.unique(y, return_counts=True)
    n1 = float(np.sum(counts * (counts - 1) / 2))
    s = 0.0 if n0 == n1 else round(tau * math.sqrt(n0 * (n0 - n1)))
    var_s = (n * (n - 1) * (2 * n + 5) - float(np.sum(counts * (counts - 1) * (2 * counts + 5)))) / 18.0
    z = 0.0 if s == 0 else (s - math.copysign(1.0, s)) / math.sqrt(var_s)
    p = 2.0 * scipy.stats.norm.sf(abs(z))
    i, j = np.triu_indices(n, 1)
    pair_slopes = (y[j] - y[i]) * (1.0 / (tt[j] - tt[i]))  # as the kernel forms them (float64)
    return {
        "s": s,
        "var_s": var_s,
        "z": z,
        "p": p,
        "slope_scipy": float(scipy.stats.theilslopes(y, tt).slope),
        "slope_median": float(np.median(pair_slopes)),
        "ols_slope": float(np.polyfit(tt - tt.mean(), y, 1)[0]),
        "n": n,
    }


@pytest.mark.parametrize("sen", [True, False], ids=["mk_block", "mk_test_block"])
@pytest.mark.parametrize(("nt", "nx", "seed"), [(20, 150, 0), (12, 70, 1), (33, STRIP, 2), (6, 9, 3)])
def test_mk_block__matches_scipy_and_numpy(nt: int, nx: int, seed: int, sen: bool) -> None:
    """Both kernels against scipy / numpy; the test kernel (no Theil-Sen) leaves the slope NaN, the rest alike."""
    kernel = mk_block if sen else mk_test_block
    rng = np.random.default_rng(seed)
    ny = 7
    x = _stack(rng, nt, ny, nx)
    t = np.arange(2000, 2000 + nt, dtype=np.float64)
    t[nt // 2 :] += 2.0  # a gap of two years: slopes use the true years
    min_years = 4
    out = np.full((len(MK_OUTPUTS), ny, nx), -999.0)
    kernel(x, t, min_years, 0, ny, out)
    n_checked = 0
    for r in range(ny):
        for c in range(nx):
            v = x[:, r, c]
            n = int((~np.isnan(v)).sum())
            assert out[OUT["n"], r, c] == n
            if n < min_years:
                assert np.isnan(out[: OUT["n"], r, c]).all()
                continue
            ref = _reference(v, t)
            got = {name: float(out[i, r, c]) for name, i in OUT.items()}
            assert got["s"] == ref["s"], (r, c)
            assert got["var_s"] == pytest.approx(ref["var_s"], rel=1e-12, abs=1e-12)
            assert got["z"] == pytest.approx(ref["z"], rel=1e-12, abs=1e-12)
            assert got["p"] == pytest.approx(ref["p"], rel=1e-10, abs=1e-14)
            if not sen:
                assert np.isnan(got["slope"]), (r, c)
            else:
                # exact median of the same float64 pairwise slopes; scipy divides instead of multiplying by 1/dt
                assert got["slope"] == ref["slope_median"], (r, c)
                assert got["slope"] == pytest.approx(ref["slope_scipy"], rel=1e-12, abs=1e-15)
            assert got["ols_slope"] == pytest.approx(ref["ols_slope"], rel=1e-9, abs=1e-12)
            n_checked += 1
    assert n_checked > ny * nx // 2


def test_mk_block__rows_are_independent_of_the_band() -> None:
    """Running rows in two bands (as run_rows does across threads) gives the same bits as one band."""
    rng = np.random.default_rng(5)
    x = _stack(rng, 15, 6, 130)
    t = np.arange(2001, 2016, dtype=np.float64)
    a = np.empty((len(MK_OUTPUTS), 6, 130))
    b = np.empty_like(a)
    mk_block(x, t, 4, 0, 6, a)
    mk_block(x, t, 4, 0, 2, b)
    mk_block(x, t, 4, 2, 6, b)
    np.testing.assert_array_equal(a, b)


def _keys(values: np.ndarray, missing: int) -> np.ndarray:
    """The float64 bits of ``values`` followed by ``missing`` +inf (pairs with a missing year)."""
    v = np.concatenate([values.astype(np.float64), np.full(missing, np.inf)])
    return v.view(np.int64).copy()


@pytest.mark.parametrize(
    "values",
    [
        np.array([3.0]),
        np.array([2.0, 1.0]),
        np.array([1.0, 1.0, 1.0, 1.0]),
        np.array([0.0, -0.0, 0.0, 1.0, -1.0]),
        np.repeat([1.0, 2.0, 3.0], [40, 1, 40]),
        np.repeat([1.0, 2.0], [50, 50]),
        np.array([1e-300, -1e-300, 5e-324, 1e300, -1e300, 0.0]),
    ],
)
@pytest.mark.parametrize(("guess", "spread"), [(np.nan, np.nan), (0.0, 0.0), (1.5, 0.3), (1e6, 1.0), (-5.0, 100.0)])
def test_key_median__edge_cases_equal_numpy(values: np.ndarray, guess: float, spread: float) -> None:
    keys = _keys(values, 7)
    got = _key_median(keys, values.size, guess, spread, np.empty(1))
    assert got == np.median(values)


@pytest.mark.parametrize("seed", range(6))
def test_key_median__random_equal_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        m = int(rng.integers(1, 300))
        kind = rng.integers(0, 3)
        if kind == 0:
            v = rng.normal(size=m)
        elif kind == 1:
            v = rng.integers(-3, 4, size=m).astype(np.float64)  # heavy ties
        else:
            v = rng.standard_cauchy(size=m)  # heavy tails
        guess = float(np.median(v) + rng.normal()) if rng.random() < 0.8 else np.nan
        spread = float(abs(rng.normal())) if rng.random() < 0.8 else 0.0
        keys = _keys(rng.permutation(v), int(rng.integers(0, 30)))
        assert _key_median(keys, m, guess, spread, np.empty(1)) == np.median(v)
