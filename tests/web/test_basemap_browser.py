"""The offline basemap in the Debian Chromium at 1366 x 768 (Playwright): vector tiles drawn on canvases, country
and first-level boundaries at district zoom, nothing fetched from elsewhere, and the time the draws take
(written to ``basemap-timings.json`` beside the screenshots, so a slow-down shows in the artefacts).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from test_browser import _wait_until, live_server  # noqa: F401  (fixture)
from test_browser_gis import _no_overflow, _shot, _watch, small_page  # noqa: F401  (fixture)

from openldn.web import vectortiles

pytestmark = pytest.mark.browser

#: Wait for every basemap tile asked for so far to be drawn, then two frames; return the milliseconds taken.
_VIEW = """async (view) => {
  const t0 = performance.now();
  const moved = new Promise((r) => map.once('moveend', r));
  if (view.pan) map.panBy(view.pan, { animate: false }); else map.setView(view.center, view.zoom, { animate: false });
  await moved;
  await gis.whenDrawn();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}"""

_DRAWN = """(kind) => [...document.querySelectorAll(`canvas.basemap-${kind}`)]
  .filter((c) => c.classList.contains('leaflet-tile-loaded'))
  .reduce((sum, c) => sum + Number(c.dataset[kind === 'lines' ? 'admin1' : 'land'] || 0), 0)"""


def test_browser__offline_basemap_tiles_with_first_level_boundaries(small_page, live_server, fake_env,  # noqa: F811
                                                                     tmp_path: Path) -> None:
    """The world view draws land and countries; a district view (zoom 7 over Nigeria) draws first-level
    boundaries from the 1:10m scale; a pan draws only new tiles; no console error, no request elsewhere."""
    base = live_server()
    page = small_page
    seen = _watch(page, base)
    t0 = time.perf_counter()
    page.goto(base + "/")
    page.wait_for_selector("body[data-basemap='offline']", timeout=30_000)
    page.evaluate("gis.whenDrawn()")
    first_paint = time.perf_counter() - t0
    assert page.evaluate(_DRAWN, "fill") > 0, "no land drawn at the first view"
    assert page.locator("canvas.basemap-lines.leaflet-tile-loaded").count() > 0
    assert page.locator(".leaflet-land-pane path, .leaflet-outlines-pane path").count() == 0, \
        "the basemap is drawn as SVG paths again"

    timings: dict[str, Any] = {"first_paint_s": round(first_paint, 2)}
    timings["district_z7_ms"] = round(page.evaluate(_VIEW, {"center": [9.0, 8.0], "zoom": 7}))
    scales = set(page.evaluate("[...document.querySelectorAll('canvas.basemap-lines.leaflet-tile-loaded')]"
                               ".map((c) => c.dataset.scale)"))
    assert scales == {"10m"}, scales
    if vectortiles.natural_earth_10m() is not None:
        assert page.get_attribute("body", "data-admin1") == "1"
        assert page.evaluate(_DRAWN, "lines") > 0, "no first-level boundary drawn at district zoom"
    _no_overflow(page)
    _shot(page, tmp_path, "openldn-web-basemap-district.png")
    timings["pan_z7_ms"] = round(page.evaluate(_VIEW, {"pan": [300, 150]}))
    timings["world_z3_ms"] = round(page.evaluate(_VIEW, {"center": [10, 10], "zoom": 3}))
    scales = set(page.evaluate("[...document.querySelectorAll('canvas.basemap-fill.leaflet-tile-loaded')]"
                               ".map((c) => c.dataset.scale)"))
    assert scales == {"50m"}, scales
    assert page.evaluate(_DRAWN, "lines") == 0, "first-level boundaries drawn at world zoom"
    _shot(page, tmp_path, "openldn-web-basemap-world.png")
    # generous bounds (2 shared cores): a district view in seconds, not the minutes of the SVG draw of 1:10m
    assert timings["district_z7_ms"] < 30_000 and timings["pan_z7_ms"] < 30_000, timings
    keep = os.environ.get("OPENLDN_SCREENSHOT_DIR")
    (tmp_path / "basemap-timings.json").write_text(json.dumps(timings))
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "basemap-timings.json", Path(keep) / "basemap-timings.json")
    print("basemap timings", timings, flush=True)
    assert not seen["foreign"], seen["foreign"]
    assert not seen["errors"], seen["errors"]
