"""Tests of the synthetic country generator (openldn.datasets.make_synthetic_country)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import yaml
from rasterio.windows import Window

from openldn.datasets import COUNTRY_RESOLUTION, make_synthetic_country
from openldn.datasets._raster import smooth_field

YEARS = [2000, 2015, 2023]
RASTERS = {"ndvi": 3, "land_cover": 3, "soc": 1, "climate_zones": 1}


@pytest.fixture(scope="module")
def country(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small, non-square country with partial edge blocks (640 x 480, tiles of 256)."""
    out = tmp_path_factory.mktemp("country")
    run_file = make_synthetic_country(out, width=640, height=480, years=YEARS, tile=256, seed=3)
    assert run_file == out / "assessment.yaml"
    return out


@pytest.mark.parametrize(("key", "count"), RASTERS.items())
def test_make_synthetic_country__writes_tiled_cogs(country: Path, key: str, count: int) -> None:
    with rasterio.open(country / f"{key}.tif") as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.compression.name.lower() == "deflate"
        assert ds.block_shapes[0] == (256, 256)
        assert ds.overviews(1), "a COG of this size has overviews"
        assert (ds.width, ds.height, ds.count) == (640, 480, count)
        assert ds.crs.to_epsg() == 4326 and ds.res == pytest.approx((COUNTRY_RESOLUTION,) * 2)
        assert ds.nodata is not None
        # class rasters without a predictor (differencing codes only enlarges them), others with differencing (int)
        predictor = ds.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR")
        assert predictor == (None if key in ("land_cover", "climate_zones") else "2"), (key, ds.dtypes[0], predictor)
        if count == 3:
            assert list(ds.descriptions) == [str(y) for y in YEARS]
            assert [ds.tags(i)["YEAR"] for i in (1, 2, 3)] == [str(y) for y in YEARS]


def test_make_synthetic_country__values(country: Path) -> None:
    with rasterio.open(country / "ndvi.tif") as ds:
        assert ds.dtypes[0] == "int16" and ds.nodata == -32768 and set(ds.scales) == {0.0001}
        ndvi = ds.read()
    with rasterio.open(country / "land_cover.tif") as ds:
        assert ds.dtypes[0] == "uint8" and ds.nodata == 0
        lc = ds.read()
    with rasterio.open(country / "climate_zones.tif") as ds:
        cz = ds.read(1)
    with rasterio.open(country / "soc.tif") as ds:
        soc = ds.read(1)
    assert ndvi.min() >= -2000 and ndvi.max() <= 9500
    assert set(np.unique(lc).tolist()) <= {10, 50, 60, 120, 130, 150, 190, 200, 210}
    assert len(np.unique(lc)) >= 6
    assert set(np.unique(cz).tolist()) <= {11, 12}
    assert (soc[lc[0] == 210] == -32768).all() and (soc[lc[0] != 210] > 0).all()
    # some land cover changes are planted between 2000 and 2023, but the background is stable
    changed = (lc[0] != lc[-1]).mean()
    assert 0.0 < changed < 0.1


def test_make_synthetic_country__zones_partition_the_aoi(country: Path) -> None:
    aoi = gpd.read_file(country / "aoi.gpkg").geometry.iloc[0]
    zones = gpd.read_file(country / "zones.gpkg")
    assert {"id", "name"} <= set(zones.columns) and zones["id"].is_unique
    with rasterio.open(country / "land_cover.tif") as ds:
        b = ds.bounds
    minx, miny, maxx, maxy = aoi.bounds
    assert b.left < minx and maxx < b.right and b.bottom < miny and maxy < b.top
    assert zones.geometry.union_all().symmetric_difference(aoi).area < 1e-9 * aoi.area
    for a, c in itertools.combinations(zones.geometry, 2):
        assert a.intersection(c).area < 1e-12


def test_make_synthetic_country__run_file_and_metadata(country: Path) -> None:
    doc = yaml.safe_load((country / "assessment.yaml").read_text())
    assert doc["preset"] == "prais_2026_te" and doc["grid"] == {"reference": "land_cover"}
    assert doc["reporting"] == ["2016-2019", "2016-2023"]
    for spec in doc["inputs"].values():
        assert (country / spec["path"]).is_file()
    meta = json.loads((country / "country.json").read_text())
    assert meta["width"] == 640 and meta["height"] == 480 and meta["years"] == YEARS
    assert sum(meta["land_cover_pixels_last_year"].values()) == 640 * 480
    assert not list(country.glob(".staging*")) and not list(country.glob(".*tmp*"))


def test_make_synthetic_country__deterministic_and_cog_preserves_values(
    country: Path, tmp_path: Path
) -> None:
    make_synthetic_country(tmp_path, width=640, height=480, years=YEARS, tile=256, seed=3, cog=False)
    for key in RASTERS:
        with rasterio.open(country / f"{key}.tif") as a, rasterio.open(tmp_path / f"{key}.tif") as b:
            assert b.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") != "COG"
            np.testing.assert_array_equal(a.read(), b.read())


def test_make_synthetic_country__land_cover_does_not_depend_on_the_tiling(
    country: Path, tmp_path: Path
) -> None:
    make_synthetic_country(tmp_path, width=640, height=480, years=YEARS, tile=128, seed=3, cog=False)
    for key in ("land_cover", "climate_zones"):
        with rasterio.open(country / f"{key}.tif") as a, rasterio.open(tmp_path / f"{key}.tif") as b:
            np.testing.assert_array_equal(a.read(), b.read())


def test_smooth_field__window_equals_whole() -> None:
    whole = smooth_field(5, coarse=(6, 7), shape=(100, 130))
    part = smooth_field(5, coarse=(6, 7), shape=(100, 130), window=Window(40, 30, 50, 20))
    np.testing.assert_array_equal(part, whole[30:50, 40:90])
    assert 0.2 < whole.std() < 1.2


def test_make_synthetic_country__rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tile"):
        make_synthetic_country(tmp_path, width=100, height=100, years=YEARS, tile=100)
    with pytest.raises(ValueError, match="small"):
        make_synthetic_country(tmp_path, width=10, height=100, years=YEARS)


def test_make_synthetic_country__drought_inputs(tmp_path: Path) -> None:
    make_synthetic_country(
        tmp_path, width=200, height=160, years=YEARS, tile=128, seed=4, drought_inputs=True
    )
    doc = yaml.safe_load((tmp_path / "assessment.yaml").read_text())
    assert {"precipitation", "population_total", "population_female", "population_male"} <= set(doc["inputs"])
    with rasterio.open(tmp_path / "precipitation.tif") as ds:
        assert ds.count == 516 and ds.descriptions[0] == "1981-01" and ds.tags(516)["MONTH"] == "2023-12"
        assert ds.res == pytest.approx((0.05, 0.05)) and (ds.width, ds.height) == (10, 8)
        p = ds.read().astype(np.float64)
    annual = p.reshape(43, 12, *p.shape[1:]).sum(axis=1)
    ratio = annual[2021 - 1981] / annual[:30].mean(axis=0)
    south = np.arange(8) + 0.5 > 2 * 8 / 3
    assert (ratio[south] < 0.5).all() and (ratio[~south] > 0.6).all()
    pops = []
    for key in ("population_total", "population_female", "population_male"):
        with rasterio.open(tmp_path / f"{key}.tif") as ds:
            assert ds.count == 3 and ds.dtypes[0] == "float32"
            pops.append(ds.read())
    total, female, male = pops
    np.testing.assert_array_equal(female + male, total)
    assert (total >= 0).all() and total[-1].sum() > total[0].sum()
