"""write_cog, write_table and atomic_path."""

from __future__ import annotations

from typing import Any

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.shutil
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox

from openldn.core.vocab import load_legend
from openldn.io import atomic_path, attach_grid, open_raster, write_cog, write_table


def _stack(rng, n=3, shape=(700, 600), dtype="float32"):
    gb = GeoBox(shape, Affine(0.01, 0, 10, 0, -0.01, 50), "EPSG:4326")
    data = (rng.random((n, *shape)) * 100).astype(dtype)
    da = xr.DataArray(dsa.from_array(data, chunks=(1, 256, 256)), dims=("time", "y", "x"),
                      coords={"time": pd.to_datetime([f"{2000 + i}-01-01" for i in range(n)])})
    return attach_grid(da, gb), data


def test_write_cog_roundtrip_years_and_layout(tmp_path, rng):
    da, data = _stack(rng)
    data[1, 5, 7] = np.nan
    da = attach_grid(xr.DataArray(data, dims=da.dims, coords={"time": da.time}), GeoBox((700, 600), Affine(0.01, 0, 10, 0, -0.01, 50), "EPSG:4326"))
    p = write_cog(da, tmp_path / "out" / "ndvi.tif", tags={"units": "1"})
    with rasterio.open(p) as src:
        assert src.count == 3
        assert src.descriptions == ("2000", "2001", "2002")
        assert src.tags(2)["YEAR"] == "2001"
        assert src.profile["tiled"] and src.profile["blockxsize"] == 512
        assert src.compression.name.lower() == "deflate"
        assert src.overviews(1), "COG has overviews"
        assert src.tags()["units"] == "1"
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR") == "3", "floats: the floating-point predictor"
    back = open_raster(p)
    np.testing.assert_array_equal(back.values, data)
    assert list(pd.DatetimeIndex(back.time.values).year) == [2000, 2001, 2002]
    assert [f.name for f in p.parent.iterdir()] == ["ndvi.tif"], "no temporary file left"


def _counted_blocks(data: np.ndarray, chunks: Any) -> tuple[Any, list[tuple[int, ...]]]:
    """``data`` as a dask array of ``chunks`` whose blocks record their chunk location when computed."""
    seen: list[tuple[int, ...]] = []

    def block(x, block_info=None):
        seen.append(tuple(block_info[0]["chunk-location"]))
        return x

    return dsa.from_array(data, chunks=chunks).map_blocks(block, dtype=data.dtype), seen


def _recording_windows(monkeypatch) -> list[tuple[int, int, int, int]]:
    from openldn.io import write as w

    windows: list[tuple[int, int, int, int]] = []
    real = w._windows

    def recording(*a):
        out = real(*a)
        windows.extend(out)
        return out

    monkeypatch.setattr(w, "_windows", recording)
    return windows


@pytest.mark.parametrize("chunks", [(3, 512, 512), (3, 1100, 2600), (1, 300, 700)])
def test_write_cog_wide_raster_in_bounded_windows(tmp_path, rng, monkeypatch, chunks):
    """A raster too wide for 512 whole rows in the strip budget is written in 512-row spans of whole tiles, whatever
    its chunks: no tile is written in parts by two windows; each chunk is computed once; the file holds every pixel
    once, as given."""
    from openldn.io import write as w

    monkeypatch.setattr(w, "_WINDOW_BYTES", 3 * 512 * 1024)  # 3 bands of uint8: two tiles across per window
    data = rng.integers(0, 250, size=(3, 1100, 2600)).astype("uint8")
    gb = GeoBox((1100, 2600), Affine(30, 0, 5e5, 0, -30, 1e6), "EPSG:32637")
    arr, seen = _counted_blocks(data, chunks)
    da = attach_grid(xr.DataArray(arr, dims=("band", "y", "x"), coords={"band": [1, 2, 3]}), gb)
    windows = _recording_windows(monkeypatch)
    p = write_cog(da, tmp_path / "wide.tif")
    # 1,100 rows: spans of 512, 512, 76; 2,600 columns: 1,024, 1,024, 552
    assert [(r1 - r0, c1 - c0) for r0, r1, c0, c1 in windows] == [(r, c) for r in (512, 512, 76) for c in (1024, 1024, 552)]
    assert sorted(seen) == sorted(set(seen)), "each chunk computed once"
    assert len(seen) == arr.npartitions
    with rasterio.open(p) as src:
        np.testing.assert_array_equal(src.read(), data)


