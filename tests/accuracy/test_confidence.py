"""Per-pixel confidence components: hand-computed values, NaN handling, laziness on dask."""

from __future__ import annotations

import math

import dask.array as dsa
import numpy as np
import pytest
import xarray as xr

from openldn.accuracy.confidence import (
    confidence_class,
    pixel_confidence,
    threshold_distance,
    trend_decisiveness,
    year_coverage,
)
from openldn.core.codes import NODATA
from openldn.exceptions import ConfigError


def test_trend_decisiveness_by_hand() -> None:
    p = np.array([0.05, 0.005, 0.5, 0.0158113883, 1e-12, 1.0, np.nan])
    got = trend_decisiveness(p, alpha=0.05)
    # |log10 p - log10 0.05|: 0, 1, 1, 0.5, capped 1, log10(20) = 1.301 -> 1, NaN
    np.testing.assert_allclose(got[:6], [0.0, 1.0, 1.0, 0.5, 1.0, 1.0], atol=1e-9)
    assert math.isnan(got[6])
    assert trend_decisiveness(np.array([0.5]), alpha=0.05, decades=2.0)[0] == pytest.approx(0.5)


def test_year_coverage_and_threshold_distance_by_hand() -> None:
    np.testing.assert_allclose(year_coverage(np.array([16, 13, 10, 8]), 16, min_years=10), [1.0, 0.5, 0.0, 0.0])
    ratio = np.array([0.5, 0.55, 0.3, 0.62, np.nan])
    np.testing.assert_allclose(threshold_distance(ratio, 0.5, 0.1)[:4], [0.0, 0.5, 1.0, 1.0])
    z = np.array([0.0, 1.46, -2.46, 1.96])
    np.testing.assert_allclose(threshold_distance(z, (-1.96, 1.96), 1.0), [1.0, 0.5, 0.5, 0.0], atol=1e-12)
    with pytest.raises(ConfigError):
        threshold_distance(z, 0.5, 0.0)
    with pytest.raises(ConfigError):
        year_coverage(np.array([3]), 10, min_years=10)


def test_minimum_combination_and_classes() -> None:
    a = np.array([0.9, 0.2, 0.5, np.nan])
    b = np.array([0.8, 0.9, 0.7, 0.9])
    c = pixel_confidence(a, b)
    np.testing.assert_allclose(c[:3], [0.8, 0.2, 0.5])
    assert math.isnan(c[3])
    assert confidence_class(c).tolist() == [3, 1, 2, NODATA]
    assert confidence_class(np.array([1 / 3, 2 / 3])).tolist() == [2, 3]


def test_lazy_on_dask(no_dask_compute) -> None:  # type: ignore[no-untyped-def]
    p = xr.DataArray(dsa.from_array(np.array([[0.05, 0.005], [np.nan, 0.5]]), chunks=1), dims=("y", "x"))
    n = xr.DataArray(dsa.from_array(np.array([[16, 13], [16, 10]]), chunks=1), dims=("y", "x"))
    with no_dask_compute():
        score = pixel_confidence(trend_decisiveness(p), year_coverage(n, 16, min_years=10))
        cls = confidence_class(score)
    assert isinstance(cls.data, dsa.Array)
    assert cls.dtype == np.int16
    np.testing.assert_array_equal(cls.values, [[1, 2], [NODATA, 1]])
