"""The page as a GIS application, in the Debian Chromium at 1366 x 768 (Playwright): whole-run progress, layers
appearing as stages finish, the legend on the map, the offline basemap, swipe compare, identify, the inputs panel
and the "download all" zip. Every flow checks that the page logs no console error and has no horizontal overflow;
screenshots are saved under the test's tmp folder (and copied to ``$OPENLDN_SCREENSHOT_DIR`` when set).

Expected values come from the fake pipeline's own constants (its legends, its layer keys, the polygon drawn here),
never from the page's code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from _web_fake_pipeline import LPD_LEGEND, SDG_LEGEND, STAGE_LAYERS, STEPS
from test_browser import CHROMIUM, CHROMIUM_ARGS, _wait_until, live_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

UNIT = {"type": "Polygon", "coordinates": [[[10.0, 5.0], [11.0, 5.0], [11.0, 6.0], [10.0, 6.0], [10.0, 5.0]]]}


@pytest.fixture
def small_page() -> Any:
    """A Playwright page of 1366 x 768 in the Debian Chromium; skips when it or Playwright is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
        page.set_default_timeout(30_000)
        yield page
        browser.close()


def _watch(page: Any, base: str) -> dict[str, list[str]]:
    """Collect console errors, page errors and any request leaving this server."""
    seen: dict[str, list[str]] = {"errors": [], "foreign": []}
    page.on("console", lambda msg: seen["errors"].append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("request", lambda req: None if req.url.startswith((base, "data:", "blob:")) else seen["foreign"].append(req.url))
    return seen


def _no_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the page is {width} px wide at 1366 x 768 (horizontal overflow)"


def _shot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path))
    keep = os.environ.get("OPENLDN_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    assert path.stat().st_size > 10_000
    return path


def _project_with_unit(base: str) -> dict[str, Any]:
    """A demo project whose run file names one admin unit ('North') covering the fake rasters."""
    import httpx

    api = httpx.Client(base_url=base, timeout=30)
    project = api.post("/api/projects", json={"name": "GIS test", "demo": True}).json()
    zones = api.post(f"/api/projects/{project['id']}/geometry",
                     json={"geojson": UNIT, "role": "zones", "name": "North"}).json()
    body = {"name": "x", "baseline": "2000-2015", "zones": {"path": zones["path"], "id_field": "id", "name_field": "name"}}
    assert api.put(f"/api/projects/{project['id']}/assessment", json=body).status_code == 200
    return project


def test_browser__run_progress_and_layers_as_stages_finish(small_page, live_server, fake_env, monkeypatch,  # noqa: F811
                                                           tmp_path) -> None:
    """One bar for the whole run: it never goes back, names the stage (i/6) and the time left, the run list says
    'running' while it runs, and maps of finished stages show before the run ends."""
    monkeypatch.setenv("OPENLDN_FAKE_DELAY", "1.5")
    base = live_server(pipeline="_web_fake_pipeline:run_assessment")
    _project_with_unit(base)
    page = small_page
    seen = _watch(page, base)
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.click("#run-btn")
    percents: list[int] = []
    texts: list[str] = []
    staged_while_running = False
    deadline = time.monotonic() + 90
    while page.get_attribute("#run-status", "data-status") != "succeeded":
        assert time.monotonic() < deadline, "the run did not finish"
        # the status and the run list's label read together (the run may end between two separate reads)
        status, label = page.evaluate("[document.querySelector('#run-status').dataset.status, "
                                      "document.querySelector('#run-select option:checked').textContent]")
        percent = page.get_attribute("#progress", "data-percent")
        if percent is not None:
            percents.append(int(percent))
        texts.append(page.text_content("#progress-text") or "")
        if status == "running":
            assert label.endswith("running"), label
            if page.locator("#layers .layer-toggle").count() and not staged_while_running:
                staged_while_running = True
                _shot(page, tmp_path, "openldn-web-progress.png")
        time.sleep(0.25)
    percents.append(int(page.get_attribute("#progress", "data-percent")))
    assert staged_while_running, "no map layer showed before the run ended"
    assert percents == sorted(percents), f"the bar went back: {percents}"
    assert percents[-1] == 100 and len(set(percents)) >= 4, percents
    assert any(f"/{len(STEPS)}" in t and "% of the run" in t for t in texts), texts
    assert any("left" in t for t in texts), texts
    # the finished run: all its layers, and the log with one line per stage start
    page.wait_for_selector(f"#layers .layer-toggle >> nth={len({k.split('/')[0] for v in STAGE_LAYERS.values() for k in v}) - 1}")
    page.click("#log-box > summary")
    _wait_until(page, "document.querySelectorAll('#run-log div').length > 5")
    log = page.text_content("#run-log")
    assert all(f"stage {s}:" in log for s in STEPS), log
    _no_overflow(page)
    assert not seen["errors"], seen["errors"]


@pytest.mark.slow  # about 30-40 s here (was minutes while the page drew the whole 1:10m world as SVG)
def test_browser__legend_basemap_compare_identify_zip(small_page, live_server, fake_env, tmp_path) -> None:  # noqa: F811
    """Legend of the visible layer on the map, scale bar, offline basemap with places at district zoom (no request
    leaves the server), zoom to the area and to a unit, swipe compare, identify, and the whole run as one zip."""
    base = live_server(pipeline="_web_fake_pipeline:run_assessment")
    project = _project_with_unit(base)
    page = small_page
    seen = _watch(page, base)
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.click("#run-btn")
    page.wait_for_selector("#run-status[data-status='succeeded']", timeout=60_000)
    page.wait_for_selector(".leaflet-tile-loaded", timeout=20_000)

    # the legend on the map is the shown layer's (SDG 15.3.1, the fake run's SDG_LEGEND): labels and colours
    page.wait_for_selector("#map-legend .item")
    assert page.get_attribute("#map-legend", "data-key") == "sdg/2000-2015"
    items = page.locator("#map-legend .item")
    shown = {items.nth(i).get_attribute("data-code"): items.nth(i).text_content() for i in range(items.count())}
    assert shown == {code: label for code, (label, _) in SDG_LEGEND.items()}
    colours = page.evaluate("[...document.querySelectorAll('#map-legend .sw')].map(s => getComputedStyle(s).backgroundColor)")
    expected = [f"rgb({int(c[1:3], 16)}, {int(c[3:5], 16)}, {int(c[5:7], 16)})"
                for _, (_, c) in sorted(SDG_LEGEND.items(), key=lambda kv: int(kv[0]))]
    assert colours == expected
    # switching another layer on shows its legend; the continuous one draws the run's ramp
    page.check("#layers .layer-toggle[data-key='soc']")
    _wait_until(page, "document.querySelector('#map-legend').dataset.key === 'soc'")
    assert "gradient" in page.evaluate("getComputedStyle(document.querySelector('#map-legend .ramp')).backgroundImage")
    page.uncheck("#layers .layer-toggle[data-key='soc']")
    assert page.locator(".leaflet-control-scale-line").count() == 1

    # offline basemap: Natural Earth borders drawn; places at district zoom; nothing fetched from elsewhere
    assert page.get_attribute("body", "data-basemap") == "offline"
    _wait_until(page, "document.querySelectorAll('canvas.basemap-lines.leaflet-tile-loaded').length > 0")
    page.click("#zoom-area")
    page.wait_for_timeout(800)
    bounds = page.evaluate("map.getBounds().toBBoxString()").split(",")
    west, south, east, north = (float(v) for v in bounds)
    assert west <= 10.0 and east >= 11.0 and south <= 5.0 and north >= 6.0, bounds
    assert east - west < 5, "zoom to area did not zoom in"
    page.select_option("#zoom-unit", label="North")
    page.evaluate("map.setZoom(9)")
    page.wait_for_selector(".place-label", timeout=20_000)
    _no_overflow(page)
    _shot(page, tmp_path, "openldn-web-basemap-legend.png")
    assert not seen["foreign"], seen["foreign"]

    # identify: unit name, class label and value of every layer
    page.evaluate("map.setView([5.4, 10.5], 9)")
    page.wait_for_timeout(500)
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(".point-values td.value", timeout=20_000)
    assert page.text_content(".point-values .unit-name") == "Unit: North"
    rows = {page.locator(".point-values tr").nth(i).get_attribute("data-key"): page.locator(".point-values td.value").nth(i).text_content()
            for i in range(page.locator(".point-values tr").count())}
    assert set(rows) == {"lpd", "sdg", "soc"}, rows
    # (10.5 E, 5.4 N) is row 24 of the fake SDG map: stable (rows 0-19 degraded, 35-39 improved)
    assert rows["sdg"] == f"2000-2015: {SDG_LEGEND['0'][0]} (0)", rows
    # column 20 of 40: LPD class 20 * 5 // 40 + 1 = 3
    assert rows["lpd"] == f"2000-2015: {LPD_LEGEND['3'][0]} (3)", rows
    page.keyboard.press("Escape")
    page.evaluate("map.closePopup()")

    print(f"identify done {time.monotonic():.0f}", flush=True)
    # compare two layers with a swipe: each side clipped at the divide, which follows the slider
    page.check("#compare-on")
    _wait_until(page, "document.body.dataset.compare !== ''")
    page.select_option("#compare-left", index=0)
    page.select_option("#compare-right", index=1)
    _wait_until(page, "document.querySelectorAll('.leaflet-compare-right-pane img.leaflet-tile-loaded').length > 0")
    clip_before = page.evaluate("map.getPane('compare-left').style.clip")
    page.evaluate("document.querySelector('#swipe').value = '25'")
    page.dispatch_event("#swipe", "input")
    clip_after = page.evaluate("map.getPane('compare-left').style.clip")
    assert clip_before.startswith("rect(") and clip_after != clip_before
    size = page.evaluate("map.getSize().x")
    left = float(clip_after.split(",")[1].strip().removesuffix("px"))
    origin = page.evaluate("map.containerPointToLayerPoint([0, 0]).x")
    assert abs((left - origin) - size * 0.25) < 1.5
    _no_overflow(page)
    _shot(page, tmp_path, "openldn-web-compare.png")
    page.uncheck("#compare-on")
    _wait_until(page, "document.body.dataset.compare === ''")

    print(f"compare done {time.monotonic():.0f}", flush=True)
    # downloads: report group first, no internal file; 'download all' is one zip of exactly the listed files
    groups = page.locator("#downloads .download-group")
    assert groups.first.get_attribute("data-group") == "report"
    hrefs = page.evaluate("[...document.querySelectorAll('#downloads a')].map(a => a.getAttribute('href'))")
    assert not any("/.openldn" in h or ".checkpoint" in h or "lock" in h for h in hrefs), hrefs
    assert hrefs[0].endswith(".xlsx"), hrefs
    with page.expect_download() as info:
        page.click("#download-all")
    data = Path(info.value.path()).read_bytes()
    run_id = page.evaluate("state.run.id")
    listed = {f["path"]: f for f in page.request.get(f"{base}/api/runs/{run_id}/files").json()}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = {n.split("/", 1)[1]: n for n in archive.namelist()}
        assert set(names) == set(listed)
        for rel, item in listed.items():
            if "sha256" in item:
                assert hashlib.sha256(archive.read(names[rel])).hexdigest() == item["sha256"]
    out_dir = tmp_path / "data" / "projects" / project["id"] / "runs" / run_id
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert {f["path"] for f in manifest["files"]} <= set(listed)
    assert not seen["errors"], seen["errors"]