def test_write_cog_computes_each_chunk_once(tmp_path, rng, monkeypatch):
    """Chunks that do not fall on the file's 512² tiles (a run's chunk grid shifted onto its inputs' tiles) are
    each computed once, though two or three windows of whole tiles meet them, and the pixels land where they
    belong."""
    from openldn.io import write as w

    monkeypatch.setattr(w, "_WINDOW_BYTES", 4 * 512 * 1500)  # 512 whole rows of float32 per window
    data = rng.random((1000, 1500)).astype("float32")
    arr, seen = _counted_blocks(data, ((300, 700), (700, 700, 100)))
    gb = GeoBox((1000, 1500), Affine(30, 0, 5e5, 0, -30, 1e6), "EPSG:32637")
    windows = _recording_windows(monkeypatch)
    p = write_cog(attach_grid(xr.DataArray(arr, dims=("y", "x")), gb), tmp_path / "shifted.tif")
    assert windows == [(0, 512, 0, 1500), (512, 1000, 0, 1500)]  # the 700-row chunks meet both
    assert sorted(seen) == [(i, j) for i in range(2) for j in range(3)], "each chunk computed once"
    with rasterio.open(p) as src:
        np.testing.assert_array_equal(src.read(1), data)


def test_write_cog_without_keeping_chunks_over_the_budget(tmp_path, rng, monkeypatch):
    """A raster whose rows of chunks are too large to keep is written window by window, each window computing the
    chunks it meets: the same file, chunks computed again."""
    from openldn.io import write as w

    monkeypatch.setattr(w, "_WINDOW_BYTES", 4 * 512 * 1500)
    monkeypatch.setattr(w, "_KEEP_BYTES", 4 * 700 * 1500)  # less than two rows of 700-row chunks
    data = rng.random((1000, 1500)).astype("float32")
    arr, seen = _counted_blocks(data, ((300, 700), (700, 700, 100)))
    gb = GeoBox((1000, 1500), Affine(30, 0, 5e5, 0, -30, 1e6), "EPSG:32637")
    p = write_cog(attach_grid(xr.DataArray(arr, dims=("y", "x")), gb), tmp_path / "kept.tif")
    assert len(seen) > arr.npartitions, "the 700-row chunks are computed for both windows"
    with rasterio.open(p) as src:
        np.testing.assert_array_equal(src.read(1), data)


def test_write_cog_categorical_colour_table(tmp_path):
    gb = GeoBox((64, 64), Affine(30, 0, 0, 0, -30, 1920), "EPSG:32630")
    data = (np.arange(64 * 64).reshape(64, 64) % 7 + 1).astype("uint8")
    da = attach_grid(xr.DataArray(data, dims=("y", "x")), gb)
    legend = load_legend("unccd")
    p = write_cog(da, tmp_path / "lc.tif", nodata=0, legend=legend)
    with rasterio.open(p) as src:
        cmap = src.colormap(1)
        assert cmap[1][:3] == (0x78, 0x7F, 0x1B)
        assert src.nodata == 0
        assert src.tags()["legend"] == "unccd"
        assert "PREDICTOR" not in src.tags(ns="IMAGE_STRUCTURE"), "class codes: no predictor"
        np.testing.assert_array_equal(src.read(1), data)


def test_write_cog_int16_monthly_labels(tmp_path):
    gb = GeoBox((10, 10), Affine(1, 0, 0, 0, -1, 10), "EPSG:3857")
    da = xr.DataArray(np.zeros((2, 10, 10), "int16"), dims=("time", "y", "x"),
                      coords={"time": pd.to_datetime(["2001-01-01", "2001-02-01"])})
    da = attach_grid(da, gb)
    da.attrs["_FillValue"] = -32768
    p = write_cog(da, tmp_path / "m.tif", overviews=False)
    with rasterio.open(p) as src:
        assert src.descriptions == ("2001-01", "2001-02")
        assert src.nodata == -32768
        assert src.tags(1)["MONTH"] == "2001-01"


