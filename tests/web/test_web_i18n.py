"""The web app in the six UN languages: the catalogue route, the page's language, right-to-left Arabic.

API tests run everywhere; the browser tests drive the Debian Chromium with Playwright (skipped without it) and save
screenshots under the test's tmp folder (copied to ``OPENLDN_SCREENSHOT_DIR`` when set).
"""

from __future__ import annotations

import gettext
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from test_browser import _wait_until, browser_page, live_server  # noqa: F401  (fixtures shared with the page tests)

from openldn.i18n import LANGUAGE_NAMES, format_decimal, read_catalogue
from openldn.web.routes.i18n import _accept_language

STATIC = Path(__file__).resolve().parents[2] / "src" / "openldn" / "web" / "static"
FRONTEND = STATIC.parent / "frontend"
OTHER = ("ar", "es", "fr", "ru", "zh")


def _translation(lang: str, msgid: str) -> str:
    message = read_catalogue(lang, "web").get(msgid)
    assert message is not None and message.string, (lang, msgid)
    return str(message.string)


class _Marked(HTMLParser):
    """Texts and attributes of index.html marked for translation (data-i18n, data-i18n-attr)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-i18n" in a:
            self._open.append((tag, []))
        for name in (a.get("data-i18n-attr") or "").split(","):
            if name.strip() and a.get(name.strip()):
                self.found.append(str(a[name.strip()]))

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            self.found.append("".join(self._open.pop()[1]).strip())


@pytest.mark.parametrize("page", [STATIC / "index.html", FRONTEND / "monitor.html"], ids=["index", "monitor"])
def test_html__every_marked_text_translated(page: Path) -> None:
    """The completeness test reads t() calls of the scripts; the pages' own texts are checked here."""
    parser = _Marked()
    text = page.read_text(encoding="utf-8")
    parser.feed(text)
    assert len(parser.found) > 10 and "/static/i18n.js" in text
    for lang in OTHER:
        catalogue = read_catalogue(lang, "web")
        missing = [m for m in parser.found if not (catalogue.get(m) and catalogue.get(m).string)]
        assert not missing, (lang, missing)


def test_catalogue_route__french_strings_and_plurals(client) -> None:
    answer = client.get("/api/i18n/fr")
    assert answer.status_code == 200
    data = answer.json()
    assert data["lang"] == "fr" and data["dir"] == "ltr" and data["name"] == "Français"
    assert data["messages"]["Upload"] == "Téléverser"
    assert data["messages"]["Validate and save"] == "Valider et enregistrer"
    assert data["messages"]["{n} band"] == ["{n} bande", "{n} bandes"]
    arabic = client.get("/api/i18n/ar").json()
    assert arabic["dir"] == "rtl" and len(arabic["messages"]["{n} band"]) == 6
    assert client.get("/api/i18n/xx").status_code == 404
    assert client.get("/api/i18n/en").json()["messages"] == {}
    assert [x["lang"] for x in client.get("/api/i18n").json()] == sorted(LANGUAGE_NAMES)


def test_catalogue_route__public_before_sign_in(make_client) -> None:
    client = make_client(token="secret-token-123456")
    assert client.get("/api/projects").status_code == 401
    assert client.get("/api/i18n/es").json()["messages"]["Upload"] == "Subir"


def test_accept_language__quality_order() -> None:
    assert _accept_language("de-DE,de;q=0.9,ru;q=0.8,fr;q=0.7") == "ru"
    assert _accept_language("fr;q=0.2, zh-Hans-CN;q=0.8") == "zh"
    assert _accept_language("de, it") is None
    assert _accept_language("es;q=0, ar") == "ar"


