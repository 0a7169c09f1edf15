"""The land cover code check reads the stack block by block: the same distinct codes as numpy over the whole stack."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import xarray as xr

from openldn.land_cover.stage import _unique_values


def test_unique_values__blockwise_equals_numpy_unique() -> None:
    rng = np.random.default_rng(3)
    data = rng.choice(np.array([10, 11, 30, 50, 190, 210, 255], dtype=np.uint8), size=(4, 30, 41))
    data[2, 29, 40] = 77  # one odd code in one corner of one block
    lazy = xr.DataArray(dsa.from_array(data, chunks=(4, 7, 9)), dims=("time", "y", "x"))
    assert lazy.data.npartitions > 1
    np.testing.assert_array_equal(_unique_values(lazy), np.unique(data))
    np.testing.assert_array_equal(_unique_values(xr.DataArray(data, dims=("time", "y", "x"))), np.unique(data))


def test_distinct_values__equals_numpy_unique_for_every_kind() -> None:
    from openldn.zonal import distinct_values

    rng = np.random.default_rng(5)
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32):
        info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
        lo, hi = (info.min, info.max) if info is not None else (-5, 5)
        data = rng.integers(lo, hi, size=(3, 17, 23), endpoint=True).astype(dtype)
        got = distinct_values(data)
        assert got.dtype == data.dtype
        np.testing.assert_array_equal(got, np.unique(data))
        np.testing.assert_array_equal(distinct_values(data[:, ::2, 1:]), np.unique(data[:, ::2, 1:]))  # a view
    with_nan = np.array([[1.0, np.nan], [np.nan, 3.0]], dtype=np.float32)
    np.testing.assert_array_equal(distinct_values(with_nan), np.unique(with_nan))


def test_map_values__the_rule_of_every_cell_for_every_kind() -> None:
    from openldn.core.blocks import map_values

    def rule(v: np.ndarray) -> np.ndarray:  # any vectorised rule: a class of each value, NaN as -1
        f = np.asarray(v, dtype=np.float64)
        return np.where(np.isnan(f), -1, (np.nan_to_num(f) * 7) % 5).astype(np.int16)

    rng = np.random.default_rng(7)
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32):
        info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
        lo, hi = (info.min, info.max) if info is not None else (-9, 9)
        data = rng.integers(lo, hi, size=(4, 19, 13), endpoint=True).astype(dtype)
        if info is None:
            data[0, 0, :3] = np.nan
        got = map_values(data, rule)
        assert got.shape == data.shape and got.dtype == np.int16
        np.testing.assert_array_equal(got, rule(data.ravel()).reshape(data.shape))
        view = data[:, 1::3, ::2]  # not contiguous
        np.testing.assert_array_equal(map_values(view, rule), rule(view.ravel()).reshape(view.shape))
