"""Whole-run progress, the inputs panel, grouped downloads and the streamed zip, staged layers, offline places."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
import test_api

from openldn.web import downloads, tiles
from openldn.web.progress import DEFAULT_WEIGHTS, RunProgress

project = test_api.project
finished_run = test_api.finished_run


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_progress__weighted_whole_run_and_time_left() -> None:
    """Two stages of weights 10 s and 30 s (an earlier run): after the first, 25 % done; 10 s spent on 10 s of
    weight, so 30 s are left; halfway through the second (by time), 62.5 %."""
    clock = Clock()
    p = RunProgress(["a", "b"], {"a": 10.0, "b": 30.0}, clock=clock)
    assert p.update("a", 0, 1, "stage 1/2") == 0.0
    assert p.eta() == pytest.approx(40.0)  # earlier seconds: the rate is known from the start
    clock.t = 10.0
    assert p.update("a", 1, 1, "done") == pytest.approx(0.25)
    assert p.update("b", 0, 1, "stage 2/2") == pytest.approx(0.25)
    assert p.eta() == pytest.approx(30.0)
    assert p.stage_index() == (2, 2)
    clock.t = 25.0
    assert p.tick() == pytest.approx((10 + 15) / 40)
    assert p.eta() == pytest.approx(15.0)
    clock.t = 40.0
    assert p.update("b", 1, 1, "done") == 1.0
    assert p.eta() == 0.0


def test_progress__never_goes_back_and_resumed_stages_do_not_count_in_the_rate() -> None:
    clock = Clock()
    p = RunProgress(["land_cover", "productivity", "reporting"], clock=clock)
    total = sum(DEFAULT_WEIGHTS[s] for s in p.stages)
    p.update("land_cover", 1, 1, "resumed from checkpoint")
    assert p.fraction == pytest.approx(DEFAULT_WEIGHTS["land_cover"] / total)
    assert p.eta() is None  # nothing computed in this attempt yet, no earlier timing
    p.update("productivity", 0, 1, "stage 2/3")
    clock.t = 50.0
    p.update("productivity", 1, 1, "done")
    # 50 s for the productivity weight: the rest (reporting) takes its weight at that rate
    assert p.eta() == pytest.approx(50.0 / DEFAULT_WEIGHTS["productivity"] * DEFAULT_WEIGHTS["reporting"])
    before = p.fraction
    p.update("productivity", 0, 1, "computing something")  # a late message of a finished stage
    assert p.fraction == before


def test_progress__stages_learnt_when_not_planned() -> None:
    p = RunProgress([])
    p.update("x", 0, 1)
    p.update("x", 1, 1)
    p.update("y", 0, 1)
    assert p.stages == ["x", "y"] and p.stage_index() == (2, 2)
    assert 0 < p.fraction < 1
    p.update("done", 2, 2)
    assert p.fraction == 1.0


def test_inputs__demo_lists_its_13_inputs_with_grid_years_provenance(tmp_path: Path) -> None:
    """The demo's run file names 8 rasters, the AOI, the units and the DVI factors; its folder holds 2 more data
    files (climate zone codes, truth): 13. Years and grids as the demo README states them."""
    make_demo = pytest.importorskip("openldn.datasets").make_demo
    from openldn.web.inputs import project_inputs

    run_file = make_demo(tmp_path / "demo")
    items = project_inputs(run_file, tmp_path)
    assert len(items) == 13, [i["name"] for i in items]
    by_name = {i["name"]: i for i in items}
    assert {"ndvi", "land_cover", "soc", "climate_zones", "precipitation", "population_total", "population_female",
            "population_male", "area of interest", "admin units", "dvi factors"} <= set(by_name)
    ndvi = by_name["ndvi"]
    assert ndvi["years"] == [2000, 2023] and ndvi["bands"] == 24  # README: annual NDVI 2000-2023
    assert ndvi["grid"]["crs"] == "EPSG:4326" and ndvi["grid"]["width"] == 300  # README: 300 x 300, 0.0025 deg
    assert ndvi["grid"]["resolution"][0] == pytest.approx(0.0025)
    assert ndvi["provenance"]["scale"] == 0.0001 and "NDVI" in ndvi["provenance"]["description"]
    assert by_name["precipitation"]["years"] == [1981, 2023]
    assert by_name["admin units"]["kind"] == "vector" and by_name["admin units"]["features"] >= 2
    assert by_name["land_cover"]["provenance"]["legend"] == "esa_cci"
    assert all(not i["path"].startswith("/") for i in items)


def test_inputs__endpoint(client, project) -> None:
    """The fake demo's run file names no file: the list holds the folder's other data files only."""
    listed = client.get(f"/api/projects/{project['id']}/inputs")
    assert listed.status_code == 200 and isinstance(listed.json(), list)
    assert all(not i["key"] for i in listed.json())


def _published(out: Path) -> None:
    (out / "report").mkdir(parents=True)
    (out / "maps").mkdir()
    (out / "tables").mkdir()
    (out / ".openldn" / "staging").mkdir(parents=True)
    files = {"report/report.html": b"<html></html>", "report/prais.xlsx": b"PK" * 100, "maps/a.tif": b"II*\x00" * 9,
             "tables/t.csv": b"a,b\n1,2\n" * 1000, "outputs.json": b"[]"}
    for rel, data in files.items():
        (out / rel).write_bytes(data)
    (out / ".openldn" / "state.json").write_text("{}")
    (out / ".openldn-lock").write_text("pid 1")
    (out / "run.log").write_text("log\n")
    (out / "stray.txt").write_text("not published")
    manifest = [{"path": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()} for rel, data in files.items()]
    (out / "manifest.json").write_text(json.dumps({"files": manifest}))


def test_downloads__grouped_workbook_first_no_internal_files(tmp_path: Path) -> None:
    _published(tmp_path)
    files = downloads.run_files(tmp_path)
    paths = [f["path"] for f in files]
    assert paths[:2] == ["report/prais.xlsx", "report/report.html"]
    assert [f["group"] for f in files] == ["report", "report", "maps", "tables", "run", "run", "run"]
    assert set(paths) == {"report/prais.xlsx", "report/report.html", "maps/a.tif", "tables/t.csv", "outputs.json",
                          "manifest.json", "run.log"}  # the manifest's files, itself and the log; no stray file


def test_downloads__zip_streams_the_listed_files(tmp_path: Path) -> None:
    _published(tmp_path)
    files = downloads.run_files(tmp_path)
    pieces = list(downloads.zip_stream(tmp_path, files, "run-x", chunk=1000))
    assert len(pieces) > 3  # streamed in pieces, not built whole
    with zipfile.ZipFile(io.BytesIO(b"".join(pieces))) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted(f"run-x/{f['path']}" for f in files)
        assert archive.read("run-x/tables/t.csv") == (tmp_path / "tables" / "t.csv").read_bytes()


def test_downloads__symlink_out_of_the_run_folder_is_not_zipped(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    _published(out)
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (out / "tables" / "t.csv").unlink()
    (out / "tables" / "t.csv").symlink_to(secret)
    assert "tables/t.csv" not in {f["path"] for f in downloads.run_files(out)}


def test_archive_endpoint(client, finished_run) -> None:
    rid = finished_run["id"]
    response = client.get(f"/api/runs/{rid}/archive.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    listed = client.get(f"/api/runs/{rid}/files").json()
    assert not any(f["path"].startswith(".") or "executed_steps" in f["path"] for f in listed)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert {n.split("/", 1)[1] for n in archive.namelist()} == {f["path"] for f in listed}


def test_layers__staged_during_a_run(tmp_path: Path) -> None:
    """Before outputs.json exists, the layers of finished stages are read from the staging area."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    staging = tmp_path / ".openldn" / "staging" / "maps"
    staging.mkdir(parents=True)
    with rasterio.open(staging / "lpd.tif", "w", driver="GTiff", width=8, height=8, count=1, dtype="int16",
                       crs="EPSG:4326", transform=from_origin(10, 6, 0.1, 0.1), nodata=-1) as dst:
        dst.write(np.ones((1, 8, 8), "int16"))
    record = {"key": "lpd", "path": "maps/lpd.tif", "title": "LPD", "legend": {"1": ["Declining", "#AB0000"]}}
    state = {"stages": {"productivity": {"done": True, "outputs": [record]}, "drought": {"done": False, "outputs": []}}}
    (tmp_path / ".openldn" / "state.json").write_text(json.dumps(state))
    layers = tiles.raster_layers(tmp_path)
    assert [(e["key"], e["relpath"], e["staged"], e["stage"]) for e in layers] == [
        ("lpd", ".openldn/staging/maps/lpd.tif", True, "productivity")]
    info = tiles.layer_info(layers[0])
    assert info["legend"] == [{"code": 1, "label": "Declining", "color": "#AB0000"}] and info["staged"]


def test_places__inside_the_box_and_thinned(tmp_path: Path) -> None:
    from openldn.web.routes.basemap import places_in

    rows = [{"name": f"p{i}", "lat": str(5 + (i % 10) / 10), "lng": str(10 + (i // 10) / 10), "country": "XX"}
            for i in range(100)]
    rows.append({"name": "far", "lat": "40", "lng": "0", "country": "YY"})
    path = tmp_path / "cities.json"
    path.write_text(json.dumps(rows))
    found = places_in(path, 9.95, 4.95, 11.0, 6.0, 1000)
    assert len(found["features"]) == 100 and "far" not in {f["properties"]["name"] for f in found["features"]}
    thinned = places_in(path, 9.95, 4.95, 11.0, 6.0, 25)
    assert 1 <= len(thinned["features"]) <= 25
