"""The web app shows the latest drought alerts written by `openldn monitor` (API and page)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from openldn.monitoring import MonitorOptions, run_monitor
from openldn.web.app import create_app
from openldn.web.settings import Settings


@pytest.fixture(scope="module")
def client(demo_run_file: Path, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    data = tmp_path_factory.mktemp("web_data")
    run_monitor(demo_run_file, MonitorOptions(month="2021-11"), data / "monitoring" / "demo")
    run_monitor(demo_run_file, MonitorOptions(month="2021-12"), data / "monitoring" / "demo")
    fields = Settings.model_fields
    extra = {k: v for k, v in {"auth": False, "allowed_hosts": ["testserver"]}.items() if k in fields}
    with TestClient(create_app(Settings(data_dir=data, **extra)), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.slow
def test_web__latest_alerts_and_files(client: TestClient):
    listing = client.get("/api/monitoring")
    assert listing.status_code == 200
    (entry,) = listing.json()
    assert entry["folder"] == "demo" and entry["months"] == ["2021-11", "2021-12"]
    assert entry["latest"]["month"] == "2021-12" and entry["latest"]["counts"]["alert"] >= 1
    doc = client.get("/api/monitoring/demo").json()
    assert doc["month"] == "2021-12" and doc["months_available"] == ["2021-11", "2021-12"]
    assert any(u["level"] == 3 for u in doc["units"])
    assert client.get("/api/monitoring/demo", params={"month": "2021-11"}).json()["month"] == "2021-11"
    png = client.get("/api/monitoring/demo/files/2021-12/maps/alert_level.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    html = client.get("/api/monitoring/demo/files/2021-12/bulletin.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    # errors: unknown folder or month, paths out of the folder
    assert client.get("/api/monitoring/nope").status_code == 404
    assert client.get("/api/monitoring/demo", params={"month": "2020-01"}).status_code == 404
    assert client.get("/api/monitoring/demo/files/../../openldn.sqlite").status_code in (403, 404)
    assert client.get("/api/monitoring/demo/files/cache/x.npz").status_code == 404
    # the page and its assets
    page = client.get("/monitor")
    assert page.status_code == 200 and '<script src="/monitor/monitor.js">' in page.text
    assert client.get("/monitor/monitor.js").status_code == 200
    assert client.get("/monitor/other.js").status_code == 404
