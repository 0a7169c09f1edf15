"""The labelling page's API (issue 16 item 2) on a small real sample design.

The design is drawn by ``openldn.accuracy.sampling.design_sample`` on a tiny synthetic degradation map; the project
has NDVI, land cover and SOC inputs. Expected values are read independently: pixel values with rasterio, the trend
with ``scipy.stats.theilslopes`` / ``numpy.polyfit``, land cover labels from the legend YAML, the overall accuracy
by hand from Olofsson et al. (2014) eq. 1 and 4.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

rasterio = pytest.importorskip("rasterio")
from rasterio.transform import from_origin  # noqa: E402

YEARS = list(range(2012, 2022))
LC_CODES = [10, 50, 130, 190]  # esa_cci: rainfed cropland, broadleaved evergreen tree cover, grassland, urban
TRANSFORM = from_origin(36.0, 1.0, 0.01, 0.01)  # 12 x 12 cells of 0.01 degree, lon/lat
SHAPE = (12, 12)


def _write(path: Path, data: np.ndarray, dtype: str, nodata: float | None = None, tags: dict[str, str] | None = None,
           descriptions: list[str] | None = None) -> None:  # fmt: skip
    arr = data if data.ndim == 3 else data[None]
    with rasterio.open(path, "w", driver="GTiff", height=SHAPE[0], width=SHAPE[1], count=arr.shape[0], dtype=dtype,
                       crs="EPSG:4326", transform=TRANSFORM, nodata=nodata) as dst:  # fmt: skip
        dst.write(arr.astype(dtype))
        if tags:
            dst.update_tags(**tags)
        for i, d in enumerate(descriptions or []):
            dst.set_band_description(i + 1, d)


def make_project_files(folder: Path) -> Path:
    """Write the inputs, the run file and a sample design in ``folder``; return the sample folder."""
    from openldn.accuracy.sampling import design_sample
    from openldn.core.vocab import load_legend

    rng = np.random.default_rng(7)
    deg = rng.choice([-1, 0, 0, 1], size=SHAPE).astype(np.int16)
    deg[0, 0] = -32768
    legend = load_legend("degradation")
    tags = {"legend": "degradation", "openldn_key": "sdg/2016-2023",
            "legend_classes": json.dumps([{"code": c.code, "key": c.key, "label": c.label} for c in legend.classes])}
    (folder / "maps").mkdir(parents=True, exist_ok=True)
    _write(folder / "maps" / "sdg.tif", deg, "int16", nodata=-32768, tags=tags)
    trend = rng.normal(0, 0.01, size=SHAPE)
    ndvi = np.stack([0.4 + trend * (y - YEARS[0]) + rng.normal(0, 0.02, size=SHAPE) for y in YEARS])
    ndvi[3, 5, 5] = -9999.0  # a missing year at one cell
    _write(folder / "ndvi.tif", ndvi, "float32", nodata=-9999.0)
    lc = rng.choice(LC_CODES, size=(len(YEARS), *SHAPE))
    _write(folder / "land_cover.tif", lc, "int16", nodata=-32768)
    _write(folder / "soc.tif", rng.uniform(20, 60, size=SHAPE), "float32", nodata=-9999.0)
    run_file = {
        "name": "labelling test", "baseline": "2012-2015", "reporting": ["2016-2021"],
        "inputs": {"ndvi": {"path": "ndvi.tif", "years": YEARS},
                   "land_cover": {"path": "land_cover.tif", "years": YEARS, "legend": "esa_cci"},
                   "soc": {"path": "soc.tif"}},
    }  # fmt: skip
    (folder / "assessment.yaml").write_text(yaml.safe_dump(run_file), encoding="utf-8")
    design_sample(folder / "maps" / "sdg.tif", folder / "sample", n=12, seed=3)
    return folder / "sample"


@pytest.fixture
def project(client: Any, tmp_path: Path) -> dict[str, Any]:
    """A project whose folder holds the inputs, the run file and the sample; returns ids and paths."""
    pid = client.post("/api/projects", json={"name": "labels"}).json()["id"]
    folder = tmp_path / "data" / "projects" / pid
    folder.mkdir(parents=True, exist_ok=True)
    sample = make_project_files(folder)
    client.app.state.db.set_assessment(pid, "assessment.yaml")
    sample_id = sample.resolve().relative_to((tmp_path / "data").resolve()).as_posix()
    return {"id": pid, "folder": folder, "sample": sample, "sample_id": sample_id}


def _points_csv(sample: Path) -> list[dict[str, str]]:
    with open(sample / "points.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_samples_and_points(client: Any, project: dict[str, Any]) -> None:
    found = client.get(f"/api/projects/{project['id']}/samples").json()
    assert [s["id"] for s in found] == [project["sample_id"]]
    assert found[0]["n"] == 12 and found[0]["labelled"] == 0 and found[0]["map"] == "sdg/2016-2023"
    res = client.get(f"/api/projects/{project['id']}/labelling/points", params={"sample": project["sample_id"]})
    assert res.status_code == 200, res.text
    body = res.json()
    rows = _points_csv(project["sample"])
    assert [p["point_id"] for p in body["points"]] == [r["point_id"] for r in rows]
    assert [p["stratum"] for p in body["points"]] == [int(r["stratum"]) for r in rows]
    assert body["n"] == 12 and body["n_labelled"] == 0
    assert {c["code"]: (c["label"], c["color"]) for c in body["classes"]} == {
        -1: ("Degraded", "#AB2727"), 0: ("Stable", "#EFE8B0"), 1: ("Improved", "#45A146")}


def test_sample_outside_project_refused(client: Any, project: dict[str, Any]) -> None:
    other = client.post("/api/projects", json={"name": "other"}).json()["id"]
    res = client.get(f"/api/projects/{other}/labelling/points", params={"sample": project["sample_id"]})
    assert res.status_code == 404
    res = client.get(f"/api/projects/{project['id']}/labelling/points", params={"sample": "../../etc"})
    assert res.status_code in (403, 404)


def test_point_details_independent(client: Any, project: dict[str, Any]) -> None:
    from scipy.stats import theilslopes

    folder = project["folder"]
    rows = _points_csv(project["sample"])
    esa = yaml.safe_load((Path(__file__).parents[2] / "src/openldn/data/legends/esa_cci.yaml").read_text())
    esa_labels = {int(c["code"]): c["label"] for c in esa["classes"]}
    checked_trend = 0
    for row in rows:
        lon, lat = float(row["lon"]), float(row["lat"])
        res = client.get(f"/api/projects/{project['id']}/labelling/points/{row['point_id']}",
                         params={"sample": project["sample_id"]})  # fmt: skip
        assert res.status_code == 200, res.text
        d = res.json()
        assert d["point"]["stratum"] == int(row["stratum"]) and d["label"] is None
        sdg = next(m for m in d["maps"] if m["column"] == "sdg_2016-2023")
        with rasterio.open(folder / "maps" / "sdg.tif") as src:
            assert sdg["value"] == int(next(src.sample([(lon, lat)]))[0])
        with rasterio.open(folder / "ndvi.tif") as src:
            expected = np.array(next(src.sample([(lon, lat)])), dtype=np.float64)
        expected[expected == -9999.0] = np.nan
        got = np.array([np.nan if v is None else v for v in d["ndvi"]["values"]], dtype=np.float64)
        assert d["ndvi"]["years"] == YEARS
        np.testing.assert_allclose(got, expected.astype(np.float32), rtol=0, atol=1e-7, equal_nan=True)
        ok = np.isfinite(expected)
        t = np.array(YEARS, dtype=np.float64)[ok]
        ts = theilslopes(expected[ok].astype(np.float32).astype(np.float64), t)
        assert d["ndvi"]["trend"]["slope"] == pytest.approx(ts.slope, rel=1e-5, abs=1e-9)
        assert d["ndvi"]["trend"]["intercept"] == pytest.approx(ts.intercept, rel=1e-5, abs=1e-6)
        ols = np.polyfit(t, expected[ok].astype(np.float32).astype(np.float64), 1)
        assert d["ndvi"]["trend"]["ols_slope"] == pytest.approx(ols[0], rel=1e-5, abs=1e-9)
        assert d["ndvi"]["trend"]["n"] == int(ok.sum())
        checked_trend += 1
        with rasterio.open(folder / "land_cover.tif") as src:
            lc = [int(v) for v in next(src.sample([(lon, lat)]))]
        assert [c["year"] for c in d["land_cover"]["classes"]] == YEARS
        assert [c["code"] for c in d["land_cover"]["classes"]] == lc
        assert [c["label"] for c in d["land_cover"]["classes"]] == [esa_labels[c] for c in lc]
        assert all(c["color"].startswith("#") for c in d["land_cover"]["classes"])
        with rasterio.open(folder / "soc.tif") as src:
            soc = float(next(src.sample([(lon, lat)]))[0])
        assert d["soc"]["values"][0]["value"] == pytest.approx(soc, rel=1e-6)
    assert checked_trend == 12


def test_save_update_export_estimate(client: Any, project: dict[str, Any], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from openldn.accuracy.labels import check_labels, read_labels
    from openldn.cli.main import app

    pid, sid = project["id"], project["sample_id"]
    rows = _points_csv(project["sample"])
    url = f"/api/projects/{pid}/labelling/points/"
    # partial labelling: one point, then export
    first = rows[0]["point_id"]
    res = client.put(url + first, params={"sample": sid}, json={"reference": 1, "interpreter": "ana",
                                                                "confidence": "low", "notes": "first try"})
    assert res.status_code == 200, res.text
    res = client.put(url + first, params={"sample": sid}, json={"reference": -1, "interpreter": "ana",
                                                                "confidence": "high", "notes": "bare soil"})
    assert res.json()["reference"] == -1
    assert client.put(url + first, params={"sample": sid}, json={"reference": 5}).status_code == 422
    assert client.put(url + "P99999", params={"sample": sid}, json={"reference": 0}).status_code == 404
    body = client.get(f"/api/projects/{pid}/labelling/points", params={"sample": sid}).json()
    assert body["n_labelled"] == 1 and body["points"][0]["labelled"] and body["points"][0]["reference"] == -1
    assert client.get(url + first, params={"sample": sid}).json()["label"]["notes"] == "bare soil"
    text = client.get(f"/api/projects/{pid}/labelling/labels.csv", params={"sample": sid}).text
    path = tmp_path / "partial.csv"
    path.write_text(text, encoding="utf-8")
    checked = check_labels(read_labels(path), {-1: "Degraded", 0: "Stable", 1: "Improved"},
                           [r["point_id"] for r in rows])  # fmt: skip
    assert len(checked) == 12 and int(checked["reference"].notna().sum()) == 1
    assert checked.loc[0, "reference"] == -1 and checked.loc[0, "interpreter"] == "ana"
    # label every point: the map class, except one point per stratum called stable
    flipped: set[int] = set()
    reference: dict[str, int] = {}
    for r in rows:
        s = int(r["stratum"])
        ref = s
        if s != 0 and s not in flipped:
            ref, flipped = 0, flipped | {s}
        reference[r["point_id"]] = ref
        assert client.put(url + r["point_id"], params={"sample": sid}, json={"reference": ref}).status_code == 200
    # delete and re-save one label
    assert client.delete(url + first, params={"sample": sid}).status_code == 204
    assert client.get(f"/api/projects/{pid}/labelling/points", params={"sample": sid}).json()["n_labelled"] == 11
    client.put(url + first, params={"sample": sid}, json={"reference": reference[first]})
    text = client.get(f"/api/projects/{pid}/labelling/labels.csv", params={"sample": sid}).text
    assert next(csv.reader(io.StringIO(text))) == ["point_id", "reference", "interpreter", "confidence", "notes"]
    labels = tmp_path / "labels.csv"
    labels.write_text(text, encoding="utf-8")
    out = tmp_path / "estimate"
    result = CliRunner().invoke(app, ["accuracy", "estimate", str(project["sample"]), "--labels", str(labels),
                                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    # overall accuracy by hand (Olofsson et al. 2014 eq. 1, 4): sum_i W_i n_ii / n_i.
    design = json.loads((project["sample"] / "design.json").read_text())
    w = np.array(design["mapped_area_m2"]) / np.sum(design["mapped_area_m2"])
    overall = 0.0
    for i, c in enumerate(design["classes"]):
        ids = [r["point_id"] for r in rows if int(r["stratum"]) == c]
        overall += w[i] * sum(reference[p] == c for p in ids) / len(ids)
    assert f"12 of 12 points labelled; overall accuracy {overall:.3f}" in result.output


def test_upload_sample(client: Any, project: dict[str, Any]) -> None:
    pid = project["id"]
    with open(project["sample"] / "points.gpkg", "rb") as pts, open(project["sample"] / "design.json", "rb") as des:
        res = client.post(f"/api/projects/{pid}/samples", files={"points": ("points.gpkg", pts),
                                                                 "design": ("design.json", des)})  # fmt: skip
    assert res.status_code == 201, res.text
    new = res.json()
    assert new["n"] == 12 and new["map"] == "sdg/2016-2023"
    body = client.get(f"/api/projects/{pid}/labelling/points", params={"sample": new["id"]}).json()
    rows = _points_csv(project["sample"])
    assert [p["point_id"] for p in body["points"]] == [r["point_id"] for r in rows]
    np.testing.assert_allclose([p["lon"] for p in body["points"]], [float(r["lon"]) for r in rows], atol=1e-7)
    res = client.post(f"/api/projects/{pid}/samples", files={"points": ("points.txt", b"a,b\n")})
    assert res.status_code == 415
    ids = {s["id"] for s in client.get(f"/api/projects/{pid}/samples").json()}
    assert ids == {project["sample_id"], new["id"]}


def test_labelling_page_served(client: Any) -> None:
    for name in ("labelling.html", "labelling.js", "labelling.css"):
        assert client.get(f"/static/{name}").status_code == 200


LiveServer = Callable[..., str]
