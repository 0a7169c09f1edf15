"""State: percentile-class shift (hand-worked deciles, numpy as the independent reference) and GPG v2 z-score."""

from __future__ import annotations

import dask.array
import numpy as np
import pytest
import xarray as xr
from tests.productivity._helpers import raise_if_dask_computes, stack

from openldn.exceptions import ConfigError, MissingYearError
from openldn.productivity import state_percentile_shift, state_zscore


def _reference_shift(hist: np.ndarray, recent: np.ndarray, n_classes: int = 10) -> float:
    """Decile class change computed with numpy.percentile on the extended series (independent reference)."""
    h = hist[np.isfinite(hist)]
    lo, hi = h.min(), h.max()
    ext = np.concatenate([h, [lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)]])
    q = np.percentile(ext, np.arange(1, n_classes) * 100 / n_classes)
    bl = h.mean()
    tg = np.nanmean(recent)
    return float(1 + (tg > q).sum() - (1 + (bl > q).sum()))


def test_state_percentile_shift__hand_worked() -> None:
    # historical 1..13: extended series 0.4, 1, ..., 13, 13.6 (15 values); decile k sits at position 1.4k, so
    # q_k = 1.4k (1.4, 2.8, ..., 12.6). Historical mean 7 -> class 5 (7 > q4 = 5.6, 7 <= q5 = 7.0);
    # recent mean 1 -> class 1. Change -4.
    hist = np.arange(1.0, 14.0)
    arr = np.concatenate([hist, [1.0, 1.0, 1.0]])[:, None, None]
    ds = state_percentile_shift(stack(arr), baseline="2000-2012", recent="2013-2015")
    assert ds.class_change.item() == -4
    assert ds.state.item() == -1
    assert ds.baseline_mean.item() == pytest.approx(7.0)
    assert ds.recent_mean.item() == pytest.approx(1.0)


@pytest.mark.parametrize("width", [7, 150])  # one partial strip; two strips of 64 pixels and a partial one
def test_state_percentile_shift__matches_numpy_percentile(rng: np.random.Generator, width: int) -> None:
    arr = rng.normal(10, 2, size=(16, 6, width))
    arr[:, 3] = np.round(arr[:, 3])  # a row of whole numbers: tied years
    arr[rng.random(arr.shape) < 0.1] = np.nan
    arr[13:, 0, 0] = arr[:13, 0, 0].mean() + 0.0  # no change
    ds = state_percentile_shift(stack(arr), baseline="2000-2012", recent="2013-2015")
    for r in range(6):
        for c in range(width):
            h, rc = arr[:13, r, c], arr[13:, r, c]
            if np.isfinite(rc).sum() == 0:
                assert np.isnan(ds.class_change[r, c])
                continue
            exp = _reference_shift(h, rc)
            assert float(ds.class_change[r, c]) == exp
            assert int(ds.state[r, c]) == (-1 if exp <= -2 else 1 if exp >= 2 else 0)


def test_state_percentile_shift__shift_boundary_and_dead_band() -> None:
    hist = np.arange(1.0, 14.0)  # classes by deciles of the extended series
    # deciles q_k = 1.4k; recent mean 8 -> class 6 (q5 = 7.0 < 8 <= q6 = 8.4), historical mean 7 -> class 5:
    # change +1 (stable)
    a = np.concatenate([hist, [8.0, 8.0, 8.0]])[:, None, None]
    assert state_percentile_shift(stack(a), baseline="2000-2012", recent="2013-2015").state.item() == 0
    # recent mean 11 -> class 8 (q7 = 9.8 < 11 <= q8 = 11.2): change +3 -> improving; a dead band of 5 forces it to stable
    b = np.concatenate([hist, [11.0, 11.0, 11.0]])[:, None, None]
    assert state_percentile_shift(stack(b), baseline="2000-2012", recent="2013-2015").state.item() == 1
    assert (
        state_percentile_shift(stack(b), baseline="2000-2012", recent="2013-2015", dead_band=5).state.item()
        == 0
    )


def test_state_percentile_shift__nodata_and_lazy(rng: np.random.Generator) -> None:
    arr = rng.normal(size=(16, 4, 4))
    arr[13:, 1, 1] = np.nan  # no recent year
    arr[:11, 2, 2] = np.nan  # 2 historical years only (< min 6)
    da = stack(arr).chunk({"y": 2, "x": 2})
    with raise_if_dask_computes():
        ds = state_percentile_shift(da, baseline="2000-2012", recent="2013-2015")
    assert isinstance(ds.state.data, dask.array.Array)
    st = ds.state.values
    assert st[1, 1] == -32768 and st[2, 2] == -32768 and (st != -32768).sum() == 14


def test_state_zscore__hand_worked() -> None:
    hist = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
    sd = hist.std(ddof=1)  # 3.8944
    a = np.concatenate([hist, [0.0, 0.0, 0.0]])[:, None, None]
    ds = state_zscore(stack(a), baseline="2000-2012", recent="2013-2015")
    assert ds.z.item() == pytest.approx((0 - 7) / sd, rel=1e-6)  # -1.797
    assert ds.state.item() == 0  # not below -1.96
    assert (
        state_zscore(stack(a), baseline="2000-2012", recent="2013-2015", z_threshold=1.28).state.item() == -1
    )
    se = state_zscore(stack(a), baseline="2000-2012", recent="2013-2015", standard_error=True)
    assert se.z.item() == pytest.approx(-7 / (sd / np.sqrt(3)), rel=1e-6)
    assert se.state.item() == -1


def test_state__window_errors() -> None:
    da = stack(np.ones((16, 1, 1)))
    with pytest.raises(ConfigError):
        state_percentile_shift(da, baseline="2000-2013", recent="2013-2015")
    with pytest.raises(MissingYearError):
        state_zscore(da, baseline="1980-1990", recent="2013-2015")


@pytest.mark.parametrize("band", [None, 0.01, 100.0])
def test_state_classes__kernel_equals_the_array_rules(band: float | None) -> None:
    """The one-pass class kernel against the dead band and shift rules written as xarray expressions."""
    from openldn.productivity.state import _state_classes

    rng = np.random.default_rng(11)
    shape = (60, 70)
    chg = rng.integers(-4, 5, shape).astype(np.float32)
    chg[rng.random(shape) < 0.1] = np.nan
    nh = rng.integers(0, 14, shape).astype(np.float64)
    nr = rng.integers(0, 4, shape).astype(np.float64)
    sh = nh * rng.choice([3000.0, 5000.0, 5100.0, 7000.0], shape)  # integer sums: the band is met exactly
    sr = nr * rng.choice([3000.0, 5000.0, 5100.0, 4900.0, 7000.0], shape)
    sr[rng.random(shape) < 0.05] = np.nan

    def x(a: np.ndarray) -> xr.DataArray:
        return xr.DataArray(a, dims=("y", "x"))

    c = x(chg)
    if band is not None:
        flat = abs(x(sr) * x(nh) - x(sh) * x(nr)) <= band * x(nh) * x(nr)
        c = xr.where(flat, 0.0, c).where(c.notnull())
    want = xr.where(c <= -2, -1, xr.where(c >= 2, 1, 0)).where(c.notnull(), -32768).astype(np.int16).values
    got = _state_classes(chg, band=0.0, shift=2) if band is None else _state_classes(chg, nh, sh, nr, sr, band=band,
                                                                                    shift=2)
    np.testing.assert_array_equal(got, want)
    assert {-1, 0, 1, -32768} <= set(np.unique(got).tolist())
