"""The labelling page's API (issue 16 item 2) on a small real sample design.

The design is drawn by ``openldn.accuracy.sampling.design_sample`` on a tiny synthetic degradation map; the project
has NDVI, land cover and SOC inputs. Expected values are read independently: pixel values with rasterio, the trend
with ``scipy.stats.theilslopes`` / ``numpy.polyfit``, land cover labels from the legend YAML, the overall accuracy
by hand from Olofsson et al. (2014) eq. 1 and 4.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

rasterio = pytest.importorskip("rasterio")
from rasterio.transform import from_origin  # noqa: E402

YEARS = list(range(2012, 2022))
LC_CODES = [10, 50, 130, 190]  # esa_cci: rainfed cropland, broadleaved evergreen tree cover, grassland, urban
TRANSFORM = from_origin(36.0, 1.0, 0.01, 0.01)  # 12 x 12 cells of 0.01 degree, lon/lat
SHAPE = (12, 12)


def _write(path: Path, data: np.ndarray, dtype: str, nodata: float | None = None, tags: dict[str, str] | None = None,
           descriptions: list[str] | None = None) -> None:  # fmt: skip
    arr = data if data.ndim == 3 else data[None]
    with rasterio.open(path, "w", driver="GTiff", height=SHAPE[0], width=SHAPE[1], count=arr.shape[0], dtype=dtype,
                       crs="EPSG:4326", transform=TRANSFORM, nodata=nodata) as dst:  # fmt: skip
        dst.write(arr.astype(dtype))
        if tags:
            dst.update_tags(**tags)
        for i, d in enumerate(descriptions or []):
            dst.set_band_description(i + 1, d)


def make_project_files(folder: Path) -> Path:
    """Write the inputs, the run file and a sample design in ``folder``; return the sample folder."""
    from openldn.accuracy.sampling import design_sample
    from openldn.core.vocab import load_legend

    rng = np.random.default_rng(7)
    deg = rng.choice([-1, 0, 0, 1], size=SHAPE).astype(np.int16)
    deg[0, 0] = -32768
    legend = load_legend("degradation")
    tags = {"legend": "degradation", "openldn_key": "sdg/2016-2023",
            "legend_classes": json.dumps([{"code": c.code, "key": c.key, "label": c.label} for c in legend.classes])}
    (folder / "maps").mkdir(parents=True, exist_ok=True)
    _write(folder / "maps" / "sdg.tif", deg, "int16", nodata=-32768, tags=tags)
    trend = rng.normal(0, 0.01, size=SHAPE)
    ndvi = np.stack([0.4 + trend * (y - YEARS[0]) + rng.normal(0, 0.02, size=SHAPE) for y in YEARS])
    ndvi[3, 5, 5] = -9999.0  # a missing year at one cell
    _write(folder / "ndvi.tif", ndvi, "float32", nodata=-9999.0)
    lc = rng.choice(LC_CODES, size=(len(YEARS), *SHAPE))
    _write(folder / "land_cover.tif", lc, "int16", nodata=-32768)
    _write(folder / "soc.tif", rng.uniform(20, 60, size=SHAPE), "float32", nodata=-9999.0)
    import geopandas as gpd
    from shapely.geometry import box

    gpd.GeoDataFrame({"id": ["A"]}, geometry=[box(36.0, 0.88, 36.12, 1.0)], crs=4326).to_file(folder / "aoi.gpkg")
    run_file = {
        "name": "labelling test", "aoi": "aoi.gpkg", "baseline": "2012-2015", "reporting": ["2016-2021"],
        "inputs": {"ndvi": {"path": "ndvi.tif", "years": YEARS},
                   "land_cover": {"path": "land_cover.tif", "years": YEARS, "legend": "esa_cci"},
                   "soc": {"path": "soc.tif"}},
    }  # fmt: skip
    (folder / "assessment.yaml").write_text(yaml.safe_dump(run_file), encoding="utf-8")
    design_sample(folder / "maps" / "sdg.tif", folder / "sample", n=12, seed=3)
    return folder / "sample"


@pytest.fixture
def project(client: Any, tmp_path: Path) -> dict[str, Any]:
    """A project whose folder holds the inputs, the run file and the sample; returns ids and paths."""
    pid = client.post("/api/projects", json={"name": "labels"}).json()["id"]
    folder = tmp_path / "data" / "projects" / pid
    folder.mkdir(parents=True, exist_ok=True)
    sample = make_project_files(folder)
    client.app.state.db.set_assessment(pid, "assessment.yaml")
    sample_id = sample.resolve().relative_to((tmp_path / "data").resolve()).as_posix()
    return {"id": pid, "folder": folder, "sample": sample, "sample_id": sample_id}


def _points_csv(sample: Path) -> list[dict[str, str]]:
    with open(sample / "points.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_samples_and_points(client: Any, project: dict[str, Any]) -> None:
    found = client.get(f"/api/projects/{project['id']}/samples").json()
    assert [s["id"] for s in found] == [project["sample_id"]]
    assert found[0]["n"] == 12 and found[0]["labelled"] == 0 and found[0]["map"] == "sdg/2016-2023"
    res = client.get(f"/api/projects/{project['id']}/labelling/points", params={"sample": project["sample_id"]})
    assert res.status_code == 200, res.text
    body = res.json()
    rows = _points_csv(project["sample"])
    assert [p["point_id"] for p in body["points"]] == [r["point_id"] for r in rows]
    assert [p["stratum"] for p in body["points"]] == [int(r["stratum"]) for r in rows]
    assert body["n"] == 12 and body["n_labelled"] == 0
    assert {c["code"]: (c["label"], c["color"]) for c in body["classes"]} == {
        -1: ("Degraded", "#AB2727"), 0: ("Stable", "#EFE8B0"), 1: ("Improved", "#45A146")}


def test_sample_outside_project_refused(client: Any, project: dict[str, Any]) -> None:
    other = client.post("/api/projects", json={"name": "other"}).json()["id"]
    res = client.get(f"/api/projects/{other}/labelling/points", params={"sample": project["sample_id"]})
    assert res.status_code == 404
    res = client.get(f"/api/projects/{project['id']}/labelling/points", params={"sample": "../../etc"})
    assert res.status_code in (403, 404)


def test_point_details_independent(client: Any, project: dict[str, Any]) -> None:
    from scipy.stats import theilslopes

    folder = project["folder"]
    rows = _points_csv(project["sample"])
    esa = yaml.safe_load((Path(__file__).parents[2] / "src/openldn/data/legends/esa_cci.yaml").read_text())
    esa_labels = {int(c["code"]): c["label"] for c in esa["classes"]}
    checked_trend = 0
    for row in rows:
        lon, lat = float(row["lon"]), float(row["lat"])
        res = client.get(f"/api/projects/{project['id']}/labelling/points/{row['point_id']}",
                         params={"sample": project["sample_id"]})  # fmt: skip
        assert res.status_code == 200, res.text
        d = res.json()
        assert d["point"]["stratum"] == int(row["stratum"]) and d["label"] is None
        sdg = next(m for m in d["maps"] if m["column"] == "sdg_2016-2023")
        with rasterio.open(folder / "maps" / "sdg.tif") as src:
            assert sdg["value"] == int(next(src.sample([(lon, lat)]))[0])
        with rasterio.open(folder / "ndvi.tif") as src:
            expected = np.array(next(src.sample([(lon, lat)])), dtype=np.float64)
        expected[expected == -9999.0] = np.nan
        got = np.array([np.nan if v is None else v for v in d["ndvi"]["values"]], dtype=np.float64)
        assert d["ndvi"]["years"] == YEARS
        np.testing.assert_allclose(got, expected.astype(np.float32), rtol=0, atol=1e-7, equal_nan=True)
        ok = np.isfinite(expected)
        t = np.array(YEARS, dtype=np.float64)[ok]
        ts = theilslopes(expected[ok].astype(np.float32).astype(np.float64), t)
        assert d["ndvi"]["trend"]["slope"] == pytest.approx(ts.slope, rel=1e-5, abs=1e-9)
        assert d["ndvi"]["trend"]["intercept"] == pytest.approx(ts.intercept, rel=1e-5, abs=1e-6)
        ols = np.polyfit(t, expected[ok].astype(np.float32).astype(np.float64), 1)
        assert d["ndvi"]["trend"]["ols_slope"] == pytest.approx(ols[0], rel=1e-5, abs=1e-9)
        assert d["ndvi"]["trend"]["n"] == int(ok.sum())
        checked_trend += 1
        with rasterio.open(folder / "land_cover.tif") as src:
            lc = [int(v) for v in next(src.sample([(lon, lat)]))]
        assert [c["year"] for c in d["land_cover"]["classes"]] == YEARS
        assert [c["code"] for c in d["land_cover"]["classes"]] == lc
        assert [c["label"] for c in d["land_cover"]["classes"]] == [esa_labels[c] for c in lc]
        assert all(c["color"].startswith("#") for c in d["land_cover"]["classes"])
        with rasterio.open(folder / "soc.tif") as src:
            soc = float(next(src.sample([(lon, lat)]))[0])
        assert d["soc"]["values"][0]["value"] == pytest.approx(soc, rel=1e-6)
    assert checked_trend == 12


def test_save_update_export_estimate(client: Any, project: dict[str, Any], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from openldn.accuracy.labels import check_labels, read_labels
    from openldn.cli.main import app

    pid, sid = project["id"], project["sample_id"]
    rows = _points_csv(project["sample"])
    url = f"/api/projects/{pid}/labelling/points/"
    # partial labelling: one point, then export
    first = rows[0]["point_id"]
    res = client.put(url + first, params={"sample": sid}, json={"reference": 1, "interpreter": "ana",
                                                                "confidence": "low", "notes": "first try"})
    assert res.status_code == 200, res.text
    res = client.put(url + first, params={"sample": sid}, json={"reference": -1, "interpreter": "ana",
                                                                "confidence": "high", "notes": "bare soil"})
    assert res.json()["reference"] == -1
    assert client.put(url + first, params={"sample": sid}, json={"reference": 5}).status_code == 422
    assert client.put(url + "P99999", params={"sample": sid}, json={"reference": 0}).status_code == 404
    body = client.get(f"/api/projects/{pid}/labelling/points", params={"sample": sid}).json()
    assert body["n_labelled"] == 1 and body["points"][0]["labelled"] and body["points"][0]["reference"] == -1
    assert client.get(url + first, params={"sample": sid}).json()["label"]["notes"] == "bare soil"
    text = client.get(f"/api/projects/{pid}/labelling/labels.csv", params={"sample": sid}).text
    path = tmp_path / "partial.csv"
    path.write_text(text, encoding="utf-8")
    checked = check_labels(read_labels(path), {-1: "Degraded", 0: "Stable", 1: "Improved"},
                           [r["point_id"] for r in rows])  # fmt: skip
    assert len(checked) == 12 and int(checked["reference"].notna().sum()) == 1
    assert checked.loc[0, "reference"] == -1 and checked.loc[0, "interpreter"] == "ana"
    # label every point: the map class, except one point per stratum called stable
    flipped: set[int] = set()
    reference: dict[str, int] = {}
    for r in rows:
        s = int(r["stratum"])
        ref = s
        if s != 0 and s not in flipped:
            ref, flipped = 0, flipped | {s}
        reference[r["point_id"]] = ref
        assert client.put(url + r["point_id"], params={"sample": sid}, json={"reference": ref}).status_code == 200
    # delete and re-save one label
    assert client.delete(url + first, params={"sample": sid}).status_code == 204
    assert client.get(f"/api/projects/{pid}/labelling/points", params={"sample": sid}).json()["n_labelled"] == 11
    client.put(url + first, params={"sample": sid}, json={"reference": reference[first]})
    text = client.get(f"/api/projects/{pid}/labelling/labels.csv", params={"sample": sid}).text
    assert next(csv.reader(io.StringIO(text))) == ["point_id", "reference", "interpreter", "confidence", "notes"]
    labels = tmp_path / "labels.csv"
    labels.write_text(text, encoding="utf-8")
    out = tmp_path / "estimate"
    result = CliRunner().invoke(app, ["accuracy", "estimate", str(project["sample"]), "--labels", str(labels),
                                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    # overall accuracy by hand (Olofsson et al. 2014 eq. 1, 4): sum_i W_i n_ii / n_i.
    design = json.loads((project["sample"] / "design.json").read_text())
    w = np.array(design["mapped_area_m2"]) / np.sum(design["mapped_area_m2"])
    overall = 0.0
    for i, c in enumerate(design["classes"]):
        ids = [r["point_id"] for r in rows if int(r["stratum"]) == c]
        overall += w[i] * sum(reference[p] == c for p in ids) / len(ids)
    assert f"12 of 12 points labelled; overall accuracy {overall:.3f}" in result.output


def test_import_labels(client: Any, project: dict[str, Any]) -> None:
    pid, sid = project["id"], project["sample_id"]
    rows = _points_csv(project["sample"])
    ids = [r["point_id"] for r in rows]
    url = f"/api/projects/{pid}/labelling/"
    client.put(url + "points/" + ids[0], params={"sample": sid}, json={"reference": 0, "interpreter": "web"})
    (project["sample"] / "labels.csv").write_text(
        "point_id,reference,interpreter,confidence,notes\n"
        f"{ids[0]},1,field,high,\n{ids[1]},Degraded,field,medium,by name\n{ids[2]},,,,\n", encoding="utf-8")
    res = client.post(url + "import", params={"sample": sid})
    assert res.status_code == 200, res.text
    assert res.json() == {"imported": 1, "kept": 1}
    body = client.get(url + "points", params={"sample": sid}).json()
    got = {p["point_id"]: p["reference"] for p in body["points"] if p["labelled"]}
    assert got == {ids[0]: 0, ids[1]: -1}
    res = client.post(url + "import", params={"sample": sid, "replace": True})
    assert res.json() == {"imported": 2, "kept": 0}
    assert client.get(url + "points/" + ids[0], params={"sample": sid}).json()["label"]["interpreter"] == "field"
    bad = b"point_id,reference\n" + ids[3].encode() + b",Forest\n"
    res = client.post(url + "import-file", params={"sample": sid}, files={"file": ("labels.csv", bad)})
    assert res.status_code in (400, 422) and "Forest" in res.json()["detail"]


def test_upload_sample(client: Any, project: dict[str, Any]) -> None:
    pid = project["id"]
    with open(project["sample"] / "points.gpkg", "rb") as pts, open(project["sample"] / "design.json", "rb") as des:
        res = client.post(f"/api/projects/{pid}/samples", files=[("files", ("points.gpkg", pts)),
                                                                 ("files", ("design.json", des))])  # fmt: skip
    assert res.status_code == 201, res.text
    new = res.json()
    assert new["n"] == 12 and new["map"] == "sdg/2016-2023"
    body = client.get(f"/api/projects/{pid}/labelling/points", params={"sample": new["id"]}).json()
    rows = _points_csv(project["sample"])
    assert [p["point_id"] for p in body["points"]] == [r["point_id"] for r in rows]
    np.testing.assert_allclose([p["lon"] for p in body["points"]], [float(r["lon"]) for r in rows], atol=1e-7)
    res = client.post(f"/api/projects/{pid}/samples", files={"files": ("points.txt", b"a,b\n")})
    assert res.status_code == 415
    ids = {s["id"] for s in client.get(f"/api/projects/{pid}/samples").json()}
    assert ids == {project["sample_id"], new["id"]}


def test_labelling_page_served(client: Any) -> None:
    for name in ("labelling.html", "labelling.js", "labelling.css"):
        assert client.get(f"/static/{name}").status_code == 200


STATIC = Path(__file__).parents[2] / "src" / "openldn" / "web" / "static"


def _page_messages() -> set[str]:
    """Texts of labelling.html marked for translation and the t() messages of labelling.js."""
    from html.parser import HTMLParser

    found: set[str] = set()

    class Marked(HTMLParser):
        take = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            self.take = "data-i18n" in a
            for name in (a.get("data-i18n-attr") or "").split(","):
                if name.strip() and a.get(name.strip()):
                    found.add(str(a[name.strip()]))

        def handle_data(self, data: str) -> None:
            if self.take and data.strip():
                found.add(data.strip())
                self.take = False

    Marked().feed((STATIC / "labelling.html").read_text(encoding="utf-8"))
    from babel.messages.extract import extract_javascript

    with open(STATIC / "labelling.js", "rb") as fh:
        for _, _, msg, _ in extract_javascript(fh, ["t", "tn"], [], {}):
            found.add(msg[0] if isinstance(msg, tuple) else msg)  # a plural message is known by its singular
    return found


@pytest.mark.parametrize("lang", ["ar", "es", "fr", "ru", "zh"])
def test_page_translated(lang: str) -> None:
    from openldn.i18n import read_catalogue

    messages = _page_messages()
    assert "{done} of {n} labelled" in messages and "Save label" in messages and len(messages) > 40
    catalogue = read_catalogue(lang, "web")
    missing = sorted(m for m in messages if not (catalogue.get(m) and catalogue.get(m).string))
    assert missing == []
    for m in messages:  # the placeholders survive translation
        text = catalogue.get(m).string
        if isinstance(text, tuple):  # plural forms: only the count
            assert all(set(re.findall(r"\{\w+\}", f)) <= {"{n}"} for f in text) and any("{n}" in f for f in text), m
            continue
        assert sorted(re.findall(r"\{\w+\}", text)) == sorted(re.findall(r"\{\w+\}", m)), m


def test_api_messages_in_the_page_language(client: Any, project: dict[str, Any]) -> None:
    res = client.get(f"/api/projects/{project['id']}/labelling/points/P99999",
                     params={"sample": project["sample_id"]}, headers={"X-OpenLDN-Language": "fr"})  # fmt: skip
    assert res.status_code == 404 and res.json()["detail"] == "le point P99999 n'est pas dans l'échantillon"
    body = client.get(f"/api/projects/{project['id']}/labelling/points", params={"sample": project["sample_id"]},
                      headers={"X-OpenLDN-Language": "fr"}).json()  # fmt: skip
    assert [c["label"] for c in body["classes"]] == ["Dégradé", "Stable", "Amélioré"]


# ------------------------------------------------------------------------------------------------- in the browser
CHROMIUM = os.environ.get("OPENLDN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip


def _wait_until(page: Any, expression: str, timeout: float = 90.0) -> None:
    """Poll a JavaScript expression until it is true (the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[str]:
    """The app served by uvicorn in a thread (no token); its base URL."""
    import uvicorn

    from openldn.web.app import VENDOR, create_app
    from openldn.web.settings import Settings

    if not all(p.is_dir() for p in VENDOR.values()):
        pytest.skip("map assets missing: run 'npm ci' in src/openldn/web/frontend")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(Settings(data_dir=tmp_path / "data", auth=False))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


@pytest.mark.browser
@pytest.mark.slow  # about 20 s: a server, Chromium, two labels and a reload
def test_labelling_page_in_browser(live: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    import httpx

    from openldn.web.db import Database

    api = httpx.Client(base_url=live, timeout=30)
    pid = api.post("/api/projects", json={"name": "Labelling"}).json()["id"]
    folder = tmp_path / "data" / "projects" / pid
    make_project_files(folder)
    Database(tmp_path / "data" / "openldn.sqlite").set_assessment(pid, "assessment.yaml")
    # the server's first point compiles the trend kernel (numba): do it before timing the page
    sample_id = api.get(f"/api/projects/{pid}/samples").json()[0]["id"]
    first_id = api.get(f"/api/projects/{pid}/labelling/points", params={"sample": sample_id}).json()["points"][0]
    api.get(f"/api/projects/{pid}/labelling/points/{first_id['point_id']}", params={"sample": sample_id},
            timeout=180).raise_for_status()  # fmt: skip
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.set_default_timeout(90_000)  # a shared 2-core machine
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live}/static/labelling.html?project={pid}")
        page.wait_for_selector("#point-box:not([hidden]) #ndvi-chart svg path")
        assert page.locator("#progress-text").inner_text() == "0 of 12 labelled"
        assert page.locator(".leaflet-interactive").count() == 12
        assert page.locator("#lc-chips .chip").count() == len(YEARS)
        assert page.locator("#ndvi-chart line.trend").count() == 1
        first = page.evaluate("L_STATE.current")
        # keyboard: 1 chooses the first reference class (Degraded), S saves and moves to the next unlabelled point
        page.keyboard.press("1")
        page.keyboard.press("s")
        _wait_until(page, "document.querySelector('#progress-text').textContent === '1 of 12 labelled'")
        _wait_until(page, f"L_STATE.current !== {json.dumps(first)} && L_STATE.details.point.point_id === L_STATE.current")
        second = page.evaluate("L_STATE.current")
        # mouse: the third class (Improved), an interpreter and notes, the save button
        page.locator("#class-options label").nth(2).click()
        page.fill("#interpreter", "Amina")
        page.fill("#notes", "greening")
        page.click("#save-btn")
        _wait_until(page, "document.querySelector('#progress-text').textContent === '2 of 12 labelled'")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, f"the page is {width} px wide at 1366 x 768"
        page.reload()
        page.wait_for_selector("#point-box:not([hidden]) #ndvi-chart svg path")
        _wait_until(page, "document.querySelector('#progress-text').textContent === '2 of 12 labelled'")
        page.evaluate(f"selectPoint({json.dumps(second)})")
        _wait_until(page, f"L_STATE.details && L_STATE.details.point.point_id === {json.dumps(second)}")
        assert page.locator("#notes").input_value() == "greening"
        assert page.locator("#class-options input").nth(2).is_checked()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, f"the page is {width} px wide at 1366 x 768"
        # right to left: the page in Arabic keeps its width and translates the progress
        page.select_option("#language-select", "ar")
        _wait_until(page, "document.documentElement.dir === 'rtl' && "
                          "document.querySelector('#progress-text').textContent.includes('من') && "
                          "document.querySelector('#point-title').textContent.includes('النقطة') && "
                          "document.querySelector('#map-values').textContent.includes('مستقرة')")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        page.screenshot(path=str(tmp_path / "openldn-labelling-ar.png"))
        page.select_option("#language-select", "en")
        _wait_until(page, "document.querySelector('#progress-text').textContent === '2 of 12 labelled'")
        shot = tmp_path / "openldn-labelling.png"
        page.screenshot(path=str(shot))
        keep = os.environ.get("OPENLDN_SCREENSHOT_DIR")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            for name in (shot.name, "openldn-labelling-ar.png"):
                shutil.copy(tmp_path / name, Path(keep) / name)
        assert shot.stat().st_size > 10_000
        browser.close()
    sample = api.get(f"/api/projects/{pid}/samples").json()[0]["id"]
    points = api.get(f"/api/projects/{pid}/labelling/points", params={"sample": sample}).json()["points"]
    saved = {p["point_id"]: p["reference"] for p in points if p["labelled"]}
    assert saved == {first: -1, second: 1}
    assert errors == []
