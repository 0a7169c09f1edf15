"""SPI / SPEI: hand-worked gamma series, agreement with climate-indices on the real CHIRPS series, laziness."""

from __future__ import annotations

import math
import os
import warnings

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import scipy.optimize
import scipy.stats
import xarray as xr

from openldn.drought import SPI_MAX, SPI_MIN, annual_index, spei, spi
from openldn.exceptions import ConfigError, GridMismatchError, MissingYearError

os.environ.setdefault("CLIMATE_INDICES_LOG_LEVEL", "ERROR")

CHIRPS = "sierra_de_neiba/chirps_precip_monthly_1981-01_2023-09.tif"


def _monthly(values: np.ndarray, start: str = "1981-01-01") -> xr.DataArray:
    """(time,) or (time, y, x) values as a monthly DataArray (time, y, x)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None, None]
    t = pd.date_range(start, periods=v.shape[0], freq="MS")
    return xr.DataArray(v, dims=("time", "y", "x"), coords={"time": t, "y": np.arange(v.shape[1]) + 0.5,
                                                          "x": np.arange(v.shape[2]) + 0.5})


def _read_chirps(shared_data) -> xr.DataArray:
    import rioxarray

    da = rioxarray.open_rasterio(shared_data / CHIRPS)
    t = pd.DatetimeIndex([pd.Timestamp(f"{d}-01") for d in da.attrs["long_name"]])
    return da.rename(band="time").assign_coords(time=t).astype("float64")


class _CountingScheduler:
    """A dask scheduler that counts how many times a graph is computed."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, dsk, keys, **kwargs):
        self.count += 1
        return dask.get(dsk, keys, **kwargs)


# --- hand-worked gamma -------------------------------------------------------------------------------------------


def _exponential_sample() -> np.ndarray:
    """30 values whose Thom estimate is exactly alpha = 1 (A = ln(mean) - mean(ln x) = 7/12)."""
    base = np.linspace(0.2, 3.0, 30)

    def a_stat(p: float) -> float:
        x = base**p
        return math.log(x.mean()) - np.log(x).mean() - 7.0 / 12.0

    p = scipy.optimize.brentq(a_stat, 0.1, 5.0, xtol=1e-14)
    return 10.0 * base**p


def test_spi__hand_worked_exponential_series():
    # Thom: alpha = (1 + sqrt(1 + 4A/3)) / (4A) = 1 for A = 7/12, so G is exponential with beta = mean and
    # SPI = Phi^-1(1 - exp(-x / mean)) in closed form.
    x = _exponential_sample()
    assert (1 + math.sqrt(1 + 4 * (7 / 12) / 3)) / (4 * 7 / 12) == pytest.approx(1.0, abs=1e-15)
    n = x.size
    series = np.full(n * 12, 50.0)
    series[0::12] = x  # January values; other months constant
    out = spi(_monthly(series), scale=1, calibration=f"1981-{1981 + n - 1}").isel(y=0, x=0).values
    jan = out[0::12]
    beta = x.mean()
    expected = np.array([scipy.stats.norm.ppf(1.0 - math.exp(-v / beta)) for v in x])
    expected = np.clip(expected, -3.09, 3.09)
    np.testing.assert_allclose(jan, expected, atol=2e-6)


def test_spi__zeros_use_the_mixed_distribution():
    # 5 zeros of 30 January values: q = 5/30; a zero scores Phi^-1(q); a positive x scores
    # Phi^-1(q + (1 - q) G(x)) with G fitted (Thom) on the 25 positive values only.
    rng = np.random.default_rng(3)
    jan = rng.gamma(2.0, 20.0, 30)
    jan[[1, 7, 12, 20, 29]] = 0.0
    series = np.tile(rng.gamma(3.0, 30.0, 12), 30)
    series[0::12] = jan
    out = spi(_monthly(series), scale=1, calibration="1981-2010").isel(y=0, x=0).values[0::12]
    pos = jan[jan > 0]
    a_stat = math.log(pos.mean()) - np.log(pos).mean()
    alpha = (1 + math.sqrt(1 + 4 * a_stat / 3)) / (4 * a_stat)
    beta = pos.mean() / alpha
    q = 5 / 30
    expected = np.where(
        jan > 0, scipy.stats.norm.ppf(q + (1 - q) * scipy.stats.gamma.cdf(jan, alpha, scale=beta)),
        scipy.stats.norm.ppf(q),
    )
    np.testing.assert_allclose(out, expected, atol=2e-6)


