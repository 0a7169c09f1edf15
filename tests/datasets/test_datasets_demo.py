"""Tests of the built-in demo (openldn.datasets.make_demo).

Expected values come from the design (documented in the module and in truth.json) and are checked with
independent computations (numpy.polyfit, scipy gamma fits, shapely areas), never with openldn's own methods.
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import yaml
from scipy import stats
from shapely.geometry import box

from openldn.datasets import (
    DEMO_CHANGE_YEAR,
    DEMO_DROUGHT_YEAR,
    DEMO_FILES,
    DEMO_MONTHS,
    DEMO_YEARS,
    demo_truth,
    make_demo,
)

ANNUAL = [
    "ndvi",
    "land_cover",
    "population_total",
    "population_female",
    "population_male",
]
FINE = [*ANNUAL, "soc", "climate_zones"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default demo (300 x 300), written once for the module."""
    out = tmp_path_factory.mktemp("demo")
    run_file = make_demo(out)
    assert run_file == out / "assessment.yaml"
    return out


@pytest.fixture(scope="module")
def truth(demo: Path) -> dict:
    return demo_truth(demo)


def _read(demo: Path, key: str) -> np.ndarray:
    with rasterio.open(demo / DEMO_FILES[key]) as ds:
        return ds.read()


def _window(entry: dict) -> tuple[slice, slice]:
    w = entry["window"]
    return slice(w["row_off"], w["row_off"] + w["height"]), slice(w["col_off"], w["col_off"] + w["width"])


def _patch(truth: dict, name: str) -> dict:
    return next(p for p in truth["patches"] if p["name"] == name)


def test_make_demo__writes_every_file(demo: Path) -> None:
    for name in DEMO_FILES.values():
        assert (demo / name).is_file(), name
    assert not list(demo.glob(".*tmp*")), "temporary files left behind"


@pytest.mark.parametrize("key", FINE)
def test_make_demo__rasters_share_the_geographic_grid(demo: Path, key: str) -> None:
    with rasterio.open(demo / DEMO_FILES[key]) as ds:
        assert ds.crs.to_epsg() == 4326
        assert (ds.width, ds.height) == (300, 300)
        assert ds.res == pytest.approx((0.0025, 0.0025))
        assert ds.bounds.left == pytest.approx(37.5) and ds.bounds.top == pytest.approx(-1.0)
        assert ds.profile["tiled"] and ds.compression.name.lower() == "deflate"
        assert ds.nodata is not None


@pytest.mark.parametrize("key", ANNUAL)
def test_make_demo__annual_stacks_are_labelled_by_year(demo: Path, key: str) -> None:
    with rasterio.open(demo / DEMO_FILES[key]) as ds:
        assert ds.count == 24
        assert list(ds.descriptions) == [str(y) for y in range(2000, 2024)]
        assert [ds.tags(i)["YEAR"] for i in range(1, ds.count + 1)] == [str(y) for y in range(2000, 2024)]


def test_make_demo__ndvi_is_scaled_int16(demo: Path) -> None:
    with rasterio.open(demo / DEMO_FILES["ndvi"]) as ds:
        assert ds.dtypes[0] == "int16" and ds.nodata == -32768
        assert set(ds.scales) == {0.0001}
        ndvi = ds.read().astype(float) * 1e-4
    assert ndvi.min() > -0.25 and ndvi.max() < 0.95
    lc = _read(demo, "land_cover")
    # realistic ordering of class means: evergreen trees > deciduous trees > cropland > grassland > shrubland
    # > sparse vegetation > urban > bare > water
    means = [ndvi[lc == c].mean() for c in (50, 60, 10, 130, 120, 150, 190, 200, 210)]
    assert means == sorted(means, reverse=True)


def test_make_demo__land_cover_classes(demo: Path, truth: dict) -> None:
    with rasterio.open(demo / DEMO_FILES["land_cover"]) as ds:
        assert ds.dtypes[0] == "uint8" and ds.nodata == 0
        lc = ds.read()
    present = set(np.unique(lc).tolist())
    assert {10, 50, 60, 120, 130, 150, 190, 200, 210} <= present
    assert present == set(truth["land_cover_classes"])
    # background is stable: outside the planted windows every year equals 2000
    changed = (lc != lc[0]).any(axis=0)
    planted = np.zeros(changed.shape, dtype=bool)
    for p in truth["patches"]:
        planted[_window(p)] = True
    assert not (changed & ~planted).any()


