"""The input checks' one-pass scan (issue 14, values scanned as read) against numpy on the masked values.

The expected statistics are those of the earlier implementation, which masked the input first: the values where
they are valid (not NaN, not the ``_FillValue``) and inside the AOI, NaN elsewhere, in the precision xarray's
``where`` gives them (float32 for 8- and 16-bit integers), then ``nanmin``/``nanmax``/counts per time step, the
sentinels compared in that precision, the cells covered in any step, and for float inputs the count of masked values
``% 1 != 0`` (NaN included, i.e. also the cells masked out). Here they are computed with numpy only.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr

from openldn.io.checks import FILL_SENTINELS, _sentinels, _stats

NT, NY, NX = 6, 23, 31
# as stored, and read after a 0.0001 scale; plus 0.1, which float32 does not hold exactly (compared in float32), and
# zero (which negative zero equals, in other bits)
SENTINELS = [*_sentinels(SimpleNamespace(scale=0.0001, offset=None)), 0.1, 0.0]


def _twin(value: float, dtype: Any) -> Any:
    """A value of ``dtype`` other than ``value`` whose bit pattern has the same 16-bit key (the scan compares only
    the cells whose key is a sentinel's: a twin must be compared, and not counted)."""
    udt = np.dtype(f"u{np.dtype(dtype).itemsize}")
    bits = np.asarray(value, dtype=dtype).view(udt)
    flip = udt.type(0x0001_0001 if udt.itemsize == 4 else 0x0001_0000_0000_0001)
    twin = np.asarray(bits ^ flip, dtype=udt).view(dtype)
    assert twin != np.asarray(value, dtype=dtype)
    return twin


def _values(kind: str) -> tuple[np.ndarray, Any]:
    """Values with fill cells, sentinels and (float) NaN/inf/non-integers; returns (values, _FillValue)."""
    rng = np.random.default_rng(140)
    if kind == "int16":
        v = rng.integers(-2000, 9000, size=(NT, NY, NX)).astype(np.int16)
        v[rng.random(v.shape) < 0.1] = -32768  # the declared fill
        v[1, :4] = -9999  # an undeclared sentinel
        v[2, 5, :] = 32767
        v[3] = -32768  # a step with no valid value
        return v, np.int16(-32768)
    if kind == "int32":
        v = rng.integers(-2000, 90000, size=(NT, NY, NX)).astype(np.int32)
        v[rng.random(v.shape) < 0.1] = -99999  # the declared fill
        v[1, :4] = -9999  # an undeclared sentinel
        v[2, 5, :] = 65535
        v[3, 2, :5] = _twin(-9999, np.int32)
        v[4, :, 3] = 0  # zero: a sentinel here
        return v, np.int32(-99999)
    if kind == "uint8":
        v = rng.choice(np.array([10, 50, 130, 210], np.uint8), size=(NT, NY, NX))
        v[rng.random(v.shape) < 0.1] = 0  # fill
        v[:, :, :3] = 255  # sentinel at the edge
        return v, np.uint8(0)
    dtype = np.float64 if kind == "float64" else np.float32
    v = rng.normal(0.4, 0.3, size=(NT, NY, NX)).astype(dtype)
    v[rng.random(v.shape) < 0.1] = np.nan
    v[0, 0, :5] = np.inf
    v[0, 1, :2] = -np.inf
    v[1, 2:6] = np.round(v[1, 2:6] * 10)  # whole numbers
    v[2, :3] = -9999.0  # sentinel as stored
    v[2, 3, :4] = np.float32(SENTINELS[len(FILL_SENTINELS)])  # -9999 read after the scale (-0.9999 in float32)
    v[3, 7, :6] = np.float32(0.1)  # 0.1 as a float32 file holds it
    v[3, 8, :3] = _twin(-9999.0, dtype)  # shares the key of a sentinel's bits, is not one
    v[3, 9, :2], v[3, 9, 2:5] = 0.0, -0.0  # both equal the zero sentinel
    v[4] = np.nan  # a step with no valid value
    if kind == "float32-fill":
        v[5, :, :7] = -3000.0
        return v, -3000.0  # a numeric fill on a float input (Python float, as attrs hold it)
    return v, None


def _expected(v: np.ndarray, fill: Any, inside: np.ndarray, sentinels: list[float]) -> dict[str, Any]:
    """The statistics of the masked values, numpy only."""
    masked_dtype = np.float32 if v.dtype.itemsize <= 2 or v.dtype == np.float32 else np.float64
    valid = ~np.isnan(v.astype(np.float64))
    if fill is not None:
        valid &= v != fill
    m = np.where(valid & inside, v, np.nan).astype(masked_dtype)
    ok = ~np.isnan(m)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN steps
        mn, mx = np.nanmin(m, axis=(1, 2)), np.nanmax(m, axis=(1, 2))
        frac = int(np.count_nonzero(np.mod(m, 1) != 0))
    out = {"n_valid": ok.sum(axis=(1, 2)), "min": mn.astype(np.float64), "max": mx.astype(np.float64),
           "n_aoi": int(inside.sum()), "covered": int(ok.any(axis=0).sum()), "fractional": frac}
    for s in sentinels:
        out[f"sentinel_{s}"] = int(np.count_nonzero(m == masked_dtype(s)))
    return out


def _case(kind: str, chunks: tuple[int, int, int] | None, static: bool = False
          ) -> tuple[xr.DataArray, xr.DataArray, np.ndarray, Any, np.ndarray]:
    v, fill = _values(kind)
    if static:
        v = v[0]
    inside = np.random.default_rng(7).random((NY, NX)) > 0.3
    inside[:, -2:] = False
    yx = {"y": 100.0 - np.arange(NY), "x": np.arange(NX, dtype=float)}
    dims = ("y", "x") if static else ("time", "y", "x")
    coords = yx if static else {"time": np.arange(NT), **yx}
    data = v if chunks is None else dsa.from_array(v, chunks=chunks[1:] if static else chunks)
    da = xr.DataArray(data, dims=dims, coords=coords)
    if fill is not None:
        da.attrs["_FillValue"] = fill
    mask = xr.DataArray(inside, dims=("y", "x"), coords=yx)
    return da, mask, v, fill, inside


def _assert_stats(st: dict[str, Any], exp: dict[str, Any], floating: bool, sentinels: list[float]) -> None:
    np.testing.assert_array_equal(st["n_valid"], exp["n_valid"])
    np.testing.assert_array_equal(np.asarray(st["min"], float), exp["min"])
    np.testing.assert_array_equal(np.asarray(st["max"], float), exp["max"])
    assert st["n_aoi"] == exp["n_aoi"]
    assert st["covered"] == exp["covered"]
    if floating:
        assert st["fractional"] == exp["fractional"]
    else:
        assert "fractional" not in st
    assert {s: st[f"sentinel_{s}"] for s in sentinels} == {s: exp[f"sentinel_{s}"] for s in sentinels}


CHUNKS = [None, (NT, 23, 31), (NT, 8, 10), (2, 23, 31), (1, 7, 16), (4, 11, 5)]


@pytest.mark.parametrize("kind", ["int16", "uint8", "int32", "float32", "float32-fill", "float64"])
@pytest.mark.parametrize("chunks", CHUNKS, ids=lambda c: "numpy" if c is None else "x".join(map(str, c)))
def test_stats__match_numpy_on_the_masked_values(kind: str, chunks: tuple[int, int, int] | None) -> None:
    da, mask, v, fill, inside = _case(kind, chunks)
    (st,) = dask.compute(_stats("x", da, mask, SENTINELS))
    exp = _expected(v, fill, inside, SENTINELS)
    planted = {"int16": -9999.0, "uint8": 255.0, "int32": -9999.0, "float32": 0.1,
               "float32-fill": SENTINELS[len(FILL_SENTINELS)], "float64": -9999.0}
    assert exp[f"sentinel_{planted[kind]}"] > 0  # the case holds what it is meant to test
    if kind in ("int32", "float32", "float64"):
        assert exp["sentinel_0.0"] >= (3 if kind == "int32" else 5)  # zero (and negative zero)
    _assert_stats(st, exp, np.issubdtype(v.dtype, np.floating), SENTINELS)
    if v.dtype.kind in "iu" and v.dtype.itemsize <= 2:  # the values present: every cell, fill and outside included
        np.testing.assert_array_equal(st["codes"], np.unique(v).astype(np.int64))
        assert kind != "int16" or -32768 in st["codes"]  # the fill's cells count
    else:
        assert "codes" not in st


@pytest.mark.parametrize("kind", ["int16", "uint8", "float32"])
@pytest.mark.parametrize("chunks", [None, (NT, 8, 10)], ids=["numpy", "dask"])
def test_stats__static_input(kind: str, chunks: tuple[int, int, int] | None) -> None:
    da, mask, v, fill, inside = _case(kind, chunks, static=True)
    (st,) = dask.compute(_stats("x", da, mask, SENTINELS))
    exp = _expected(v[None], fill, inside, SENTINELS)
    assert np.ndim(st["n_valid"]) == 0 and np.ndim(st["min"]) == 0
    exp = {k: (val[0] if isinstance(val, np.ndarray) else val) for k, val in exp.items()}
    _assert_stats(st, exp, np.issubdtype(v.dtype, np.floating), SENTINELS)


def test_stats__hand_counted_cases() -> None:
    """A few counts worked by hand, so the numpy reference itself is checked."""
    # int16: the fill is not a value, a sentinel is; cells outside the AOI count for nothing
    v = np.array([[[-32768, -9999, 5], [7, -9999, 1]], [[-32768, -32768, -32768], [-32768, -32768, 2]]], np.int16)
    inside = np.array([[True, True, True], [True, False, True]])
    yx = {"y": [1.5, 0.5], "x": [0.5, 1.5, 2.5]}
    da = xr.DataArray(v, dims=("time", "y", "x"), coords={"time": [0, 1], **yx}, attrs={"_FillValue": np.int16(-32768)})
    mask = xr.DataArray(inside, dims=("y", "x"), coords=yx)
    (st,) = dask.compute(_stats("x", da.chunk({"time": 1, "y": 1, "x": 2}), mask, [-9999.0, 255.0]))
    assert st["n_valid"].tolist() == [4, 1]  # step 0: -9999, 5, 7, 1 (the second -9999 is outside)
    assert st["min"].tolist() == [-9999.0, 2.0] and st["max"].tolist() == [7.0, 2.0]
    assert st["covered"] == 4 and st["n_aoi"] == 5
    assert st["sentinel_-9999.0"] == 1 and st["sentinel_255.0"] == 0
    # float32: NaN, inf and 0.5 are "fractional", and so is every masked cell (as numpy counts NaN % 1)
    f = np.array([[[np.nan, np.inf, 0.5], [2.0, -9999.0, 3.0]]], np.float32)
    fa = xr.DataArray(f, dims=("time", "y", "x"), coords={"time": [0], **yx})
    (fs,) = dask.compute(_stats("x", fa, mask, [-9999.0]))
    # masked: NaN (NaN), inf, 0.5, 2, NaN (outside), 3 -> fractional: NaN, inf, 0.5, NaN = 4
    assert fs["fractional"] == 4 and fs["n_valid"].tolist() == [4] and fs["sentinel_-9999.0"] == 0
    assert fs["max"].tolist() == [np.inf] and fs["covered"] == 4


def test_present_codes__negative_8_bit_values_and_what_check_inputs_returns() -> None:
    """int8 values are keyed by their low 16 bits: -1 and -128 come back as themselves."""
    from openldn.io.checks import check_inputs, present_codes, with_present_codes

    v = np.array([[[-128, -1, 0], [5, 127, -1]]], np.int8)
    yx = {"y": [1.5, 0.5], "x": [0.5, 1.5, 2.5]}
    da = xr.DataArray(v, dims=("time", "y", "x"), coords={"time": [0], **yx})
    mask = xr.DataArray(np.array([[True, False, True], [True, True, True]]), dims=("y", "x"), coords=yx)
    (st,) = dask.compute(_stats("x", da.chunk({"x": 2}), mask, []))
    assert st["codes"].tolist() == [-128, -1, 0, 5, 127]  # -1 is outside the AOI once, inside once
    present: dict[str, np.ndarray] = {}
    assert check_inputs({"land_cover": da}, None, specs={}, source="x.yaml", windows={"land_cover": (da, mask)},
                        present=present) == []
    assert present["land_cover"].tolist() == [-128, -1, 0, 5, 127]
    assert present_codes(with_present_codes(da, present["land_cover"])).tolist() == [-128, -1, 0, 5, 127]
    assert present_codes(da) is None


def test_stats__float_fill_value_not_exact_in_float32() -> None:
    fill = -3.4e38
    assert float(np.float32(fill)) != fill
    v = np.full((2, 3, 4), 0.5, np.float32)
    v[:, 0] = np.float32(fill)  # the fill as a float32 file holds it
    yx = {"y": [2.5, 1.5, 0.5], "x": np.arange(4) + 0.5}
    da = xr.DataArray(v, dims=("time", "y", "x"), coords={"time": [0, 1], **yx}, attrs={"_FillValue": fill})
    mask = xr.DataArray(np.ones((3, 4), bool), dims=("y", "x"), coords=yx)
    (st,) = dask.compute(_stats("x", da, mask, []))
    exp = _expected(v, fill, np.ones((3, 4), bool), [])
    assert exp["n_valid"].tolist() == [8, 8]  # the 4 fill cells of each step are not values
    _assert_stats(st, exp, True, [])
