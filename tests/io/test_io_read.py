"""open_raster and read_vector: time axes, nodata, scale/offset, formats and error messages."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import xarray as xr
from rasterio.transform import from_origin

from openldn.exceptions import ConfigError, EmptyAOIError, GridMismatchError, InputFileError, MissingYearError
from openldn.io import open_raster, read_vector


def _write_tif(path: Path, data: np.ndarray, *, nodata=None, descriptions=None, tags=None, crs="EPSG:4326",
               transform=None, scales=None, offsets=None) -> Path:
    if data.ndim == 2:
        data = data[None]
    count, ny, nx = data.shape
    transform = transform or from_origin(10.0, 50.0, 0.5, 0.5)
    with rasterio.open(path, "w", driver="GTiff", width=nx, height=ny, count=count, dtype=data.dtype, crs=crs,
                       transform=transform, nodata=nodata) as dst:
        dst.write(data)
        for i in range(count):
            if descriptions:
                dst.set_band_description(i + 1, descriptions[i])
            if tags:
                dst.update_tags(i + 1, **tags[i])
        if scales:
            dst.scales = scales
        if offsets:
            dst.offsets = offsets
    return path


def test_multiband_years_from_descriptions(tmp_path, rng):
    data = rng.random((3, 4, 5)).astype("float32")
    data[1, 2, 3] = -9999
    p = _write_tif(tmp_path / "ndvi.tif", data, nodata=-9999, descriptions=["2003", "2001", "2002"])
    da = open_raster(p)
    assert da.dims == ("time", "y", "x")
    assert list(pd.DatetimeIndex(da.time.values).year) == [2001, 2002, 2003]
    assert (pd.DatetimeIndex(da.time.values).day_of_year == 1).all()
    assert da.chunks is not None
    # band "2001" was the second band: its nodata cell became NaN
    assert np.isnan(da.sel(time=pd.Timestamp("2001-01-01")).values[2, 3])
    np.testing.assert_array_equal(da.sel(time=pd.Timestamp("2003-01-01")).values, data[0])
    assert da.attrs["time_kind"] == "annual"
    assert da.rio.crs.to_epsg() == 4326


def test_monthly_from_tags(tmp_path, rng):
    data = rng.integers(0, 100, (4, 3, 3)).astype("uint16")
    tags = [{"MONTH": m} for m in ("2000-11", "2000-12", "2001-01", "2001-02")]
    p = _write_tif(tmp_path / "pr.tif", data, nodata=65535, tags=tags)
    da = open_raster(p, time="monthly")
    t = pd.DatetimeIndex(da.time.values)
    assert [(x.year, x.month, x.day) for x in t] == [(2000, 11, 1), (2000, 12, 1), (2001, 1, 1), (2001, 2, 1)]
    assert da.dtype == np.uint16
    assert da.attrs["_FillValue"] == 65535
    assert da.rio.nodata == 65535


def test_year_tags(tmp_path, rng):
    data = rng.random((2, 3, 3)).astype("float32")
    p = _write_tif(tmp_path / "x.tif", data, tags=[{"YEAR": "1999"}, {"YEAR": "2000"}])
    assert list(pd.DatetimeIndex(open_raster(p).time.values).year) == [1999, 2000]


def test_missing_years_error_names_fix(tmp_path, rng):
    p = _write_tif(tmp_path / "x.tif", rng.random((3, 2, 2)).astype("float32"))
    with pytest.raises(MissingYearError, match=r"x\.tif.*set years: \["):
        open_raster(p)
    da = open_raster(p, years=[2010, 2011, 2012])
    assert list(pd.DatetimeIndex(da.time.values).year) == [2010, 2011, 2012]
    with pytest.raises(MissingYearError, match="one year per band"):
        open_raster(p, years=[2010, 2011])


def test_static_single_band_and_integer_nodata(tmp_path):
    data = np.array([[1, 2], [0, 3]], dtype="uint8")
    p = _write_tif(tmp_path / "lc.tif", data, nodata=0)
    da = open_raster(p)
    assert da.dims == ("y", "x")
    assert da.dtype == np.uint8
    assert da.attrs["_FillValue"] == 0
    np.testing.assert_array_equal(da.values, data)
    with pytest.raises(MissingYearError):
        open_raster(p, time="annual")


def test_scale_offset_applied_to_continuous(tmp_path):
    data = np.array([[1000, 2000], [-32768, 5000]], dtype="int16")
    p = _write_tif(tmp_path / "ndvi.tif", data, nodata=-32768)
    da = open_raster(p, scale=0.0001, offset=0.5)
    assert da.dtype == np.float32
    np.testing.assert_allclose(da.values, [[0.6, 0.7], [np.nan, 1.0]], rtol=1e-6)
    # file-declared scale/offset are used when not given
    p2 = _write_tif(tmp_path / "s.tif", data, nodata=-32768, scales=[0.01], offsets=[1.0])
    np.testing.assert_allclose(open_raster(p2).values, [[11.0, 21.0], [np.nan, 51.0]], rtol=1e-6)


@pytest.mark.parametrize(("dtype", "nodata", "scale", "offset"), [
    ("int16", -32768, 0.0001, None),  # MODIS/GIMMS-style NDVI counts
    ("uint8", 255, 0.004, -0.08),
    ("int32", -9999, 0.01, None),
    ("float32", -3.4e38, 2.5, 1.0),
])
def test_physical_values_exact_in_float32(tmp_path, rng, dtype, nodata, scale, offset):
    """Every stored value becomes float32(value) * float32(scale) + float32(offset), rounded in float32 at each step
    (the values of numpy's float32 arithmetic, not float64 rounded once), NaN at nodata; chunked or not."""
    info = np.iinfo(dtype) if dtype != "float32" else None
    data = (rng.integers(info.min, info.max, (2, 64, 80), endpoint=True) if info is not None
            else rng.normal(0.0, 1000.0, (2, 64, 80))).astype(dtype)
    data[0, ::5, ::3] = nodata
    p = tmp_path / "v.tif"
    with rasterio.open(p, "w", driver="GTiff", width=80, height=64, count=2, dtype=dtype, nodata=nodata,
                       crs="EPSG:4326", transform=from_origin(0, 1, 0.01, 0.01)) as dst:
        dst.write(data)
        dst.descriptions = ("2001", "2002")
    f32 = np.float32
    expected = np.empty(data.shape, dtype=f32)
    for idx, v in np.ndenumerate(data):  # one value at a time, in float32 scalars
        x = f32(v) * f32(scale)
        expected[idx] = np.nan if v == data.dtype.type(nodata) else (x if offset is None else x + f32(offset))
    for chunks in (None, {"y": 16, "x": 32}):
        da = open_raster(p, scale=scale, offset=offset, chunks=chunks)
        assert da.dtype == np.float32
        got = da.values
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        assert np.array_equal(got[~np.isnan(got)].view(np.uint32), expected[~np.isnan(expected)].view(np.uint32))


def test_list_and_glob_of_yearly_files(tmp_path, rng):
    arrs = {}
    for y in (2012, 2010, 2011):
        arrs[y] = rng.integers(0, 50, (3, 4)).astype("int16")
        _write_tif(tmp_path / f"soc_0_30cm_{y}.tif", arrs[y], nodata=-32767)
    da = open_raster(str(tmp_path / "soc_*.tif"))
    assert list(pd.DatetimeIndex(da.time.values).year) == [2010, 2011, 2012]
    for y in (2010, 2011, 2012):
        np.testing.assert_array_equal(da.sel(time=pd.Timestamp(f"{y}-01-01")).values, arrs[y])
    da2 = open_raster([tmp_path / "soc_0_30cm_2011.tif", tmp_path / "soc_0_30cm_2010.tif"])
    assert list(pd.DatetimeIndex(da2.time.values).year) == [2010, 2011]


def test_list_with_mismatched_grids(tmp_path, rng):
    _write_tif(tmp_path / "a_2001.tif", rng.random((3, 3)).astype("float32"))
    _write_tif(tmp_path / "a_2002.tif", rng.random((3, 4)).astype("float32"))
    with pytest.raises(GridMismatchError, match="a_2002"):
        open_raster([tmp_path / "a_2001.tif", tmp_path / "a_2002.tif"])


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(InputFileError, match=r"nope\.tif"):
        open_raster(tmp_path / "nope.tif")
    bad = tmp_path / "bad.tif"
    bad.write_text("not a raster")
    with pytest.raises(InputFileError, match=r"bad\.tif"):
        open_raster(bad)
    with pytest.raises(InputFileError, match="no file matches"):
        open_raster(str(tmp_path / "zz_*.tif"))
    assert issubclass(InputFileError, FileNotFoundError)


@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
def test_netcdf_and_zarr(tmp_path, rng, fmt):
    data = rng.random((2, 3, 4)).astype("float32")
    da = xr.DataArray(
        data, dims=("time", "y", "x"),
        coords={"time": pd.to_datetime(["2001-01-01", "2002-01-01"]), "y": [50.0, 49.5, 49.0], "x": [10, 10.5, 11, 11.5]},
        name="ndvi",
    ).rio.write_crs("EPSG:4326")
    ds = da.to_dataset()
    if fmt == "netcdf":
        p = tmp_path / "ndvi.nc"
        ds.to_netcdf(p, engine="scipy")  # NetCDF3: needs no HDF5 library
    else:
        p = tmp_path / "ndvi.zarr"
        ds.to_zarr(p)
    out = open_raster(p)
    assert out.dims == ("time", "y", "x")
    assert list(pd.DatetimeIndex(out.time.values).year) == [2001, 2002]
    np.testing.assert_array_equal(out.values, data)
    assert out.rio.crs.to_epsg() == 4326


@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
@pytest.mark.parametrize("fill_attr", ["_FillValue", "missing_value"])
def test_cf_packed_values_are_unpacked(tmp_path, fmt, fill_attr):
    """MODIS-style packing: int16 counts with scale_factor 0.0001, add_offset and a fill value (CF conventions)."""
    packed = np.array([[[1000, 2500, -32768], [9000, 0, 4321]]], dtype="int16")
    da = xr.DataArray(
        packed, dims=("time", "y", "x"),
        coords={"time": pd.to_datetime(["2003-01-01"]), "y": [50.0, 49.5], "x": [10.0, 10.5, 11.0]}, name="ndvi",
    ).rio.write_crs("EPSG:4326")
    da.attrs.update({"scale_factor": 0.0001, "add_offset": 0.05, fill_attr: np.int16(-32768)})
    ds = da.to_dataset()
    if fmt == "netcdf":
        p = tmp_path / "ndvi.nc"
        ds.to_netcdf(p, engine="scipy")
    else:
        p = tmp_path / "ndvi.zarr"
        ds.to_zarr(p)
    out = open_raster(p)
    # By hand: 1000 * 0.0001 + 0.05 = 0.15; 2500 -> 0.30; the fill value is missing; 9000 -> 0.95; 0 -> 0.05; 4321 -> 0.4821
    expected = np.array([[[0.15, 0.30, np.nan], [0.95, 0.05, 0.4821]]])
    np.testing.assert_allclose(out.values, expected, rtol=1e-6)
    assert out.dtype == np.float32
    assert "scale_factor" not in out.attrs and "missing_value" not in out.attrs


# ---------------------------------------------------------------------------------------------------------------


def _gdf(n: int = 2) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"Z{i}" for i in range(n)], "name": [f"Zone {i}" for i in range(n)]},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)], crs="EPSG:4326",
    )