def test_make_demo__precipitation_is_monthly_and_coarse(demo: Path) -> None:
    with rasterio.open(demo / DEMO_FILES["precipitation"]) as ds:
        assert ds.count == len(DEMO_MONTHS) == 43 * 12
        assert ds.descriptions[0] == "1981-01" and ds.descriptions[-1] == "2023-12"
        assert ds.tags(1)["MONTH"] == "1981-01" and ds.tags(ds.count)["MONTH"] == "2023-12"
        assert ds.dtypes[0] == "float32" and ds.nodata == -9999
        assert ds.crs.to_epsg() == 4326 and ds.res == pytest.approx((0.025, 0.025))
        assert ds.bounds.left == pytest.approx(37.5) and ds.bounds.top == pytest.approx(-1.0)
        assert ds.bounds.right >= 38.25 - 1e-9 and ds.bounds.bottom <= -1.75 + 1e-9
        p = ds.read()
    assert (p >= 0).all()
    annual = p.reshape(43, 12, *p.shape[1:]).sum(axis=1)
    # semi-arid: between 300 and 1500 mm/yr on average over 1981-2010
    clim = annual[:30].mean(axis=0)
    assert clim.min() > 300 and clim.max() < 1500
    # bimodal seasons: April and November wetter than July
    monthly = p.reshape(43, 12, -1).mean(axis=(0, 2))
    assert monthly[3] > 5 * monthly[6] and monthly[10] > 5 * monthly[6]


def test_make_demo__climate_zones_and_code_table(demo: Path) -> None:
    cz = _read(demo, "climate_zones")[0]
    assert set(np.unique(cz).tolist()) == {11, 12}
    with (demo / DEMO_FILES["climate_zone_codes"]).open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0].keys()) == ["code", "zone", "n_pixels_in_clip"]  # same layout as the Alaska table
    assert [int(r["code"]) for r in rows] == list(range(13))
    names = {int(r["code"]): r["zone"] for r in rows}
    assert names[11] == "Tropical Moist" and names[12] == "Tropical Dry" and names[9] == "Tropical Montane"
    counts = {int(r["code"]): int(r["n_pixels_in_clip"]) for r in rows}
    assert counts[11] == int((cz == 11).sum()) and counts[12] == int((cz == 12).sum())
    assert sum(counts.values()) == cz.size


def test_make_demo__soc(demo: Path) -> None:
    with rasterio.open(demo / DEMO_FILES["soc"]) as ds:
        assert ds.count == 1 and ds.dtypes[0] == "int16" and ds.nodata == -32768
        assert ds.descriptions[0] == "2000"
        soc = ds.read(1)
    lc0 = _read(demo, "land_cover")[0]
    assert (soc[lc0 == 210] == -32768).all()
    valid = soc[lc0 != 210]
    assert valid.min() > 0 and valid.max() < 200
    assert soc[lc0 == 60].mean() > soc[lc0 == 10].mean() > soc[lc0 == 200].mean()


def test_make_demo__population_sexes_add_up(demo: Path) -> None:
    total, female, male = (
        _read(demo, k) for k in ("population_total", "population_female", "population_male")
    )
    assert total.dtype == female.dtype == male.dtype == np.float32
    np.testing.assert_array_equal(female + male, total)
    np.testing.assert_array_equal(
        female.astype(np.float64) + male.astype(np.float64), total.astype(np.float64)
    )
    assert (female >= 0).all() and (male >= 0).all()
    share = female.sum() / total.sum()
    assert 0.49 < share < 0.52
    lc = _read(demo, "land_cover")
    assert (total[lc == 210] == 0).all()
    # growth: 2.7 %/yr where land cover is stable, plus a density jump (120 -> 3000 persons/km²) in the urban
    # expansion patch
    truth = demo_truth(demo)
    stable = (lc == lc[0]).all(axis=0)
    urban = np.zeros(total.shape[1:], dtype=bool)
    urban[_window(_patch(truth, "urban_expansion"))] = True
    growth = total[-1][stable].astype(np.float64).sum() / total[0][stable].astype(np.float64).sum()
    assert growth == pytest.approx(1.027**23, rel=1e-4)
    k = DEMO_YEARS.index(DEMO_CHANGE_YEAR)
    assert total[k][urban].sum() > 20 * total[k - 1][urban].sum()
    assert (total[lc == 190].mean()) > 20 * total[lc == 130].mean()


def test_make_demo__aoi_is_irregular_and_inside_the_raster(demo: Path) -> None:
    aoi = gpd.read_file(demo / DEMO_FILES["aoi"])
    assert len(aoi) == 1 and aoi.crs.to_epsg() == 4326
    geom = aoi.geometry.iloc[0]
    assert geom.is_valid
    raster = box(37.5, -1.75, 38.25, -1.0)
    assert raster.contains(geom)
    # not a rectangle: it fills clearly less than its bounding box, and many cells are cut by its edge
    assert geom.area < 0.9 * box(*geom.bounds).area
    assert len(geom.exterior.coords) > 50