@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_write_cog_overviews_are_gdals_own_from_the_full_resolution(tmp_path, rng, dtype):
    """write_cog's settings for the COG driver's temporary file and threads change the cost, not a pixel: every
    overview level is what GDAL's COG driver makes with its defaults from the same full-resolution pixels."""
    shape = (1537, 1301)  # odd sizes: the 2x and 4x levels do not divide them
    gb = GeoBox(shape, Affine(0.01, 0, 10, 0, -0.01, 50), "EPSG:4326")
    if dtype == "float32":
        data = (np.cumsum(rng.normal(size=shape), axis=1) * 7.3).astype(dtype)
        data[rng.random(shape) < 0.05] = np.nan
        nodata: float = np.nan
    else:
        data = rng.integers(1, 8, size=shape).astype(dtype)
        data[rng.random(shape) < 0.05] = nodata = -32768
    da = attach_grid(xr.DataArray(dsa.from_array(data, chunks=(400, 300)), dims=("y", "x")), gb)
    ours = write_cog(da, tmp_path / "ours.tif", nodata=nodata, threads=1)

    plain = tmp_path / "plain.tif"
    with rasterio.open(plain, "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype=dtype,
                       crs="EPSG:4326", transform=gb.affine, nodata=nodata) as dst:
        dst.write(data, 1)
    theirs = tmp_path / "theirs.tif"
    floating = dtype == "float32"
    rasterio.shutil.copy(plain, theirs, driver="COG", COMPRESS="DEFLATE", PREDICTOR="3" if floating else "NO",
                         BLOCKSIZE="512", OVERVIEW_RESAMPLING="AVERAGE" if floating else "NEAREST")
    with rasterio.open(theirs) as src:
        levels = len(src.overviews(1))
    assert levels == 2
    for level in [None, *range(levels)]:
        kw = {} if level is None else {"OVERVIEW_LEVEL": level}
        with rasterio.open(ours, **kw) as a, rasterio.open(theirs, **kw) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1), err_msg=f"overview level {level}")


@pytest.mark.parametrize("free", [0, 10**15])
def test_write_cog_full_disk_is_an_oserror_naming_the_map(tmp_path, gdal_write_fails, free):
    """GDAL reports a full disk as a failed write; with less free space than the raster needs, write_cog raises the
    system's "no space" error naming the map (callers turn it into a one-line message); with room left, GDAL's own
    error passes through. Nothing is left either way."""
    import errno

    gdal_error = gdal_write_fails(free)
    gb = GeoBox((64, 64), Affine(30, 0, 0, 0, -30, 1920), "EPSG:32630")
    da = attach_grid(xr.DataArray(np.ones((64, 64), "float32"), dims=("y", "x")), gb)
    if free:
        with pytest.raises(gdal_error, match="Write error"):
            write_cog(da, tmp_path / "maps" / "soc.tif")
    else:
        with pytest.raises(OSError) as info:
            write_cog(da, tmp_path / "maps" / "soc.tif")
        assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "maps" / "soc.tif")
    assert list((tmp_path / "maps").iterdir()) == []


def test_write_cog_failure_leaves_nothing(tmp_path):
    gb = GeoBox((8, 8), Affine(1, 0, 0, 0, -1, 8), "EPSG:3857")

    def boom(x):
        raise RuntimeError("compute failed")

    arr = dsa.from_array(np.zeros((8, 8), "float32"), chunks=4).map_blocks(boom, dtype="float32")
    da = attach_grid(xr.DataArray(arr, dims=("y", "x")), gb)
    with pytest.raises(RuntimeError, match="compute failed"):
        write_cog(da, tmp_path / "x.tif")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_and_write_table(tmp_path):
    p = tmp_path / "t.csv"
    df = pd.DataFrame({"zone_id": ["ALL", "a"], "area_km2": [1.5, 0.25]})
    assert write_table(df, p) == p
    pd.testing.assert_frame_equal(pd.read_csv(p), df)
    p.write_text("old")
    with pytest.raises(ValueError), atomic_path(p) as tmp:
        tmp.write_text("partial")
        raise ValueError("boom")
    assert p.read_text() == "old"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["t.csv"]
