"""Reference labels: reading CSV/GeoPackage, partial labelling, one-line errors, estimates from a labelled sample."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from openldn.accuracy.assess import assess_sample, confidence_level, write_assessment
from openldn.accuracy.design import SampleDesign
from openldn.accuracy.estimators import estimate_class_proportion
from openldn.accuracy.labels import check_labels, read_labels
from openldn.exceptions import ConfigError, LegendError

CLASSES = {-1: "Degraded", 0: "Stable", 1: "Improved"}
IDS = [f"P{i:05d}" for i in range(1, 13)]


def _csv(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "labels.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_codes_labels_blanks_and_extra_columns(tmp_path: Path) -> None:
    p = _csv(tmp_path, "Point_ID,reference,interpreter,notes\nP00001,-1,ana,\nP00002,stable,ana,cloudy\n"
                       "P00003,,bo,skipped\nP00004, Improved ,bo,\n")  # fmt: skip
    out = check_labels(read_labels(p), CLASSES, IDS)
    assert list(out["reference"]) == [-1, 0, pd.NA, 1]
    assert list(out.columns) == ["point_id", "reference", "interpreter", "confidence", "notes"]
    assert out.loc[1, "notes"] == "cloudy" and out.loc[0, "confidence"] == ""


def test_geopackage_labels(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({"point_id": ["P00001", "P00002"], "reference": ["-1", None], "interpreter": ["ana", "ana"]},
                         geometry=[Point(37.6, -1.1), Point(37.7, -1.2)], crs="EPSG:4326")  # fmt: skip
    g.to_file(tmp_path / "labels.gpkg", layer="labels")
    out = check_labels(read_labels(tmp_path / "labels.gpkg"), CLASSES, IDS)
    assert list(out["reference"]) == [-1, pd.NA]


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("point_id,ref\nP00001,1\n", ConfigError, r"column\(s\) \['reference'\] missing"),
        ("point_id,reference\nP00001,1\nX9,0\n", ConfigError, "1 point id.* not in the sample \\(X9\\)"),
        ("point_id,reference\nP00001,1\nP00001,0\n", ConfigError, "P00001 appear more than once"),
        ("point_id,reference\nP00001,1\nP00002,forest\n", LegendError, "row 3, point P00002: reference class 'forest'"),
        ("point_id,reference\nP00001,7\n", LegendError, "'7' is not in the map's legend; use one of -1 \\(Degraded\\)"),
        ("point_id,reference\n,1\n", ConfigError, "row 2 has no point_id"),
    ],
)
def test_label_errors_are_one_line(tmp_path: Path, text: str, error: type, match: str) -> None:
    with pytest.raises(error, match=match) as info:
        check_labels(read_labels(_csv(tmp_path, text)), CLASSES, IDS)
    assert "\n" not in str(info.value) and "labels.csv" in str(info.value)


def _design() -> SampleDesign:
    return SampleDesign(map_key="sdg/test", map_path="x.tif", legend_id="degradation", classes=[-1, 0, 1],
                        class_labels=["Degraded", "Stable", "Improved"], degraded_classes=[-1], pixels=[100, 800, 100],
                        mapped_area_m2=[1e6, 8e6, 1e6], allocation=[4, 4, 4], n=12, seed=0, target_se=None,
                        expected_users_accuracy=None, minimum=4)  # fmt: skip


def test_partial_labelling_estimates_from_labelled_points(tmp_path: Path) -> None:
    points = pd.DataFrame({"point_id": IDS, "stratum": [-1] * 4 + [0] * 4 + [1] * 4})
    ref = ["-1", "-1", "-1", "0", "0", "0", "-1", "", "1", "1", "0", ""]  # 2 unlabelled
    labels = pd.DataFrame({"point_id": IDS, "reference": ref, "interpreter": ["ana"] * 6 + ["bo"] * 6})
    res = assess_sample(_design(), points, labels)
    assert res.n_points == 12 and res.n_labelled == 10 and res.labelled_per_stratum == [4, 3, 3]
    assert res.interpreters == ["ana", "bo"]
    # by hand: W = 0.1, 0.8, 0.1; degraded share per stratum 3/4, 1/3, 0/3
    p = 0.1 * 0.75 + 0.8 / 3
    se = np.sqrt(0.01 * 0.75 * 0.25 / 3 + 0.64 * (1 / 3) * (2 / 3) / 2)
    assert res.degraded is not None
    assert res.degraded.proportion == pytest.approx(p) and res.degraded.se == pytest.approx(se)
    assert res.degraded.area == pytest.approx(10.0 * p)  # km²
    paths = write_assessment(res, tmp_path)
    doc = json.loads(paths["json"].read_text())
    assert doc["sample"]["n_labelled"] == 10 and doc["area_unit"] == "km2"
    assert doc["degraded"]["proportion"] == pytest.approx(p)
    assert doc["confidence_level"] == res.confidence == "low"  # half-width 1.96 * 0.33 over 0.34
    table = pd.read_csv(paths["table"])
    assert {"area_km2", "area_km2_ci_low", "users_accuracy", "class_label"} <= set(table.columns)
    assert table["area_km2"].sum() == pytest.approx(10.0)
    matrix = pd.read_csv(paths["matrix"])
    assert matrix["count"].sum() == 10


def test_too_few_labelled_points_in_a_stratum() -> None:
    points = pd.DataFrame({"point_id": IDS[:6], "stratum": [-1, -1, 0, 0, 1, 1]})
    labels = pd.DataFrame({"point_id": IDS[:6], "reference": ["-1", "-1", "0", "0", "1", ""]})
    with pytest.raises(ConfigError, match=r"fewer than 2 labelled points: 1 \(Improved\): 1; .*5 of 6 points"):
        assess_sample(_design(), points, labels)


@pytest.mark.parametrize(
    ("counts", "areas", "rule", "expected"),
    [
        # p = 0.5 * 45/50 = 0.45, se = sqrt(0.25 * 0.9 * 0.1 / 49) = 0.0214: ±0.042 = ±9 % of p, 4.2 points
        ([[45, 5], [0, 50]], [1.0, 1.0], "relative", "high"),
        ([[45, 5], [0, 50]], [1.0, 1.0], "absolute", "medium"),
        # p = 0.1 * 0.5 + 0.9 * 0.1 = 0.14, se = sqrt(0.01 * 0.25 / 9 + 0.81 * 0.09 / 9) = 0.0915: ±128 %, 17.9 points
        ([[5, 5], [1, 9]], [1.0, 9.0], "relative", "low"),
        ([[5, 5], [1, 9]], [1.0, 9.0], "absolute", "low"),
        # p = 0.45 with n = 500 per stratum: se = 0.0067, ±0.013 = ±2.9 %, 1.3 points
        ([[450, 50], [0, 500]], [1.0, 1.0], "absolute", "high"),
        # p = 0.5 * 0.5 = 0.25, se = sqrt(0.25 * 0.25 / 9) = 0.0833: ±0.163 = ±65 % -> low; with n=30: se=0.0464,
        # ±0.091 = ±36 % -> medium
        ([[15, 15], [0, 30]], [1.0, 1.0], "relative", "medium"),
    ],
)
def test_confidence_rule(counts: list[list[int]], areas: list[float], rule: str, expected: str) -> None:
    est = estimate_class_proportion(counts, areas, [0])
    assert confidence_level(est, rule=rule) == expected  # type: ignore[arg-type]


def test_confidence_rule_thresholds_and_errors() -> None:
    est = estimate_class_proportion([[45, 5], [0, 50]], [1.0, 1.0], [0])  # ±9.3 % relative
    assert confidence_level(est, thresholds=(0.05, 0.1)) == "medium"
    assert confidence_level(est, thresholds=(0.01, 0.05)) == "low"
    with pytest.raises(ConfigError, match="relative"):
        confidence_level(est, rule="other")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="high <= medium"):
        confidence_level(est, thresholds=(0.5, 0.1))
