"""Trends.Earth conformance of the productivity sub-indicator (preset ``trends_earth``).

Expected classes come from the reference tool's documented rules worked by hand (reference-implementation.md §4.2-4.5,
docs/differences.md), with the critical values of Hollander & Wolfe Table A.30 typed from the published table
(n = 5: 6 / 6 / 8; n = 10: 15 / 19 / 29; n = 16: 28 / 36 / 56 at 90 / 95 / 99 %). The trajectory band is built in
the reference's rule order, each rule overriding the previous ones:

1-3. slope > 0 and |S| >= k90, k95, k99 -> 1, 2, 3;  4-6. slope < 0 likewise -> -1, -2, -3;
7. |S| <= k90 -> 0;  8. |slope| <= dead band -> 0.  Trajectory = 1 / -1 where |band| >= 2 (95 %), else 0.
"""

from __future__ import annotations

import csv
import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from tests.productivity._helpers import read_annual, stack

from openldn.core.codes import NODATA
from openldn.core.vocab import load_preset
from openldn.exceptions import ConfigError
from openldn.productivity import land_productivity_dynamics, lpd_class, performance, state_percentile_shift
from openldn.productivity.options import ProductivityOptions
from openldn.productivity.trajectory import kendall_critical_s, kendall_table_significance, trajectory

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CSV = SHARED / "reference_tables" / "kendall_critical_s.csv"
ALASKA = SHARED / "alaska" / "ndvi_annual_1982_2013.tif"


def _series(values: list[float] | np.ndarray, start: int = 2001) -> xr.DataArray:
    v = np.asarray(values, dtype=np.float64)
    return stack(v.reshape(-1, 1, 1), start=start)


def _with_inversions(n: int, k: int) -> np.ndarray:
    """Ranks 0..n-1 with exactly ``k`` inversions (so S = n (n-1) / 2 - 2 k for distinct values)."""
    a = list(range(n))
    done = 0
    for i in range(n - 1):  # move later items forward one step at a time, each step adds one inversion
        for j in range(n - 1, i, -1):
            if done == k:
                return np.array(a)
            if a[j - 1] < a[j]:
                a[j - 1], a[j] = a[j], a[j - 1]
                done += 1
    return np.array(a)


def _s(x: np.ndarray) -> int:
    """Mann-Kendall S by brute force (ties count 0)."""
    return int(sum(np.sign(x[j] - x[i]) for i, j in itertools.combinations(range(x.size), 2)))


def _traj(x: np.ndarray | list[float], *, dead_band: float = 10.0, quantum: float | None = None,
          level: int = 95) -> tuple[int, int]:
    ds = trajectory(_series(x), method="kendall_table", dead_band=dead_band, min_years=3, quantum=quantum,
                    level=level)
    return int(ds["trajectory_significance"].values.ravel()[0]), int(ds["trajectory"].values.ravel()[0])


# -- the critical-S table ---------------------------------------------------------------------------------------

def test_critical_s_table_equals_the_published_values() -> None:
    if not CSV.is_file():
        pytest.skip(f"{CSV} is absent")
    with CSV.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 57
    for r in rows:
        n = int(r["n"])
        assert kendall_critical_s(n, 90) == int(r["s90"])
        assert kendall_critical_s(n, 95) == int(r["s95"])
        if r["s99"].strip():
            assert kendall_critical_s(n, 99) == int(r["s99"])
        else:
            with pytest.raises(ConfigError, match="no 99"):
                kendall_critical_s(n, 99)


def test_critical_s_hand_values_and_range() -> None:
    assert (kendall_critical_s(5, 90), kendall_critical_s(5, 95), kendall_critical_s(5, 99)) == (6, 6, 8)
    assert (kendall_critical_s(10, 90), kendall_critical_s(10, 95), kendall_critical_s(10, 99)) == (15, 19, 29)
    assert (kendall_critical_s(16, 90), kendall_critical_s(16, 95), kendall_critical_s(16, 99)) == (28, 36, 56)
    assert kendall_critical_s(15, 95) == 33
    for bad in (3, 61):
        with pytest.raises(ConfigError, match="4 to 60"):
            kendall_critical_s(bad, 95)
    with pytest.raises(ValueError, match="4 to 60"):
        ProductivityOptions(trajectory_method="kendall_table", trend_years=70, min_years=10)


