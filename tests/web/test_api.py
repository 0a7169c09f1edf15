"""REST API tests with the FastAPI test client (worker processes run the fake pipeline)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin


def _geotiff_bytes() -> bytes:
    buf = io.BytesIO()
    with rasterio.MemoryFile() as mem:
        with mem.open(driver="GTiff", width=4, height=4, count=1, dtype="int16", crs="EPSG:4326",
                      transform=from_origin(10, 6, 0.25, 0.25)) as dst:
            dst.write(np.ones((1, 4, 4), dtype="int16"))
        buf.write(mem.read())
    return buf.getvalue()


@pytest.fixture
def project(client) -> dict:
    response = client.post("/api/projects", json={"name": "Test", "demo": True})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def finished_run(client, project, wait_for) -> dict:
    response = client.post(f"/api/projects/{project['id']}/runs")
    assert response.status_code == 202, response.text
    return wait_for(client, response.json()["id"], ("succeeded", "failed"))


def test_health__reports_settings(client) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["auth"] is False


def test_projects__create_list_get_delete(client) -> None:
    created = client.post("/api/projects", json={"name": "Alpha"}).json()
    assert created["assessment"] is None
    assert [p["id"] for p in client.get("/api/projects").json()] == [created["id"]]
    assert client.get(f"/api/projects/{created['id']}").json()["name"] == "Alpha"
    assert client.delete(f"/api/projects/{created['id']}").status_code == 204
    missing = client.get(f"/api/projects/{created['id']}")
    assert missing.status_code == 404
    assert "does not exist" in missing.json()["detail"]


def test_projects__demo_has_run_file(client, project) -> None:
    assert project["assessment"] == "assessment.yaml"
    assert client.get(f"/api/projects/{project['id']}/assessment").json()["name"] == "Demo country"


def test_upload__geotiff_stored_under_generated_name(client, project, tmp_path) -> None:
    response = client.post(
        f"/api/projects/{project['id']}/datasets",
        params={"role": "ndvi"},
        files={"file": ("../../evil name.tif", _geotiff_bytes(), "image/tiff")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "raster" and body["role"] == "ndvi"
    assert body["original_name"] == "evil name.tif"
    stored = tmp_path / "data" / "projects" / project["id"] / body["path"]
    assert stored.is_file() and stored.name != "evil name.tif"
    assert stored.read_bytes() == _geotiff_bytes()
    listed = client.get(f"/api/projects/{project['id']}/datasets").json()
    assert [d["id"] for d in listed] == [body["id"]]


def test_upload__vector_types(client, project) -> None:
    geojson = json.dumps({"type": "FeatureCollection", "features": []}).encode()
    ok = client.post(f"/api/projects/{project['id']}/datasets", params={"role": "aoi"},
                     files={"file": ("aoi.geojson", geojson)})
    assert ok.status_code == 201 and ok.json()["kind"] == "vector"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("admin.shp", b"x")
        archive.writestr("admin.dbf", b"x")
    ok = client.post(f"/api/projects/{project['id']}/datasets", params={"role": "zones"},
                     files={"file": ("admin.zip", buf.getvalue())})
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("name", "content", "status"),
    [
        ("script.py", b"print(1)", 415),
        ("fake.tif", b"this is not a tiff", 415),
        ("aoi.geojson", b"{not json", 415),
        ("shapes.zip", b"PK\x03\x04garbage", 415),
    ],
)
def test_upload__wrong_type_refused(client, project, name, content, status) -> None:
    response = client.post(f"/api/projects/{project['id']}/datasets", files={"file": (name, content)})
    assert response.status_code == status
    assert "detail" in response.json()
    uploads = Path(client.app.state.settings.root) / "projects" / project["id"] / "uploads"
    assert not list(uploads.glob("*")) if uploads.exists() else True


def test_upload__oversized_refused(make_client) -> None:
    client = make_client(max_upload_mb=0.001)  # about 1 KiB
    project = client.post("/api/projects", json={"name": "small"}).json()
    big = b"II*\x00" + b"\x00" * 5000
    response = client.post(f"/api/projects/{project['id']}/datasets", files={"file": ("big.tif", big)})
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    uploads = client.app.state.settings.root / "projects" / project["id"] / "uploads"
    assert list(uploads.glob("*")) == []
    # a body announced far beyond the limit is refused before it is read
    huge = b"II*\x00" + b"\x00" * (3 * 1024 * 1024)
    response = client.post(f"/api/projects/{project['id']}/datasets", files={"file": ("huge.tif", huge)})
    assert response.status_code == 413
    assert "upload limit" in response.json()["detail"]


def test_geometry__drawn_polygon_saved(client, project) -> None:
    polygon = {"type": "Polygon", "coordinates": [[[10, 5], [11, 5], [11, 6], [10, 5]]]}
    response = client.post(f"/api/projects/{project['id']}/geometry", json={"geojson": polygon})
    assert response.status_code == 201, response.text
    assert response.json()["role"] == "aoi"
    bad = client.post(f"/api/projects/{project['id']}/geometry", json={"geojson": {"type": "Point", "coordinates": [1, 2]}})
    assert bad.status_code == 422


def test_assessment__validation_message_passed_through(client, project) -> None:
    response = client.put(f"/api/projects/{project['id']}/assessment", json={"name": "x", "baseline": "2000"})
    assert response.status_code == 422
    assert "baseline '2000' is not a period like 2000-2015" in response.json()["detail"]
    ok = client.put(f"/api/projects/{project['id']}/assessment", json={"name": "y", "baseline": "2001-2015"})
    assert ok.status_code == 200
    assert client.get(f"/api/projects/{project['id']}/assessment").json()["baseline"] == "2001-2015"


def test_assessment__path_outside_data_folder_refused(client, project) -> None:
    bodies = [{"name": "x", "inputs": {"ndvi": {"path": path}}} for path in ("/etc/passwd", "../../../../etc/passwd")]
    bodies += [
        {"name": "x", "inputs": {"ndvi": {"path": ["ok.tif", "/etc/x.tif"]}}},
        {"name": "x", "inputs": {"ndvi": {"path": "/etc/*.tif"}}},
        {"name": "x", "inputs": {"land_cover": {"path": "lc.tif", "legend": "../../../../legend.yaml"}}},
        {"name": "x", "land_cover": {"transition_matrix": "/tmp/matrix.csv"}},
        {"name": "x", "integration": {"hotspots": "~/hotspots.gpkg"}},
    ]
    for body in bodies:
        response = client.put(f"/api/projects/{project['id']}/assessment", json=body)
        assert response.status_code == 403, body
        assert "outside the data folder" in response.json()["detail"]
    allowed = {"name": "x", "inputs": {"land_cover": {"path": "uploads/lc.tif", "legend": "esa_cci"}},
               "land_cover": {"transition_matrix": "unccd_default"}}
    assert client.put(f"/api/projects/{project['id']}/assessment", json=allowed).status_code == 200


def test_local_dataset__inside_accepted_outside_refused(client, project, tmp_path) -> None:
    root = client.app.state.settings.root
    (root / "shared").mkdir()
    (root / "shared" / "lc.tif").write_bytes(_geotiff_bytes())
    ok = client.post(f"/api/projects/{project['id']}/datasets/local", json={"path": "shared/lc.tif", "role": "land_cover"})
    assert ok.status_code == 201, ok.text
    outside = tmp_path / "outside.tif"
    outside.write_bytes(_geotiff_bytes())
    for path in (str(outside), "../outside.tif", "shared/../../outside.tif"):
        refused = client.post(f"/api/projects/{project['id']}/datasets/local", json={"path": path})
        assert refused.status_code == 403, path


def test_run__demo_completes_with_outputs(client, finished_run) -> None:
    assert finished_run["status"] == "succeeded", finished_run
    assert finished_run["fraction"] == 1.0
    log = client.get(f"/api/runs/{finished_run['id']}/log").text
    assert "stage productivity: stage 2/6" in log and "succeeded" in log
    files = {f["path"] for f in client.get(f"/api/runs/{finished_run['id']}/files").json()}
    assert {"report/report.html", "report/prais.xlsx", "report/prais.json", "maps/soc.tif", "outputs.json"} <= files


def test_run__events_stream_until_finished(client, project) -> None:
    run = client.post(f"/api/projects/{project['id']}/runs").json()
    events = []
    with client.stream("GET", f"/api/runs/{run['id']}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert events[-1]["status"] == "succeeded"
    assert "pid" not in events[-1] and "out_dir" not in events[-1]  # only the documented fields
    assert len(events) >= 2


def test_layers__manifest_with_legend_and_bounds(client, finished_run) -> None:
    layers = client.get(f"/api/runs/{finished_run['id']}/layers").json()
    assert [layer["key"] for layer in layers] == ["lpd/2000-2015", "sdg/2000-2015", "soc"]  # 'escape' dropped
    lpd = layers[0]
    assert lpd["bounds"] == pytest.approx([10.0, 5.0, 11.0, 6.0])
    assert lpd["legend"][0] == {"code": 1, "label": "Declining", "color": "#f23c46"}
    assert layers[2]["bands"] == ["2015", "2023"]


def test_tiles__png_coloured_from_legend(client, finished_run) -> None:
    from PIL import Image

    rid = finished_run["id"]
    # z=9 tile (271, 248) covers 10.55-11.25 E, 4.92-5.62 N: the right half of the fixture, classes 3-5
    response = client.get(f"/api/runs/{rid}/tiles/9/271/248.png", params={"layer": "lpd/2000-2015"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGBA"))
    colours = {tuple(c) for c in image.reshape(-1, 4) if c[3] > 0}
    assert (0x1A, 0x98, 0x50, 255) in colours  # class 5 "Increasing"
    assert (0xF2, 0x3C, 0x46, 255) not in colours  # class 1 lies in the left half
    assert (image[..., 3] == 0).any()  # outside the raster: transparent
    sdg = client.get(f"/api/runs/{rid}/tiles/9/271/248.png", params={"layer": "sdg/2000-2015"})
    sdg_colours = {tuple(c) for c in np.asarray(Image.open(io.BytesIO(sdg.content)).convert("RGBA")).reshape(-1, 4)}
    assert (0x9B, 0x27, 0x79, 255) in sdg_colours  # -1 degraded is coloured too
    soc = client.get(f"/api/runs/{rid}/tiles/9/271/248.png", params={"layer": "soc", "band": 2})
    assert soc.status_code == 200
    far = client.get(f"/api/runs/{rid}/tiles/9/0/0.png", params={"layer": "soc"})
    assert far.status_code == 200
    assert np.asarray(Image.open(io.BytesIO(far.content)).convert("RGBA"))[..., 3].max() == 0
    assert client.get(f"/api/runs/{rid}/tiles/9/271/248.png", params={"layer": "nope"}).status_code == 404
    assert client.get(f"/api/runs/{rid}/tiles/9/271/248.png", params={"layer": "soc", "band": 3}).status_code == 422
    assert client.get(f"/api/runs/{rid}/tiles/2/9/1.png", params={"layer": "soc"}).status_code == 404


def test_point__values_of_every_layer(client, finished_run) -> None:
    # column 39 of 40 -> LPD class 5; row 10 -> degraded (top half); SOC band 2 linear
    body = client.get(f"/api/runs/{finished_run['id']}/point", params={"lon": 10.99, "lat": 5.74}).json()
    by_key = {layer["key"]: layer["values"] for layer in body["layers"]}
    assert by_key["lpd/2000-2015"] == [{"band": "b1", "value": 5, "label": "Increasing"}]
    assert by_key["sdg/2000-2015"][0]["label"] == "Degraded"
    assert by_key["soc"][0] == {"band": "2015", "value": 40.0, "label": None}
    nodata = client.get(f"/api/runs/{finished_run['id']}/point", params={"lon": 10.01, "lat": 5.99}).json()
    assert {layer["key"]: layer["values"][0]["value"] for layer in nodata["layers"]}["lpd/2000-2015"] is None
    outside = client.get(f"/api/runs/{finished_run['id']}/point", params={"lon": 50, "lat": 5}).json()
    assert all(v["value"] is None for layer in outside["layers"] for v in layer["values"])


def test_tables__list_and_filter(client, finished_run) -> None:
    rid = finished_run["id"]
    listed = {t["name"]: t for t in client.get(f"/api/runs/{rid}/tables").json()}
    assert set(listed) == {"lpd_by_lc", "drought_area"}
    assert listed["lpd_by_lc"]["crosstab"] is True
    assert listed["lpd_by_lc"]["zones"] == [{"id": "ALL", "name": "Whole area"}, {"id": "A1", "name": "North"}]
    assert listed["drought_area"]["periods"] == ["2016", "2017"]
    rows = client.get(f"/api/runs/{rid}/tables/lpd_by_lc", params={"zone_id": "A1"}).json()["rows"]
    assert len(rows) == 10 and {r["zone_id"] for r in rows} == {"A1"}
    drought = client.get(f"/api/runs/{rid}/tables/drought_area", params={"period": "2017"}).json()["rows"]
    assert [r["area_km2"] for r in drought] == [17.0, 18.0, 19.0, 20.0, 21.0]
    assert client.get(f"/api/runs/{rid}/tables/missing").status_code == 404


def test_files__download_and_traversal_refused(client, finished_run) -> None:
    rid = finished_run["id"]
    html = client.get(f"/api/runs/{rid}/files/report/report.html")
    assert html.status_code == 200 and "Fake report" in html.text
    assert client.get(f"/api/runs/{rid}/files/maps/soc.tif").content[:4] == b"II*\x00"
    for path in ("..%2F..%2F..%2F..%2Fopenldn.sqlite", "%2E%2E/%2E%2E/%2E%2E/%2E%2E/openldn.sqlite",
                 "%2Fetc%2Fpasswd", "..%5C..%5Cx"):
        response = client.get(f"/api/runs/{rid}/files/{path}")
        assert response.status_code in (403, 404), path
        assert "detail" in response.json()
        assert "SQLite" not in response.text
    assert client.get(f"/api/runs/{rid}/tables/..%2F..%2Fx").status_code in (404, 422)


def test_run__cancel(make_client, monkeypatch, wait_for) -> None:
    monkeypatch.setenv("OPENLDN_FAKE_DELAY", "2")
    client = make_client()
    project = client.post("/api/projects", json={"name": "c", "demo": True}).json()
    run = client.post(f"/api/projects/{project['id']}/runs").json()
    wait_for(client, run["id"], ("running",))
    cancelled = client.post(f"/api/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200
    final = wait_for(client, run["id"], ("cancelled",), timeout=20)
    assert final["status"] == "cancelled"
    assert client.post(f"/api/runs/{run['id']}/cancel").status_code == 409
    # resuming at once waits for the stopping worker, then continues from the checkpoints
    monkeypatch.setenv("OPENLDN_FAKE_DELAY", "0")
    assert client.post(f"/api/runs/{run['id']}/resume").status_code == 202
    assert wait_for(client, run["id"], ("succeeded",))["attempts"] == 2


def test_run__failure_reported_with_message(client, wait_for) -> None:
    project = client.post("/api/projects", json={"name": "f"}).json()
    root = client.app.state.settings.root
    (root / "projects" / project["id"] / "run.yaml").write_text("fail: true")
    client.app.state.db.set_assessment(project["id"], "run.yaml")
    run = client.post(f"/api/projects/{project['id']}/runs").json()
    final = wait_for(client, run["id"], ("failed",))
    assert final["error"] == "ValueError: fake failure in reporting"
    # the log shown to the client keeps the message, not the traceback nor server paths (the file keeps them)
    log = client.get(f"/api/runs/{run['id']}/log").text
    assert "ValueError: fake failure in reporting" in log
    assert "Traceback" not in log and 'File "' not in log and str(root) not in log
    assert "Traceback" in (root / run_dir_of(client, run["id"]) / "run.log").read_text()


def test_run__interrupted_by_restart_then_resumed(make_client, monkeypatch, wait_for) -> None:
    monkeypatch.setenv("OPENLDN_FAKE_DELAY", "1")
    first = make_client()
    project = first.post("/api/projects", json={"name": "r", "demo": True}).json()
    run = first.post(f"/api/projects/{project['id']}/runs").json()
    deadline_run = wait_for(first, run["id"], ("running",))
    assert deadline_run["status"] == "running"
    out_dir = first.app.state.settings.root / run_dir_of(first, run["id"])
    while not (out_dir / "executed_steps.txt").exists():
        pass
    first.__exit__(None, None, None)  # server stops: its worker is stopped too
    second = make_client()
    interrupted = second.get(f"/api/runs/{run['id']}").json()
    assert interrupted["status"] == "interrupted"
    done_before = (out_dir / "executed_steps.txt").read_text().split()
    assert 1 <= len(done_before) < 6
    monkeypatch.setenv("OPENLDN_FAKE_DELAY", "0")
    assert second.post(f"/api/runs/{run['id']}/resume").status_code == 202
    final = wait_for(second, run["id"], ("succeeded",))
    assert final["attempts"] == 2
    executed = (out_dir / "executed_steps.txt").read_text().split()
    assert sorted(executed) == sorted(["land_cover", "productivity", "soil_carbon", "integration", "drought", "reporting"])


def run_dir_of(client, run_id: str) -> str:
    return client.app.state.db.get_run(run_id)["out_dir"]


def test_run__without_run_file_conflict(client) -> None:
    project = client.post("/api/projects", json={"name": "empty"}).json()
    response = client.post(f"/api/projects/{project['id']}/runs")
    assert response.status_code == 409
    assert "run file" in response.json()["detail"]


def test_auth__token_required_for_reads_and_writes(make_client) -> None:
    client = make_client(token="s3cret")
    assert client.get("/api/health").status_code == 200
    assert client.get("/").status_code == 200
    for method, url in (("get", "/api/projects"), ("post", "/api/projects"), ("get", "/api/runs/x/layers"),
                        ("get", "/api/runs/x/tiles/1/0/0.png?layer=a"), ("get", "/api/schema/assessment")):
        response = getattr(client, method)(url, json={"name": "x"}) if method == "post" else client.get(url)
        assert response.status_code == 401, url
        assert "token" in response.json()["detail"]
    wrong = client.get("/api/projects", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    good = client.post("/api/projects", json={"name": "x"}, headers={"Authorization": "Bearer s3cret"})
    assert good.status_code == 201
    # never in a query string (URLs are logged), even the right one
    in_query = client.get("/api/projects", params={"token": "s3cret"}, headers={"Authorization": "Bearer s3cret"})
    assert in_query.status_code == 400 and "URL" in in_query.json()["detail"]


def test_errors__json_without_stack_trace(client, monkeypatch) -> None:
    from openldn.exceptions import InputFileError
    from openldn.web import library

    def boom(data, base_dir):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(library, "validate_run_file", boom)
    project = client.post("/api/projects", json={"name": "e"}).json()
    response = client.put(f"/api/projects/{project['id']}/assessment", json={"name": "x"})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error (RuntimeError); see the server log"}

    def missing(data, base_dir):
        raise InputFileError("ndvi.tif: file not found; check inputs.ndvi.path")

    monkeypatch.setattr(library, "validate_run_file", missing)
    response = client.put(f"/api/projects/{project['id']}/assessment", json={"name": "x"})
    assert response.status_code == 422
    # the library's message first, then every other problem of the run file
    assert response.json()["detail"].startswith("ndvi.tif: file not found; check inputs.ndvi.path")
    assert response.json()["errors"][0]["message"] == "ndvi.tif: file not found; check inputs.ndvi.path"
    invalid = client.post("/api/projects", json={"name": ""})
    assert invalid.status_code == 422 and isinstance(invalid.json()["detail"], str)


def test_index__serves_page_and_vendor_assets(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "openldn" in page.text
    assert client.get("/static/app.js").status_code == 200
    if not client.get("/api/health").json()["vendor"]:
        pytest.skip("npm ci has not been run in src/openldn/web/frontend")
    assert client.get("/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/vendor/world-atlas/countries-110m.json").status_code == 200
    docs = client.get("/docs").text
    assert "/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_assessment__real_validation_same_message_as_library(client, monkeypatch, tmp_path) -> None:
    """With the real openldn.config, the form gets exactly the message of load_assessment."""
    config = pytest.importorskip("openldn.config")
    from openldn.exceptions import ConfigError
    from openldn.web import library

    monkeypatch.undo()  # real library calls (the worker environment is not needed here)
    assert library.validate_run_file.__module__ == "openldn.web.library"
    project = client.post("/api/projects", json={"name": "real"}).json()
    body = {"name": "x", "baseline": "2015-2000"}
    with pytest.raises(ConfigError) as expected:
        config.load_assessment(body, base_dir=tmp_path)
    response = client.put(f"/api/projects/{project['id']}/assessment", json=body)
    assert response.status_code == 422
    # the library's message, and every other problem too (never "(+2 more)")
    first = str(expected.value).removeprefix("<assessment>: ").split(";")[0]
    assert response.json()["detail"].startswith(first) and "more)" not in response.json()["detail"]
    assert {e["key"] for e in response.json()["errors"]} == {"baseline", "aoi", "inputs"}
    schema = client.get("/api/schema/assessment").json()
    assert {"baseline", "productivity", "land_cover", "drought"} <= set(schema["properties"])


def test_boundaries__aoi_and_zones_as_geojson(client, project) -> None:
    assert client.get(f"/api/projects/{project['id']}/boundaries").json() == {"aoi": None, "zones": None}
    polygon = {"type": "Polygon", "coordinates": [[[10, 5], [11, 5], [11, 6], [10, 6], [10, 5]]]}
    aoi = client.post(f"/api/projects/{project['id']}/geometry", json={"geojson": polygon}).json()
    zones = client.post(f"/api/projects/{project['id']}/geometry",
                        json={"geojson": polygon, "role": "zones", "name": "North"}).json()
    body = {"name": "b", "aoi": aoi["path"], "zones": {"path": zones["path"], "id_field": "id", "name_field": "name"}}
    assert client.put(f"/api/projects/{project['id']}/assessment", json=body).status_code == 200
    found = client.get(f"/api/projects/{project['id']}/boundaries").json()
    assert found["aoi"]["type"] == "FeatureCollection"
    assert found["zones"]["features"][0]["properties"] == {"id": "1", "name": "North"}
    xs = [x for x, _ in found["aoi"]["features"][0]["geometry"]["coordinates"][0]]
    assert min(xs) == pytest.approx(10) and max(xs) == pytest.approx(11)


def test_legend__uniform_colours_are_told_apart() -> None:
    from openldn.web.tiles import _legend

    grey = _legend({"legend": {"-1": ["Degrading", "#808080"], "0": ["Stable", "#808080"], "1": ["Improving", "#808080"]}})
    assert [label for label, _ in grey.values()] == ["Degrading", "Stable", "Improving"]
    assert len({colour for _, colour in grey.values()}) == 3
    kept = _legend({"legend": {"1": ["A", "#ff0000"], "2": ["B", None], "3": "C"}})
    assert kept[1] == ("A", "#ff0000") and kept[3][0] == "C" and kept[2][1].startswith("#")


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_run__worker_runs_in_the_page_language(client, project, wait_for, language) -> None:
    """A run started from a page in French writes its outputs in French (the run file sets no language)."""
    run = client.post(f"/api/projects/{project['id']}/runs", headers={"X-OpenLDN-Language": language}).json()
    assert wait_for(client, run["id"], ("succeeded",))["status"] == "succeeded"
    root = client.app.state.settings.root
    assert (root / "projects" / project["id"] / "runs" / run["id"] / "language.txt").read_text() == language


def test_tables__a_table_being_written_is_not_listed(client, finished_run) -> None:
    """An atomic write's temporary file (".<name>.tmp-<id>.csv") in tables/ is skipped, not refused with a 422."""
    rid = finished_run["id"]
    root = client.app.state.settings.root
    folder = next(root.glob(f"projects/*/runs/{rid}")) / "tables"
    (folder / ".sdg_degradation.tmp-0123456789ab.csv").write_text("zone_id,area_km2\nALL,1\n")
    answer = client.get(f"/api/runs/{rid}/tables")
    assert answer.status_code == 200, answer.text
    assert {t["name"] for t in answer.json()} == {"lpd_by_lc", "drought_area"}
