"""Pearson III and gamma SPI against scipy.stats (independent fits), including near-symmetric and huge-shape fits.

The reference of every test here is computed without openldn: sample L-moments from Wang's (1996) direct
estimators, Hosking's rational approximations of the Pearson III shape (Hosking and Wallis 1997, A.9) with
``scipy.special.poch`` for the gamma-function ratio, then ``norm.ppf(pearson3.cdf)`` (or ``gamma.cdf`` with Thom's
estimate for the gamma SPI), with the zero and support rules of climate-indices that :func:`openldn.drought.spi`
documents.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
import scipy.special
import scipy.stats
import xarray as xr

from openldn.drought import spi

os.environ.setdefault("CLIMATE_INDICES_LOG_LEVEL", "ERROR")

CHIRPS = "sierra_de_neiba/chirps_precip_monthly_1981-01_2023-09.tif"
#: Skews of the synthetic fits: the whole range of the brief, with the near-symmetric fits that were wrong.
SKEWS = (-2.0, -1.0, -0.3, -1e-3, -1e-4, 0.0, 1e-4, 3e-4, 1e-3, 0.02, 0.3, 1.0, 2.0)


# --- the independent reference ----------------------------------------------------------------------------------


def _lmoments(x: np.ndarray) -> tuple[float, float, float]:
    """l1, l2, t3 by Wang's direct estimators (combinatorial weights of the order statistics)."""
    s = np.sort(np.asarray(x, dtype=np.float64))
    n = s.size
    i = np.arange(1, n + 1, dtype=np.float64)
    c = scipy.special.comb
    l1 = s.mean()
    l2 = np.sum((c(i - 1, 1) - c(n - i, 1)) * s) / (2.0 * c(n, 2))
    l3 = np.sum((c(i - 1, 2) - 2.0 * c(i - 1, 1) * c(n - i, 1) + c(n - i, 2)) * s) / (3.0 * c(n, 3))
    return l1, l2, l3 / l2


def _pearson3_fit(x: np.ndarray) -> tuple[float, float, float]:
    """(loc, scale, skew) from L-moments with Hosking's approximations (A.9)."""
    l1, l2, t3 = _lmoments(x)
    at3 = abs(t3)
    if at3 <= 1e-6:
        return l1, l2 * math.sqrt(math.pi), 0.0
    if at3 < 1.0 / 3.0:
        t = 3.0 * math.pi * at3**2
        alpha = (1.0 + 0.2906 * t) / (t * (1.0 + t * (0.1882 + t * 0.0442)))
    else:
        t = 1.0 - at3
        alpha = t * (0.36067 + t * (-0.59567 + t * 0.25361)) / (1.0 + t * (-2.78861 + t * (2.56096 + t * -0.77045)))
    scale = math.sqrt(math.pi) * l2 / scipy.special.poch(alpha, 0.5) * math.sqrt(alpha)
    return l1, scale, math.copysign(2.0 / math.sqrt(alpha), t3)


def _pearson3_spi(values: np.ndarray, calib: np.ndarray) -> np.ndarray:
    """SPI of ``values`` (one calendar month) through a Pearson III fitted to ``values[calib]``."""
    sample = values[calib & np.isfinite(values)]
    zeros = np.sum(sample == 0.0)
    if sample.size < 4 or sample.size - zeros < 4:
        return np.full(values.shape, np.nan)
    loc, scale, skew = _pearson3_fit(sample)
    q = zeros / sample.size
    cdf = scipy.stats.pearson3.cdf(values, skew, loc=loc, scale=scale)
    cdf = np.where(values < 0.0005, 0.0 if q > 0 else 0.0005, cdf)
    if skew != 0.0:
        lowest = loc - 2.0 * scale / skew
        cdf = np.where((skew > 0) & (values <= lowest), 0.0005, cdf)
        cdf = np.where((skew < 0) & (values >= lowest), 0.9995, cdf)
    with np.errstate(divide="ignore"):
        z = scipy.stats.norm.ppf(np.clip(q + (1.0 - q) * cdf, 0.0, 1.0))
    return np.clip(z, -3.09, 3.09)


def _reference(acc: np.ndarray, years: np.ndarray, cal: tuple[int, int], fit) -> np.ndarray:
    """Per calendar month: ``fit(values, calib)`` over a monthly series of accumulations (month 1 first)."""
    out = np.full(acc.shape, np.nan)
    calib = (years >= cal[0]) & (years <= cal[1])
    for m in range(12):
        sel = np.arange(acc.size) % 12 == m
        out[sel] = fit(acc[sel], calib[sel])
    return out


