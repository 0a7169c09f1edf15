"""openldn.core.blocks.reduce_axis: per-block reductions of an axis, on the stored blocks (no copy)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

from openldn.core.blocks import reduce_axis


def _series(nt: int = 6, ny: int = 13, nx: int = 17, seed: int = 0) -> xr.DataArray:
    x = np.random.default_rng(seed).random((nt, ny, nx)).astype(np.float32)
    x[1, 2, 3] = np.nan
    return xr.DataArray(x, dims=("time", "y", "x"),
                        coords={"time": np.arange(nt), "y": np.arange(ny) * 10.0, "x": np.arange(nx) * 10.0,
                                "spatial_ref": 0})


def _sum_max(a: np.ndarray, scale: float = 1.0) -> np.ndarray:
    return np.stack([np.nansum(a, axis=0) * scale, np.nanmax(a, axis=0)]).astype(np.float64)


@pytest.mark.parametrize("chunks", [None, {"y": 5, "x": 4}, {"y": 13, "x": 17}])
def test_outputs_equal_numpy_over_the_axis(chunks: dict[str, int] | None) -> None:
    da = _series()
    src = da if chunks is None else da.chunk(chunks)
    out = reduce_axis(_sum_max, [src], ["time"], 2, kwargs={"scale": 2.0})
    assert out.dims == ("output", "y", "x")
    assert (out.chunks is None) == (chunks is None)
    x = da.values
    np.testing.assert_array_equal(out.values[0], np.nansum(x, axis=0) * 2.0)
    np.testing.assert_array_equal(out.values[1], np.nanmax(x, axis=0))
    # the coordinates of the input that are not on the reduced axis
    assert set(out.coords) == {"y", "x", "spatial_ref"}
    np.testing.assert_array_equal(out["x"].values, da["x"].values)


def test_axis_first_whatever_the_input_order() -> None:
    da = _series()
    out = reduce_axis(_sum_max, [da.transpose("y", "time", "x").chunk({"y": 4})], ["time"], 2)
    assert out.dims == ("output", "y", "x")
    np.testing.assert_array_equal(out.values[0], np.nansum(da.values, axis=0))


_STORED: dict[int, np.ndarray] = {}


def _stored(i: int) -> np.ndarray:
    return _STORED[i]


def test_blocks_are_the_stored_blocks_not_copies() -> None:
    import dask.array as dsa

    rng = np.random.default_rng(1)
    _STORED.update({i: rng.random((6, 4, 9)).astype(np.float32) for i in range(3)})  # three row blocks
    graph = {("stored", 0, i, 0): (_stored, i) for i in range(3)}
    da = xr.DataArray(dsa.Array(graph, "stored", chunks=((6,), (4, 4, 4), (9,)), dtype=np.float32), dims=("t", "y", "x"))
    seen: list[bool] = []

    def probe(a: np.ndarray) -> np.ndarray:
        seen.append(any(a is b for b in _STORED.values()))
        return np.zeros((1, *a.shape[1:]))

    reduce_axis(probe, [da], ["t"], 1).compute(scheduler="synchronous")
    assert seen == [True] * 3
    # xarray's apply_ufunc copied each block (moved the axis last and had dask concatenate it)
    seen.clear()
    xr.apply_ufunc(lambda a: probe(np.moveaxis(a, -1, 0))[0], da, input_core_dims=[["t"]], dask="parallelized",
                   output_dtypes=[np.float64]).compute(scheduler="synchronous")
    assert seen == [False] * 3


def test_two_inputs_with_different_axis_lengths() -> None:
    da = _series(nt=8)
    hist, rec = da.isel(time=slice(0, 5)), da.isel(time=slice(5, 8))

    def diff(h: np.ndarray, r: np.ndarray) -> np.ndarray:
        assert h.shape[0] == 5 and r.shape[0] == 3
        return (np.nanmean(r, axis=0) - np.nanmean(h, axis=0))[None]

    # chunked differently: the second is cut as the first
    out = reduce_axis(diff, [hist.chunk({"y": 6}), rec.chunk({"y": 4, "x": 5})], ["time", "time"], 1)
    x = da.values
    np.testing.assert_allclose(out.values[0], np.nanmean(x[5:], axis=0) - np.nanmean(x[:5], axis=0), rtol=0, atol=0)


def test_inputs_on_other_grids_are_refused() -> None:
    da = _series()
    with pytest.raises(ValueError, match="differ"):
        reduce_axis(lambda a, b: a[:1], [da, da.isel(x=slice(0, 5))], ["time", "time"], 1)
    with pytest.raises(ValueError, match="one reduced dimension"):
        reduce_axis(_sum_max, [da], ["time", "time"], 2)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32])
def test_isin_equals_xarray_isin(dtype: Any) -> None:
    from openldn.core.blocks import isin

    rng = np.random.default_rng(2)
    data = rng.integers(0, 9, size=(3, 11, 7)).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        data[0, 0, :2] = np.nan
    da = xr.DataArray(data, dims=("time", "y", "x"))
    for values in ([3, 7], [0], []):
        want = da.isin(values).values
        np.testing.assert_array_equal(isin(da, values).values, want)
        lazy = isin(da.chunk({"y": 4}), values)
        assert lazy.chunks is not None and lazy.dtype == np.bool_
        np.testing.assert_array_equal(lazy.values, want)


@pytest.mark.parametrize("chunks", [None, {"y": 5, "x": 4}])
def test_each__outputs_equal_numpy_one_call_per_block_and_no_copy(chunks: dict[str, int] | None) -> None:
    import dask

    from openldn.core.blocks import reduce_axis_each

    calls: list[int] = []
    results: list[np.ndarray] = []

    def counted(a: np.ndarray) -> np.ndarray:
        calls.append(1)
        results.append(_sum_max(a))
        return results[-1]

    da = _series()
    src = da if chunks is None else da.chunk(chunks)
    total, peak = reduce_axis_each(counted, [src], ["time"], 2)
    assert total.dims == peak.dims == ("y", "x")
    assert set(total.coords) == {"y", "x", "spatial_ref"}
    got = dask.compute(total.data, peak.data, scheduler="synchronous")
    np.testing.assert_array_equal(got[0], np.nansum(da.values, axis=0))
    np.testing.assert_array_equal(got[1], np.nanmax(da.values, axis=0))
    n_blocks = 1 if chunks is None else 3 * 5
    assert len(calls) == n_blocks  # both outputs from one call per block
    if chunks is not None:  # the blocks a consumer gets are views of fn's results (dask's getitem copies them)
        shared: list[bool] = []

        def probe(block: np.ndarray) -> np.ndarray:
            shared.append(any(np.shares_memory(block, r) for r in results))
            return block

        probed = [o.data.map_blocks(probe, meta=np.empty((0, 0))) for o in (total, peak)]
        dask.compute(*probed, scheduler="synchronous")
        assert len(shared) == 2 * n_blocks and all(shared)


@pytest.mark.parametrize("chunks", [None, {"y": 10, "x": 10}])
def test_where_inside__as_xarray_where_and_blocks_inside_are_not_copied(chunks: dict[str, int] | None) -> None:
    import dask

    from openldn.core.blocks import where_inside

    x = _series(nt=5, ny=40, nx=30)
    inside = np.zeros((40, 30), bool)
    inside[:20, :20] = True  # four blocks wholly inside, two wholly outside, the rest partly
    inside[25:33, 21:27] = True
    mask = xr.DataArray(inside, dims=("y", "x"), coords={"y": x["y"], "x": x["x"]})
    src, m = (x, mask) if chunks is None else (x.chunk(chunks), mask.chunk(chunks))
    got = where_inside(src.assign_attrs(units="1"), m)
    want = x.assign_attrs(units="1").where(mask)
    xr.testing.assert_identical(got.compute(), want)
    assert (got.values.view(np.uint32) == want.values.view(np.uint32)).all()  # the same NaN, bit for bit
    codes = (x.fillna(0) * 100).astype(np.int16)  # other dtypes: xarray's where (which promotes them to a float type)
    xr.testing.assert_identical(where_inside(codes, mask), codes.where(mask))
    if chunks is not None:
        sources: list[np.ndarray] = []
        shared: list[bool] = []

        def keep(block: np.ndarray) -> np.ndarray:
            sources.append(block)
            return block

        def probe(block: np.ndarray) -> np.ndarray:
            shared.append(any(np.shares_memory(block, s) for s in sources))
            return block

        kept = src.copy(data=src.data.map_blocks(keep, meta=np.empty((0, 0, 0), np.float32)))
        dask.compute(where_inside(kept, m).data.map_blocks(probe, meta=np.empty((0, 0, 0), np.float32)),
                     scheduler="synchronous")
        assert sum(shared) == 4  # the blocks wholly inside, handed on as they are
