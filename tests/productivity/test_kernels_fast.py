"""The strip Theil-Sen search of ``mk_block`` on inputs chosen to reach each of its paths.

The kernel counts float32 keys of the float64 pairwise slopes and reads the middle values in float64; these cases
aim at its corners: slopes that are distinct in float64 but equal in float32, slopes beyond the float32 range,
heavy ties, perfect lines (no spread around the OLS slope), pixels whose median is far from the OLS slope, long
series and strips of every width. Expected values are ``numpy.median`` of the float64 pairwise slopes formed the
plain way (and ``scipy.stats.theilslopes``), never the kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from openldn.productivity._kernels import MK_OUTPUTS, STRIP, mk_block

SLOPE = MK_OUTPUTS.index("slope")
N = MK_OUTPUTS.index("n")


def _expected_slope(v: np.ndarray, t: np.ndarray) -> float:
    """Median of the float64 pairwise slopes ``(x_j - x_i) * (1 / (t_j - t_i))`` of the valid years."""
    ok = ~np.isnan(v)
    y = v[ok].astype(np.float64)
    tt = t[ok]
    i, j = np.triu_indices(y.size, 1)
    return float(np.median((y[j] - y[i]) * (1.0 / (tt[j] - tt[i]))))


def _check(x: np.ndarray, t: np.ndarray, min_years: int = 4) -> int:
    ny, nx = x.shape[1:]
    out = np.full((len(MK_OUTPUTS), ny, nx), -999.0)
    mk_block(x, t, min_years, 0, ny, out)
    checked = 0
    for r in range(ny):
        for c in range(nx):
            v = x[:, r, c]
            n = int((~np.isnan(v)).sum())
            assert out[N, r, c] == n
            if n < min_years:
                assert np.isnan(out[SLOPE, r, c])
                continue
            assert out[SLOPE, r, c] == _expected_slope(v, t), (r, c)
            checked += 1
    return checked


def test_slopes_equal_in_float32_but_not_in_float64() -> None:
    """Values 1e-12 apart: many slopes share a float32 key; the float64 median must still be exact."""
    rng = np.random.default_rng(0)
    nt, ny, nx = 15, 4, STRIP + 9
    x = 0.5 + rng.integers(0, 4, size=(nt, ny, nx)) * 1e-12 + rng.integers(0, 2, size=(nt, ny, nx)) * 1e-3
    x[rng.random(x.shape) < 0.1] = np.nan
    t = np.arange(2000.0, 2000.0 + nt)
    assert _check(x, t) > ny * nx // 2


def test_slopes_beyond_the_float32_range() -> None:
    """float64 inputs with slopes up to 1e300 (keys clamped to the largest float32) and tiny ones."""
    rng = np.random.default_rng(1)
    nt, ny, nx = 12, 3, 40
    mag = 10.0 ** rng.choice([-300.0, -30.0, 0.0, 39.0, 200.0, 300.0], size=(1, ny, nx))
    x = rng.normal(size=(nt, ny, nx)) * mag
    x[rng.random(x.shape) < 0.1] = np.nan
    t = np.arange(1990.0, 1990.0 + nt)
    assert _check(x, t) > 0


@pytest.mark.parametrize("levels", [2, 3, 5])
def test_heavy_ties(levels: int) -> None:
    """Few distinct values: long runs of equal slopes around the median."""
    rng = np.random.default_rng(levels)
    nt, ny, nx = 20, 3, 2 * STRIP + 5
    x = rng.integers(0, levels, size=(nt, ny, nx)).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    t = np.arange(2001.0, 2001.0 + nt)
    assert _check(x, t) > ny * nx // 2


def test_perfect_lines_and_constant_series() -> None:
    """All slopes equal (no spread around the OLS slope), of either sign, and zero."""
    nt, nx = 10, 30
    t = np.arange(2000.0, 2000.0 + nt)
    slopes = np.linspace(-2.0, 2.0, nx)
    slopes[::7] = 0.0
    x = (slopes[None, :] * (t - 2000.0)[:, None] + 1.0)[:, None, :].astype(np.float64)
    x[3, 0, ::4] = np.nan
    assert _check(x, t) == nx
    out = np.empty((len(MK_OUTPUTS), 1, nx))
    mk_block(x, t, 4, 0, 1, out)
    np.testing.assert_allclose(out[SLOPE, 0], slopes, rtol=1e-12, atol=1e-12)


def test_median_far_from_the_ols_slope() -> None:
    """One huge outlier pulls the OLS slope far away; the Theil-Sen slope stays with the other years."""
    rng = np.random.default_rng(3)
    nt, ny, nx = 16, 2, 50
    t = np.arange(2000.0, 2000.0 + nt)
    x = rng.normal(0.0, 0.01, size=(nt, ny, nx)) + 0.1 * (t - 2000.0)[:, None, None]
    x[-1, :, ::2] += 1e4
    x[0, :, 1::2] -= 1e4
    assert _check(x.astype(np.float32), t) == ny * nx
    out = np.empty((len(MK_OUTPUTS), ny, nx))
    mk_block(x, t, 4, 0, ny, out)
    for c in range(5):
        assert out[SLOPE, 0, c] == pytest.approx(scipy.stats.theilslopes(x[:, 0, c], t).slope, rel=1e-12)


@pytest.mark.parametrize(("nt", "nx"), [(3, 1), (4, STRIP - 1), (40, STRIP + 1), (60, 7)])
def test_series_lengths_and_strip_widths(nt: int, nx: int) -> None:
    rng = np.random.default_rng(nt)
    x = (rng.normal(0.5, 0.1, size=(nt, 2, nx)) + 0.003 * np.arange(nt)[:, None, None]).astype(np.float32)
    x[rng.random(x.shape) < 0.2] = np.nan
    t = np.arange(1980.0, 1980.0 + nt) + np.where(np.arange(nt) >= nt // 2, 3.0, 0.0)  # a gap in the years
    _check(x, t, min_years=3)


def test_row_bands_give_the_same_bits() -> None:
    rng = np.random.default_rng(9)
    x = np.round(rng.normal(0.5, 0.1, size=(18, 5, 3 * STRIP + 3)) * 40).astype(np.float32) / 40
    x[rng.random(x.shape) < 0.1] = np.nan
    t = np.arange(2002.0, 2020.0)
    a = np.empty((len(MK_OUTPUTS), 5, x.shape[2]))
    b = np.empty_like(a)
    mk_block(x, t, 4, 0, 5, a)
    for r in range(5):
        mk_block(x, t, 4, r, r + 1, b)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("q", [0.0, 12.5, 50.0, 90.0, 100.0])
def test_group_percentiles_equal_numpy_percentile(q: float) -> None:
    """Per-group percentiles by selection equal ``numpy.percentile`` of each group (ties, one-value groups)."""
    from openldn.productivity._kernels import group_percentiles

    rng = np.random.default_rng(int(q))
    values = np.concatenate([rng.normal(size=500), np.round(rng.normal(size=500) * 2), [7.0]])
    group = np.concatenate([rng.integers(0, 6, size=1000), [6]]).astype(np.int64)
    counts = np.bincount(group, minlength=8).astype(np.int64)  # group 7 is empty
    got = group_percentiles(values, group, counts, q)
    for g in range(7):
        assert got[g] == np.percentile(values[group == g], q)
    assert np.isnan(got[7])


def test_infinite_input_values_end() -> None:
    """Infinite values (not valid data) must not stall the search; finite pixels keep their exact slope."""
    nt = 12
    t = np.arange(2000.0, 2000.0 + nt)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(nt, 1, 20))
    x[::2, 0, :10] = np.inf
    x[1::3, 0, :5] = -np.inf
    out = np.empty((len(MK_OUTPUTS), 1, 20))
    mk_block(x, t, 4, 0, 1, out)
    for c in range(10, 20):
        assert out[SLOPE, 0, c] == _expected_slope(x[:, 0, c], t)
