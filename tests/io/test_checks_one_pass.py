"""The input value checks read each block of an input once (issue 14: they used to reduce it ~10 times)."""

from __future__ import annotations

import threading
from collections import Counter

import dask.array as dsa
import numpy as np
import pytest
import xarray as xr


class _CountingFile:
    """An array-like read lazily like a file (as ``open_raster``'s backend arrays): counts each block it serves."""

    def __init__(self, values: np.ndarray) -> None:
        self.values, self.shape, self.dtype, self.ndim = values, values.shape, values.dtype, values.ndim
        self.calls: Counter[tuple[tuple[int, int], ...]] = Counter()
        self._lock = threading.Lock()

    def __getitem__(self, key: tuple[slice, ...]) -> np.ndarray:
        with self._lock:
            self.calls[tuple((k.start or 0, k.stop) for k in key)] += 1
        return self.values[key].copy()


def _counted_input(chunks: tuple[tuple[int, ...], ...]) -> tuple[xr.DataArray, _CountingFile]:
    """A (time, y, x) NDVI read through :class:`_CountingFile`; its eastern half has no data."""
    import rioxarray  # noqa: F401

    n, nt = 16, sum(chunks[0])
    values = np.full((nt, n, n), 0.25, np.float32)
    values[:, :, 8:] = np.nan  # columns 8.. of 16
    file = _CountingFile(values)
    # the dask default for lazily read arrays: the read tasks are "getter" tasks, which dask may inline
    data = dsa.from_array(file, chunks=chunks, asarray=False, fancy=False)
    da = xr.DataArray(data, dims=("time", "y", "x"),
                      coords={"time": [np.datetime64(f"{2000 + i}-01-01") for i in range(nt)],
                              "y": 10 - (np.arange(n) + 0.5) * 0.25, "x": (np.arange(n) + 0.5) * 0.25})
    return da.rio.write_crs("EPSG:4326"), file


@pytest.mark.parametrize("chunks", [((4,), (8, 8), (8, 8)), ((1, 3), (5, 11), (16,)), ((2, 2), (16,), (3, 5, 8))])
def test_each_block_is_read_once(chunks: tuple[tuple[int, ...], ...]) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from openldn.io.checks import check_inputs

    da, file = _counted_input(chunks)
    file.calls.clear()  # dask reads an empty slice when it wraps the array
    aoi = gpd.GeoDataFrame(geometry=[box(0, 6, 4, 10)], crs=4326)  # the whole 16 x 16 grid
    findings = check_inputs({"ndvi": da}, aoi, specs={}, source="t")
    edges = [np.cumsum((0, *c)) for c in chunks]
    expected_blocks = {((int(t[i]), int(t[i + 1])), (int(y[j]), int(y[j + 1])), (int(x[k]), int(x[k + 1])))
                       for t, y, x in [edges] for i in range(len(t) - 1) for j in range(len(y) - 1)
                       for k in range(len(x) - 1)}
    assert set(file.calls) == expected_blocks
    assert all(c == 1 for c in file.calls.values()), dict(file.calls)
    # the half-covered grid (worked by hand: 8 of 16 columns) is still reported with its number
    (f,) = findings
    assert f.level == "warning" and "covers only 50.0 % of the area of interest" in f.message


@pytest.mark.parametrize("chunks", [None, (2, 7, 11), (5, 30, 40)])
def test_block_statistics_match_numpy(chunks: tuple[int, ...] | None) -> None:
    """The one-pass statistics equal plain numpy reductions over the whole array (blocks split in time and space)."""
    import dask

    from openldn.io.checks import _stats

    rng = np.random.default_rng(3)
    a = rng.normal(size=(5, 30, 40)).astype(np.float32)
    a[0] = np.nan  # a year without data
    a[1, :3] = -9999.0  # a sentinel
    a[2, 5, 5] = np.inf
    a[3, 1, 1:4] = 2.0  # whole numbers
    m = rng.random((30, 40)) > 0.3
    yx = {"y": np.arange(30)[::-1] + 0.5, "x": np.arange(40) + 0.5}
    da = xr.DataArray(dsa.from_array(a, chunks=chunks) if chunks else a, dims=("time", "y", "x"),
                      coords={"time": np.arange(5), **yx})
    mask = xr.DataArray(m, dims=("y", "x"), coords=yx)
    (st,) = dask.compute(_stats("x", da, mask, [-9999.0, 2.0, 7.5]))
    v = np.where(m & ~np.isnan(a), a, np.nan)
    ok = ~np.isnan(v)
    np.testing.assert_array_equal(st["n_valid"], ok.sum(axis=(1, 2)))
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        np.testing.assert_array_equal(st["min"], np.nanmin(v, axis=(1, 2)))
        np.testing.assert_array_equal(st["max"], np.nanmax(v, axis=(1, 2)))
    assert st["n_aoi"] == m.sum() and st["covered"] == (ok.any(axis=0)).sum()
    with np.errstate(invalid="ignore"):
        assert st["fractional"] == np.count_nonzero(np.mod(v, 1) != 0)
    assert st["sentinel_-9999.0"] == np.count_nonzero(m[:3]) and st["sentinel_7.5"] == 0
    assert st["sentinel_2.0"] == np.count_nonzero(m[1, 1:4])
