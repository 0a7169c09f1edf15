"""The web platform as an attacker meets it: headers, paths, token, Host/Origin, uploads, links, errors, load.

Each test fails on the platform before these defences (issue 15) and passes with them.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from openldn.web.app import create_app
from openldn.web.settings import Settings

FAKE_PIPELINE = "_web_fake_pipeline:run_assessment"


@pytest.fixture
def project(client: TestClient) -> dict[str, Any]:
    response = client.post("/api/projects", json={"name": "Test", "demo": True})
    assert response.status_code == 201, response.text
    return response.json()


def _root(client: TestClient) -> Path:
    return Path(client.app.state.settings.root)


# ------------------------------------------------------------------------------------------------------ headers
class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.inline.append(tag)
        self.handlers += [k for k in names if k.lower().startswith("on")]


def test_headers__csp_without_inline_script_nosniff_no_framing(client: TestClient) -> None:
    for url in ("/", "/api/health", "/api/projects", "/static/app.js", "/docs"):
        response = client.get(url)
        csp = response.headers.get("content-security-policy", "")
        script_src = next((d for d in csp.split(";") if d.strip().startswith("script-src")), "")
        assert script_src.split() == ["script-src", "'self'"], (url, csp)
        assert "frame-ancestors 'none'" in csp, url
        assert response.headers.get("x-content-type-options") == "nosniff", url
    for page in ("/", "/docs"):
        parser = _Scripts()
        parser.feed(client.get(page).text)
        assert parser.inline == [] and parser.handlers == [], page
    # an output file opened in the browser (the HTML report shows user names) runs sandboxed, without script
    assert client.get("/api/runs/x/files/report.html").headers["content-security-policy"].startswith("sandbox")


# -------------------------------------------------------------------------------------------------------- paths
def test_run_file__glob_and_links_resolved_before_the_check(client: TestClient, project: dict[str, Any], tmp_path: Path) -> None:
    root = _root(client)
    folder = root / "projects" / project["id"]
    (folder / "uploads").mkdir(exist_ok=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.tif").write_bytes(b"II*\x00secret pixels")
    (folder / "uploads" / "link").symlink_to(outside, target_is_directory=True)
    escapes = [
        "u*/../../../../outside/x.tif",  # the glob's fixed part ('u') is inside, its match is not
        "uploads/l*/x.tif",  # a glob through a symbolic link to a folder outside
        "uploads/[l]ink/*.tif",
        "uploads/link/x.tif",
    ]
    for path in escapes:
        response = client.put(f"/api/projects/{project['id']}/assessment", json={"name": "x", "inputs": {"ndvi": {"path": path}}})
        assert response.status_code == 403, path
        assert "outside the data folder" in response.json()["detail"]
    (folder / "uploads" / "ok.tif").write_bytes(b"II*\x00")
    inside_glob = {"name": "x", "inputs": {"ndvi": {"path": "upl*/ok.tif"}}}
    assert client.put(f"/api/projects/{project['id']}/assessment", json=inside_glob).status_code == 200


def test_run_file__checked_again_before_a_run_and_on_boundaries(client: TestClient, project: dict[str, Any], tmp_path: Path) -> None:
    # a run file written on disk (or a link changed after saving) is checked again when it is read
    root = _root(client)
    folder = root / "projects" / project["id"]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "zones.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    (folder / "uploads").mkdir(exist_ok=True)
    (folder / "escape.yaml").write_text("name: x\nbaseline: 2000-2015\ninputs:\n  ndvi:\n    path: u*/../../../../outside/x.tif\n")
    client.app.state.db.set_assessment(project["id"], "escape.yaml")
    started = client.post(f"/api/projects/{project['id']}/runs")
    assert started.status_code == 403 and client.get(f"/api/projects/{project['id']}/runs").json() == []
    (folder / "zones.yaml").write_text("name: x\nzones:\n  path: upl*/../../../../outside/zones.geojson\n")
    client.app.state.db.set_assessment(project["id"], "zones.yaml")
    assert client.get(f"/api/projects/{project['id']}/boundaries").status_code == 403


def test_tables__links_out_of_the_run_folder_refused(client: TestClient, project: dict[str, Any], wait_for, tmp_path: Path) -> None:
    run = client.post(f"/api/projects/{project['id']}/runs").json()
    wait_for(client, run["id"], ("succeeded",))
    out_dir = _root(client) / client.app.state.db.get_run(run["id"])["out_dir"]
    secret = tmp_path / "secret.csv"
    secret.write_text("zone_id,zone_name,period,area_km2\nS,SECRET,2000,1\n")
    target = out_dir / "tables" / "lpd_by_lc.csv"
    target.unlink()
    target.symlink_to(secret)
    for url in (f"/api/runs/{run['id']}/tables", f"/api/runs/{run['id']}/tables/lpd_by_lc"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "SECRET" not in response.text
    listed = [f["path"] for f in client.get(f"/api/runs/{run['id']}/files").json()]
    assert "tables/lpd_by_lc.csv" not in listed and "tables/drought_area.csv" in listed
    assert client.get(f"/api/runs/{run['id']}/files/tables/lpd_by_lc.csv").status_code == 403
    # the whole tables folder as a link
    target.unlink()
    (out_dir / "tables").rename(out_dir / "tables_moved")
    (out_dir / "tables").symlink_to(tmp_path)
    assert client.get(f"/api/runs/{run['id']}/tables").status_code == 403


# -------------------------------------------------------------------------------------------------------- token
def test_token__generated_by_default_and_printed(tmp_path: Path, fake_env: None, capsys) -> None:
    settings = Settings(data_dir=tmp_path / "data", pipeline=FAKE_PIPELINE, allowed_hosts=["testserver"])
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        token = client.app.state.settings.token
        assert token and len(token) >= 20
        assert client.get("/api/health").json()["auth"] is True
        assert client.get("/api/projects").status_code == 401
        assert client.get("/api/projects", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert f"#token={token}" in capsys.readouterr().out
    # opting out is explicit, and only on a loopback interface
    assert Settings(data_dir=tmp_path / "d2", auth=False).token is None
    with pytest.raises(ValueError, match="loopback"):
        Settings(data_dir=tmp_path / "d3", auth=False, host="0.0.0.0")


def test_token__session_cookie_for_the_page_never_in_query_strings(make_client) -> None:
    client = make_client(token="s3cret")
    assert client.post("/api/session", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/api/session").status_code == 401
    signed = client.post("/api/session", headers={"Authorization": "Bearer s3cret"})
    assert signed.status_code == 204
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "s3cret" not in cookie
    assert client.get("/api/health").json()["signed_in"] is True
    assert client.post("/api/projects", json={"name": "by cookie"}).status_code == 201
    client.cookies.clear()
    assert client.get("/api/projects").status_code == 401
    assert client.get("/api/projects", params={"token": "s3cret"}).status_code == 400


def test_token__not_logged(make_client) -> None:
    make_client(token="s3cret")
    access = logging.getLogger("uvicorn.access")
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/runs/r/events?token=s3cret", "1.1", 400)
        access.info("Authorization: Bearer s3cret")
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    assert len(lines) == 2 and not any("s3cret" in line for line in lines), lines
    assert "/api/runs/r/events?token=***" in lines[0]


# ---------------------------------------------------------------------------------------------- host and origin
def test_host_and_origin__dns_rebinding_and_cross_site_refused(tmp_path: Path, fake_env: None) -> None:
    settings = Settings(data_dir=tmp_path / "data", pipeline=FAKE_PIPELINE, auth=False)
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as client:
        assert client.get("/api/projects").status_code == 200
        assert client.get("http://localhost:8000/api/projects").status_code == 200
        rebound = client.get("/api/projects", headers={"Host": "attacker.example:8000"})
        assert rebound.status_code == 421
        evil = {"Origin": "http://attacker.example"}
        assert client.post("/api/projects", json={"name": "x"}, headers=evil).status_code == 403
        assert client.get("/api/projects", headers=evil).status_code == 403
        other_port = {"Origin": "http://127.0.0.1:9999"}
        assert client.post("/api/projects", json={"name": "x"}, headers=other_port).status_code == 403
        assert client.post("/api/projects", json={"name": "x"}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
        same = {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"}
        assert client.post("/api/projects", json={"name": "ok"}, headers=same).status_code == 201
        assert [p["name"] for p in client.get("/api/projects").json()] == ["ok"]


# ------------------------------------------------------------------------------------------------------ uploads
def test_upload__chunked_body_cut_off_while_streaming(tmp_path: Path, fake_env: None) -> None:
    settings = Settings(data_dir=tmp_path / "data", pipeline=FAKE_PIPELINE, auth=False, max_upload_mb=0.01)
    app = create_app(settings)
    project = app.state.db.create_project("p")
    boundary = b"x0x0x0"
    chunk = b"\x00" * 65536
    head = b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.tif"\r\n\r\nII*\x00'
    pulled = 0
    total_chunks = 200  # 12.5 MiB, far above the 1.01 MiB the body may hold

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        if pulled == 1:
            return {"type": "http.request", "body": head, "more_body": True}
        if pulled <= total_chunks:
            return {"type": "http.request", "body": chunk, "more_body": True}
        return {"type": "http.request", "body": b"\r\n--" + boundary + b"--\r\n", "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": f"/api/projects/{project['id']}/datasets", "raw_path": b"", "query_string": b"role=ndvi",
        "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"127.0.0.1:8000"), (b"transfer-encoding", b"chunked"),
                    (b"content-type", b"multipart/form-data; boundary=" + boundary)],
    }
    anyio.run(app, scope, receive, send)
    # reading stopped just past the limit (1.01 MiB = 17 chunks), not at the end of the 12.5 MiB body
    assert pulled <= 20, pulled
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert "upload limit" in json.loads(body)["detail"]
    uploads = settings.root / "projects" / project["id"] / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


# ------------------------------------------------------------------------------------------------------- errors
def test_errors__no_server_paths(client: TestClient, project: dict[str, Any], monkeypatch) -> None:
    from openldn.exceptions import InputFileError
    from openldn.web import library

    root = _root(client)

    def bad_file(data, base_dir):
        raise InputFileError(f"{root}/projects/p1/uploads/ndvi.tif: not a GeoTIFF; upload the file again")

    monkeypatch.setattr(library, "validate_run_file", bad_file)
    response = client.put(f"/api/projects/{project['id']}/assessment", json={"name": "x"})
    assert response.status_code == 422
    # the library's message first (every other problem of the run file follows), no server path anywhere
    assert response.json()["detail"].startswith("projects/p1/uploads/ndvi.tif: not a GeoTIFF; upload the file again")
    assert str(root) not in response.text

    def missing(data, base_dir):
        raise FileNotFoundError(2, "No such file or directory", "/srv/private/site/config.yaml")

    monkeypatch.setattr(library, "validate_run_file", missing)
    detail = client.put(f"/api/projects/{project['id']}/assessment", json={"name": "x"}).json()["detail"]
    assert "/srv/private" not in detail and "config.yaml" in detail
    outside = client.post(f"/api/projects/{project['id']}/datasets/local", json={"path": str(root.parent / "x.tif")})
    assert outside.status_code == 403 and str(root.parent) not in outside.json()["detail"]


# --------------------------------------------------------------------------------------------------- boundaries
def test_boundaries__paginated_and_rounded(client: TestClient, project: dict[str, Any]) -> None:
    features = [
        {"type": "Feature", "properties": {"code": f"U{i:02d}", "label": f"Unit {i}"},
         "geometry": {"type": "Polygon", "coordinates": [[[10 + i * 0.1, 5], [10.0999999999 + i * 0.1, 5],
                                                          [10.0999999999 + i * 0.1, 6.123456789], [10 + i * 0.1, 5]]]}}
        for i in range(25)
    ]
    folder = _root(client) / "projects" / project["id"]
    (folder / "units.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    body = {"name": "b", "zones": {"path": "units.geojson", "id_field": "code", "name_field": "label"}}
    assert client.put(f"/api/projects/{project['id']}/assessment", json=body).status_code == 200
    first = client.get(f"/api/projects/{project['id']}/boundaries", params={"limit": 10}).json()["zones"]
    assert len(first["features"]) == 10 and first["total"] == 25 and first["next_offset"] == 10
    last = client.get(f"/api/projects/{project['id']}/boundaries", params={"limit": 10, "offset": 20}).json()["zones"]
    assert [f["properties"]["id"] for f in last["features"]] == [f"U{i:02d}" for i in range(20, 25)]
    assert last["next_offset"] is None
    coords = [c for f in first["features"] for ring in f["geometry"]["coordinates"] for xy in ring for c in xy]
    assert all(round(c, 6) == c for c in coords)


# ------------------------------------------------------------------------------------------------- light vs heavy
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live(tmp_path: Path, fake_env: None) -> Iterator[Callable[..., tuple[str, Any]]]:
    import uvicorn

    servers: list[tuple[Any, threading.Thread]] = []

    def start(**overrides: Any) -> tuple[str, Any]:
        port = _free_port()
        app = create_app(Settings(data_dir=tmp_path / "data", pipeline=FAKE_PIPELINE, auth=False, **overrides))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}", app

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=15)


def test_load__light_requests_not_queued_behind_heavy_ones(live, monkeypatch) -> None:
    from openldn.web import tiles

    release = threading.Event()
    monkeypatch.setattr(tiles, "find_layer", lambda out_dir, key: {})
    monkeypatch.setattr(tiles, "render_tile", lambda *a, **k: (release.wait(30), tiles.EMPTY_PNG)[1])
    base, app = live()
    # a run row is all the tile route needs (its layer lookup and rendering are replaced by a blocking stand-in)
    project = app.state.db.create_project("load")
    app.state.db.create_run(project["id"], f"projects/{project['id']}/runs/r1", run_id="r1")
    statuses: list[int] = []

    def fetch_tile(i: int) -> None:
        with urllib.request.urlopen(f"{base}/api/runs/r1/tiles/3/{i % 8}/{i // 8}.png?layer=a", timeout=60) as r:
            statuses.append(r.status)

    workers = [threading.Thread(target=fetch_tile, args=(i,)) for i in range(48)]  # more than the 40 shared threads
    for w in workers:
        w.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    with urllib.request.urlopen(base + "/api/projects", timeout=60) as r:
        assert r.status == 200
    light_s = time.monotonic() - t0
    release.set()
    for w in workers:
        w.join(timeout=60)
    assert statuses == [200] * 48
    # queued behind the blocked tiles, it would wait for their 30 s timeout: 10 s separates the two cases on a loaded
    # machine too (0.5 s failed at load 5 in a full-suite run beside a benchmark)
    assert light_s < 10.0, f"a light request waited {light_s:.2f} s behind heavy ones"



def test_serve__no_token_off_loopback_is_a_clear_error(tmp_path: Path) -> None:
    from openldn.exceptions import ConfigError
    from openldn.web import serve

    with pytest.raises(ConfigError, match="only allowed on a loopback interface"):
        serve(host="0.0.0.0", data_dir=str(tmp_path / "d"), auth=False)


def test_errors__run_error_and_linked_paths_without_server_paths(client: TestClient, wait_for) -> None:
    root = _root(client)
    project = client.post("/api/projects", json={"name": "p"}).json()
    (root / "projects" / project["id"] / "run.yaml").write_text("fail: path")
    client.app.state.db.set_assessment(project["id"], "run.yaml")
    run = client.post(f"/api/projects/{project['id']}/runs").json()
    final = wait_for(client, run["id"], ("failed",))
    assert final["error"] == f"FileNotFoundError: projects/{project['id']}/inputs/ndvi.tif: not found in cache"
    log = client.get(f"/api/runs/{run['id']}/log").text
    assert str(root) not in log and "/srv/site" not in log and "ndvi.tif: not found" in log
    (root / "shared").mkdir()
    (root / "shared" / "lc.tif").write_bytes(b"II*\x00")
    linked = client.post(f"/api/projects/{project['id']}/datasets/local", json={"path": str(root / "shared" / "lc.tif")})
    assert linked.status_code == 201 and linked.json()["path"] == "../../shared/lc.tif"
    body = {"name": "x", "inputs": {"land_cover": {"path": linked.json()["path"]}}}
    assert client.put(f"/api/projects/{project['id']}/assessment", json=body).status_code == 200