def test_make_demo__zones_partition_the_aoi(demo: Path) -> None:
    aoi = gpd.read_file(demo / DEMO_FILES["aoi"]).geometry.iloc[0]
    zones = gpd.read_file(demo / DEMO_FILES["zones"])
    assert 4 <= len(zones) <= 6
    assert {"id", "name"} <= set(zones.columns)
    assert zones["id"].is_unique and zones["name"].is_unique
    assert zones.crs.to_epsg() == 4326 and zones.is_valid.all()
    union = zones.geometry.union_all()
    assert union.area == pytest.approx(aoi.area, rel=1e-9)
    assert union.symmetric_difference(aoi).area < 1e-9 * aoi.area
    assert sum(g.area for g in zones.geometry) == pytest.approx(aoi.area, rel=1e-9)
    for a, b in itertools.combinations(zones.geometry, 2):
        assert a.intersection(b).area < 1e-12


def test_make_demo__patches_are_separate_and_inside_the_aoi(demo: Path, truth: dict) -> None:
    aoi = gpd.read_file(demo / DEMO_FILES["aoi"]).geometry.iloc[0]
    names = {p["name"] for p in truth["patches"]}
    assert {"deforestation", "cropland_expansion", "urban_expansion", "declining_productivity",
            "improving_productivity", "water_body"} <= names  # fmt: skip
    with rasterio.open(demo / DEMO_FILES["land_cover"]) as ds:
        transform = ds.transform
    boxes = []
    for p in truth["patches"]:
        w = p["window"]
        x0, y0 = transform * (w["col_off"], w["row_off"])
        x1, y1 = transform * (w["col_off"] + w["width"], w["row_off"] + w["height"])
        assert p["bbox"] == pytest.approx([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], abs=1e-7)
        rect = box(*p["bbox"])
        assert aoi.contains(rect.buffer(0.005)), f"{p['name']} is too close to the AOI edge"
        assert p["expected"], p["name"]
        boxes.append(rect)
    for a, b in itertools.combinations(boxes, 2):
        assert a.intersection(b).area == 0


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [("deforestation", 60, 10), ("cropland_expansion", 130, 10), ("urban_expansion", 10, 190)],
)
def test_make_demo__land_cover_change_patches(
    demo: Path, truth: dict, name: str, before: int, after: int
) -> None:
    patch = _patch(truth, name)
    assert patch["land_cover"] == {"before": before, "after": after, "change_year": DEMO_CHANGE_YEAR}
    assert DEMO_CHANGE_YEAR > 2015
    lc = _read(demo, "land_cover")[(slice(None), *_window(patch))]
    k = DEMO_YEARS.index(DEMO_CHANGE_YEAR)
    assert (lc[:k] == before).all()
    assert (lc[k:] == after).all()


@pytest.mark.parametrize(("name", "code"), [("declining_productivity", 130), ("improving_productivity", 120),
                                            ("water_body", 210)])  # fmt: skip
def test_make_demo__stable_land_cover_patches(demo: Path, truth: dict, name: str, code: int) -> None:
    lc = _read(demo, "land_cover")[(slice(None), *_window(_patch(truth, name)))]
    assert (lc == code).all()


@pytest.mark.parametrize(("name", "sign"), [("declining_productivity", -1), ("improving_productivity", 1)])
def test_make_demo__ndvi_trend_patches(demo: Path, truth: dict, name: str, sign: int) -> None:
    ndvi = _read(demo, "ndvi").astype(float) * 1e-4
    sel = slice(DEMO_YEARS.index(2008), None)
    years = np.arange(2008, 2024)
    patch = ndvi[(sel, *_window(_patch(truth, name)))].reshape(16, -1)
    slopes = np.polyfit(years, patch, 1)[0]
    # planted: 0.012 NDVI/yr; noise cannot flip the sign nor halve it for any pixel
    assert (sign * slopes > 0.006).all()
    assert sign * slopes.mean() == pytest.approx(0.012, abs=0.002)
    # the background (outside every patch) has no trend on average
    mask = np.ones(ndvi.shape[1:], dtype=bool)
    for p in truth["patches"]:
        mask[_window(p)] = False
    lc = _read(demo, "land_cover")[0]
    background = ndvi[sel][:, mask & (lc != 210)]
    bg_slopes = np.polyfit(years, background, 1)[0]
    assert abs(bg_slopes.mean()) < 0.001
    assert np.mean(np.abs(bg_slopes) > 0.006) < 0.01


def test_make_demo__deforestation_drops_ndvi(demo: Path, truth: dict) -> None:
    ndvi = _read(demo, "ndvi").astype(float) * 1e-4
    patch = ndvi[(slice(None), *_window(_patch(truth, "deforestation")))].reshape(24, -1).mean(axis=1)
    k = DEMO_YEARS.index(DEMO_CHANGE_YEAR)
    assert patch[:k].mean() - patch[k:].mean() > 0.12


