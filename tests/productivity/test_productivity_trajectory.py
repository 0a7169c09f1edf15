"""Trajectory classes, climate correction (RESTREND, RUE/WUE), windows, options."""

from __future__ import annotations

import dask.array
import numpy as np
import pytest
import xarray as xr
from tests.productivity._helpers import raise_if_dask_computes, stack

from openldn.core.vocab import load_preset
from openldn.exceptions import ConfigError, MissingYearError
from openldn.productivity import (
    classify_trajectory,
    mann_kendall,
    restrend_residuals,
    trajectory,
    use_efficiency,
)
from openldn.productivity.options import ProductivityOptions


def _trend_stack() -> np.ndarray:
    t = np.arange(16.0)
    noise = np.sin(np.arange(16) * 1.7) * 0.01  # deterministic wiggle
    return np.stack([t * 0.05 + noise, -t * 0.05 + noise, noise, np.full(16, 0.3)], axis=-1)[:, None, :]


def test_trajectory__mann_kendall_classes() -> None:
    ds = trajectory(stack(_trend_stack()), window="2000-2015")
    np.testing.assert_array_equal(ds.trajectory.values, [[1, -1, 0, 0]])
    assert ds.trajectory.dtype == np.int16
    assert ds.attrs["trend_window"] == "2000-2015"


def test_mann_kendall__without_theil_sen_same_test_no_slope() -> None:
    """The test-only kernel gives the same S, variance, z, p and OLS slope, and no Theil-Sen slope variable."""
    da = stack(_trend_stack())
    full = mann_kendall(da)
    fast = mann_kendall(da, theil_sen=False)
    assert "slope" in full and "slope" not in fast
    for v in ("s", "var_s", "z", "p", "ols_slope", "n"):
        np.testing.assert_array_equal(fast[v].values, full[v].values)
    with pytest.raises(ConfigError, match="Theil-Sen"):
        mann_kendall(da, theil_sen=False, autocorrelation="hamed_rao")
    # the trajectory asks for the Theil-Sen slope only where it sets the direction; both give the hand classes
    assert "slope" not in trajectory(da)
    sen = trajectory(da, slope="theil_sen")
    assert "slope" in sen
    np.testing.assert_array_equal(sen.trajectory.values, [[1, -1, 0, 0]])


def test_classify_trajectory__zscore_thresholds_and_dead_band() -> None:
    stats = mann_kendall(stack(_trend_stack()))
    z = stats.z.values[0]
    cls = classify_trajectory(stats, method="zscore", z_threshold=1.28).values[0]
    np.testing.assert_array_equal(cls, np.where(z > 1.28, 1, np.where(z < -1.28, -1, 0)))
    # a dead band larger than the slopes makes everything stable (Trends.Earth's |slope| <= band rule)
    assert (classify_trajectory(stats, dead_band=1.0).values == 0).all()
    with pytest.raises(ConfigError):
        classify_trajectory(stats, method="bogus")  # type: ignore[arg-type]


def test_trajectory__too_few_years_nodata_and_window_errors() -> None:
    arr = _trend_stack()
    arr[3:, 0, 0] = np.nan
    ds = trajectory(stack(arr), min_years=10)
    assert ds.trajectory.values[0, 0] == -32768
    with pytest.raises(MissingYearError):
        trajectory(stack(arr), window="1980-1990")


def test_restrend_residuals__equal_numpy_polyfit(rng: np.random.Generator) -> None:
    clim = rng.gamma(5.0, 100.0, size=(16, 3, 4))
    ndvi = 0.1 + 0.0005 * clim + rng.normal(0, 0.01, size=clim.shape)
    ndvi[4, 1, 1] = np.nan
    res = restrend_residuals(stack(ndvi), stack(clim)).values
    for r in range(3):
        for c in range(4):
            ok = np.isfinite(ndvi[:, r, c])
            b, a = np.polyfit(clim[ok, r, c], ndvi[ok, r, c], 1)
            np.testing.assert_allclose(res[ok, r, c], ndvi[ok, r, c] - (a + b * clim[ok, r, c]), atol=1e-10)
    assert np.isnan(res[4, 1, 1])


