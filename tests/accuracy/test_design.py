"""Sample size, allocation and stratified random points on a small categorical GeoTIFF."""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from openldn.accuracy.design import allocate, map_info, sample_size, scan_strata
from openldn.accuracy.sampling import design_sample
from openldn.exceptions import ConfigError

LEGEND = [{"code": -1, "key": "degraded", "label": "Degraded"}, {"code": 0, "key": "stable", "label": "Stable"},
          {"code": 1, "key": "improved", "label": "Improved"}]  # fmt: skip
NODATA = -32768


def _write(path: Path, arr: np.ndarray, *, crs: str = "EPSG:32737", res: float = 100.0,
           origin: tuple[float, float] = (300_000.0, 9_900_000.0)) -> Path:  # fmt: skip
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1, dtype="int16",
                       crs=crs, transform=from_origin(*origin, res, res), nodata=NODATA) as dst:  # fmt: skip
        dst.write(arr.astype(np.int16), 1)
        dst.update_tags(legend="degradation", legend_classes=json.dumps(LEGEND), openldn_key="sdg/test")
    return path


@pytest.fixture
def map_file(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, np.ndarray]:
    arr = np.zeros((60, 80), dtype=np.int16)
    arr[5:15, 10:30] = -1  # 200 degraded
    arr[40:50, 50:55] = 1  # 50 improved
    arr[:, :3] = NODATA  # 180 no data
    return _write(tmp_path / "sdg.tif", arr), arr


def test_sample_size_reproduces_the_papers_example() -> None:
    """Olofsson et al. (2014) §5.1.1: n = (sum W_i S_i / S(O))^2 = 641 for their example."""
    w, u = [0.02, 0.015, 0.32, 0.645], [0.7, 0.6, 0.9, 0.95]
    by_hand = (sum(wi * math.sqrt(ui * (1 - ui)) for wi, ui in zip(w, u, strict=True)) / 0.01) ** 2
    assert math.ceil(by_hand) == 641
    assert sample_size(w, u, 0.01) == 641
    assert sample_size([2, 1.5, 32, 64.5], u, 0.01) == 641  # weights are normalised
    with pytest.raises(ConfigError, match="between 0 and 1"):
        sample_size(w, [0.7, 0.6, 0.9, 1.5], 0.01)


def test_allocation_proportional_and_with_a_minimum() -> None:
    w = [0.02, 0.015, 0.32, 0.645]
    prop = allocate(641, w)
    assert prop.sum() == 641 and list(prop) == [13, 10, 205, 413]  # 12.82, 9.615, 205.12, 413.445 by hand
    mini = allocate(640, w, minimum=75)
    # 75 + 75 fixed, the remaining 490 shared 0.32 : 0.645 -> 162.49, 327.51 (the paper rounds to 165 / 325)
    assert list(mini) == [75, 75, 162, 328]
    capped = allocate(100, [0.5, 0.5], available=[10, 1000])
    assert list(capped) == [10, 90]
    assert list(allocate(10, [0.7, 0.0, 0.3], minimum=2)) == [7, 0, 3]
    # proportional would give 19 / 0.8 / 0.2: every mapped stratum still gets the 2 units its variance needs
    assert list(allocate(20, [0.95, 0.04, 0.01])) == [16, 2, 2]
    with pytest.raises(ConfigError, match="minimum"):
        allocate(10, [0.5, 0.3, 0.2], minimum=5)


def test_scan_counts_pixels_and_areas_in_strips(map_file: tuple[Path, np.ndarray]) -> None:
    path, arr = map_file
    info = map_info(path)
    assert info.classes == {-1: "Degraded", 0: "Stable", 1: "Improved"} and info.legend_id == "degradation"
    for strip in (80, 800, 10_000_000):  # 1 row, 10 rows, whole map at once
        scan = scan_strata(info, max_pixels=strip)
        assert scan.pixels.tolist() == [200, int((arr == 0).sum()), 50]
    # UTM zone 37S cells of 100 m: the true ground area is 1 ha over the areal scale factor k^2 (k = 0.9996 at
    # the central meridian, a little more here); within 0.1 % of 1 ha
    assert scan.area_m2[0] / 200 == pytest.approx(10_000.0, rel=1e-3)