def test_the_95_column_is_about_a_one_sided_5_percent_test() -> None:
    """Exact null distribution of S (no ties): P(S >= k95) per direction is 4-6 %, i.e. one-sided, not two-sided."""
    n = 15
    dist = np.array([1.0])
    for m in range(1, n + 1):  # number of inversions of a random permutation (Mahonian numbers)
        dist = np.convolve(dist, np.full(m, 1.0 / m))
    npairs = n * (n - 1) // 2
    s_values = npairs - 2 * np.arange(dist.size)

    def upper(k: int) -> float:
        return float(dist[s_values >= k].sum())

    k90, k95 = kendall_critical_s(n, 90), kendall_critical_s(n, 95)
    # the reference's test: |S| >= 33 and |S| > 27 (S has the parity of npairs, so S >= 33)
    assert upper(k95) == pytest.approx(0.0573, abs=5e-4)
    assert upper(max(k95, k90 + 1)) < 0.06 < 2 * upper(k95)


# -- trajectory: rule order, thresholds and dead band, worked by hand ---------------------------------------------

@pytest.mark.parametrize(
    ("inversions", "s", "band", "cls"),
    [
        (13, 19, 2, 1),  # |S| = k95 = 19 > k90: rules 1, 2 -> 2 -> significant
        (14, 17, 1, 0),  # k90 < |S| < k95: rule 1 only -> 1 -> not significant at 95 %
        (15, 15, 0, 0),  # |S| = k90 = 15: rule 1 gives 1, rule 7 (|S| <= k90) resets it to 0
        (8, 29, 3, 1),  # |S| = k99 = 29: rule 3 -> 3
    ],
)
def test_n10_s_at_the_critical_values(inversions: int, s: int, band: int, cls: int) -> None:
    x = 5000.0 + 100.0 * _with_inversions(10, inversions)
    assert _s(x) == s
    assert np.polyfit(np.arange(10), x, 1)[0] > 10  # slope clearly outside the dead band
    assert _traj(x) == (band, cls)
    assert _traj(x[::-1]) == (-band, -cls)  # mirrored: S and slope change sign


def test_n5_k90_equals_k95_so_s_at_k95_is_not_significant() -> None:
    # n = 5: k90 = k95 = 6, k99 = 8; S = 6 passes rules 1-2 (>= 6) but rule 7 (<= 6) resets it
    x = 5000.0 + 100.0 * _with_inversions(5, 2)
    assert _s(x) == 6
    assert _traj(x) == (0, 0)
    x8 = 5000.0 + 100.0 * _with_inversions(5, 1)
    assert _s(x8) == 8
    assert _traj(x8) == (3, 1)


def test_direction_is_the_ols_slope_not_s() -> None:
    # nine rising values then a collapse: S = 36 - 9 = 27 > 0, OLS slope < 0 -> rules 4-5 give -2
    x = np.r_[5000.0 + 100.0 * np.arange(1, 10), 0.0]
    assert _s(x) == 27
    assert np.polyfit(np.arange(10), x, 1)[0] < -10
    assert _traj(x) == (-2, -1)


def test_slope_exactly_at_the_dead_band_is_stable() -> None:
    k = np.arange(10)
    up = 5000.0 + 10.0 * k  # slope exactly 10 (NDVI x 10000 per year), S = 45 >= k99
    assert _traj(up) == (0, 0)  # rule 8: |slope| <= 10 -> 0
    assert _traj(5000.0 - 10.0 * k) == (0, 0)
    above = up.copy()
    above[-1] += 1.0  # slope = 10 + 4.5 / 82.5 > 10
    assert _traj(above) == (3, 1)
    # the same series stored as NDVI (float32): exact in the reference's integer units with value_quantum
    phys = (up / 10000.0).astype(np.float32)
    assert _traj(phys, dead_band=0.001, quantum=0.0001) == (0, 0)
    assert _traj((above / 10000.0).astype(np.float32), dead_band=0.001, quantum=0.0001) == (3, 1)


