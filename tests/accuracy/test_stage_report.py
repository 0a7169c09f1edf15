"""A run with an ``accuracy`` section carries the adjusted degraded proportion and its interval beside the map figure
in the report, the workbook and the run JSON; with ``agreement`` and ``pixel_confidence`` it writes their maps and
tables.

Expected figures are computed here from the Olofsson et al. (2014) formulas in plain Python (eq. 9-10 for the area
proportion of the merged degraded column and its variance), from the labels this test writes and the mapped areas
of the design, never with the package's estimators.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zipfile
from pathlib import Path
from statistics import NormalDist

import pandas as pd
import pytest
import yaml

from openldn.cli.main import main

PERIOD = "2016-2023"
SO1 = ["land_cover", "land_area", "productivity", "soil_carbon", "integration"]
#: How many points of each stratum the "interpreter" labels differently from the map: stratum -> (reference, count).
FLIPS = {-1: (0, 3), 0: (-1, 4), 1: (0, 2)}


@pytest.fixture(scope="module")
def runs(demo_run_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from openldn.pipeline import run_assessment

    root = tmp_path_factory.mktemp("accuracy_stage")
    first = root / "first"
    run_assessment(demo_run_file, first, stages=SO1)
    sample = root / "sample"
    assert main(["accuracy", "design", f"sdg/{PERIOD}", "--run", str(first), "--out", str(sample), "--n", "90",
                 "--minimum", "20", "--seed", "5"]) == 0  # fmt: skip
    points = pd.read_csv(sample / "points.csv")
    ref = points["stratum"].astype(int).tolist()
    for stratum, (other, k) in FLIPS.items():
        idx = [i for i, s in enumerate(points["stratum"]) if s == stratum][:k]
        for i in idx:
            ref[i] = other
    labels = pd.DataFrame({"point_id": points["point_id"], "reference": ref, "interpreter": "test",
                           "confidence": "", "notes": ""})  # fmt: skip
    labels.to_csv(sample / "labels.csv", index=False)
    doc = yaml.safe_load(demo_run_file.read_text(encoding="utf-8"))
    doc["accuracy"] = {"design": str(sample), "confidence_rule": "absolute", "thresholds": [1.0, 3.0]}
    doc["agreement"] = {"variants": ["gpg_v2_zscore", "robust_fdr"], "periods": [PERIOD], "decompose": True}
    doc["pixel_confidence"] = {"enabled": True}
    run_file = demo_run_file.parent / "run_accuracy.yaml"
    run_file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    second = root / "second"
    run_assessment(run_file, second, stages=[*SO1, "pixel_confidence", "agreement", "accuracy", "reporting"])
    return {"sample": sample, "run": second}


def _expected(sample: Path) -> dict[str, float]:
    """Olofsson et al. 2014 eq. 9-10 for the merged degraded reference column, by hand."""
    design = json.loads((sample / "design.json").read_text())
    points = pd.read_csv(sample / "points.csv")
    labels = pd.read_csv(sample / "labels.csv")
    joined = points.merge(labels, on="point_id")
    total = sum(design["mapped_area_m2"])
    p = var = mapped = 0.0
    for code, area in zip(design["classes"], design["mapped_area_m2"], strict=True):
        w = area / total
        rows = joined[joined["stratum"] == code]
        n = len(rows)
        share = float((rows["reference"] == -1).sum()) / n
        p += w * share
        var += w * w * share * (1 - share) / (n - 1)
        if code == -1:
            mapped = w
    half = NormalDist().inv_cdf(0.975) * math.sqrt(var)
    return {"p": p, "low": max(0.0, p - half), "high": p + half, "half": half, "mapped": mapped,
            "area_km2": p * total / 1e6}  # fmt: skip


def test_run_json_carries_the_adjusted_figure(runs: dict[str, Path]) -> None:
    import jsonschema

    from openldn.reporting.export import load_schema

    exp = _expected(runs["sample"])
    doc = json.loads((runs["run"] / "report" / "openldn-run.json").read_text())
    jsonschema.validate(doc, load_schema())
    acc = doc["accuracy"]
    assert acc["map"] == f"sdg/{PERIOD}"
    assert acc["adjusted_proportion"] == pytest.approx(exp["p"], abs=1e-9)
    assert acc["ci_low"] == pytest.approx(exp["low"], abs=1e-9)
    assert acc["ci_high"] == pytest.approx(exp["high"], abs=1e-9)
    assert acc["map_proportion"] == pytest.approx(exp["mapped"], abs=1e-9)
    assert acc["adjusted_area_km2"] == pytest.approx(exp["area_km2"], rel=1e-9)
    # the documented absolute rule: half-width in percentage points against (1, 3)
    level = "high" if 100 * exp["half"] <= 1 else "medium" if 100 * exp["half"] <= 3 else "low"
    assert acc["confidence_level"] == level
    # provenance of the sample: files with their checksums, seed and counts
    prov = doc["provenance"]["accuracy"]
    labels = runs["sample"] / "labels.csv"
    assert prov["files"]["labels"]["sha256"] == hashlib.sha256(labels.read_bytes()).hexdigest()
    assert prov["sample"]["seed"] == 5 and prov["sample"]["n_points"] == 90 and prov["sample"]["n_labelled"] == 90
    # SO1-4.T2 ticks the derived level; the PRAIS tables keep the map's areas (certificate still passes)
    t2 = [t for t in doc["tables"] if t["code"] == "SO1-4.T2" and t["zone_id"] == "ALL"]
    assert t2 and any(f"Confidence: {level}." in n for n in t2[0]["notes"])
    assert doc["consistency"]["ok"]


def test_report_and_workbook_show_it(runs: dict[str, Path]) -> None:
    exp = _expected(runs["sample"])
    text = (runs["run"] / "report" / "report.html").read_text(encoding="utf-8")
    block = text[text.index('id="accuracy"'):]
    for v in (exp["p"], exp["low"], exp["high"], exp["mapped"]):
        assert f"{100 * v:.2f}%" in block, (v, block[:2000])
    with zipfile.ZipFile(runs["run"] / "report" / "prais_tables.xlsx") as z:
        book = z.read("xl/workbook.xml").decode()
        names = re.findall(r'<sheet name="([^"]+)"', book)
        assert "Accuracy" in names and "Method agreement" in names
        sheet = z.read(f"xl/worksheets/sheet{names.index('Accuracy') + 1}.xml").decode()
        numbers = [float(v) for v in re.findall(r"<v>([-0-9.eE]+)</v>", sheet)]
    for v in (exp["p"], exp["low"], exp["high"]):
        assert any(abs(n - v) < 1e-12 for n in numbers), v


def test_agreement_outputs(runs: dict[str, Path]) -> None:
    out = runs["run"]
    variants = pd.read_csv(out / "tables" / "agreement_variants.csv")
    assert sorted(variants["variant"].unique()) == ["gpg_v2_zscore", "robust_fdr", "run"]
    # the reference variant is the run's own SDG map (no false-positive recode in the demo)
    sdg = pd.read_csv(out / "tables" / "sdg_degradation.csv")
    own = sdg[(sdg["zone_id"] == "ALL") & (sdg["period"] == PERIOD) & (sdg["class_code"] == -1)
              & (sdg["variable"] == "sdg_15_3_1")]["area_km2"].iloc[0]  # fmt: skip
    mine = variants[(variants["variant"] == "run") & (variants["zone_id"] == "ALL") & (variants["class_code"] == -1)]
    assert mine["area_km2"].iloc[0] == pytest.approx(own, rel=1e-9)
    # every range row is the min/max of the variants' cells (recomputed here with pandas)
    ranges = pd.read_csv(out / "tables" / "agreement_range.csv")
    g = variants.groupby(["period", "zone_id", "class_code"])["area_km2"]
    check = ranges.set_index(["period", "zone_id", "class_code"])
    assert check["min_km2"].to_numpy() == pytest.approx(g.min().reindex(check.index).to_numpy())
    assert check["max_km2"].to_numpy() == pytest.approx(g.max().reindex(check.index).to_numpy())
    sens = pd.read_csv(out / "tables" / "agreement_sensitivity.csv")
    assert set(sens["kind"]) == {"variant", "single option"} and (sens["rank"] >= 1).all()
    assert (out / "maps" / f"agreement_{PERIOD}.tif").is_file()
    assert (out / "maps" / f"confidence_{PERIOD}.tif").is_file()
    text = (out / "report" / "report.html").read_text(encoding="utf-8")
    assert 'id="agreement"' in text and "moves the national figure most" in text


def test_design_puts_extra_points_where_confidence_is_low(runs: dict[str, Path], tmp_path: Path) -> None:
    """`openldn accuracy design --confidence --extra`: classes split by pixel confidence, extra points in the low
    parts; the estimate is the stratified one over those strata (computed here by hand)."""
    import numpy as np
    import rasterio

    out = runs["run"]
    sample = tmp_path / "s"
    assert main(["accuracy", "design", f"sdg/{PERIOD}", "--run", str(out), "--out", str(sample), "--n", "60",
                 "--minimum", "10", "--seed", "3", "--confidence", f"confidence/{PERIOD}", "--extra", "30"]) == 0
    design = json.loads((sample / "design.json").read_text())
    points = pd.read_csv(sample / "points.csv")
    with rasterio.open(out / "maps" / f"sdg_{PERIOD}.tif") as a, \
            rasterio.open(out / "maps" / f"confidence_{PERIOD}.tif") as b:  # fmt: skip
        sdg, conf = a.read(1), b.read(1)
    # the low-confidence pixels of each class, counted independently
    low_px = [int(((sdg == c) & (conf == 1)).sum()) for c in design["classes"]]
    assert design["pixels_low"] == low_px and sum(low_px) > 0
    assert design["extra"] == 30 and len(points) == design["n"] == sum(design["allocation"])
    on_low = conf[points["row"], points["col"]] == 1
    assert (on_low == (points["substratum"] == "low")).all()
    assert (sdg[points["row"], points["col"]] == points["stratum"]).all()
    assert int(on_low.sum()) == sum(design["allocation_low"]) >= 30
    # labels: the map class, except two low-confidence points per class relabelled stable/degraded
    ref = points["stratum"].astype(int).copy()
    for c in design["classes"]:
        idx = points.index[(points["stratum"] == c) & (points["substratum"] == "low")][:2]
        ref[idx] = 0 if c != 0 else -1
    pd.DataFrame({"point_id": points["point_id"], "reference": ref}).to_csv(sample / "labels.csv", index=False)
    assert main(["accuracy", "estimate", str(sample)]) == 0
    got = json.loads((sample / "accuracy.json").read_text())["degraded"]
    # stratified estimate over the 2 x 3 strata (class x low/other), by hand
    full = np.asarray(design["mapped_area_m2"])
    low = np.asarray(design["mapped_area_low_m2"])
    total = full.sum()
    p = var = 0.0
    for i, c in enumerate(design["classes"]):
        for part, area in (("low", low[i]), ("other", full[i] - low[i])):
            sel = (points["stratum"] == c) & (points["substratum"] == part)
            n = int(sel.sum())
            if area <= 0:
                continue
            share = float((ref[sel] == -1).sum()) / n
            p += area / total * share
            var += (area / total) ** 2 * share * (1 - share) / (n - 1)
    assert got["proportion"] == pytest.approx(p, abs=1e-12)
    assert got["se"] == pytest.approx(math.sqrt(var), rel=1e-9)
