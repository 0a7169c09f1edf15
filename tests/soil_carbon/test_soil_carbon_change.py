"""SOC degradation: the 10 % rule at and around the threshold, strictness, nodata, water, statistical test."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from openldn.exceptions import ConfigError
from openldn.soil_carbon import degradation, relative_change, statistical_degradation

FINALS = [80, 89, 89.999, 90, 90.001, 95, 100, 105, 109.999, 110, 110.001, 111, 130]
#            hand classification of (final - 100) / 100 against 10 %
STRICT = [-1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]  # exactly +/-10 % is stable ("more than")
INCLUSIVE = [-1, -1, -1, -1, 0, 0, 0, 0, 0, 1, 1, 1, 1]


def _row(values: list[float]) -> xr.DataArray:
    return xr.DataArray(np.array([values], dtype=np.float64), dims=("y", "x"))


def test_degradation__ten_percent_rule_strict_and_inclusive() -> None:
    init = _row([100] * len(FINALS))
    assert degradation(init, _row(FINALS)).values.tolist() == [STRICT]
    assert degradation(init, _row(FINALS), strict=False).values.tolist() == [INCLUSIVE]


@pytest.mark.parametrize("initial", [30, 57, 250, 386])
def test_degradation__exact_threshold_for_other_stocks(initial: int) -> None:
    # stocks exactly 10 % apart in decimal (57 -> 51.3 is not exact in binary: must still be 'at' the threshold)
    lo, hi = initial * 9 / 10, initial * 11 / 10
    init = _row([initial] * 4)
    fin = _row([lo, hi, lo - 0.01, hi + 0.01])
    assert degradation(init, fin).values.tolist() == [[0, 0, -1, 1]]
    assert degradation(init, fin, strict=False).values.tolist() == [[-1, 1, -1, 1]]


def test_degradation__threshold_parameter_and_rounding() -> None:
    init, fin = _row([100, 100, 100]), _row([85, 79, 121])
    assert degradation(init, fin, 0.2).values.tolist() == [[0, -1, 1]]
    # 10.4 -> 9.4 is -9.6 % exactly, but -10 % on stocks rounded to whole t/ha (10 -> 9)
    assert degradation(_row([10.4]), _row([9.4])).values.tolist() == [[0]]
    assert degradation(_row([10.4]), _row([9.4]), strict=False, round_stocks=True).values.tolist() == [[-1]]
    with pytest.raises(ConfigError):
        degradation(init, fin, 10)


def test_degradation__nodata_zero_and_water(no_dask_compute) -> None:
    init = xr.DataArray(np.array([[0, -32767, 50, 50, 50]], dtype=np.int16), dims=("y", "x"))
    init = init.assign_attrs(_FillValue=-32767)
    fin = xr.DataArray(np.array([[10, 50, -32767, 40, 40]], dtype=np.int16), dims=("y", "x"))
    fin = fin.assign_attrs(_FillValue=-32767)
    water = xr.DataArray(np.array([[False, False, False, False, True]]), dims=("y", "x"))
    out = degradation(init, fin, water=water)
    assert out.dtype == np.int16
    assert out.values.tolist() == [[-32768, -32768, -32768, -1, -32768]]
    with no_dask_compute():
        lazy = degradation(init.chunk(2), fin.chunk(2), water=water.chunk(2))
    assert isinstance(lazy.data, da.Array)
    np.testing.assert_array_equal(lazy.compute().values, out.values)
    np.testing.assert_allclose(relative_change(init, fin).values[0, 3], -0.2)


def test_statistical_degradation__two_sd_interval() -> None:
    # baseline stocks 98, 100, 102 (mean 100, sd 2): interval [96, 104]
    base = xr.DataArray(np.array([[[98] * 5], [[100] * 5], [[102] * 5]], dtype=np.float64),
                        dims=("time", "y", "x"))
    rep = _row([95, 96, 100, 104, 104.5])
    assert statistical_degradation(base, rep).values.tolist() == [[-1, 0, 0, 0, 1]]
    one = _row([100] * 5)
    # sd 1: interval [98, 102]
    assert statistical_degradation(one, rep, baseline_sd=1.0).values.tolist() == [[-1, -1, 0, 1, 1]]
    with pytest.raises(ConfigError):
        statistical_degradation(one, rep)


@pytest.mark.parametrize("strict", [True, False])
def test_change_kernels__every_cell_as_the_scalar_rule(strict: bool) -> None:
    from openldn.soil_carbon.change import THRESHOLD_TOLERANCE, _classify_block, _ratio

    rng = np.random.default_rng(5)
    a = rng.choice([0.0, -2.0, np.nan, 40.0, 57.0, 100.0], (23, 31))
    b = a * rng.choice([0.9, 1.1, 0.85, 1.2, 1.0, 0.95], a.shape)
    b[rng.random(a.shape) < 0.05] = np.nan
    water = rng.random(a.shape) < 0.1
    ratio = _ratio(a, b)
    classes = _classify_block(ratio, water, threshold=0.1, strict=strict)
    for (i, j), x in np.ndenumerate(a):  # the documented rule, cell by cell in Python floats
        y = b[i, j]
        want = (y - x) / x if x > 0 else math.nan
        assert (math.isnan(want) and math.isnan(ratio[i, j])) or ratio[i, j] == want
        if math.isnan(want) or water[i, j]:
            assert classes[i, j] == -32768
            continue
        at_lo, at_hi = abs(want + 0.1) <= THRESHOLD_TOLERANCE, abs(want - 0.1) <= THRESHOLD_TOLERANCE
        if strict:
            deg, imp = want < -0.1 and not at_lo, want > 0.1 and not at_hi
        else:
            deg, imp = want <= -0.1 or at_lo, want >= 0.1 or at_hi
        assert classes[i, j] == (-1 if deg else 1 if imp else 0), (x, y, want)