def test_flat_and_tied_series() -> None:
    assert _traj(np.full(10, 5000.0)) == (0, 0)
    x = np.array([5000, 5000, 5100, 5100, 5200, 5200, 5300, 5300, 5400, 5400], float)  # 5 tied pairs: S = 40
    assert _s(x) == 40
    assert _traj(x) == (3, 1)


def test_level_90_counts_band_1() -> None:
    x = 5000.0 + 100.0 * _with_inversions(10, 14)  # S = 17: band 1
    assert _traj(x, level=90) == (1, 1)
    assert _traj(x, level=95) == (1, 0)


def _independent_band(x: np.ndarray, k90: int, k95: int, k99: int, band: Fraction) -> int:
    """The reference's rule order on one integer series, with exact rational slope."""
    n = x.size
    s = _s(x)
    t = np.arange(n)
    num = n * int((t * x).sum()) - int(t.sum()) * int(x.sum())
    den = n * int((t * t).sum()) - int(t.sum()) ** 2
    slope = Fraction(num, den)
    v = NODATA
    for sign, ok in ((1, slope > 0), (-1, slope < 0)):
        for lev, k in ((1, k90), (2, k95), (3, k99)):
            if ok and abs(s) >= k:
                v = sign * lev
    if abs(s) <= k90:
        v = 0
    if abs(slope) <= band:
        v = 0
    return v


def test_random_integer_series_match_an_exact_reimplementation() -> None:
    """2000 pixels of 16 integer years (many ties, slopes near the dead band) against exact rational arithmetic."""
    rng = np.random.default_rng(7)
    n = 16
    base = rng.integers(4000, 6000, size=(1, 40, 50))
    trend = rng.choice([-11, -10, -9, 0, 9, 10, 11, 30], size=(1, 40, 50))
    noise = rng.integers(-15, 16, size=(n, 40, 50)) * rng.choice([0, 1], size=(1, 40, 50))
    x = (base + trend * np.arange(n)[:, None, None] + noise).astype(np.float64)
    ds = trajectory(stack(x, start=2008), method="kendall_table", dead_band=10.0, min_years=3)
    got = ds["trajectory_significance"].values
    expected = np.array([[_independent_band(x[:, i, j].astype(np.int64), 28, 36, 56, Fraction(10))
                          for j in range(50)] for i in range(40)])
    assert (got == expected).all()
    assert set(np.unique(expected)) >= {-3, 0, 3}


def test_band_function_direct_and_missing_values() -> None:
    s = xr.DataArray([19.0, 19.0, np.nan, -40.0])
    slope = xr.DataArray([0.5, 0.0, 1.0, np.nan])
    out = kendall_table_significance(s, slope, n=10, dead_band=0.0).values
    # slope 0: no rule 1-6 applies, rule 8 (|0| <= 0) gives 0; NaN S or slope -> no data
    assert out.tolist() == [2, 0, NODATA, NODATA]


# -- state, performance and the LPD table ----------------------------------------------------------------------------

def _state(hist: list[float], recent: list[float], quantum: float | None) -> int:
    da = _series(hist + recent, start=2008)
    ds = state_percentile_shift(da, baseline="2008-2020", recent="2021-2023", dead_band=0.01, quantum=quantum)
    return int(ds["state"].values.ravel()[0])


