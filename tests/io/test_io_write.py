"""write_cog, write_table and atomic_path."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import rasterio
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


def _recording_computes(monkeypatch) -> list[tuple[int, ...]]:
    computed: list[tuple[int, ...]] = []
    real = xr.DataArray.compute

    def recording(self, *a, **k):
        computed.append(self.shape)
        return real(self, *a, **k)

    monkeypatch.setattr(xr.DataArray, "compute", recording)
    return computed


@pytest.mark.parametrize(("chunks", "windows"), [
    # whole chunks side by side within the budget (two 512² chunks of 3 bytes a cell); the short last chunk row,
    # 76 x 2,600, fits whole
    ((3, 512, 512), [(3, 512, c) for c in (1024, 1024, 552)] * 2 + [(3, 76, 2600)]),
    # one chunk over the budget: 512-row spans of whole tiles within it
    ((3, 1100, 2600), [(3, r, c) for r in (512, 512, 76) for c in (1024, 1024, 552)]),
])
def test_write_cog_wide_raster_in_bounded_windows(tmp_path, rng, monkeypatch, chunks, windows):
    """A raster is computed in windows of whole chunks within the strip budget, or 512-row spans of whole tiles
    of a chunk too large for it; the file holds every pixel once, as given."""
    from openldn.io import write as w

    monkeypatch.setattr(w, "_WINDOW_BYTES", 3 * 512 * 1024)  # 3 bands of uint8: two tiles across per window
    data = rng.integers(0, 250, size=(3, 1100, 2600)).astype("uint8")
    gb = GeoBox((1100, 2600), Affine(30, 0, 5e5, 0, -30, 1e6), "EPSG:32637")
    da = attach_grid(xr.DataArray(dsa.from_array(data, chunks=chunks), dims=("band", "y", "x"),
                                  coords={"band": [1, 2, 3]}), gb)
    computed = _recording_computes(monkeypatch)
    p = write_cog(da, tmp_path / "wide.tif")
    assert computed == windows
    with rasterio.open(p) as src:
        np.testing.assert_array_equal(src.read(), data)


def test_write_cog_computes_each_chunk_once(tmp_path, rng, monkeypatch):
    """Chunks that do not fall on the file's 512² tiles (a run's chunk grid shifted onto its inputs' tiles) are
    each computed once, and the pixels land where they belong."""
    from openldn.io import write as w

    monkeypatch.setattr(w, "_WINDOW_BYTES", 4 * 700 * 700)  # one 700² float32 chunk
    data = rng.random((1000, 1500)).astype("float32")
    seen: list[tuple[int, ...]] = []

    def block(x, block_info=None):
        seen.append(tuple(block_info[0]["chunk-location"]))
        return x * 2

    arr = dsa.from_array(data, chunks=((300, 700), (700, 700, 100))).map_blocks(block, dtype="float32")
    gb = GeoBox((1000, 1500), Affine(30, 0, 5e5, 0, -30, 1e6), "EPSG:32637")
    computed = _recording_computes(monkeypatch)
    p = write_cog(attach_grid(xr.DataArray(arr, dims=("y", "x")), gb), tmp_path / "shifted.tif")
    assert sorted(seen) == [(i, j) for i in range(2) for j in range(3)], "each chunk computed once"
    # 300 rows: the three chunks fit side by side; 700 rows: one chunk at a time
    assert computed == [(300, 1500), (700, 700), (700, 700), (700, 100)]
    with rasterio.open(p) as src:
        np.testing.assert_array_equal(src.read(1), data * 2)


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