def test_points_are_reproducible_stratified_and_carry_map_values(map_file: tuple[Path, np.ndarray],
                                                                  tmp_path: Path) -> None:  # fmt: skip
    path, arr = map_file
    d1, t1 = design_sample(path, tmp_path / "a", n=60, minimum=15, seed=7, max_pixels=500)
    _d2, t2 = design_sample(path, tmp_path / "b", n=60, minimum=15, seed=7, max_pixels=1_000_000)
    _, t3 = design_sample(path, tmp_path / "c", n=60, minimum=15, seed=8)
    pd.testing.assert_frame_equal(t1, t2)  # same seed, any strip size: same points
    assert not t1[["row", "col"]].equals(t3[["row", "col"]])
    assert d1.allocation == [15, 30, 15] and len(t1) == 60
    assert t1.groupby("stratum").size().to_dict() == {-1: 15, 0: 30, 1: 15}
    assert not t1.duplicated(["row", "col"]).any()
    # the stratum is the map's value at the point, read back independently
    assert (arr[t1["row"], t1["col"]] == t1["stratum"]).all()
    assert (t1["sdg_test"] == t1["stratum"]).all()
    # coordinates: pixel centres in the map CRS; lon/lat in WGS84
    assert np.allclose(t1["x"], 300_000.0 + (t1["col"] + 0.5) * 100.0)
    assert np.allclose(t1["y"], 9_900_000.0 - (t1["row"] + 0.5) * 100.0)
    assert t1["lon"].between(37.0, 40.0).all() and t1["lat"].between(-1.0, 0.0).all()
    # written files
    g = gpd.read_file(tmp_path / "a" / "points.gpkg", layer="points")
    assert len(g) == 60 and g.crs.to_epsg() == 32737 and list(g["point_id"]) == list(t1["point_id"])
    csv = pd.read_csv(tmp_path / "a" / "points.csv")
    assert list(csv["point_id"]) == list(t1["point_id"])
    design = json.loads((tmp_path / "a" / "design.json").read_text())
    assert design["seed"] == 7 and design["degraded_classes"] == [-1] and design["pixels"][0] == 200
    labels = pd.read_csv(tmp_path / "a" / "labels.csv", keep_default_na=False)
    assert list(labels.columns) == ["point_id", "reference", "interpreter", "confidence", "notes"]
    assert (labels["reference"] == "").all()


def test_sample_size_from_target_se(map_file: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, arr = map_file
    d, t = design_sample(path, tmp_path / "s", target_se=0.02, users_accuracy={-1: 0.7, 0: 0.95, 1: 0.7}, seed=1)
    valid = arr != NODATA
    w = [(arr[valid] == c).mean() for c in (-1, 0, 1)]  # equal-area cells: weights = pixel shares
    s = [math.sqrt(0.7 * 0.3), math.sqrt(0.95 * 0.05), math.sqrt(0.7 * 0.3)]
    expected = math.ceil((sum(a * b for a, b in zip(w, s, strict=True)) / 0.02) ** 2)
    assert d.n == len(t) == expected
    assert d.target_se == 0.02


def test_zones_restrict_the_frame(map_file: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = map_file
    # two zones: west half (x < 304000, columns 0-39) and east half
    zones = gpd.GeoDataFrame({"id": ["W", "E"]}, geometry=[box(300_000, 9_894_000, 304_000, 9_900_000),
                                                          box(304_000, 9_894_000, 308_000, 9_900_000)],
                             crs="EPSG:32737")  # fmt: skip
    zpath = tmp_path / "zones.gpkg"
    zones.to_file(zpath, layer="zones")
    d, t = design_sample(path, tmp_path / "z", n=20, seed=3, zones=zpath, zone_ids=["W"])
    assert (t["col"] < 40).all() and (t["zone_id"] == "W").all()
    assert d.pixels == [200, 60 * 37 - 200, 0]  # the improved block lies in the east
    assert d.allocation[2] == 0
    with pytest.raises(ConfigError, match="not found"):
        design_sample(path, tmp_path / "z2", n=20, zones=zpath, zone_ids=["X"])


def test_bad_map_inputs(tmp_path: Path) -> None:
    from openldn.exceptions import InputFileError

    with pytest.raises(InputFileError, match="not found"):
        map_info(tmp_path / "missing.tif")
    arr = np.full((10, 10), NODATA, dtype=np.int16)
    with pytest.raises(ConfigError, match="no pixel"):
        design_sample(_write(tmp_path / "empty.tif", arr), tmp_path / "o", n=10)


def test_geographic_cell_areas(tmp_path: Path) -> None:
    """Lon/lat grid near 1° S: cells of 0.0025°, area by the spherical formula (authalic radius) to 0.5 %."""
    arr = np.zeros((40, 40), dtype=np.int16)
    arr[:10] = -1
    path = _write(tmp_path / "geo.tif", arr, crs="EPSG:4326", res=0.0025, origin=(37.5, -1.0))
    scan = scan_strata(map_info(path))
    r = 6_371_007.2
    lat = np.deg2rad(-1.0 - 0.0025 * np.arange(41))
    rows = r**2 * np.deg2rad(0.0025) * np.abs(np.diff(np.sin(lat)))
    assert scan.area_m2[0] == pytest.approx(40 * rows[:10].sum(), rel=5e-3)
    assert scan.area_m2[1] == pytest.approx(40 * rows[10:].sum(), rel=5e-3)


def test_a_labelled_sample_is_never_silently_replaced(map_file: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = map_file
    out = tmp_path / "s"
    _, t = design_sample(path, out, n=20, seed=1)
    labels = pd.read_csv(out / "labels.csv", dtype=str, keep_default_na=False)
    labels.loc[0, "reference"] = "0"
    labels.to_csv(out / "labels.csv", index=False)
    _, again = design_sample(path, out, n=20, seed=1)  # the same design: labels kept
    pd.testing.assert_frame_equal(t, again)
    assert pd.read_csv(out / "labels.csv", dtype=str, keep_default_na=False).loc[0, "reference"] == "0"
    with pytest.raises(ConfigError, match="holds labels of a different sample"):
        design_sample(path, out, n=20, seed=2)
    design_sample(path, out, n=20, seed=2, force=True)
    assert (out / "labels.previous.csv").is_file()
    assert (pd.read_csv(out / "labels.csv", dtype=str, keep_default_na=False)["reference"] == "").all()
