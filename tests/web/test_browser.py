"""End-to-end tests in a real headless Chromium (Debian package) driven by Playwright.

They start the server on a free port, load the page, start a run, wait for it, toggle a layer, click the map,
read a value, and save a screenshot under the test's tmp folder. The page must log no console error.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("OPENLDN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A Playwright page in the Debian Chromium; skips when it or Playwright is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        yield page
        browser.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Callable[..., str]:
    """Start the app with uvicorn in a thread; return its base URL."""
    import uvicorn

    from openldn.web.app import VENDOR, create_app
    from openldn.web.settings import Settings

    if not all(p.is_dir() for p in VENDOR.values()):
        pytest.skip("map assets missing: run 'npm ci' in src/openldn/web/frontend")
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**overrides: Any) -> str:
        port = _free_port()
        overrides = {"auth": False, **overrides}  # the flows below run without token unless one is given
        app = create_app(Settings(data_dir=tmp_path / "data", **overrides))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=15)


def _wait_until(page: Any, expression: str, timeout: float = 30_000) -> None:
    """Poll a JavaScript expression from the test until it is true (``page.wait_for_function`` evaluates strings in
    the page, which the Content-Security-Policy forbids; ``page.evaluate`` runs through the DevTools protocol)."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


def _explore(page: Any, base: str, tmp_path: Path, run_timeout_s: float) -> dict[str, float]:
    """Drive the page through the demo; return timings."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # which request failed: the console's "Failed to load resource" line does not name it
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.request.method} {r.url}") if r.status >= 400 else None)
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.click("#demo-btn")
    _wait_until(page, "document.querySelector('#project-select').selectedOptions[0]?.text === 'Demo country'",
                           timeout=120_000)
    # the header's labelling link opens the labelling page on the selected project
    project_id = page.eval_on_selector("#project-select", "s => s.value")
    assert page.get_attribute("#labelling-link", "href") == f"/static/labelling.html?project={project_id}"
    clicked = time.monotonic()
    page.click("#run-btn")
    page.wait_for_selector("#run-status[data-status='succeeded']", timeout=run_timeout_s * 1000)
    _wait_until(page, "document.body.dataset.runToMapSeconds !== undefined")  # the final results, not a stage's maps
    page.wait_for_selector("#layers .layer-toggle", timeout=20_000)
    page.wait_for_selector(".leaflet-tile-loaded", timeout=20_000)
    shown = time.monotonic() - clicked

    # toggle a layer off and on: its tiles leave and come back
    toggles = page.locator("#layers .layer-toggle")
    assert page.locator("#layers .layer-toggle:checked").count() == 1
    shown_key = page.locator("#layers .layer-toggle:checked").first.get_attribute("data-key")
    other_key = page.locator("#layers .layer-toggle:not(:checked)").first.get_attribute("data-key")
    shown_layer = page.locator(f"#layers .layer-toggle[data-key='{shown_key}']")
    other = page.locator(f"#layers .layer-toggle[data-key='{other_key}']")
    before = page.locator(".leaflet-tile-pane img").count()
    shown_layer.uncheck()
    _wait_until(page, f"document.querySelectorAll('.leaflet-tile-pane img').length < {before}")
    assert page.locator(".leaflet-tile-pane img").count() == 0
    other.check()
    page.wait_for_selector(".leaflet-tile-loaded", timeout=20_000)
    other.uncheck()
    shown_layer.check()
    page.wait_for_selector(".leaflet-tile-loaded", timeout=20_000)
    assert page.locator("#layers .layer-toggle:checked").count() == 1

    # click the centre of the map: a popup lists a value for every layer
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(".point-values td.value", timeout=20_000)
    values = page.locator(".point-values td.value").all_text_contents()
    assert len(values) >= toggles.count()
    assert any(v != "no data" for v in values), values

    # the downloads list the report files, and they download
    links = page.locator("#downloads a[href*='/files/report/']")
    assert links.count() >= 1
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert any(h.endswith(".xlsx") for h in hrefs) and any(h.endswith("report.html") for h in hrefs), hrefs
    assert page.request.get(base + hrefs[0]).ok

    # the tables panel shows a table
    page.wait_for_selector("#table-view table.data", timeout=20_000)
    page.evaluate("document.querySelector('#sidebar').scrollTop = 0")
    page.wait_for_timeout(600)  # let the popup and tile fade-in animations end
    page.screenshot(path=str(tmp_path / "openldn-web.png"), full_page=True)
    keep = os.environ.get("OPENLDN_SCREENSHOT_DIR")  # optional copy for people reviewing a CI run
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "openldn-web.png", Path(keep) / f"openldn-web-{tmp_path.name}.png")
    assert not errors, errors
    return {"run_to_map_s": shown}


def test_browser__fake_pipeline_run_toggle_click(browser_page, live_server, fake_env, tmp_path) -> None:
    """The whole page flow on the fake pipeline (always available)."""
    base = live_server(pipeline="_web_fake_pipeline:run_assessment")
    timings = _explore(browser_page, base, tmp_path, run_timeout_s=60)
    page = browser_page
    if page.evaluate("document.querySelector('#assessment-form input, #assessment-form select') !== null"):
        # the run-file form is generated from the schema; a bad value shows the validation message
        page.click("#options summary")
        page.fill("#f-baseline", "2015")
        page.dispatch_event("#f-baseline", "change")
        page.click("#save-btn")
        page.wait_for_selector("#form-message.error", timeout=10_000)
        assert "not a period like 2000-2015" in page.text_content("#form-errors")  # every problem is listed
    # draw an area of interest: three clicks on the map, then "Finish polygon"
    page.click("#data > summary")
    page.click("#draw-btn")
    _wait_until(page, "document.querySelectorAll('.leaflet-popup').length === 0")  # the value popup has faded out
    box = page.locator("#map").bounding_box()
    for dx, dy in ((-80, -60), (80, -60), (0, 80)):
        page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)
    page.click("#draw-finish")
    _wait_until(page, "document.querySelector('#dataset-list').textContent.includes('drawn area.geojson')")
    drawn = page.locator("#dataset-list li.dataset", has_text="drawn area.geojson")
    assert drawn.locator("select").input_value() == "aoi"  # listed with its role, which the user may change

    # the API documentation works offline too
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(base + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert page.locator(".swagger-ui .opblock").count() > 20
    assert not errors, errors
    assert (tmp_path / "openldn-web.png").stat().st_size > 10_000
    print(f"fake pipeline: map shown {timings['run_to_map_s']:.1f} s after clicking Run")


@pytest.mark.slow
def test_browser__demo_run(browser_page, live_server, tmp_path) -> None:
    """The demo assessment through the real pipeline, from the page."""
    try:
        from openldn.datasets import make_demo  # noqa: F401
        from openldn.pipeline import run_assessment  # noqa: F401
    except ImportError as error:
        pytest.skip(f"openldn.pipeline.run_assessment / openldn.datasets.make_demo not importable yet: {error}")
    base = live_server()
    timings = _explore(browser_page, base, tmp_path, run_timeout_s=900)
    assert (tmp_path / "openldn-web.png").stat().st_size > 10_000
    print(f"demo: map shown {timings['run_to_map_s']:.1f} s after clicking Run")


def test_browser__cancel_and_resume(browser_page, live_server, fake_env, monkeypatch, tmp_path) -> None:
    """Cancel a running run from the page, then resume it to completion."""
    monkeypatch.setenv("OPENLDN_FAKE_DELAY", "1")
    base = live_server(pipeline="_web_fake_pipeline:run_assessment")
    page = browser_page
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.click("#demo-btn")
    _wait_until(page, "document.querySelector('#project-select').selectedOptions[0]?.text === 'Demo country'")
    page.click("#run-btn")
    page.wait_for_selector("#run-status[data-status='running']", timeout=30_000)
    page.click("#cancel-btn")
    page.wait_for_selector("#run-status[data-status='cancelled']", timeout=30_000)
    assert page.is_enabled("#resume-btn")
    page.click("#resume-btn")
    page.wait_for_selector("#run-status[data-status='succeeded']", timeout=60_000)
    page.wait_for_selector("#layers .layer-toggle", timeout=20_000)
    assert not errors, errors


XSS = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'


def test_browser__user_names_are_text_never_html(browser_page, live_server, fake_env, monkeypatch, tmp_path) -> None:
    """An admin unit, a class and a legend entry named ``<img src=x onerror=...>`` run no script anywhere (map
    tooltip, legend, table, chart, selects), and the Content-Security-Policy blocks inline handlers anyway. The
    page signs in with the token of the printed address (``#token=``), which is then kept in a cookie only."""
    import httpx

    monkeypatch.setenv("OPENLDN_FAKE_NAME", XSS)
    base = live_server(pipeline="_web_fake_pipeline:run_assessment", auth=True, token="t0ken-for-the-test")
    api = httpx.Client(base_url=base, headers={"Authorization": "Bearer t0ken-for-the-test"}, timeout=30)
    project = api.post("/api/projects", json={"name": XSS, "demo": True}).json()
    polygon = {"type": "Polygon", "coordinates": [[[10, 5], [11, 5], [11, 6], [10, 6], [10, 5]]]}
    zones = api.post(f"/api/projects/{project['id']}/geometry", json={"geojson": polygon, "role": "zones", "name": XSS}).json()
    body = {"name": "x", "baseline": "2000-2015", "zones": {"path": zones["path"], "id_field": "id", "name_field": "name"}}
    assert api.put(f"/api/projects/{project['id']}/assessment", json=body).status_code == 200
    run = api.post(f"/api/projects/{project['id']}/runs").json()
    deadline = time.monotonic() + 60
    while api.get(f"/api/runs/{run['id']}").json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.3)

    page = browser_page
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/#token=t0ken-for-the-test")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert "token" not in page.url  # the fragment is dropped at once
    assert page.evaluate("document.cookie") == ""  # the session cookie is HTTP-only: no script reads it
    page.wait_for_selector("#layers .layer-toggle", timeout=30_000)
    page.wait_for_selector("#table-view table.data", timeout=20_000)
    # the unit's name, shown in a tooltip when the pointer is over it on the map
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + box["width"] / 2 + 5, box["y"] + box["height"] / 2 + 5)
    page.wait_for_selector(".leaflet-tooltip", timeout=10_000)
    assert page.text_content(".leaflet-tooltip").strip() == XSS
    # the name in the selects, the legend, the table and the chart: as text
    page.select_option("#table-select", "lpd_by_lc")
    _wait_until(page, "[...document.querySelectorAll('#zone-select option')].some(o => o.text.includes('<img'))")
    page.select_option("#zone-select", "A1")
    _wait_until(page, "document.querySelector('#table-view').textContent.includes('<img')", timeout=10_000)
    assert XSS in page.text_content("#layers")
    assert XSS in page.text_content("#chart")
    assert XSS in page.text_content("#project-select")
    page.wait_for_timeout(500)
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.evaluate("window.__xss") is None
    assert not errors, errors
    # even HTML slipped into the page could not run an inline handler: the policy refuses it
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img id=probe src=x onerror=\"window.__csp=1\">')")
    page.wait_for_timeout(800)
    assert page.evaluate("window.__csp") is None
    assert any("Content Security Policy" in e for e in errors), errors