def test_spi__accumulation_and_calibration_window():
    # SPI-3 uses sums of three months; the fit uses only calibration years; values outside are transformed with it
    rng = np.random.default_rng(5)
    pr = rng.gamma(2.0, 40.0, 40 * 12)
    out = spi(_monthly(pr), scale=3, calibration="1985-2004").isel(y=0, x=0).values
    acc = np.convolve(pr, np.ones(3), mode="valid")
    acc = np.concatenate([[np.nan, np.nan], acc])
    months = np.arange(pr.size) % 12
    years = 1981 + np.arange(pr.size) // 12
    for m in (0, 5, 11):
        sel = months == m
        cal = sel & (years >= 1985) & (years <= 2004) & np.isfinite(acc)
        x = acc[cal]
        a_stat = math.log(x.mean()) - np.log(x).mean()
        alpha = (1 + math.sqrt(1 + 4 * a_stat / 3)) / (4 * a_stat)
        beta = x.mean() / alpha
        exp = np.clip(scipy.stats.norm.ppf(scipy.stats.gamma.cdf(acc[sel], alpha, scale=beta)), -3.09, 3.09)
        np.testing.assert_allclose(out[sel], exp, atol=2e-6)
    assert np.isnan(out[:2]).all() and np.isfinite(out[2:]).all()


def test_spi__clipped_to_reference_range():
    pr = np.full(30 * 12, 100.0) + np.tile(np.arange(12.0), 30)
    pr = pr + np.random.default_rng(0).normal(0, 1.0, pr.size)
    pr[-1] = 10_000.0  # far wetter than anything in the calibration
    pr[-2] = 0.01
    out = spi(_monthly(pr), scale=1, calibration="1981-2010").values.ravel()
    assert np.nanmax(out) == pytest.approx(SPI_MAX) and np.nanmin(out) == pytest.approx(SPI_MIN)
    assert out[-1] == pytest.approx(3.09, abs=1e-6) and out[-2] == pytest.approx(-3.09, abs=1e-6)


def test_spi__missing_month_makes_its_accumulations_missing():
    rng = np.random.default_rng(1)
    pr = rng.gamma(2.0, 40.0, 35 * 12)
    pr[100] = np.nan
    out = spi(_monthly(pr), scale=12).values.ravel()
    assert np.isnan(out[100:112]).all()
    assert np.isfinite(out[112:]).all() and np.isfinite(out[11:100]).all()


def test_spi__dask_is_lazy_and_equals_numpy():
    rng = np.random.default_rng(2)
    pr = _monthly(rng.gamma(2.0, 40.0, (32 * 12, 6, 5)))
    eager = spi(pr, 12)
    lazy_in = pr.copy(data=dsa.from_array(pr.values, chunks=(100, 3, 2)))
    counter = _CountingScheduler()
    with dask.config.set(scheduler=counter):
        lazy = spi(lazy_in, 12)
        assert counter.count == 0
    assert isinstance(lazy.data, dsa.Array) and lazy.dtype == np.float32 and lazy.dims == pr.dims
    np.testing.assert_array_equal(lazy.values, eager.values)


def test_spi__months_option_computes_only_those_months():
    rng = np.random.default_rng(4)
    pr = _monthly(rng.gamma(2.0, 40.0, 31 * 12))
    full = spi(pr, 12).values.ravel()
    dec = spi(pr, 12, months=[12]).values.ravel()
    december = np.arange(full.size) % 12 == 11
    np.testing.assert_array_equal(dec[december], full[december])
    assert np.isnan(dec[~december]).all()


def test_spi__bad_input_errors():
    pr = _monthly(np.random.default_rng(0).gamma(2.0, 40.0, 35 * 12))
    with pytest.raises(MissingYearError, match="calibration period 1971-2000"):
        spi(pr, 12, calibration="1971-2000")
    with pytest.raises(ConfigError, match="distribution"):
        spi(pr, 12, distribution="weibull")
    with pytest.raises(ConfigError, match="scale"):
        spi(pr, 0)
    with pytest.raises(GridMismatchError, match="time"):
        spi(pr.isel(time=0), 12)
    with pytest.raises(MissingYearError, match="shorter than the scale"):
        spi(pr.isel(time=slice(0, 6)), 12, calibration="1981-1981")


# --- real CHIRPS series against climate-indices -----------------------------------------------------------------