def test_state_dead_band_exactly_at_0_01_ndvi_is_stable() -> None:
    # historical 0.1000 ... 0.1120 (mean 0.1060); recent mean 0.0960: class 1 vs class 6 = change -5 -> degraded,
    # but |0.0960 - 0.1060| = 0.01 exactly (100 in NDVI x 10000) -> forced to 0
    hist = [(1000 + 10 * i) / 10000 for i in range(13)]
    assert _state(hist, [0.0950, 0.0960, 0.0970], quantum=0.0001) == 0
    assert _state(hist, [0.0949, 0.0960, 0.0970], quantum=0.0001) == -1  # 100.33 > 100
    # in integer units without quantum the same rule holds exactly
    hist_i = [1000.0 + 10 * i for i in range(13)]
    da = _series([*hist_i, 950.0, 960.0, 970.0], start=2008)
    ds = state_percentile_shift(da, baseline="2008-2020", recent="2021-2023", dead_band=100.0)
    assert int(ds["state"].values.ravel()[0]) == 0


def test_performance_ratio_exactly_half() -> None:
    # one unit, ten pixel means; p90 (linear) of [1, ..., 8, 8, 8] is 8; the pixel with mean 4 has ratio 0.5
    means = np.array([1, 2, 3, 4, 5, 6, 7, 8, 8, 8], float).reshape(1, 10) / 10
    mean = xr.DataArray(means, dims=("y", "x"), coords={"y": [0.0], "x": np.arange(10.0)})
    units = xr.zeros_like(mean, dtype=np.int64)
    te = performance(mean, units, threshold=0.5, inclusive=True)["performance"].values.ravel()
    manual = performance(mean, units, threshold=0.5, inclusive=False)["performance"].values.ravel()
    assert te[3] == -1 and manual[3] == 0  # ratio 0.5: <= 0.5 degraded (reference), < 0.5 not (manual)
    assert te[:3].tolist() == [-1, -1, -1] and te[4:].tolist() == [0] * 6


def _calc_prod5(t: int, s: int, p: int) -> int:
    """The reference's calc_prod5 rule order (reference-implementation.md §4.5), written out."""
    if NODATA in (t, s, p):
        return NODATA
    out = {-1: 1, 0: 4, 1: 5}[t]
    if t == 0 and s == 0 and p == -1:
        out = 3
    if (t == 1 and s == -1 and p == -1) or (t == 0 and s == -1 and p == 0):
        out = 2
    if t == 0 and s == -1 and p == -1:
        out = 1
    return out


def test_lpd_table_equals_the_reference_rule_order() -> None:
    combos = [(t, s, p) for t in (-1, 0, 1, NODATA) for s in (-1, 0, 1, NODATA) for p in (-1, 0, NODATA)]
    t, s, p = (xr.DataArray(np.array(c, dtype=np.int16)) for c in zip(*combos, strict=True))
    got = lpd_class(t, s, p, table=load_preset("trends_earth")["productivity"]["lpd_table"]).values
    assert got.tolist() == [_calc_prod5(*c) for c in combos]


# -- the preset acts -------------------------------------------------------------------------------------------------

def test_preset_options_drive_the_trajectory() -> None:
    opts = ProductivityOptions(**load_preset("trends_earth")["productivity"])
    assert opts.trajectory_method == "kendall_table" and opts.value_quantum == 0.0001
    rng = np.random.default_rng(3)
    x = 0.5 + np.cumsum(rng.normal(0, 0.01, size=(16, 6, 7)), axis=0)
    x[:, 0, 0] = 0.5 + 0.001 * np.arange(16)  # exactly at the dead band once stored as NDVI x 10000
    x[:, 0, 1] = 0.5 + 0.0011 * np.arange(16)
    da = stack(x.astype(np.float32), start=2008)
    ds = land_productivity_dynamics(da, period="2016-2023", options=opts)
    direct = trajectory(da, window="2008-2023", method="kendall_table", dead_band=0.001, min_years=3,
                        quantum=0.0001)
    assert (ds["trajectory"].values == direct["trajectory"].values).all()
    assert ds["trajectory"].values[0, 0] == 0 and ds["trajectory"].values[0, 1] == 1
    lvl90 = land_productivity_dynamics(da, period="2016-2023", options=opts.model_copy(update={"trajectory_level": 90}))
    band = direct["trajectory_significance"].values
    assert ((lvl90["trajectory"].values != 0) == (np.abs(band) >= 1)).all()