def _monthly(values: np.ndarray, start: str = "1981-01-01") -> xr.DataArray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None, None]
    t = pd.date_range(start, periods=v.shape[0], freq="MS")
    return xr.DataArray(v, dims=("time", "y", "x"),
                        coords={"time": t, "y": np.arange(v.shape[1]) + 0.5, "x": np.arange(v.shape[2]) + 0.5})


def _sample_with_skew(target: float, n: int = 30) -> np.ndarray:
    """``n`` January totals whose fitted (L-moment) Pearson III skew is ``target`` to 1e-9 relative.

    Pearson III quantiles at the plotting positions (i + 0.5) / n, with the distribution's skew tuned so that the
    *fitted* skew hits the target (0 gives a symmetric sample, hence an exactly zero L-skewness).
    """
    p = (np.arange(n) + 0.5) / n
    if target == 0.0:
        return 100.0 + 20.0 * scipy.stats.norm.ppf(p)

    def sample(g: float) -> np.ndarray:
        return 100.0 + 20.0 * scipy.stats.pearson3.ppf(p, g)

    def miss(g: float) -> float:
        return _pearson3_fit(sample(g))[2] - target

    g = scipy.optimize.brentq(miss, -4.0, 4.0, xtol=1e-15, rtol=1e-14)
    return sample(g)


# --- the incomplete gamma function and the Pearson III CDF --------------------------------------------------------


@pytest.mark.parametrize("skew", (*SKEWS, 1.6e-5, -2e-5, 5e-4, -0.06, 0.07))
def test_pearson3_cdf__equals_scipy(skew):
    from openldn.drought._kernels import pearson3_cdf

    z = np.linspace(-4.0, 4.0, 161)  # scipy's gammainc is itself off beyond ~4.5 sd for shapes above 1e8
    ours = np.array([pearson3_cdf(v, 0.0, 1.0, skew) for v in z])
    ref = scipy.stats.pearson3.cdf(z, skew)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize("shape", [0.3, 7.0, 150.0, 999.0, 1000.0, 2.5e3, 4e4, 1e6, 4e8])
def test_gammainc_lower__equals_scipy_for_every_shape(shape):
    # below a = 1000 the series / continued fraction, above it the uniform asymptotic expansion
    from openldn.drought._kernels import gammainc_lower

    x = shape + np.linspace(-4.0, 4.0, 81) * math.sqrt(shape)
    x = x[x > 0]
    ours = np.array([gammainc_lower(shape, v) for v in x])
    np.testing.assert_allclose(ours, scipy.special.gammainc(shape, x), rtol=0, atol=1e-10)


# --- SPI end to end on synthetic series ---------------------------------------------------------------------------


def _synthetic(skews: tuple[float, ...], years: int = 35) -> np.ndarray:
    """Monthly series (time, 1, pixels): January of the 30 calibration years with the fitted skews, gamma rain
    elsewhere, and five more years after the calibration period."""
    rng = np.random.default_rng(20261203)
    v = rng.gamma(2.0, 40.0, (years * 12, 1, len(skews)))
    for i, g in enumerate(skews):
        jan = _sample_with_skew(g)
        v[0 : 30 * 12 : 12, 0, i] = rng.permutation(jan)
        v[30 * 12 :: 12, 0, i] = 100.0 + 25.0 * rng.standard_normal(years - 30)
    return v


def test_spi_pearson3__agrees_with_scipy_for_skews_from_minus_2_to_2():
    v = _synthetic(SKEWS)
    ours = spi(_monthly(v), 1, "1981-2010", "pearson3").values
    years = 1981 + np.arange(v.shape[0]) // 12
    for i, g in enumerate(SKEWS):
        jan = v[0 : 30 * 12 : 12, 0, i]
        assert _pearson3_fit(jan)[2] == pytest.approx(g, rel=1e-8, abs=1e-15)  # the fit the case is about
        ref = _reference(v[:, 0, i], years, (1981, 2010), _pearson3_spi)
        assert np.array_equal(np.isnan(ours[:, 0, i]), np.isnan(ref))
        err = np.nanmax(np.abs(ours[:, 0, i] - ref))
        assert err < 1e-5, f"skew {g}: max |SPI - scipy| = {err:.2e}"


