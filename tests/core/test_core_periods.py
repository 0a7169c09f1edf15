"""Periods and productivity windows (standard.md §2.3, Table 12)."""

from __future__ import annotations

import pytest

from openldn.core.periods import Period, productivity_windows
from openldn.exceptions import PeriodError


@pytest.mark.parametrize("value", ["2000-2015", "2000 – 2015", (2000, 2015), "2000/2015", {"start": 2000, "end": 2015}])
def test_period__from_user_input(value: object) -> None:
    p = Period.from_user_input(value)  # type: ignore[arg-type]
    assert (p.start, p.end, p.label, p.n_years) == (2000, 2015, "2000-2015", 16)


@pytest.mark.parametrize("value", ["2015-2000", "20-2015", "abc", (2000,), True])
def test_period__bad_input_is_one_line_error(value: object) -> None:
    with pytest.raises(PeriodError) as info:
        Period.from_user_input(value)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_period__is_frozen() -> None:
    p = Period.from_user_input("2000-2015")
    with pytest.raises(AttributeError):
        p.start = 2001  # type: ignore[misc]


@pytest.mark.parametrize(
    ("period", "trend", "hist", "recent"),
    [
        ("2000-2015", "2000-2015", "2000-2012", "2013-2015"),
        ("2016-2019", "2004-2019", "2004-2016", "2017-2019"),
        ("2016-2023", "2008-2023", "2008-2020", "2021-2023"),
    ],
)
def test_productivity_windows__prais_2026_table12(period: str, trend: str, hist: str, recent: str) -> None:
    w = productivity_windows(period)
    assert w.trend.label == trend
    assert w.state_baseline.label == hist
    assert w.state_recent.label == recent
    assert w.performance.label == trend
    assert w.to_attrs()["trend_window"] == trend


def test_productivity_windows__from_last_year_of_data() -> None:
    # default LC/VI data ending 2022: windows are built from E, not from the period's first year
    w = productivity_windows("2016-2023", end_year=2022)
    assert w.trend.label == "2007-2022"
    assert w.state_recent.label == "2020-2022"


def test_year_band__the_first_step_of_the_year_with_or_without_its_time() -> None:
    import numpy as np
    import pandas as pd
    import xarray as xr

    from openldn.core.periods import year_band

    data = np.arange(4 * 2 * 3).reshape(4, 2, 3)
    times = pd.to_datetime(["2000-01-01", "2003-01-01", "2003-07-01", "2005-01-01"])
    da = xr.DataArray(data, dims=("time", "y", "x"), coords={"time": times})
    band = year_band(da, 2003)
    np.testing.assert_array_equal(band.values, data[1])  # the first of the two 2003 steps
    assert band["time"].values == times[1]
    assert "time" not in year_band(da, 2005, drop=True).coords
    ints = da.assign_coords(time=[2000, 2003, 2004, 2005])  # integer years
    np.testing.assert_array_equal(year_band(ints, 2004).values, data[2])
    with pytest.raises(IndexError):
        year_band(da, 2001)