# -- real data: Alaska NDVI ---------------------------------------------------------------------------------------------

def _straightforward(x: np.ndarray, crit: dict[int, tuple[int, int]], dead_band: float) -> np.ndarray:
    """numpy S over all year pairs, float64 OLS slope, critical S table, reference rule order -> -1/0/1."""
    n = x.shape[0]
    i, j = np.triu_indices(n, 1)
    s = np.sign(x[j] - x[i]).sum(axis=0)
    t = np.arange(n, dtype=np.float64)
    tc = t - t.mean()
    slope = np.tensordot(tc, x - x.mean(axis=0), axes=(0, 0)) / (tc * tc).sum()
    k90, k95 = crit[n]
    sig = (np.abs(s) >= k95) & (np.abs(s) > k90) & (np.abs(slope) > dead_band)
    out = np.where(sig, np.sign(slope), 0.0)
    return np.where(np.isnan(x).any(axis=0), np.nan, out)


@pytest.mark.realdata
@pytest.mark.parametrize("quantum", [None, 0.0001])
def test_alaska_preset_equals_a_straightforward_reimplementation(quantum: float | None) -> None:
    if not ALASKA.is_file() or not CSV.is_file():
        pytest.skip(f"{ALASKA} or {CSV} is absent")
    with CSV.open() as fh:
        crit = {int(r["n"]): (int(r["s90"]), int(r["s95"])) for r in csv.DictReader(fh)}
    ndvi = read_annual(ALASKA).sel(time=slice("1998", "2013"))
    assert ndvi.sizes["time"] == 16
    ours = trajectory(ndvi, window="1998-2013", method="kendall_table", dead_band=0.001, min_years=3,
                      quantum=quantum)["trajectory"].values
    x = ndvi.values.astype(np.float64)
    if quantum is not None:
        x = np.round(x / quantum)
    ref = _straightforward(x, crit, 0.001 if quantum is None else 10.0)
    valid = ~np.isnan(ref)
    assert valid.sum() == 31486
    assert (ours[~valid] == NODATA).all()
    disagree = float((ours[valid] != ref[valid]).mean())
    assert disagree == 0.0
    assert 0.05 < float((ref[valid] != 0).mean()) < 0.95  # both classes occur: the comparison is not vacuous


def test_kendall_table_refuses_options_it_would_ignore() -> None:
    with pytest.raises(ValueError, match="fdr: false"):
        ProductivityOptions(trajectory_method="kendall_table", fdr=True)
    with pytest.raises(ValueError, match="autocorrelation: none"):
        ProductivityOptions(trajectory_method="kendall_table", autocorrelation="hamed_rao")


def test_trends_earth_preset_is_checked_like_a_run_file() -> None:
    from openldn.config import check_preset
    from openldn.integration.options import IntegrationOptions

    preset = load_preset("trends_earth")
    check_preset(preset, "trends_earth")
    assert IntegrationOptions(**preset["integration"]).population_classes == "period_sdg"
    manual = ProductivityOptions(**load_preset("prais_2026_te")["productivity"])
    assert manual.trajectory_method == "mann_kendall" and not manual.performance_inclusive


def test_conformance_path_stays_lazy() -> None:
    from openldn.testing import raise_if_dask_computes

    rng = np.random.default_rng(5)
    x = 0.5 + np.cumsum(rng.normal(0, 0.01, size=(16, 8, 9)), axis=0)
    da = stack(x, start=2008).chunk({"y": 4, "x": 4})
    opts = ProductivityOptions(**load_preset("trends_earth")["productivity"])
    with raise_if_dask_computes():
        ds = land_productivity_dynamics(da, period="2016-2023", options=opts)
    eager = land_productivity_dynamics(da.compute(), period="2016-2023", options=opts)
    assert (ds["lpd"].values == eager["lpd"].values).all()