def test_climate_correction__rainfall_driven_trend_is_removed(rng: np.random.Generator) -> None:
    # NDVI that only follows a drying rainfall trend (multiplicative noise): the raw trajectory degrades, the
    # RESTREND residuals and the rain use efficiency have no trend
    years = 16
    rain = (800 - 20 * np.arange(years))[:, None, None] * (1 + rng.normal(0, 0.05, size=(years, 10, 10)))
    ndvi = 0.0004 * rain * (1 + rng.normal(0, 0.03, size=rain.shape))
    raw = trajectory(stack(ndvi)).trajectory.values
    assert (raw == -1).all()
    rt = trajectory(stack(ndvi), climate=stack(rain), climate_correction="restrend").trajectory.values
    ue = trajectory(stack(ndvi), climate=stack(rain), climate_correction="rue").trajectory.values
    # what is left is noise: about alpha = 5 % of the pixels test significant by chance
    assert (rt != 0).mean() <= 0.12 and (ue != 0).mean() <= 0.12
    np.testing.assert_allclose(
        use_efficiency(stack(ndvi), stack(rain)).values, ndvi / (rain / 1000), rtol=1e-12
    )
    with pytest.raises(ConfigError):
        trajectory(stack(ndvi), climate_correction="restrend")


def test_trajectory__fdr_and_dask_lazy(rng: np.random.Generator) -> None:
    arr = rng.normal(size=(16, 20, 20))
    arr[:, :5, :5] += np.arange(16)[:, None, None] * 0.5  # strong trends
    da = stack(arr).chunk({"y": 10, "x": 10})
    with raise_if_dask_computes():
        ds = trajectory(da, fdr=True)
        hr = trajectory(da, autocorrelation="hamed_rao")
    assert isinstance(ds.trajectory.data, dask.array.Array)
    assert isinstance(hr.trajectory.data, dask.array.Array)
    vals = ds.trajectory.values
    plain = trajectory(stack(arr)).trajectory.values
    assert (vals[:5, :5] == 1).all() and (plain[:5, :5] == 1).all()
    # FDR control removes most of the chance detections among the 375 trendless pixels
    fp_fdr = (vals != 0).sum() - 25
    fp_plain = (plain != 0).sum() - 25
    assert fp_fdr <= 2 < fp_plain


def test_options__presets_validate_and_extra_keys_are_refused() -> None:
    for name in ("prais_2026_te", "gpg_v2_2021", "gpg_v1_2017"):
        opts = ProductivityOptions(**load_preset(name)["productivity"])
        assert opts.trend_years == 16
    assert ProductivityOptions().lpd_table == "prais_2026_table13"
    with pytest.raises(ValueError):
        ProductivityOptions(bogus=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        ProductivityOptions(trend_years=4, state_recent_years=3)
    for name, field in ProductivityOptions.model_fields.items():
        assert field.description, name


def test_public_api_is_sorted() -> None:
    import openldn.productivity as P

    assert P.__all__ == sorted(P.__all__)
    assert all(callable(getattr(P, n)) or isinstance(getattr(P, n), type) for n in P.__all__)
    assert xr is not None


@pytest.mark.parametrize("given", ["p", "significant"])
def test_mk_classes__kernel_equals_the_array_rules(given: str) -> None:
    """The one-pass Mann-Kendall class kernel against the rules written as xarray expressions."""
    from openldn.productivity.trajectory import _mk_classes

    rng = np.random.default_rng(12)
    shape = (50, 60)

    def x(a: np.ndarray) -> xr.DataArray:
        return xr.DataArray(a, dims=("y", "x"))

    slope = rng.choice([-0.002, -0.0005, 0.0, 0.0005, 0.003, np.nan], shape).astype(np.float32)
    z = rng.normal(0, 2, shape)
    z[rng.random(shape) < 0.05] = np.nan
    p = rng.choice([0.01, 0.05, 0.0500001, 0.2, np.nan], shape)
    flat = np.abs(slope.astype(np.float64)) <= 0.001
    sl = x(slope).astype(np.float64)
    sig = x(p) <= 0.05 if given == "p" else x(rng.random(shape) < 0.5)
    cls = xr.where(sig & (sl > 0), 1, xr.where(sig & (sl < 0), -1, 0))
    cls = xr.where(x(flat), 0, cls)
    want = cls.where(x(z).notnull() & sl.notnull(), -32768).astype(np.int16).values
    got = _mk_classes(sl.values, z, p if given == "p" else sig.values, flat, alpha=0.05)
    np.testing.assert_array_equal(got, want)
    assert {-1, 0, 1, -32768} <= set(np.unique(got).tolist())