def test_server_errors__in_the_page_language(client) -> None:
    """A route's own message comes back in the language named by the header, then the cookie."""
    expected = _translation_py("fr", "language %(lang)s is not offered; use one of %(known)s")
    prefix = expected.split("%(lang)s")[0]
    assert client.get("/api/i18n/xx", headers={"X-OpenLDN-Language": "fr"}).json()["detail"].startswith(prefix)
    client.cookies.set("openldn_lang", "fr")
    assert client.get("/api/i18n/xx").json()["detail"].startswith(prefix)
    client.cookies.clear()
    assert client.get("/api/i18n/xx").json()["detail"].startswith("language 'xx' is not offered")


def _translation_py(lang: str, msgid: str) -> str:
    message = read_catalogue(lang, "openldn").get(msgid)
    assert message is not None and message.string
    return str(message.string)


# ------------------------------------------------------------------------------------------------ in the browser
def _watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def _keep(tmp_path: Path, name: str) -> None:
    keep = os.environ.get("OPENLDN_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / name, Path(keep) / f"{Path(name).stem}-{tmp_path.name}.png")


def _no_horizontal_overflow(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth,"
                           " document.body.scrollWidth]")
    assert widths[0] <= widths[1] and widths[2] <= widths[1], widths


@pytest.mark.browser
def test_browser__arabic_right_to_left_live_and_remembered(browser_page, live_server, fake_env, tmp_path) -> None:  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 768})
    errors = _watch(page)
    base = live_server(pipeline="_web_fake_pipeline:run_assessment")
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.fill("#project-name", "Sahel")
    page.click("#create-btn")
    _wait_until(page, "document.querySelector('#project-select').selectedOptions[0]?.text === 'Sahel'")
    assert page.evaluate("document.documentElement.dir") in ("", "ltr")
    names = page.locator("#language-select option").all_text_contents()
    assert names == list(LANGUAGE_NAMES.values())

    page.select_option("#language-select", "ar")  # live: no reload
    _wait_until(page, "document.documentElement.dir === 'rtl' && document.documentElement.lang === 'ar'")
    assert page.text_content("#create-btn") == _translation("ar", "Create")
    assert page.text_content("#data > summary") == _translation("ar", "Data")
    assert page.get_attribute("#project-name", "placeholder") == _translation("ar", "New project name")
    _wait_until(page, f"document.querySelector('#upload-role option[value=aoi]').text === "
                      f"{json.dumps(_translation('ar', 'area of interest'))}")
    assert page.text_content("#run-status") == _translation("ar", "No run yet.")
    assert page.evaluate("localStorage.getItem('openldn.language')") == "ar"
    # the sidebar is on the right, Leaflet's zoom buttons move to the map's right edge
    sidebar = page.locator("#sidebar").bounding_box()
    map_box = page.locator("#map").bounding_box()
    zoom = page.locator(".leaflet-control-zoom").bounding_box()
    assert sidebar["x"] > map_box["x"]
    assert zoom["x"] > map_box["x"] + map_box["width"] / 2
    _no_horizontal_overflow(page)
    page.screenshot(path=str(tmp_path / "openldn-web-ar.png"))
    _keep(tmp_path, "openldn-web-ar.png")

    # numbers as the language writes them, plural forms as the catalogue header says (Babel and gettext compute
    # the expected values independently of the page's Intl and JavaScript)
    for lang in ("ar", "fr", "ru", "zh", "es", "en"):
        shown = page.evaluate(f"(() => {{ const keep = I18N.lang; I18N.lang = '{lang}';"
                              " const s = formatNumber(12345.6, { minimumFractionDigits: 1, maximumFractionDigits: 1 });"
                              " I18N.lang = keep; return s; })()")
        expected = format_decimal(12345.6, 1, lang)
        assert re.sub(r"\s", " ", shown) == re.sub(r"\s", " ", expected), (lang, shown, expected)
        if lang == "en":
            continue
        header = read_catalogue(lang, "web").plural_forms
        plural = gettext.c2py(header.split("plural=", 1)[1].rstrip(";"))
        indices = page.evaluate(f"[...Array(260).keys()].map((n) => pluralIndex('{lang}', n))")
        assert indices == [plural(n) for n in range(260)], lang

    # remembered: a new visit opens in Arabic
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.input_value("#language-select") == "ar"
    # and back to English, live
    page.select_option("#language-select", "en")
    _wait_until(page, "document.documentElement.dir === 'ltr'")
    assert page.text_content("#create-btn") == "Create"
    assert page.evaluate("localStorage.getItem('openldn.language')") == "en"
    assert not errors, errors


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "ru", "fr", "es"])
def test_browser__each_language_fits_1366(browser_page, live_server, fake_env, tmp_path, lang) -> None:  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 768})
    errors = _watch(page)
    base = live_server(pipeline="_web_fake_pipeline:run_assessment")
    page.add_init_script(f"localStorage.setItem('openldn.language', '{lang}')")
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert page.evaluate("document.documentElement.dir") == "ltr"
    assert page.text_content("#run-btn") == _translation(lang, "Run assessment")
    for details in ("#data", "#wizard", "#options"):
        page.evaluate(f"document.querySelector('{details}').open = true")
    _no_horizontal_overflow(page)
    page.screenshot(path=str(tmp_path / f"openldn-web-{lang}.png"))
    _keep(tmp_path, f"openldn-web-{lang}.png")
    assert not errors, errors