def test_spi_pearson3__near_symmetric_fit_is_near_the_normal_quantile():
    # |skew| = 1e-4: the Pearson III quantile is the normal one shifted by about (skew / 6)(z^2 - 1) < 1.5e-4
    # (Cornish-Fisher), so SPI = (x - mean) / sd of the fit, whatever the implementation of the CDF (before the fix
    # the series stopped early and SPI was off by up to 1.6)
    for g in (-1e-4, 1e-4):
        jan = _sample_with_skew(g)
        series = np.tile(np.linspace(50.0, 150.0, 12), 32)
        series[0 : 30 * 12 : 12] = jan
        series[30 * 12 :: 12] = [98.0, 131.0]
        out = spi(_monthly(series), 1, "1981-2010", "pearson3").values.ravel()[0::12]
        loc, scale, _ = _pearson3_fit(jan)
        z = (np.concatenate([jan, [98.0, 131.0]]) - loc) / scale
        np.testing.assert_allclose(out, np.clip(z, -3.09, 3.09), atol=2e-4)


def test_spi_gamma__agrees_with_scipy_for_huge_shapes():
    # very regular totals (shape ~ 1e3-1e6): the series of the incomplete gamma function needs ~8 sqrt(a) terms
    rng = np.random.default_rng(7)
    sds = (30.0, 3.0, 0.3, 0.01)
    v = np.stack([100.0 + sd * rng.standard_normal(32 * 12) for sd in sds], axis=1)[:, None, :]
    ours = spi(_monthly(v), 1, "1981-2010", "gamma").values
    years = 1981 + np.arange(v.shape[0]) // 12

    def gamma_spi(values: np.ndarray, calib: np.ndarray) -> np.ndarray:
        x = values[calib]
        a_stat = math.log(x.mean()) - np.log(x).mean()
        alpha = (1 + math.sqrt(1 + 4 * a_stat / 3)) / (4 * a_stat)
        return np.clip(scipy.stats.norm.ppf(scipy.stats.gamma.cdf(values, alpha, scale=x.mean() / alpha)), -3.09, 3.09)

    for i, sd in enumerate(sds):
        ref = _reference(v[:, 0, i], years, (1981, 2010), gamma_spi)
        assert np.nanmax(np.abs(ours[:, 0, i] - ref)) < 1e-5, f"sd {sd}"
    assert (100.0 / sds[-1]) ** 2 > 1e7  # the last shape (mean^2 / var) needs far more terms than the series runs


def test_spi_pearson3__agrees_with_climate_indices_near_symmetric():
    pytest.importorskip("climate_indices")
    from climate_indices import compute, indices

    skews = (-1e-3, -1e-4, 0.0, 1e-4, 1e-3, 0.5)
    v = _synthetic(skews)
    ours = spi(_monthly(v), 1, "1981-2010", "pearson3").values
    pad = (-v.shape[0]) % 12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, g in enumerate(skews):
            s = np.concatenate([v[:, 0, i], np.full(pad, np.nan)])
            ref = indices.spi(s, 1, indices.Distribution.pearson, 1981, 1981, 2010, compute.Periodicity.monthly)
            ref = ref[: v.shape[0]]
            assert np.nanmax(np.abs(ours[:, 0, i] - ref)) < 1e-4, f"skew {g}"


# --- real CHIRPS series ---------------------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("scale", [3, 12, 24])
def test_spi_pearson3__chirps_pixels_agree_with_scipy(shared_data, scale):
    import rioxarray

    path = shared_data / CHIRPS
    if not path.exists():
        pytest.skip(f"{path} is absent")
    da = rioxarray.open_rasterio(path)
    t = pd.DatetimeIndex([pd.Timestamp(f"{d}-01") for d in da.attrs["long_name"]])
    pr = da.rename(band="time").assign_coords(time=t).astype("float64").isel(y=slice(0, 2), x=slice(0, 9, 4))
    ours = spi(pr, scale, "1981-2010", "pearson3").values
    years = t.year.to_numpy()
    for j in range(pr.sizes["y"]):
        for i in range(pr.sizes["x"]):
            p = pr.values[:, j, i]
            acc = np.convolve(p, np.ones(scale), mode="full")[: p.size]
            acc[: scale - 1] = np.nan
            ref = _reference(acc, years, (1981, 2010), _pearson3_spi)
            assert np.array_equal(np.isnan(ours[:, j, i]), np.isnan(ref))
            assert np.nanmax(np.abs(ours[:, j, i] - ref)) < 1e-5
