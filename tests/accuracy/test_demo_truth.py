"""End to end on the small demo: draw a sample on the SDG map, let the planted truth play the interpreter, estimate.

The reference ("truth") is what the demo planted (truth.json): a point inside a planted patch takes the SDG 15.3.1
status the patch was built to have in the period, every other point is stable (the background has no trend and no
land cover change). The planted degraded area is computed here independently, as the equal-area (LAEA) area of the
degraded patches' rectangles.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from openldn.cli.main import main

PERIOD = "2016-2023"
SO1 = ["land_cover", "land_area", "productivity", "soil_carbon", "integration"]


@pytest.fixture(scope="module")
def demo_run(demo_run_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from openldn.pipeline import run_assessment

    out = tmp_path_factory.mktemp("accuracy_run")
    run_assessment(demo_run_file, out, stages=SO1)
    return out


def _interpreter(points: pd.DataFrame, truth: dict, period: str) -> pd.DataFrame:  # type: ignore[type-arg]
    """Label every point from the planted truth (what a photo-interpreter would see)."""
    ref = []
    for lon, lat in zip(points["lon"], points["lat"], strict=True):
        label = 0
        for p in truth["patches"]:
            x0, y0, x1, y1 = p["bbox"]
            if x0 < lon < x1 and y0 < lat < y1:
                value = (p["expected"].get("sdg") or {}).get(period)
                label = 0 if value is None else value
        ref.append(label)
    return pd.DataFrame({"point_id": points["point_id"], "reference": ref, "interpreter": "truth.json",
                         "confidence": "high", "notes": ""})  # fmt: skip


def _planted_degraded_km2(truth: dict, period: str) -> float:  # type: ignore[type-arg]
    boxes = [box(*p["bbox"]) for p in truth["patches"] if (p["expected"].get("sdg") or {}).get(period) == -1]
    assert len(boxes) == 4  # deforestation, cropland and urban expansion, declining productivity
    lon0, lat0 = truth["bounds"][0] + 0.15, truth["bounds"][1] + 0.15
    g = gpd.GeoSeries(boxes, crs=4326).to_crs(f"+proj=laea +lat_0={lat0} +lon_0={lon0} +datum=WGS84")
    return float(g.area.sum()) / 1e6


@pytest.mark.parametrize("seed", [1, 2])
def test_interval_contains_the_planted_degraded_area(demo_run: Path, demo_run_file: Path, tmp_path: Path,
                                                     seed: int) -> None:  # fmt: skip
    sample = tmp_path / "sample"
    code = main(["accuracy", "design", f"sdg/{PERIOD}", "--run", str(demo_run), "--out", str(sample),
                 "--n", "240", "--minimum", "40", "--seed", str(seed)])  # fmt: skip
    assert code == 0
    points = pd.read_csv(sample / "points.csv")
    assert len(points) == 240 and f"lpd_{PERIOD}" in points.columns and f"lc_degradation_{PERIOD}" in points.columns
    truth = json.loads((demo_run_file.parent / "truth.json").read_text())
    labels = _interpreter(points, truth, PERIOD)
    # partial labelling: the last 20 points are left for later
    labels["reference"] = labels["reference"].astype(str)
    labels.loc[labels.index[-20:], "reference"] = ""
    labels.to_csv(sample / "labels.csv", index=False)
    assert main(["accuracy", "estimate", str(sample)]) == 0
    doc = json.loads((sample / "accuracy.json").read_text())
    assert doc["sample"]["n_points"] == 240 and doc["sample"]["n_labelled"] == 220
    assert len(doc["sources"]["labels"]["sha256"]) == 64 and doc["sources"]["design"]["path"].endswith("design.json")
    deg = doc["degraded"]
    planted = _planted_degraded_km2(truth, PERIOD)
    assert deg["area_ci_low"] <= planted <= deg["area_ci_high"], (deg, planted)
    # the estimate is informative: its interval is narrower than the planted area itself
    assert deg["area_ci_high"] - deg["area_ci_low"] < planted
    assert doc["confidence_level"] in {"high", "medium", "low"}
    table = pd.read_csv(sample / "accuracy.csv")
    assert table["area_km2"].sum() == pytest.approx(deg["total_area"])


def test_cli_errors_are_one_line(demo_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["accuracy", "design", "sdg/1999-2000", "--run", str(demo_run), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a categorical map of the run" in err and err.count("\n") == 1
    sample = tmp_path / "s"
    assert main(["accuracy", "design", f"sdg/{PERIOD}", "--run", str(demo_run), "--out", str(sample), "--n", "30",
                 "--minimum", "5"]) == 0  # fmt: skip
    (sample / "labels.csv").write_text("point_id,reference\nP99999,-1\n", encoding="utf-8")
    assert main(["accuracy", "estimate", str(sample)]) == 2
    err = capsys.readouterr().err
    assert "not in the sample (P99999)" in err and err.count("\n") == 1


def test_admin_units_estimates_add_up_and_cover_the_planted_area(demo_run: Path, demo_run_file: Path,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    """Sample inside the admin units; per-unit degraded areas sum to the total, each interval holds its planted area."""
    sample = tmp_path / "zones"
    zones_file = demo_run_file.parent / "zones.gpkg"
    assert main(["accuracy", "design", f"sdg/{PERIOD}", "--run", str(demo_run), "--out", str(sample), "--n", "300",
                 "--minimum", "60", "--seed", "5", "--zones", str(zones_file)]) == 0  # fmt: skip
    points = pd.read_csv(sample / "points.csv", dtype={"zone_id": str})
    truth = json.loads((demo_run_file.parent / "truth.json").read_text())
    assert set(points["zone_id"]) <= {"Z1", "Z2", "Z3", "Z4", "Z5"}
    _interpreter(points, truth, PERIOD).to_csv(sample / "labels.csv", index=False)
    assert main(["accuracy", "estimate", str(sample)]) == 0
    doc = json.loads((sample / "accuracy.json").read_text())
    by_zone = doc["degraded_by_zone"]
    assert sum(z["area"] for z in by_zone.values()) == pytest.approx(doc["degraded"]["area"], rel=1e-9)
    assert sum(z["total_area"] for z in by_zone.values()) == pytest.approx(doc["degraded"]["total_area"], rel=1e-9)
    # planted degraded area per unit: the degraded patches cut by the unit polygons (equal-area projection)
    zones = gpd.read_file(zones_file)
    boxes = [box(*p["bbox"]) for p in truth["patches"] if (p["expected"].get("sdg") or {}).get(PERIOD) == -1]
    laea = f"+proj=laea +lat_0={truth['bounds'][1] + 0.15} +lon_0={truth['bounds'][0] + 0.15} +datum=WGS84"
    patches = gpd.GeoDataFrame(geometry=boxes, crs=4326).to_crs(laea)
    for _, z in zones.to_crs(laea).iterrows():
        planted = float(patches.intersection(z.geometry).area.sum()) / 1e6
        est = by_zone[str(z["id"])]
        assert est["area_ci_low"] - 0.1 <= planted <= est["area_ci_high"] + 0.1, (z["id"], est, planted)
    table = pd.read_csv(sample / "accuracy_zones.csv")
    assert set(table["zone_id"]) == set(by_zone)


def test_exclusion_map_leaves_water_out_of_the_land_cover_frame(demo_run: Path, tmp_path: Path) -> None:
    import rasterio

    with_water = tmp_path / "w"
    land = tmp_path / "l"
    key = f"lc_degradation/{PERIOD}"
    assert main(["accuracy", "design", key, "--run", str(demo_run), "--out", str(with_water), "--n", "50"]) == 0
    assert main(["accuracy", "design", key, "--run", str(demo_run), "--out", str(land), "--n", "50",
                 "--exclude", "lc_unccd/2023=7"]) == 0  # fmt: skip
    a = json.loads((with_water / "design.json").read_text())
    b = json.loads((land / "design.json").read_text())
    with rasterio.open(demo_run / "maps" / "lc_unccd_2023.tif") as src:
        water = int((src.read(1) == 7).sum())
    assert water > 0
    assert sum(a["pixels"]) - sum(b["pixels"]) == water  # the water cells are stable (0) in the LC degradation map
    points = pd.read_csv(land / "points.csv")
    assert (points["lc_unccd_2023"] != 7).all()
    assert sum(b["mapped_area_m2"]) < sum(a["mapped_area_m2"])
    assert b["exclude"]["map"] == "lc_unccd/2023" and b["exclude"]["codes"] == [7]


def test_another_map_of_the_run_with_the_same_sample(demo_run: Path, demo_run_file: Path, tmp_path: Path) -> None:
    """Land cover degradation assessed with SDG-stratified samples (Stehman 2014): 95 % intervals hold the planted
    LC-degraded area (deforestation and urban expansion) in nearly every sample, and the estimates centre on it.

    Here the reference share inside the SDG-degraded stratum is about 1/2, so a 40-point stratum sample has a real
    sampling spread: one of five seeds may miss (a 95 % interval misses 5 % of the time).
    """
    truth = json.loads((demo_run_file.parent / "truth.json").read_text())
    boxes = [box(*p["bbox"]) for p in truth["patches"] if p["expected"]["lc_degradation"][PERIOD] == -1]
    assert len(boxes) == 2
    lon0, lat0 = truth["bounds"][0] + 0.15, truth["bounds"][1] + 0.15
    planted = float(gpd.GeoSeries(boxes, crs=4326).to_crs(f"+proj=laea +lat_0={lat0} +lon_0={lon0} +datum=WGS84")
                    .area.sum()) / 1e6  # fmt: skip
    covered, estimates = 0, []
    for seed in range(1, 6):
        sample = tmp_path / f"sample{seed}"
        assert main(["-q", "accuracy", "design", f"sdg/{PERIOD}", "--run", str(demo_run), "--out", str(sample),
                     "--n", "240", "--minimum", "40", "--seed", str(seed)]) == 0  # fmt: skip
        points = pd.read_csv(sample / "points.csv")
        ref = []
        for lon, lat in zip(points["lon"], points["lat"], strict=True):
            label = 0
            for p in truth["patches"]:
                x0, y0, x1, y1 = p["bbox"]
                if x0 < lon < x1 and y0 < lat < y1:
                    label = p["expected"]["lc_degradation"][PERIOD]
            ref.append(label)
        labels = tmp_path / f"lc_labels{seed}.csv"
        pd.DataFrame({"point_id": points["point_id"], "reference": ref}).to_csv(labels, index=False)
        assert main(["-q", "accuracy", "estimate", str(sample), "--map", f"lc_degradation/{PERIOD}",
                     "--labels", str(labels)]) == 0  # fmt: skip
        doc = json.loads((sample / f"accuracy_lc_degradation_{PERIOD}.json").read_text())
        assert doc["n_labelled"] == 240 and doc["overall_accuracy"] > 0.9
        deg = doc["degraded"]
        covered += deg["area_ci_low"] <= planted <= deg["area_ci_high"]
        estimates.append(deg["area"])
    assert covered >= 4, (estimates, planted)
    assert sum(estimates) / len(estimates) == pytest.approx(planted, rel=0.15)
