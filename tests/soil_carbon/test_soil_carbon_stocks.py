"""Tier 1 SOC stocks: hand-worked linear/geometric changes, annual and two-date land cover, nodata, laziness."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from openldn.exceptions import MissingYearError
from openldn.soil_carbon import tier1_stock


def _lc(series: list[list[int]], years: list[int]) -> xr.DataArray:
    """Land cover (time, 1, n) from one class series per pixel."""
    arr = np.array(series, dtype=np.int16).T[:, None, :]
    return xr.DataArray(arr, dims=("time", "y", "x"),
                        coords={"time": pd.DatetimeIndex([f"{y}-01-01" for y in years], name="time")})


def _soc(values: list[float]) -> xr.DataArray:
    return xr.DataArray(np.array([values], dtype=np.float32), dims=("y", "x"))


def test_tier1_stock__trends_earth_worked_examples() -> None:
    # reference-implementation.md §6.3: SOC 50, f 0.69, 2000 -> 2015, change at mid-period (8 years)
    lc = _lc([[1, 3], [3, 1], [2, 5], [6, 2], [2, 2]], [2000, 2015])
    out = tier1_stock(_soc([50] * 5), lc, 0.69)
    expected_2015 = [
        50 - 50 * (1 - 0.69) / 20 * 8,  # 43.8
        50 - 50 * (1 - 1 / 0.69) / 20 * 8,  # 58.98
        50 - 50 * (1 - 0.1) / 20 * 8,  # 32
        50 - 50 * (1 - 2) / 20 * 8,  # 70
        50,
    ]
    np.testing.assert_allclose(out.values[0, 0], 50)
    np.testing.assert_allclose(out.values[1, 0], expected_2015, rtol=1e-6)
    assert out.dims == ("time", "y", "x")
    assert out.attrs["units"] == "t C ha-1"


def test_tier1_stock__annual_land_cover_twenty_years() -> None:
    years = list(range(2000, 2026))
    forest_to_crop = [1] + [3] * 25  # change in the first year
    stable = [2] * 26
    out = tier1_stock(_soc([80, 80]), _lc([forest_to_crop, stable], years), "tropical_moist")
    rate = 80 * (1 - 0.48) / 20
    expected = [80 - rate * min(k, 20) for k in range(26)]
    np.testing.assert_allclose(out.values[:, 0, 0], expected, rtol=1e-5)
    np.testing.assert_allclose(out.values[:, 0, 1], 80)


def test_tier1_stock__second_change_restarts_from_current_stock() -> None:
    years = list(range(2000, 2011))
    series = [1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 5]  # forest -> crop in 2001-2002, crop -> artificial in 2005-2006
    out = tier1_stock(_soc([100]), _lc([series], years), 0.5).values[:, 0, 0]
    s = [100.0, 100.0]
    r1 = 100 * (1 - 0.5) / 20
    for _ in range(4):  # 2002..2005
        s.append(s[-1] - r1)
    r2 = s[-1] * (1 - 0.1) / 20
    for _ in range(5):  # 2006..2010
        s.append(s[-1] - r2)
    np.testing.assert_allclose(out, s, rtol=1e-5)


def test_tier1_stock__geometric_and_start_timing() -> None:
    lc = _lc([[1, 3]], [2015, 2019])
    geo = tier1_stock(_soc([60]), lc, 0.58, annualisation="geometric_20y").values[1, 0, 0]
    assert geo == pytest.approx(60 * 0.58 ** (2 / 20), rel=1e-5)  # mid-period: 2 of 4 years
    start = tier1_stock(_soc([60]), lc, 0.58, transition_timing="start").values[1, 0, 0]
    assert start == pytest.approx(60 - 60 * 0.42 / 20 * 4, rel=1e-5)


def test_tier1_stock__nodata_and_missing_climate() -> None:
    years = [2000, 2001, 2002]
    lc = _lc([[1, 1, 1], [1, -32768, 1], [2, 3, 3], [2, 5, 5]], years)
    soc = xr.DataArray(np.array([[np.nan, 40, 40, 40]], dtype=np.float32), dims=("y", "x"))
    out = tier1_stock(soc, lc, None).values[:, 0]  # no climate: f unknown
    assert np.isnan(out[:, 0]).all()
    assert out[0, 1] == 40 and np.isnan(out[1:, 1]).all()
    assert np.isnan(out[1:, 2]).all()  # grassland -> cropland needs f
    np.testing.assert_allclose(out[:, 3], [40, 40 - 40 * 0.9 / 20, 40 - 2 * 40 * 0.9 / 20], rtol=1e-5)


def test_tier1_stock__reference_year_and_zone_raster(no_dask_compute) -> None:
    years = [1995, 2000, 2005]
    lc = _lc([[1, 1, 3], [1, 1, 3]], years)
    zones = xr.DataArray(np.array([[9, 12]], dtype=np.uint8), dims=("y", "x"))
    out = tier1_stock(_soc([50, 50]), lc, zones, soc_year=2000)
    assert out.sizes["time"] == 2
    # 2000 -> 2005, change at mid-interval 2002: 3 years of change
    np.testing.assert_allclose(out.values[1, 0], [50 - 50 * 0.36 / 20 * 3, 50 - 50 * 0.42 / 20 * 3], rtol=1e-5)
    with pytest.raises(MissingYearError, match="2001"):
        tier1_stock(_soc([50, 50]), lc, zones, soc_year=2001)
    with no_dask_compute():
        lazy = tier1_stock(_soc([50, 50]).chunk(1), lc.chunk({"x": 1, "time": 1}), zones.chunk(1), soc_year=2000)
    assert isinstance(lazy.data, da.Array)
    np.testing.assert_allclose(lazy.compute().values, out.values)


def test_tier1_stock__chunked_equals_in_memory(rng: np.random.Generator) -> None:
    years = [2000, 2003, 2004, 2010, 2015, 2016, 2019, 2023]
    lc = rng.integers(1, 8, size=(len(years), 23, 17)).astype(np.int16)
    lc[rng.random(lc.shape) < 0.02] = -32768
    soc = rng.uniform(0, 120, size=(23, 17)).astype(np.float32)
    soc[rng.random(soc.shape) < 0.05] = np.nan
    zones = rng.integers(0, 13, size=(23, 17)).astype(np.uint8)
    lc_da = xr.DataArray(lc, dims=("time", "y", "x"), coords={"time": pd.DatetimeIndex(
        [f"{y}-01-01" for y in years], name="time")})
    soc_da = xr.DataArray(soc, dims=("y", "x"))
    z_da = xr.DataArray(zones, dims=("y", "x"))
    for mode in ("linear_20y", "geometric_20y"):
        ref = tier1_stock(soc_da, lc_da, z_da, annualisation=mode)
        lazy = tier1_stock(soc_da.chunk(7), lc_da.chunk({"y": 7, "x": 5}), z_da.chunk(7), annualisation=mode)
        np.testing.assert_array_equal(lazy.compute().values, ref.values)
        # stocks never become negative, and the first step is the reference stock
        assert np.nanmin(ref.values) >= 0
        np.testing.assert_array_equal(ref.values[0], soc)
        # only some years returned: the same stocks (the recurrence still runs over every year)
        some = tier1_stock(soc_da.chunk(7), lc_da.chunk({"y": 7, "x": 5}), z_da.chunk(7), annualisation=mode,
                           years=[2004, 2019])
        assert [int(v) for v in some["time"].dt.year] == [2004, 2019]
        np.testing.assert_array_equal(some.values, ref.values[[2, 6]])
    with pytest.raises(MissingYearError, match="2005"):
        tier1_stock(soc_da, lc_da, z_da, years=[2004, 2005])


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("out_dtype", [np.float32, np.float64])
def test_as_stock__declared_fill_and_minus_32768_become_nan(dtype: type, out_dtype: type) -> None:
    from openldn.soil_carbon.stocks import as_stock

    rng = np.random.default_rng(4)
    a = (rng.random((30, 40)) * 200).astype(dtype)
    a[0, :5] = 7  # the declared fill
    if np.dtype(dtype).kind != "u":
        a[1, :5] = -32768
    if np.dtype(dtype).kind == "f":
        a[2, :5] = np.nan
    arr = xr.DataArray(a, dims=("y", "x"), attrs={"_FillValue": 7, "units": "t C ha-1"})
    # numpy: the values as out_dtype, NaN on the fill and on -32768
    want = np.where(np.isin(a, [7, -32768]), np.nan, a.astype(out_dtype)).astype(out_dtype)
    for src in (arr, arr.chunk({"y": 7, "x": 9})):
        got = as_stock(src, out_dtype)
        assert got.dtype == out_dtype and got.attrs == {"units": "t C ha-1"}
        np.testing.assert_array_equal(got.values, want)
