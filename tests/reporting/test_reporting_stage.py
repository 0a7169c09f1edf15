"""The reporting stage on a hand-made run context: every output, and the HTML report in headless Chromium."""

from __future__ import annotations

import json
import logging
import re
import shutil
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import jsonschema
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from reporting_factory import BASELINE, REPORTING, make_tables
from shapely.geometry import box

from openldn.integration.options import IntegrationOptions
from openldn.integration.stage import DEG_LEGEND, S7_LEGEND
from openldn.io import write_cog
from openldn.reporting import stage
from openldn.reporting.export import load_schema

CHROMIUM = "/usr/bin/chromium"


def _layer(values: np.ndarray) -> xr.DataArray:
    ny, nx = values.shape
    da = xr.DataArray(values, dims=("y", "x"),
                      coords={"y": 19.0 - (np.arange(ny) + 0.5) * 0.01, "x": -71.8 + (np.arange(nx) + 0.5) * 0.01})
    return da.rio.write_crs("EPSG:4326")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    zones = gpd.GeoDataFrame({"id": ["Z1", "Z2"], "name": ["North", "South"]},
                             geometry=[box(-71.8, 18.8, -71.6, 19.0), box(-71.6, 18.8, -71.4, 19.0)],
                             crs="EPSG:4326")
    zones.to_file(out / "zones.gpkg")
    gpd.GeoDataFrame({"name": ["Quarry"], "process": ["mining"]}, geometry=[box(-71.75, 18.85, -71.7, 18.9)],
                     crs="EPSG:4326").to_file(out / "hotspots.gpkg")
    rng = np.random.default_rng(3)
    deg = rng.choice([-1, 0, 1], size=(20, 40)).astype("int16")
    deg[:3, :3] = -32768
    outputs = []
    for key, da, legend, title in (
        (f"sdg/{BASELINE}", deg, DEG_LEGEND, f"SDG 15.3.1 baseline {BASELINE}"),
        (f"status7/{REPORTING[-1]}", (np.abs(deg) * 3 + 1).astype("int16"), S7_LEGEND, "Expanded status"),
        ("population_degraded/2023/total", rng.gamma(2.0, 30.0, (20, 40)).astype("float32"), None, "Population"),
    ):
        path = out / "maps" / (key.replace("/", "_") + ".tif")
        path.parent.mkdir(exist_ok=True)
        write_cog(_layer(da), path, legend=legend)
        rec = {"key": key, "path": str(path.relative_to(out)), "title": title,
               "kind": "categorical" if legend else "continuous",
               "legend": {str(c.code): [c.label, c.color] for c in legend.classes} if legend else None,
               "units": None if legend else "people"}
        outputs.append(rec)
    assessment = SimpleNamespace(
        name="Test country", baseline=BASELINE, reporting=REPORTING, integration=IntegrationOptions(hotspots=str(out / "hotspots.gpkg")),
        outputs=SimpleNamespace(maps=True, png=True, xlsx=True, html=True), aoi=str(out / "zones.gpkg"),
        zones=SimpleNamespace(path=str(out / "zones.gpkg")), resolve=lambda p: Path(p),
    )
    ctx = SimpleNamespace(
        assessment=assessment, out_dir=out, tables=make_tables(), outputs=outputs, substitutions=["demo"],
        provenance={"openldn_version": "0.1.0", "preset": {"id": "prais_2026_te", "hash": "c" * 64},
                    "parameters": {}, "inputs": [{"role": "ndvi", "path": "ndvi.tif", "sha256": "d" * 64}]},
        coverage=SimpleNamespace(), log=logging.getLogger("test"), progress=lambda *a, **k: None,
    )
    stage.run(ctx)
    return out


def test_stage_writes_every_output(run_dir: Path) -> None:
    rep = run_dir / "report"
    assert (rep / "prais_tables.xlsx").stat().st_size > 5000
    assert (rep / "csv" / "SO1-4_T2.csv").is_file()
    doc = json.loads((rep / "openldn-run.json").read_text())
    jsonschema.validate(doc, load_schema())
    assert len(doc["outputs"]) == 3
    for name in ("sdg_2000-2015", "status7_2016-2023", "population_degraded_2023_total"):
        assert (run_dir / "maps" / f"{name}.png").is_file()
        assert (run_dir / "maps" / f"{name}.qml").is_file()
    text = (rep / "report.html").read_text()
    assert (run_dir / "maps" / "hotspots_brightspots.png").is_file()
    assert text.count('class="map"') == 4
    assert "By admin unit" in text and "North" in text
    assert "http://" not in text.replace("http://www.w3.org", "") and "<script" not in text


@pytest.mark.browser
def test_report_renders_in_chromium(run_dir: Path, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("headless Chromium is absent: apt-get install chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    html = run_dir / "report" / "report.html"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto(html.as_uri(), wait_until="load")
            loaded = page.evaluate(
                "Array.from(document.images).map(i => [i.className, i.complete && i.naturalWidth > 0])"
            )
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            height = page.evaluate("document.body.scrollHeight")
        finally:
            browser.close()
    assert not errors, errors
    maps = [ok for cls, ok in loaded if cls == "map"]
    assert len(maps) == 4 and all(maps), loaded
    assert all(ok for _, ok in loaded)
    assert height > 2000
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[1] == 1280 and img.shape[0] > 2000
    assert shot.stat().st_size > 100_000


@pytest.mark.browser
def test_report_pdf_has_numbered_pages_and_contents(run_dir: Path) -> None:
    """The PDF written by the stage (headless Chromium): A4 pages numbered "Page n of N", the contents with the
    page of each section, and the sections on the pages the contents give."""
    if not Path(CHROMIUM).exists():
        pytest.skip("headless Chromium is absent: apt-get install chromium (see .ci/run)")
    pypdf = pytest.importorskip("pypdf")
    from openldn.reporting.report import SECTIONS

    pdf = run_dir / "report" / "report.pdf"
    assert pdf.is_file()
    reader = pypdf.PdfReader(str(pdf))
    n = len(reader.pages)
    assert n >= 4
    texts = [" ".join(unicodedata.normalize("NFKC", p.extract_text() or "").split()) for p in reader.pages]
    for i, text in enumerate(texts, start=1):
        assert f"Page {i} of {n}" in text
    w, h = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(w / 72 * 25.4), round(h / 72 * 25.4)) == (210, 297)  # A4 in mm
    assert "Contents" in texts[0]
    html = (run_dir / "report" / "report.html").read_text()
    for key, heading in SECTIONS.items():
        m = re.search(rf'href="#{key}">[^<]+</a><span class="pg">(\d+)</span>', html)
        assert m is not None, key
        page = int(m.group(1))
        assert heading in texts[page - 1], (key, page)
    assert "Report (PDF)" in html


@pytest.mark.browser
def test_report_has_no_horizontal_overflow_at_1366(run_dir: Path, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("headless Chromium is absent: apt-get install chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto((run_dir / "report" / "report.html").as_uri(), wait_until="load")
            widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            page.screenshot(path=str(tmp_path / "report-1366.png"))
        finally:
            browser.close()
    assert widths[0] <= widths[1], widths
