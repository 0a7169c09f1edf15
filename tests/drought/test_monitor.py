"""Monthly drought monitoring (openldn.monitoring): latest-month indices, stored fits, alert rules."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr

from openldn.core.codes import NODATA
from openldn.drought import spi
from openldn.exceptions import ConfigError, MissingYearError
from openldn.monitoring import (
    FitStore,
    MonitorOptions,
    alert_levels,
    load_alert_rules,
    monitor_indices,
    unit_level,
)
from openldn.monitoring.alerts import parse_alert_rules

os.environ.setdefault("CLIMATE_INDICES_LOG_LEVEL", "ERROR")

CHIRPS = "sierra_de_neiba/chirps_precip_monthly_1981-01_2023-09.tif"


def _monthly(values: np.ndarray, start: str = "1981-01-01") -> xr.DataArray:
    v = np.asarray(values, dtype=np.float64)
    t = pd.date_range(start, periods=v.shape[0], freq="MS")
    return xr.DataArray(v, dims=("time", "y", "x"),
                        coords={"time": t, "y": np.arange(v.shape[1]) + 0.5, "x": np.arange(v.shape[2]) + 0.5})


def _synthetic(rng: np.random.Generator, end: str = "2023-09-01") -> xr.DataArray:
    n = len(pd.date_range("1981-01-01", end, freq="MS"))
    v = rng.gamma(1.3, 45.0, size=(n, 3, 4))
    v[rng.random(v.shape) < 0.08] = 0.0  # dry months: the zero mass of the mixed distribution
    return _monthly(v)


# --- latest month == full-series SPI ------------------------------------------------------------------------------


@pytest.mark.parametrize("distribution", ["gamma", "pearson3"])
def test_monitor__latest_month_equals_full_series_spi(rng, distribution, tmp_path):
    pr = _synthetic(rng)
    opts = MonitorOptions(month="2023-09", distribution=distribution)
    ind = monitor_indices(pr, opts, store=FitStore(tmp_path))
    assert ind.label == "2023-09" and ind.months[-1] == pd.Timestamp("2023-09-01") and len(ind.months) == 24
    for s in (1, 3, 6, 12, 24):
        full = spi(pr, s, "1991-2020", distribution)
        got = ind.values[s].values
        ref = full.sel(time=ind.months).values
        np.testing.assert_allclose(got, ref, rtol=0, atol=2e-6)
        assert np.isfinite(got[-1]).all()


def test_monitor__months_after_the_bulletin_month_are_ignored(rng, tmp_path):
    pr = _synthetic(rng)
    early = monitor_indices(pr.sel(time=slice(None, "2022-06-01")), MonitorOptions(month="2022-06"))
    late = monitor_indices(pr, MonitorOptions(month="2022-06"))
    for s in early.values:
        np.testing.assert_array_equal(early.values[s].values, late.values[s].values)


def test_monitor__fits_are_stored_and_reused_by_the_next_month(rng, tmp_path):
    pr = _synthetic(rng)
    store = FitStore(tmp_path / "cache")
    first = monitor_indices(pr.sel(time=slice(None, "2023-08-01")), MonitorOptions(month="2023-08"), store=store)
    assert first.fit_cache == {"reused": 0, "fitted": 5}
    assert len(list((tmp_path / "cache").glob("spi-*.npz"))) == 5
    second = monitor_indices(pr, MonitorOptions(month="2023-09"), store=FitStore(tmp_path / "cache"))
    assert second.fit_cache == {"reused": 5, "fitted": 0}
    fresh = monitor_indices(pr, MonitorOptions(month="2023-09"))
    for s in second.values:
        np.testing.assert_array_equal(second.values[s].values, fresh.values[s].values)
    # a changed reference-period value, another reference period or another distribution refits
    pr2 = pr.copy()
    pr2[200, 0, 0] += 5.0
    third = monitor_indices(pr2, MonitorOptions(month="2023-09"), store=FitStore(tmp_path / "cache"))
    assert third.fit_cache == {"reused": 0, "fitted": 5}
    other = monitor_indices(pr, MonitorOptions(month="2023-09", reference="1981-2010"),
                            store=FitStore(tmp_path / "cache"))
    assert other.fit_cache["fitted"] == 5


def test_monitor__missing_months_are_named_not_filled(rng):
    pr = _synthetic(rng)
    pr.loc[{"time": "2023-05-01"}] = np.nan  # a missing month
    pr.loc[{"time": "2023-07-01", "y": 0.5, "x": 0.5}] = np.nan  # one cell missing
    pr = pr.drop_sel(time=[pd.Timestamp("2022-11-01")])  # a month absent from the file
    ind = monitor_indices(pr, MonitorOptions(month="2023-09"))
    assert "2023-05" in ind.missing_months and "2022-11" in ind.missing_months
    assert ind.incomplete_months == {"2023-07": round(1 - 11 / 12, 4)}
    # accumulations over the missing month are missing; the others are not
    s3 = ind.values[3].to_series().unstack(["y", "x"])
    assert s3.loc["2023-05-01":"2023-07-01"].isna().all().all()
    assert s3.loc["2023-08-01"].isna().sum() == 1 and np.isnan(s3.loc["2023-08-01"][(0.5, 0.5)])  # the cell of 2023-07
    assert np.isfinite(ind.values[1].sel(time="2023-08-01").values).all()
    assert np.isnan(ind.values[12].sel(time="2023-09-01").values).all()
    assert ind.levels.sel(time="2023-05-01").values.tolist() == [[NODATA] * 4] * 3


def test_monitor__month_without_data_is_an_error(rng):
    pr = _synthetic(rng)
    with pytest.raises(MissingYearError, match="latest month in the input is 2023-09"):
        monitor_indices(pr, MonitorOptions(month="2023-10"))
    pr.loc[{"time": "2023-09-01"}] = np.nan
    with pytest.raises(MissingYearError, match=r"2023-09 has no value over the area.*2023-08"):
        monitor_indices(pr, MonitorOptions(month="2023-09"))
    with pytest.raises(ConfigError, match="YYYY-MM"):
        monitor_indices(pr, MonitorOptions(month="Sept"))
    with pytest.raises(MissingYearError, match="reference period 1961-1990"):
        monitor_indices(pr, MonitorOptions(month="2023-08", reference="1961-1990"))


# --- real data: CHIRPS Sierra de Neiba ----------------------------------------------------------------------------


def _read_chirps(shared_data) -> xr.DataArray:
    import rioxarray

    path = shared_data / CHIRPS
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    da = rioxarray.open_rasterio(path)
    t = pd.DatetimeIndex([pd.Timestamp(f"{d}-01") for d in da.attrs["long_name"]])
    return da.rename(band="time").assign_coords(time=t).astype("float64")


def _thom_scipy_spi(pr: xr.DataArray, scale: int, ref: tuple[int, int]) -> np.ndarray:
    """SPI of the last month, written independently: Thom's gamma estimate, scipy's gamma CDF and normal quantile."""
    v = pr.values
    t = pd.DatetimeIndex(pr["time"].values)
    acc = np.full(v.shape, np.nan)
    for k in range(scale - 1, v.shape[0]):
        acc[k] = v[k - scale + 1 : k + 1].sum(axis=0)
    m = t[-1].month
    sel = (t.month == m) & (t.year >= ref[0]) & (t.year <= ref[1])
    out = np.empty(v.shape[1:])
    for j in range(v.shape[1]):
        for i in range(v.shape[2]):
            x = acc[sel, j, i]
            x = x[np.isfinite(x)]
            assert (x > 0).all()  # CHIRPS here has no dry accumulation: no zero mass
            a = math.log(x.mean()) - np.log(x).mean()
            alpha = (1 + math.sqrt(1 + 4 * a / 3)) / (4 * a)
            beta = x.mean() / alpha
            p = scipy.stats.gamma.cdf(acc[-1, j, i], alpha, scale=beta)
            out[j, i] = np.clip(scipy.stats.norm.ppf(p), -3.09, 3.09)
    return out


@pytest.mark.realdata
@pytest.mark.parametrize("scale", [1, 3, 6, 12, 24])
def test_monitor__chirps_latest_month_against_independent_references(shared_data, scale, tmp_path):
    pr = _read_chirps(shared_data)
    ind = monitor_indices(pr, MonitorOptions(month="2023-09"), store=FitStore(tmp_path))
    got = ind.values[scale].sel(time="2023-09-01").values
    # the reporting SPI of the whole series at that month (same fits)
    full = spi(pr, scale, "1991-2020", "gamma").sel(time="2023-09-01").values
    np.testing.assert_allclose(got, full, rtol=0, atol=2e-6)
    # an independent computation (Thom + scipy)
    np.testing.assert_allclose(got, _thom_scipy_spi(pr, scale, (1991, 2020)), rtol=0, atol=1e-5)
    # and climate-indices (NOAA) when installed
    ci = pytest.importorskip("climate_indices")
    from climate_indices import compute, indices

    nt = pr.sizes["time"]
    pad = (-nt) % 12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(pr.sizes["y"]):
            for i in range(pr.sizes["x"]):
                series = np.concatenate([pr.values[:, j, i], np.full(pad, np.nan)])
                ref = indices.spi(series, scale, indices.Distribution.gamma, 1981, 1991, 2020,
                                  compute.Periodicity.monthly)[nt - 1]
                assert abs(got[j, i] - ref) < 1e-5, (ci.__name__, j, i)


# --- alert rules --------------------------------------------------------------------------------------------------


def test_alerts__hand_built_series():
    # one pixel, seven months; expected levels worked by hand from the default rules (data/drought/alert_rules.yaml)
    nan = np.nan
    idx = {
        1: [0.0, -2.1, 0.0, 0.0, 0.0, 0.0, nan],
        3: [0.0, 0.0, -1.2, -1.1, -1.0, -0.5, -0.5],
        6: [0.0, 0.0, -0.5, -1.2, -1.1, -1.6, -1.6],
        12: [0.0, 0.0, 0.0, 0.0, -1.2, -1.0, -1.0],
        24: [0.0] * 7,
    }
    arrays = {s: np.array(v)[:, None, None] for s, v in idx.items()}
    got = alert_levels(arrays, load_alert_rules())[:, 0, 0].tolist()
    # t1 SPI-1 <= -2: watch; t2 SPI-3 <= -1 once: watch; t3 SPI-3 two months and SPI-6 <= -1: warning;
    # t4 the same (-1.0 counts, thresholds are inclusive), SPI-6 <= -1 only 2 months: warning;
    # t5 SPI-6 <= -1 three months and SPI-12 <= -1: alert without a watch-level SPI-3; t6 SPI-1 missing: nodata
    assert got == [0, 1, 1, 2, 2, 3, NODATA]


def test_alerts__persistence_needs_every_month():
    rules = parse_alert_rules({"levels": [
        {"code": 0, "label": "none"},
        {"code": 1, "label": "dry 3 months", "any": [{"all": [{"scale": 1, "max": -1.0, "months": 3}]}]},
    ]})
    s1 = np.array([-1.5, -1.5, np.nan, -1.5, -1.5, -1.5, -0.9])[:, None]
    assert alert_levels({1: s1}, rules)[:, 0].tolist() == [0, 0, NODATA, 0, 0, 1, 0]


def test_alerts__unit_level_by_area_share():
    rules = load_alert_rules()
    assert rules.unit_min_share == 0.25
    # 20 % alert alone is below the share; alert + warning reach 30 %: warning
    assert unit_level({0: 0.5, 1: 0.2, 2: 0.1, 3: 0.2}, rules) == 2
    assert unit_level({0: 0.7, 3: 0.3}, rules) == 3
    assert unit_level({0: 0.9, 1: 0.1}, rules) == 0
    assert unit_level({NODATA: 1.0}, rules) == NODATA


def test_alerts__bad_rules_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown key"):
        parse_alert_rules({"levels": [{"code": 0, "label": "x"}], "thresholds": 1})
    with pytest.raises(ConfigError, match="condition"):
        parse_alert_rules({"levels": [{"code": 0, "label": "x"},
                                      {"code": 1, "label": "y", "any": [{"all": [{"scale": 3}]}]}]})
    with pytest.raises(ConfigError, match="0, 1, 2"):
        parse_alert_rules({"levels": [{"code": 1, "label": "x"}]})
    with pytest.raises(ConfigError, match="do not exist"):
        load_alert_rules(tmp_path / "nope.yaml")


@pytest.mark.parametrize("distribution", ["loglogistic", "pearson3"])
def test_monitor__spei_latest_month_equals_full_series_spei(rng, distribution):
    from openldn.drought import spei

    pr = _synthetic(rng)
    pet = pr.copy(data=rng.gamma(6.0, 12.0, size=pr.shape))
    ind = monitor_indices(pr, MonitorOptions(month="2023-09", index="spei", distribution=distribution), pet=pet)
    for s in (1, 6, 24):
        ref = spei(pr, pet, s, "1991-2020", distribution).sel(time=ind.months).values
        np.testing.assert_allclose(ind.values[s].values, ref, rtol=0, atol=2e-6)
    with pytest.raises(ConfigError, match="needs monthly PET"):
        monitor_indices(pr, MonitorOptions(month="2023-09", index="spei"))


def test_monitor__provisional_months_are_named(rng):
    pr = _synthetic(rng)
    ind = monitor_indices(pr, MonitorOptions(month="2023-08", provisional=("2023-08", "2023-09")))
    assert ind.provisional_months == ["2023-08"]  # 2023-09 is after the bulletin month
    assert ind.missing_months == [] and ind.incomplete_months == {}


def test_bulletin_text__every_language_has_every_template():
    import string

    import yaml

    from openldn.core.vocab import read_data_file
    from openldn.monitoring.text import languages, texts

    doc = read_data_file("drought/bulletin_text.yaml")
    assert {"en", "es", "fr"} <= set(languages())

    def fields(v: object) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(str(v)) if f}

    for lang in languages():
        assert set(doc[lang]) == set(doc["en"]), lang
        for key, v in doc["en"].items():
            if isinstance(v, str):
                assert fields(doc[lang][key]) == fields(v), (lang, key)
        assert len(doc[lang]["months"]) == 12 and set(doc[lang]["classes"]) == set(range(-3, 4))
    spi_codes = {c["code"] for c in yaml.safe_load(
        (Path(__file__).parents[2] / "src/openldn/data/drought/spi_map_classes.yaml").read_text())["classes"]}
    assert spi_codes == set(range(-3, 4))
    fr = texts("fr")
    assert fr.month(pd.Timestamp("2023-09-01")) == "septembre 2023" and fr.number(12345.6) == "12\u00a0346"
    assert texts("en").number(1234567.4) == "1,234,567"
    assert fr.level("alert", "Alert") == "Alerte" and fr.level("custom", "Custom") == "Custom"
    with pytest.raises(ConfigError, match="language 'de'"):
        texts("de")


def test_alerts__months_in_a_row():
    from openldn.monitoring.alerts import months_in_a_row

    # three pixels, five months: a run of 3 at the end, a run broken by nodata, a last month below watch
    lv = np.array([[0, 1, 0], [2, 3, 3], [1, NODATA, 1], [3, 2, 2], [1, 1, 0]])
    assert months_in_a_row(lv).tolist() == [4, 2, 0]
    assert months_in_a_row(lv, 2).tolist() == [0, 0, 0]
    assert months_in_a_row(np.array([[1], [NODATA]])).tolist() == [NODATA]