def _demo(root: Path) -> Path:
    pytest.importorskip("openldn.datasets")
    from openldn.datasets import make_demo

    make_demo(root / "demo")
    return root / "demo"


@pytest.mark.browser
@pytest.mark.slow
def test_browser__wizard_writes_a_run_file_validate_accepts(browser_page, live_server, tmp_path) -> None:  # noqa: F811
    """Files linked with their roles, the wizard, then `openldn validate`; a bad run file lists every error."""
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 768})
    page.on("dialog", lambda dialog: dialog.accept())
    errors = _watch(page)
    _demo(tmp_path / "data")
    base = live_server()
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.fill("#project-name", "Kenya demo")
    page.click("#create-btn")
    _wait_until(page, "document.querySelector('#project-select').selectedOptions[0]?.text === 'Kenya demo'")
    page.evaluate("document.querySelector('#data').open = true")
    for role, file in (("aoi", "aoi.gpkg"), ("zones", "zones.gpkg"), ("land_cover", "land_cover.tif"),
                       ("ndvi", "ndvi.tif"), ("soc", "soc.tif"), ("climate_zones", "climate_zones.tif")):
        count = page.locator("#dataset-list li.dataset").count()
        page.select_option("#upload-role", role)
        page.fill("#local-path", f"demo/{file}")
        page.click("#link-btn")
        _wait_until(page, f"document.querySelectorAll('#dataset-list li.dataset').length === {count + 1}")
    # the run file was filled from the roles (a draft): the inputs panel shows them
    _wait_until(page, "document.querySelectorAll('#inputs-list li.input').length >= 6", timeout=60_000)

    page.evaluate("document.querySelector('#wizard').open = true")
    _wait_until(page, "document.querySelectorAll('.wizard-input').length === 4")
    assert page.input_value("#wizard-aoi").endswith("aoi.gpkg")
    assert page.input_value("#wizard-zones").endswith("zones.gpkg")
    page.click("#wizard-btn")
    page.wait_for_selector("body[data-wizard='done']", timeout=120_000)
    page.wait_for_selector("#form-message.ok", timeout=60_000)
    assert page.locator("#form-errors li").count() == 0
    project = page.evaluate("state.project")
    run_file = tmp_path / "data" / "projects" / project["id"] / project["assessment"]
    checked = subprocess.run([sys.executable, "-m", "openldn", "validate", str(run_file)],
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    page.screenshot(path=str(tmp_path / "openldn-web-wizard.png"), full_page=True)
    _keep(tmp_path, "openldn-web-wizard.png")

    # a run file with several faults: the form lists every one of them (as many as the API answers)
    bad = {"name": "x", "baseline": "2015-2000", "no_such_key": 1, "inputs": {"ndvi": {"path": "nowhere.tif"}}}
    answer = page.request.put(f"{base}/api/projects/{project['id']}/assessment", data=bad)
    assert answer.status == 422
    expected = answer.json()["errors"]
    assert len(expected) >= 4
    assert not errors, errors
    page.evaluate(f"formValue = {json.dumps(bad)}")
    page.click("#save-btn")
    page.wait_for_selector("#form-errors li.problem", timeout=30_000)
    shown = page.locator("#form-errors li.problem")
    assert shown.count() == len(expected)
    assert [shown.nth(i).get_attribute("data-key") for i in range(shown.count())] == [e["key"] for e in expected]
    assert "more)" not in page.text_content("#form-errors")
    _no_horizontal_overflow(page)
    page.screenshot(path=str(tmp_path / "openldn-web-errors.png"), full_page=True)
    _keep(tmp_path, "openldn-web-errors.png")
    assert all("status of 422" in e for e in errors), errors  # the refused save itself, nothing else


@pytest.mark.browser
def test_browser__monitor_page_in_french(browser_page, live_server, fake_env, tmp_path) -> None:  # noqa: F811
    page = browser_page
    errors = _watch(page)
    base = live_server(pipeline="_web_fake_pipeline:run_assessment")
    page.add_init_script("localStorage.setItem('openldn.language', 'fr')")
    page.goto(base + "/monitor")
    page.wait_for_selector("#empty:not([hidden])", timeout=20_000)
    assert page.text_content("h1") == _translation("fr", "Drought monitoring")
    assert page.evaluate("document.documentElement.lang") == "fr"
    page.select_option("#language-select", "ar")
    _wait_until(page, "document.documentElement.dir === 'rtl'")
    assert page.text_content("h1") == _translation("ar", "Drought monitoring")
    _no_horizontal_overflow(page)
    page.screenshot(path=str(tmp_path / "openldn-monitor-ar.png"))
    _keep(tmp_path, "openldn-monitor-ar.png")
    assert not errors, errors


@pytest.mark.browser
def test_browser__a_run_in_arabic(browser_page, live_server, fake_env, tmp_path) -> None:  # noqa: F811
    """A whole run (fake pipeline) with the page in Arabic: statuses, progress and results drawn in it."""
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 768})
    errors = _watch(page)
    base = live_server(pipeline="_web_fake_pipeline:run_assessment")
    page.add_init_script("localStorage.setItem('openldn.language', 'ar')")
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.click("#demo-btn")
    demo = _translation("ar", "Demo country")
    _wait_until(page, f"document.querySelector('#project-select').selectedOptions[0]?.text === {json.dumps(demo)}",
                timeout=120_000)
    page.click("#run-btn")
    page.wait_for_selector("#run-status[data-status='succeeded']", timeout=90_000)
    page.wait_for_selector("#layers .layer-toggle", timeout=20_000)
    assert page.text_content("#run-status").startswith(_translation("ar", "succeeded"))
    assert page.locator("#run-select option:checked").text_content().endswith(_translation("ar", "succeeded"))
    assert page.evaluate("document.documentElement.dir") == "rtl"
    _no_horizontal_overflow(page)
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "openldn-web-ar-run.png"))
    _keep(tmp_path, "openldn-web-ar-run.png")
    assert not errors, errors


def test_roles__every_registry_input_has_a_translated_label() -> None:
    """The role menu names each input of openldn.registry in the page's language (wizard.js roleLabel)."""
    from openldn.registry import input_decls

    script = (STATIC / "wizard.js").read_text(encoding="utf-8")
    for name in input_decls():
        found = re.search(rf"^\s+{name}: t\(\"([^\"]+)\"\)", script, re.M)
        assert found, f"wizard.js roleLabel has no label for the input {name!r}"
        for lang in OTHER:
            assert _translation(lang, found.group(1))
