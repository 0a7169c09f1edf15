"""Annual vegetation index from sub-annual composites."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from openldn.catalog import annual_composite
from openldn.exceptions import ConfigError

DATES = pd.DatetimeIndex(["2001-01-01", "2001-04-01", "2001-07-01", "2001-10-01", "2002-01-01", "2002-07-01"])


def _stack(values: list[float]) -> xr.DataArray:
    arr = np.array(values, dtype="float32")[:, None, None] * np.ones((1, 2, 3), dtype="float32")
    return xr.DataArray(arr, dims=("time", "y", "x"), coords={"time": DATES}, attrs={"units": "1"})


def test_annual_composite__mean_max_and_time_at_1_january() -> None:
    da = _stack([0.2, 0.4, 0.6, 0.4, 0.5, 0.7])
    mean = annual_composite(da, method="mean")
    assert list(mean["time"].values) == list(pd.DatetimeIndex(["2001-01-01", "2002-01-01"]).values)
    np.testing.assert_allclose(mean.values[:, 0, 0], [0.4, 0.6], rtol=1e-6)
    assert mean.dtype == np.float32 and mean.attrs["annual_composite"] == "mean"
    np.testing.assert_allclose(annual_composite(da, method="MAX").values[:, 1, 2], [0.6, 0.7], rtol=1e-6)


def test_annual_composite__integral_by_hand() -> None:
    da = _stack([0.2, 0.4, 0.6, 0.4, 0.5, 0.7])
    out = annual_composite(da, method="integral")
    # 2001: days 0, 90, 181, 273 of 365; head 0, trapezoids 27 + 45.5 + 46, tail 0.4 * 92
    # 2002: days 0, 181 of 365; trapezoid (0.5 + 0.7) / 2 * 181, tail 0.7 * 184
    np.testing.assert_allclose(out.values[:, 0, 0], [27 + 45.5 + 46 + 36.8, 108.6 + 128.8], rtol=1e-5)
    assert out.attrs["units"] == "d"


def test_annual_composite__integral_bridges_gaps_and_min_count() -> None:
    da = _stack([0.2, 0.4, 0.6, 0.4, 0.5, 0.7])
    da[2, 0, 0] = np.nan  # July 2001 missing at one pixel
    da[4:, 1, 1] = np.nan  # 2002 fully missing at another
    out = annual_composite(da, method="integral")
    np.testing.assert_allclose(out.values[0, 0, 0], 27 + (0.4 + 0.4) / 2 * 183 + 36.8, rtol=1e-5)
    assert np.isnan(out.values[1, 1, 1])
    mean = annual_composite(da, method="mean", min_count=4)
    assert np.isnan(mean.values[0, 0, 0]) and not np.isnan(mean.values[0, 0, 1])
    np.testing.assert_allclose(annual_composite(da, method="mean").values[0, 0, 0], 1.0 / 3, rtol=1e-6)


def test_annual_composite__dask_stays_lazy() -> None:
    da = _stack([0.2, 0.4, 0.6, 0.4, 0.5, 0.7])
    lazy = da.copy(data=dsa.from_array(da.values, chunks=(2, 1, 3)))
    for method in ("mean", "integral"):
        out = annual_composite(lazy, method=method)
        assert out.chunks is not None
        np.testing.assert_allclose(out.values, annual_composite(da, method=method).values, rtol=1e-6)


def test_annual_composite__bad_method() -> None:
    with pytest.raises(ConfigError, match="mean, integral or max"):
        annual_composite(_stack([0.1] * 6), method="median")