def test_make_demo__drought_year(demo: Path, truth: dict) -> None:
    drought = truth["drought"]
    assert drought["years"] == [DEMO_DROUGHT_YEAR]
    p = _read(demo, "precipitation").astype(np.float64)
    annual = p.reshape(43, 12, *p.shape[1:]).sum(axis=1)  # December 12-month sums, 1981..2023
    w = drought["precip_window"]
    rs, cs = slice(w["row_off"], w["row_off"] + w["height"]), slice(w["col_off"], w["col_off"] + w["width"])
    i = DEMO_DROUGHT_YEAR - 1981
    normal = annual[:30].mean(axis=0)
    ratio = annual[i] / normal
    assert (ratio[rs, cs] < 0.5).all()
    outside = np.ones(ratio.shape, dtype=bool)
    outside[rs, cs] = False
    assert np.median(ratio[outside]) > 0.95
    # SPI-12 of December: gamma fitted on 1981-2010 (independent scipy fit) -> extreme drought (<= -2) everywhere
    for r in range(rs.start, rs.stop):
        for c in range(cs.start, cs.stop):
            shape, _, scale = stats.gamma.fit(annual[:30, r, c], floc=0)
            spi = stats.norm.ppf(stats.gamma.cdf(annual[i, r, c], shape, scale=scale))
            assert spi <= -2.0, (r, c, spi)
    assert drought["expected"]["drought_class"] == {str(DEMO_DROUGHT_YEAR): 4}


def test_make_demo__truth_documents_every_patch(truth: dict) -> None:
    for p in truth["patches"]:
        assert {"name", "bbox", "window", "years", "planted", "expected", "climate_zone", "zone_ids"} <= set(
            p
        )
    deforestation = _patch(truth, "deforestation")
    assert deforestation["expected"]["lc_degradation"]["2016-2023"] == -1
    assert deforestation["expected"]["sdg"]["2016-2023"] == -1
    assert _patch(truth, "declining_productivity")["expected"]["lpd"]["2016-2023"] == 1
    assert _patch(truth, "improving_productivity")["expected"]["lpd"]["2016-2023"] == 5
    assert truth["background"]["mk_significant_fraction"]["2016-2023"] < 0.1
    assert json.loads(json.dumps(truth)) == truth


def test_make_demo__run_file(demo: Path) -> None:
    doc = yaml.safe_load((demo / DEMO_FILES["assessment"]).read_text())
    assert doc["preset"] == "prais_2026_te"
    assert doc["baseline"] == "2000-2015" and doc["reporting"] == ["2016-2019", "2016-2023"]
    assert doc["zones"] == {"path": "zones.gpkg", "id_field": "id", "name_field": "name"}
    assert doc["grid"] == {"reference": "land_cover"}
    assert doc["inputs"]["ndvi"]["scale"] == 0.0001
    assert doc["inputs"]["land_cover"]["legend"] == "esa_cci"
    assert set(doc["inputs"]) == {"ndvi", "land_cover", "soc", "climate_zones", "precipitation",
                                  "population_total", "population_female", "population_male"}  # fmt: skip
    for spec in doc["inputs"].values():
        assert (demo / spec["path"]).is_file()
    assert (demo / doc["aoi"]).is_file() and (demo / doc["zones"]["path"]).is_file()


def test_make_demo__run_file_validates(demo: Path) -> None:
    config = pytest.importorskip("openldn.config")
    assessment = config.load_assessment(demo / DEMO_FILES["assessment"])
    assert assessment.baseline is not None


def test_make_demo__deterministic(tmp_path: Path) -> None:
    a = make_demo(tmp_path / "a", size=150, seed=7).parent
    b = make_demo(tmp_path / "b", size=150, seed=7).parent
    c = make_demo(tmp_path / "c", size=150, seed=8).parent
    for key in ("ndvi", "land_cover", "soc", "climate_zones", "precipitation", "population_total"):
        np.testing.assert_array_equal(_read(a, key), _read(b, key))
        assert (a / DEMO_FILES[key]).read_bytes() == (b / DEMO_FILES[key]).read_bytes()
    assert not np.array_equal(_read(a, "ndvi"), _read(c, "ndvi"))
    for key in ("truth", "assessment", "climate_zone_codes", "readme"):
        assert (a / DEMO_FILES[key]).read_bytes() == (b / DEMO_FILES[key]).read_bytes()
    za, zb = gpd.read_file(a / DEMO_FILES["zones"]), gpd.read_file(b / DEMO_FILES["zones"])
    assert all(ga.equals_exact(gb, 0) for ga, gb in zip(za.geometry, zb.geometry, strict=True))


def test_make_demo__small_size_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="size"):
        make_demo(tmp_path, size=50)


def test_demo_truth__missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"truth\.json"):
        demo_truth(tmp_path)