@pytest.mark.parametrize("suffix,driver", [(".gpkg", "GPKG"), (".geojson", "GeoJSON"), (".shp", "ESRI Shapefile")])
def test_read_vector_formats(tmp_path, suffix, driver):
    p = tmp_path / f"zones{suffix}"
    _gdf().to_file(p, driver=driver)
    g = read_vector(p, id_field="id", name_field="name")
    assert list(g["id"]) == ["Z0", "Z1"]
    assert g.crs.to_epsg() == 4326


def test_read_vector_zipped_shapefile(tmp_path):
    d = tmp_path / "shp"
    d.mkdir()
    _gdf(3).to_file(d / "zones.shp")
    z = tmp_path / "zones.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in d.iterdir():
            zf.write(f, f.name)
    g = read_vector(z, id_field="id")
    assert len(g) == 3


def test_read_vector_errors(tmp_path):
    with pytest.raises(InputFileError, match=r"missing\.gpkg"):
        read_vector(tmp_path / "missing.gpkg")
    p = tmp_path / "z.gpkg"
    _gdf().to_file(p)
    with pytest.raises(ConfigError, match=r"'code'.*available fields: id, name"):
        read_vector(p, id_field="code")
    empty = tmp_path / "empty.gpkg"
    _gdf().iloc[:0].to_file(empty)
    with pytest.raises(EmptyAOIError, match=r"empty\.gpkg"):
        read_vector(empty)


