"""Drought intensity classes (boundaries at exactly 0, -1, -1.5, -2), annual index and 4-year maximum maps."""

from __future__ import annotations

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from openldn.core.codes import NODATA
from openldn.core.periods import year_coords
from openldn.drought import annual_index, drought_class, drought_legend, drought_windows, max_intensity
from openldn.exceptions import ConfigError


def _grid(values, years=None) -> xr.DataArray:
    v = np.asarray(values)
    if years is None:
        return xr.DataArray(v.reshape(1, -1), dims=("y", "x"))
    return xr.DataArray(v.reshape(len(years), 1, -1), dims=("time", "y", "x"), coords={"time": year_coords(years)})


SPI_EDGES = [0.5, 0.0, -0.0001, -0.5, -0.9999, -1.0, -1.2, -1.5, -1.7, -2.0, -2.5, np.nan]


def test_drought_class__upper_inclusive_boundaries():
    # manual Table 19 read directly: > 0 non-drought, (-1, 0] mild, (-1.5, -1] moderate, (-2, -1.5] severe, <= -2
    out = drought_class(_grid(SPI_EDGES))
    assert out.dtype == np.int16 and out.attrs["_FillValue"] == NODATA
    assert out.values.ravel().tolist() == [0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, NODATA]


def test_drought_class__lower_inclusive_boundaries_trends_earth():
    # Trends.Earth: >= 0 non-drought, [-1, 0) mild, [-1.5, -1) moderate, [-2, -1.5) severe, < -2 extreme
    out = drought_class(_grid(SPI_EDGES), boundaries="lower_inclusive")
    assert out.values.ravel().tolist() == [0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, NODATA]


def test_drought_class__float32_values_exactly_on_the_bounds():
    spi32 = _grid(np.array([0.0, -1.0, -1.5, -2.0], dtype=np.float32))
    assert drought_class(spi32).values.ravel().tolist() == [1, 2, 3, 4]
    assert drought_class(spi32, boundaries="lower_inclusive").values.ravel().tolist() == [0, 1, 2, 3]


def test_drought_class__lazy_and_bad_option():
    arr = _grid(SPI_EDGES)
    lazy = arr.copy(data=dsa.from_array(arr.values, chunks=(1, 4)))
    with dask.config.set(scheduler="sync"):
        out = drought_class(lazy)
    assert isinstance(out.data, dsa.Array)
    np.testing.assert_array_equal(out.values, drought_class(arr).values)
    with pytest.raises(ConfigError, match="upper_inclusive"):
        drought_class(arr, boundaries="closed")


def test_drought_legend_matches_codes():
    legend = drought_legend()
    assert [c.code for c in legend.classes] == [0, 1, 2, 3, 4]
    assert legend.nodata == NODATA


def test_drought_windows__prais_2026():
    w = drought_windows(2000, 2023)
    assert [p.label for p in w] == ["2000-2003", "2004-2007", "2008-2011", "2012-2015", "2016-2019", "2020-2023"]
    assert [p.label for p in drought_windows(2000, 2009)] == ["2000-2003", "2004-2007", "2008-2009"]


def test_max_intensity__all_four_years_count():
    # (mild, mild, moderate, mild) -> moderate; an extreme 4th year shows (Trends.Earth uses only 3 of 4 years)
    years = [2000, 2001, 2002, 2003]
    classes = _grid(np.array([[1, 0, NODATA], [1, 0, NODATA], [2, 0, 1], [1, 4, NODATA]], dtype=np.int16), years)
    out = max_intensity(classes)
    assert out.dims == ("period", "y", "x") and out.dtype == np.int16
    assert out["period"].values.tolist() == ["2000-2003"]
    assert out.values.ravel().tolist() == [2, 4, 1]


def test_max_intensity__nodata_and_missing_years():
    years = [2000, 2001, 2004, 2005, 2006]
    data = np.array([[NODATA, 3], [NODATA, 0], [NODATA, 1], [0, NODATA], [NODATA, NODATA]], dtype=np.int16)
    out = max_intensity(_grid(data, years), drought_windows(2000, 2007))
    assert out.sel(period="2000-2003").values.ravel().tolist() == [NODATA, 3]
    assert out.sel(period="2004-2007").values.ravel().tolist() == [0, 1]
    assert out.attrs["window_years"]["2000-2003"] == [2000, 2001]
    assert out.attrs["window_missing_years"]["2004-2007"] == [2007]


def test_annual_index__december_values_and_missing_years():
    t = pd.date_range("1999-01-01", "2001-09-01", freq="MS")
    v = np.arange(t.size, dtype=float).reshape(-1, 1, 1)
    monthly = xr.DataArray(v, dims=("time", "y", "x"), coords={"time": t})
    out = annual_index(monthly, month=12, years="1999-2001")
    assert out.values.ravel()[:2].tolist() == [11.0, 23.0] and np.isnan(out.values.ravel()[2])
    assert out.attrs["missing_years"] == [2001]
    assert pd.DatetimeIndex(out["time"].values).year.tolist() == [1999, 2000, 2001]


def test_annual_index_and_max_intensity__stay_lazy():
    class _Counter:
        n = 0

        def __call__(self, dsk, keys, **kw):
            _Counter.n += 1
            return dask.get(dsk, keys, **kw)

    t = pd.date_range("2000-01-01", "2007-12-01", freq="MS")
    rng = np.random.default_rng(1)
    spi = xr.DataArray(dsa.from_array(rng.normal(size=(t.size, 3, 4)), chunks=(t.size, 2, 2)),
                       dims=("time", "y", "x"), coords={"time": t})
    with dask.config.set(scheduler=_Counter()):
        annual = annual_index(spi, month=12)
        classes = drought_class(annual)
        maxima = max_intensity(classes)
    assert _Counter.n == 0 and isinstance(maxima.data, dsa.Array)
    expected = drought_class(annual.compute()).values.reshape(2, 4, 3, 4).max(axis=1)
    np.testing.assert_array_equal(maxima.values, expected)