def _climate_indices_spi(pr: xr.DataArray, scale: int, distribution: str) -> np.ndarray:
    from climate_indices import compute, indices

    dist = {"gamma": indices.Distribution.gamma, "pearson3": indices.Distribution.pearson}[distribution]
    nt = pr.sizes["time"]
    pad = (-nt) % 12
    out = np.full(pr.shape, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(pr.sizes["y"]):
            for i in range(pr.sizes["x"]):
                v = np.concatenate([pr.values[:, j, i], np.full(pad, np.nan)])
                out[:, j, i] = indices.spi(v, scale, dist, 1981, 1981, 2010, compute.Periodicity.monthly)[:nt]
    return out


@pytest.mark.realdata
@pytest.mark.parametrize(("scale", "distribution"), [(1, "gamma"), (3, "gamma"), (12, "gamma"), (24, "gamma"),
                                                     (12, "pearson3"), (24, "pearson3")])
def test_spi__chirps_agrees_with_climate_indices(shared_data, scale, distribution):
    pytest.importorskip("climate_indices")
    pr = _read_chirps(shared_data)
    ours = spi(pr, scale, "1981-2010", distribution).values
    ref = _climate_indices_spi(pr, scale, distribution)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    assert np.nanmax(np.abs(ours - ref)) < 1e-5  # the issue asks for 0.01


@pytest.mark.realdata
def test_spi__chirps_december_2023_is_missing(shared_data):
    pr = _read_chirps(shared_data)
    annual = annual_index(spi(pr, 12, months=[12]), month=12, years="2000-2023")
    assert annual.sizes["time"] == 24
    assert annual.attrs["missing_years"] == [2023]
    assert np.isnan(annual.isel(time=-1)).all() and np.isfinite(annual.isel(time=slice(0, 23))).all()
    # calendar-year totals rank like December SPI-12 (SPI-12 of December = Jan-Dec precipitation)
    totals = pr.sel(time=slice("2000", "2022")).resample(time="YS").sum().values
    np.testing.assert_array_equal(np.argsort(totals[:, 0, 0]), np.argsort(annual.values[:23, 0, 0]))


@pytest.mark.realdata
def test_spei__chirps_agrees_with_climate_indices(shared_data):
    pytest.importorskip("climate_indices")
    from climate_indices import compute, indices

    pr = _read_chirps(shared_data).isel(x=slice(0, 3))
    months = pd.DatetimeIndex(pr["time"].values).month.to_numpy()
    rng = np.random.default_rng(9)
    pet = pr.copy(data=80 + 40 * np.sin(2 * np.pi * (months[:, None, None] - 3) / 12) + rng.normal(0, 10, pr.shape))
    ours = spei(pr, pet, 12).values
    nt = pr.sizes["time"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(pr.sizes["y"]):
            for i in range(pr.sizes["x"]):
                p = np.concatenate([pr.values[:, j, i], np.full(3, np.nan)])
                e = np.concatenate([pet.values[:, j, i], np.full(3, np.nan)])
                ref = indices.spei(p, e, 12, indices.Distribution.loglogistic, compute.Periodicity.monthly,
                                   1981, 1981, 2010)[:nt]
                assert np.array_equal(np.isnan(ours[:, j, i]), np.isnan(ref))
                assert np.nanmax(np.abs(ours[:, j, i] - ref)) < 1e-5


@pytest.mark.parametrize("distribution", ["gamma", "pearson3"])
def test_spi__dry_series_with_zeros_agrees_with_climate_indices(distribution):
    pytest.importorskip("climate_indices")
    rng = np.random.default_rng(11)
    pr = rng.gamma(0.8, 30.0, (36 * 12, 2, 3))
    pr[rng.random(pr.shape) < 0.3] = 0.0  # 30 % dry months
    ours = spi(_monthly(pr), 1, "1981-2010", distribution).values
    ref = _climate_indices_spi(_monthly(pr), 1, distribution)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    assert np.nanmax(np.abs(ours - ref)) < 1e-5
    assert (pr == 0).sum() > 100


def test_spi__declared_nodata_is_missing():
    rng = np.random.default_rng(8)
    v = rng.gamma(2.0, 40.0, 32 * 12).round()
    v[200] = 65535.0
    pr = _monthly(v).astype("uint16").assign_attrs(_FillValue=65535)
    out = spi(pr, 3).values.ravel()
    assert np.isnan(out[200:203]).all() and np.isfinite(out[203:]).all()
    pet = _monthly(np.full(v.size, 50.0))
    out2 = spei(pr, pet, 3).values.ravel()
    assert np.isnan(out2[200:203]).all() and np.isfinite(out2[203:]).all()


@pytest.mark.parametrize("scale", [9, 24, 48])
def test_spi__long_scales_with_dry_spells_agree_with_climate_indices(scale):
    pytest.importorskip("climate_indices")
    rng = np.random.default_rng(3)
    pr = rng.gamma(0.7, 40.0, (43 * 12, 2, 3))
    pr[rng.random(pr.shape) < 0.4] = 0.0
    pr[:, 0, 0] = np.where(np.arange(pr.shape[0]) % 12 < 10, 0.0, pr[:, 0, 0])  # ten dry months a year
    pr[100:160, 1, 1] = 0.0  # a five-year run of zeros: windows summing to exactly zero
    ours = spi(_monthly(pr), scale).values
    ref = _climate_indices_spi(_monthly(pr), scale, "gamma")
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    assert np.nanmax(np.abs(ours - ref)) < 1e-5
