"""`openldn demo` chain end to end: SO1 + SO2-3 + SO3 on the demo, every report output, planted patches in place.

Slow (about a minute on two cores): opt in with ``OPENLDN_RUN_SLOW=1``.
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import rasterio
from rasterio.windows import from_bounds

from openldn.reporting.export import load_schema

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("OPENLDN_RUN_SLOW"), reason="slow end-to-end run; set OPENLDN_RUN_SLOW=1"),
]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from openldn.datasets import demo_truth, make_demo
    from openldn.pipeline.run import run_assessment

    root = tmp_path_factory.mktemp("demo")
    run_file = make_demo(root / "inputs", size=120)
    run_assessment(run_file, root / "out")
    return root / "out", demo_truth(run_file)


def test_demo_outputs(demo_run: tuple[Path, dict]) -> None:
    out, _ = demo_run
    doc = json.loads((out / "report" / "openldn-run.json").read_text())
    jsonschema.validate(doc, load_schema())
    codes = {t["code"] for t in doc["tables"]}
    assert {"CP-1.T1", "SO1-1.T7", "SO1-2.T3", "SO1-3.T2", "SO1-4.T1", "SO1-4.T2", "SO2-3.T1", "SO3-1.T1"} <= codes
    for key in ("sdg/2000-2015", "status/2016-2023", "status7/2016-2023"):
        stem = key.replace("/", "_")
        for ext in ("tif", "qml", "png"):
            assert (out / "maps" / f"{stem}.{ext}").is_file(), (stem, ext)
    html = (out / "report" / "report.html").read_text()
    assert 'id="map-sdg-2000-2015"' in html and "<script" not in html


def test_demo_planted_patches_in_the_sdg_maps(demo_run: tuple[Path, dict]) -> None:
    out, truth = demo_run
    for patch in truth["patches"]:
        for period, expected in (patch.get("expected", {}).get("sdg") or {}).items():
            with rasterio.open(out / "maps" / f"sdg_{period}.tif") as ds:
                win = from_bounds(*patch["bbox"], transform=ds.transform).round_offsets().round_lengths()
                values = ds.read(1, window=win)
            assert float(np.mean(values == expected)) >= 0.8, (patch["name"], period)


@pytest.mark.browser
def test_demo_report_in_chromium(demo_run: tuple[Path, dict], tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("headless Chromium is absent: apt-get install chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    out, _ = demo_run
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((out / "report" / "report.html").as_uri(), wait_until="load")
            loaded = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
            page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
        finally:
            browser.close()
    assert not errors, errors
    assert len(loaded) >= 15 and all(loaded)
    assert (tmp_path / "demo.png").stat().st_size > 300_000


@pytest.mark.browser
def test_demo_report_pdf_and_width(demo_run: tuple[Path, dict], tmp_path: Path) -> None:
    """The demo's report: a PDF with numbered A4 pages and its contents, and no horizontal overflow at 1366 px."""
    if not Path(CHROMIUM).exists():
        pytest.skip("headless Chromium is absent: apt-get install chromium (see .ci/run)")
    pypdf = pytest.importorskip("pypdf")
    from playwright.sync_api import sync_playwright

    out, _ = demo_run
    reader = pypdf.PdfReader(str(out / "report" / "report.pdf"))
    n = len(reader.pages)
    texts = [" ".join(unicodedata.normalize("NFKC", p.extract_text() or "").split()) for p in reader.pages]
    assert n >= 8 and all(f"Page {i} of {n}" in t for i, t in enumerate(texts, start=1))
    assert "Contents" in texts[0] and "1. Executive summary" in texts[0]
    assert any("6. Consistency certificate" in t for t in texts[1:])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto((out / "report" / "report.html").as_uri(), wait_until="load")
            widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            page.screenshot(path=str(tmp_path / "demo-1366.png"))
        finally:
            browser.close()
    assert widths[0] <= widths[1], widths