def test_read_vector_repairs_invalid_geometry(tmp_path):
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # self-intersecting
    assert not bowtie.is_valid
    p = tmp_path / "bow.geojson"
    gpd.GeoDataFrame({"id": ["a"]}, geometry=[bowtie], crs="EPSG:4326").to_file(p)
    g = read_vector(p)
    assert g.geometry.is_valid.all()
    assert g.geometry.iloc[0].area == pytest.approx(2.0)  # two triangles of area 1


def test_read_vector_wraps_polygons_beyond_antimeridian(tmp_path):
    p = tmp_path / "fiji.geojson"
    gpd.GeoDataFrame({"id": ["f"]}, geometry=[shapely.box(177, -19, 182, -16)], crs="EPSG:4326").to_file(p)
    g = read_vector(p)
    b = g.total_bounds
    assert b[0] == pytest.approx(-180) and b[2] == pytest.approx(180)
    geom = g.geometry.iloc[0]
    assert geom.area == pytest.approx(5 * 3)
    assert geom.intersection(shapely.box(-180, -19, -178, -16)).area == pytest.approx(2 * 3)


def test_years_inside_longer_band_descriptions(tmp_path, rng):
    p = _write_tif(tmp_path / "x.tif", rng.random((2, 2, 2)).astype("float32"), descriptions=["ndvi_2001", "ndvi_2002"])
    assert list(pd.DatetimeIndex(open_raster(p).time.values).year) == [2001, 2002]
    m = _write_tif(tmp_path / "m.tif", rng.random((2, 2, 2)).astype("float32"), descriptions=["pr 2001.11", "pr 2001.12"])
    t = pd.DatetimeIndex(open_raster(m, time="monthly").time.values)
    assert list(zip(t.year, t.month, strict=True)) == [(2001, 11), (2001, 12)]
    dup = _write_tif(tmp_path / "d.tif", rng.random((2, 2, 2)).astype("float32"), descriptions=["a_2001", "b_2001"])
    with pytest.raises(MissingYearError):
        open_raster(dup)
