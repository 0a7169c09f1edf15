"""The web app fills the run file from the files a user gives it, and lists every problem of a run file.

An uploaded file gets a role (area of interest, admin units, an input of the registry) and lands under that role's
key; the start wizard writes the run file as ``openldn init`` does; a refused run file is answered with all its
problems (key, message, fix), never "(+1 more)".
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from rasterio.transform import from_origin

from openldn.registry import input_decls

SQUARE = {"type": "Polygon", "coordinates": [[[36.0, -1.0], [36.1, -1.0], [36.1, -0.9], [36.0, -0.9], [36.0, -1.0]]]}


def _geotiff() -> bytes:
    buffer = io.BytesIO()
    profile = {"driver": "GTiff", "width": 4, "height": 4, "count": 2, "dtype": "uint8", "crs": "EPSG:4326",
               "transform": from_origin(36.0, -0.9, 0.025, 0.025)}
    with rasterio.MemoryFile() as memory:
        with memory.open(**profile) as dst:
            dst.write(np.full((2, 4, 4), 10, dtype="uint8"))
            dst.descriptions = ("2000", "2015")
        buffer.write(memory.read())
    return buffer.getvalue()


def _units() -> bytes:
    """Admin units with GADM-like field names (no 'id' nor 'name' field)."""
    features = [{"type": "Feature", "properties": {"GID_1": "KEN.1", "NAME_1": "North"}, "geometry": SQUARE}]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


@pytest.fixture
def project(client) -> dict:
    return client.post("/api/projects", json={"name": "Kenya test"}).json()


def test_roles__every_registry_input_is_a_role(client) -> None:
    roles = {r["role"]: r["key"] for r in client.get("/api/roles").json()}
    assert roles["aoi"] == "aoi" and roles["zones"] == "zones.path"
    for name in input_decls():
        assert roles[name] == f"inputs.{name}.path"


def test_upload__role_fills_the_run_file(client, project) -> None:
    pid = project["id"]
    aoi = client.post(f"/api/projects/{pid}/datasets?role=aoi&assign=true",
                      files={"file": ("area.geojson", json.dumps(SQUARE).encode(), "application/geo+json")})
    assert aoi.status_code == 201, aoi.text
    run_file = client.get(f"/api/projects/{pid}/assessment").json()
    assert run_file["aoi"] == aoi.json()["path"]
    assert run_file["name"] == "Kenya test"  # the project's name, not the generated file name

    land = client.post(f"/api/projects/{pid}/datasets?role=other",
                       files={"file": ("lc.tif", _geotiff(), "image/tiff")}).json()
    assert "inputs" not in client.get(f"/api/projects/{pid}/assessment").json()  # 'other' and no assign: untouched
    answer = client.put(f"/api/projects/{pid}/datasets/{land['id']}/role", json={"role": "land_cover"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["assessment"]["inputs"]["land_cover"] == {"path": land["path"], "legend": "esa_cci"}
    units = client.post(f"/api/projects/{pid}/datasets?role=zones&assign=true",
                        files={"file": ("units.geojson", _units(), "application/geo+json")}).json()
    saved = client.get(f"/api/projects/{pid}/assessment").json()
    assert saved["zones"] == {"path": units["path"], "id_field": "GID_1", "name_field": "NAME_1"}
    assert saved["aoi"] == aoi.json()["path"] and saved["inputs"]["land_cover"]["path"] == land["path"]
    assert (Path(client.app.state.settings.root) / "projects" / pid / land["path"]).is_file()

    # a file linked from elsewhere in the data folder is named relative to the run file
    (Path(client.app.state.settings.root) / "shared").mkdir()
    (Path(client.app.state.settings.root) / "shared" / "area.geojson").write_text(json.dumps(SQUARE))
    linked = client.post(f"/api/projects/{pid}/datasets/local", json={"path": "shared/area.geojson"}).json()
    moved = client.put(f"/api/projects/{pid}/datasets/{linked['id']}/role", json={"role": "aoi"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["assessment"]["aoi"] == "../../shared/area.geojson"

    refused = client.put(f"/api/projects/{pid}/datasets/{land['id']}/role", json={"role": "aoi"})
    assert refused.status_code == 422 and "raster" in refused.json()["detail"]
    assert client.put(f"/api/projects/{pid}/datasets/nope/role", json={"role": "ndvi"}).status_code == 404


def test_save__a_bad_run_file_gets_every_error(client, project, monkeypatch) -> None:
    pytest.importorskip("openldn.config")
    monkeypatch.undo()  # the real openldn.config
    pid = project["id"]
    body = {"name": "x", "baseline": "2015-2000", "no_such_key": 1, "productivity": {"no_such_option": 2},
            "inputs": {"ndvi": {"path": "missing_ndvi.tif"}}}
    # the problems, written down by hand: aoi missing, two unknown keys, a reversed period, a missing file
    expected = {"aoi", "no_such_key", "productivity.no_such_option", "baseline", "inputs.ndvi.path"}
    response = client.put(f"/api/projects/{pid}/assessment", json=body)
    assert response.status_code == 422
    answer = response.json()
    keys = [e["key"] for e in answer["errors"]]
    assert expected <= set(keys), keys
    assert all(e["message"] for e in answer["errors"])
    assert {e["fix"] for e in answer["errors"] if e["key"] == "aoi"} == {"add it"}
    assert "more)" not in answer["detail"]
    for key in expected:
        assert f"'{key}'" in answer["detail"]
    problems = client.get(f"/api/projects/{pid}/assessment/problems").json()
    assert problems["assessment"] == {} and problems["errors"]  # nothing was saved


def test_save__server_messages_in_the_page_language(client, project, monkeypatch) -> None:
    """The API answers in the language the page sends (X-OpenLDN-Language, cookie, Accept-Language)."""
    from openldn.i18n import read_catalogue

    french = {m.id: m.string for m in read_catalogue("fr", "openldn") if m.id}
    if not french.get("add it"):
        pytest.skip("the French catalogue has no 'add it' yet")
    monkeypatch.undo()
    pid = project["id"]
    for headers in ({"X-OpenLDN-Language": "fr"}, {"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}):
        answer = client.put(f"/api/projects/{pid}/assessment", json={"name": "x"}, headers=headers).json()
        assert french["add it"] in {e["fix"] for e in answer["errors"]}, answer
    english = client.put(f"/api/projects/{pid}/assessment", json={"name": "x"}).json()
    assert "add it" in {e["fix"] for e in english["errors"]}


def run_file_text(client, pid: str) -> str:
    return (Path(client.app.state.settings.root) / "projects" / pid / "assessment.yaml").read_text(encoding="utf-8")


def _demo_folder(client) -> Path:
    pytest.importorskip("openldn.datasets")
    from openldn.datasets import make_demo

    folder = Path(client.app.state.settings.root) / "shared-demo"
    make_demo(folder)
    return folder


def test_wizard__writes_a_run_file_that_validate_accepts(client, project, monkeypatch) -> None:
    monkeypatch.undo()
    _demo_folder(client)
    pid = project["id"]
    linked = {}
    for name in ("aoi", "zones", "land_cover", "ndvi", "soc", "climate_zones"):
        file = {"aoi": "aoi.gpkg", "zones": "zones.gpkg"}.get(name, f"{name}.tif")
        answer = client.post(f"/api/projects/{pid}/datasets/local", json={"path": f"shared-demo/{file}"})
        assert answer.status_code == 201, answer.text
        linked[name] = answer.json()["path"]
    body = {"aoi": linked["aoi"], "zones": linked["zones"],
            "inputs": {k: linked[k] for k in ("land_cover", "ndvi", "soc", "climate_zones")}}
    answer = client.post(f"/api/projects/{pid}/wizard", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()["assessment"]
    assert data["name"] == "Kenya test"
    assert data["zones"]["id_field"] == "id" and data["zones"]["name_field"] == "name"
    # files named relative to the project folder, never by their server path
    assert data["aoi"] == "../../shared-demo/aoi.gpkg"
    assert data["inputs"]["ndvi"]["path"] == "../../shared-demo/ndvi.tif"
    assert "# " in run_file_text(client, pid)  # the comments of `openldn init` are kept
    from openldn.config import AssessmentBase

    assert data["baseline"] == AssessmentBase.model_fields["baseline"].default
    run_file = Path(client.app.state.settings.root) / "projects" / pid / "assessment.yaml"
    assert yaml.safe_load(run_file.read_text(encoding="utf-8")) == data
    assert client.get(f"/api/projects/{pid}").json()["assessment"] == "assessment.yaml"
    checked = subprocess.run([sys.executable, "-m", "openldn", "validate", str(run_file)],
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert answer.json()["errors"] == []


def test_wizard__country_by_iso_code(client, project, monkeypatch) -> None:
    monkeypatch.undo()
    from openldn.cli.init import world_atlas_path
    from openldn.exceptions import InputFileError

    try:
        world_atlas_path()
    except InputFileError as error:
        pytest.skip(str(error))
    pid = project["id"]
    answer = client.post(f"/api/projects/{pid}/wizard",
                         json={"country": "DOM", "inputs": {"land_cover": "dataset:esa_cci_lc"}})
    assert answer.status_code == 200, answer.text
    data = answer.json()["assessment"]
    assert data["aoi"] == "aoi_DOM.gpkg" and data["name"] == "Kenya test"
    assert data["inputs"]["land_cover"] == {"dataset": "esa_cci_lc"}
    bad = client.post(f"/api/projects/{pid}/wizard", json={"country": "Atlantis", "inputs": {"ndvi": "dataset:x"}})
    assert bad.status_code == 422 and "Atlantis" in bad.json()["detail"]
    both = client.post(f"/api/projects/{pid}/wizard", json={"country": "DOM", "aoi": "x.gpkg", "inputs": {}})
    assert both.status_code == 422
    outside = client.post(f"/api/projects/{pid}/wizard",
                          json={"aoi": "../../../etc/passwd", "inputs": {"ndvi": "dataset:x"}})
    assert outside.status_code in (403, 404)
