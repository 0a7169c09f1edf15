"""The report in the six UN languages: HTML, maps, charts and PDF.

Expected texts are read from the report catalogues (``openldn-report.po``) by this test with Babel, independently of
the code under test, for English messages written out here; expected numbers are the English report's, compared after
parsing each language's number format with ``babel.numbers.parse_decimal``.

The fast tests render the report from the tidy tables of ``tests/reporting/reporting_factory.py``. The browser tests
run the whole reporting stage (maps, charts, HTML, PDF) in every language and check the page in headless Chromium:
``lang``/``dir``, no horizontal overflow at 1366x768, and no missing glyph (every font Chromium used for the text is
a Noto or DejaVu font whose character map covers the text it drew). They are slow (six stage runs): opt in with
``OPENLDN_RUN_SLOW=1``.
"""

from __future__ import annotations

import html as _html
import logging
import os
import re
import shutil
import subprocess
import sys
import unicodedata
import warnings
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from babel.messages.pofile import read_po
from babel.numbers import parse_decimal

sys.path.insert(0, str(Path(__file__).parents[1] / "reporting"))
from reporting_factory import BASELINE, REPORTING, make_tables

from openldn.i18n import use_language
from openldn.reporting.prais import build_report
from openldn.reporting.report import render_html

LANGS = ("ar", "en", "es", "fr", "ru", "zh")
BABEL = {"ar": "ar", "en": "en", "es": "es", "fr": "fr", "ru": "ru", "zh": "zh_Hans"}
LOCALE_DIR = Path(__file__).parents[2] / "src" / "openldn" / "locale"
CHROMIUM = os.environ.get("OPENLDN_CHROMIUM", "/usr/bin/chromium")
HEADINGS = ("1. Executive summary", "2. PRAIS tables", "3. Atlas of maps", "4. Charts", "5. Methods and data",
            "6. Consistency certificate")
slow = pytest.mark.skipif(not os.environ.get("OPENLDN_RUN_SLOW"),
                          reason="slow: the reporting stage in six languages; set OPENLDN_RUN_SLOW=1")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """msgid -> msgstr of the report part catalogue of ``lang``, read here with Babel (English: identity)."""
    if lang == "en":
        return {}
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "openldn-report.po").open("rb") as fh:
        cat = read_po(fh)
    return {m.id: m.string for m in cat if m.id and isinstance(m.id, str)}


def expected(lang: str, msgid: str) -> str:
    return catalogue(lang).get(msgid, msgid) if lang != "en" else msgid


@cache
def report_html(lang: str) -> str:
    tables = make_tables()
    with use_language(lang):
        rep = build_report(tables, baseline=BASELINE, reporting=REPORTING)
        return render_html(rep, name="Test country", maps=[], tables=tables,
                           provenance={"preset": {"id": "prais_2026_te", "hash": "0" * 64}},
                           created="2026-01-02 03:04 UTC", pages={"tables": 3})


def _section(text: str, sid: str) -> str:
    start = text.index(f'id="{sid}"')
    end = text.find("<h2 ", start + 1)
    return text[start:end if end > 0 else None]


def _numbers(text: str) -> list[str]:
    return [_html.unescape(c) for c in re.findall(r'<td class="n">([^<]*)</td>', text)]


@pytest.mark.parametrize("lang", LANGS)
def test_html_language_direction_and_headings(lang: str) -> None:
    text = report_html(lang)
    m = re.search(r'<html lang="([a-z]+)" dir="(rtl|ltr)">', text)
    assert m is not None and m.group(1) == lang
    assert m.group(2) == ("rtl" if lang == "ar" else "ltr")
    for sid, msgid in zip(("summary", "tables", "maps", "charts", "method", "consistency"), HEADINGS, strict=True):
        assert re.search(rf'<h2 id="{sid}">{re.escape(_html.escape(expected(lang, msgid)))}</h2>', text), (lang, sid)
    assert expected(lang, "Contents") in text
    # the page footer of the PDF in the language: "Page n of N" with CSS counters
    footer = expected(lang, "Page %(page)s of %(pages)s").split("%(page)s")[0]
    assert f'content:"{footer}" counter(page)' in text or (footer == "" and "content:counter(page)" in text)
    if lang != "en":
        assert expected(lang, "1. Executive summary") != "1. Executive summary"
        assert "Executive summary" not in text and "Methods and data" not in text


@pytest.mark.parametrize("lang", [x for x in LANGS if x != "en"])
def test_numbers_are_the_english_numbers(lang: str) -> None:
    """Every number of the PRAIS tables and the zone summary, parsed as the language writes it, equals English."""
    en = _numbers(_section(report_html("en"), "tables"))
    got = _numbers(_section(report_html(lang), "tables"))
    assert len(en) == len(got) > 50

    def value(s: str, loc: str) -> Decimal | None:
        s = s.strip().lstrip("+")
        return parse_decimal(s, locale=loc, strict=False) if s else None

    assert [value(g, BABEL[lang]) for g in got] == [value(e, "en") for e in en]
    if lang in ("fr", "ru", "es"):  # the decimal separator of the language is used
        assert any("," in g for g in got)


@pytest.mark.parametrize("lang", [x for x in LANGS if x != "en"])
def test_summary_in_the_language(lang: str) -> None:
    text = report_html(lang)
    summary = re.search(r'<div class="summary">(.*?)</div>', text, re.S)
    assert summary is not None
    first = expected(lang, "In the baseline period %(period)s, %(share)s of the land (%(area)s) was degraded (SDG "
                           "indicator 15.3.1).")
    head = first.split("%(")[0]
    assert head and head in _html.unescape(summary.group(1))
    assert "of the land" not in summary.group(1)


def _glyph_warnings(func: object, *args: object, **kwargs: object) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = func(*args, **kwargs)  # type: ignore[operator]
    return out, [str(w.message) for w in rec if "missing from font" in str(w.message)]


@pytest.mark.parametrize("lang", ["ar", "zh", "ru"])
def test_charts_and_maps_draw_every_glyph(lang: str, tmp_path: Path) -> None:
    """matplotlib finds a font with every glyph of the translated text (its "Glyph ... missing" warning is absent)."""
    pytest.importorskip("matplotlib")
    import rioxarray  # noqa: F401
    import xarray as xr

    from openldn.reporting import charts
    from openldn.reporting.fonts import font_families
    from openldn.reporting.maps import render_map

    with use_language(lang):
        try:
            font_families()
        except Exception as err:  # fonts absent on this machine
            pytest.skip(str(err))
        tables = make_tables()
        rep = build_report(tables, baseline=BASELINE, reporting=REPORTING)
        t = rep.get("SO1-2.T2") or rep.get("SO1-2.T1")
        assert t is not None
        png, bad = _glyph_warnings(charts.lpd_by_lc_chart, t.rows, title=expected(lang, "Land productivity dynamics "
                                                                                        "by land cover"))
        assert isinstance(png, bytes) and png[:4] == b"\x89PNG" and not bad, bad
        tr = tables["lc_transitions"]
        g = tr[(tr.zone_id.astype(str) == "ALL") & (tr.period.astype(str) == str(tr.period.iloc[0]))]
        png, bad = _glyph_warnings(charts.transition_sankey, g, title=expected(lang, "Land cover transitions"))
        assert not bad, bad
        da = xr.DataArray(np.array([[-1, 0], [1, 0]], dtype="int16"), dims=("y", "x"),
                          coords={"y": [19.0, 18.99], "x": [-71.8, -71.79]}).rio.write_crs("EPSG:4326")
        from openldn.integration.stage import DEG_LEGEND

        out, bad = _glyph_warnings(render_map, da, tmp_path / "m.png", title=expected(lang, "Land status"),
                                   legend=DEG_LEGEND)
        assert Path(str(out)).stat().st_size > 1000 and not bad, bad


def test_missing_fonts_name_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from openldn.exceptions import OpenLDNError
    from openldn.reporting import fonts

    monkeypatch.setattr(fonts, "_has_family", lambda name: name == "DejaVu Sans")
    with use_language("zh"), pytest.raises(OpenLDNError, match="fonts-noto-cjk"):
        fonts.font_families()
    with use_language("ar"), pytest.raises(OpenLDNError, match="fonts-noto-core"):
        fonts.font_families()
    with use_language("fr"):
        assert fonts.font_families() == ["DejaVu Sans"]  # Latin and Cyrillic: DejaVu Sans has the glyphs


def test_arabic_shaping_without_libraqm(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a matplotlib without libraqm, Arabic is shaped (presentation forms) and put in visual order."""
    pytest.importorskip("arabic_reshaper")
    pytest.importorskip("bidi")
    from matplotlib import ft2font

    from openldn.reporting import fonts

    monkeypatch.setattr(ft2font, "__libraqm_version__", "", raising=False)
    word = "أرض"  # alif-hamza, ra, dad: isolated code points
    shaped = fonts.plot_text(word, "ar")
    assert shaped != word
    assert all(0xFE70 <= ord(c) <= 0xFEFF for c in shaped)  # Arabic presentation forms B
    assert fonts.plot_text("Land", "fr") == "Land"


# -- the whole stage in each language, in Chromium ------------------------------------------------------------------


def _layer(values: np.ndarray) -> object:
    import rioxarray  # noqa: F401
    import xarray as xr

    ny, nx = values.shape
    da = xr.DataArray(values, dims=("y", "x"),
                      coords={"y": 19.0 - (np.arange(ny) + 0.5) * 0.01, "x": -71.8 + (np.arange(nx) + 0.5) * 0.01})
    return da.rio.write_crs("EPSG:4326")


@pytest.fixture(scope="module")
def stage_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The reporting stage of a small run (two admin units, three maps, hotspots) in every language."""
    if not os.environ.get("OPENLDN_RUN_SLOW"):
        pytest.skip("slow: the reporting stage in six languages; set OPENLDN_RUN_SLOW=1")
    import geopandas as gpd
    from shapely.geometry import box

    from openldn.integration.options import IntegrationOptions
    from openldn.integration.stage import DEG_LEGEND, S7_LEGEND
    from openldn.io import write_cog
    from openldn.reporting import stage

    runs = {}
    for lang in LANGS:
        out = tmp_path_factory.mktemp(f"run-{lang}")
        zones = gpd.GeoDataFrame({"id": ["Z1", "Z2"], "name": ["North", "South"]},
                                 geometry=[box(-71.8, 18.8, -71.6, 19.0), box(-71.6, 18.8, -71.4, 19.0)],
                                 crs="EPSG:4326")
        zones.to_file(out / "zones.gpkg")
        gpd.GeoDataFrame({"name": ["Quarry"]}, geometry=[box(-71.75, 18.85, -71.7, 18.9)],
                         crs="EPSG:4326").to_file(out / "hotspots.gpkg")
        rng = np.random.default_rng(3)
        deg = rng.choice([-1, 0, 1], size=(20, 40)).astype("int16")
        outputs = []
        for key, arr, legend in ((f"sdg/{BASELINE}", deg, DEG_LEGEND),
                                 (f"status7/{REPORTING[-1]}", (np.abs(deg) * 3 + 1).astype("int16"), S7_LEGEND),
                                 ("population_degraded/2023/total", rng.gamma(2.0, 30.0, (20, 40)).astype("float32"),
                                  None)):
            path = out / "maps" / (key.replace("/", "_") + ".tif")
            path.parent.mkdir(exist_ok=True)
            write_cog(_layer(arr), path, legend=legend)
            outputs.append({"key": key, "path": str(path.relative_to(out)), "title": key,
                            "kind": "categorical" if legend else "continuous",
                            "legend": {str(c.code): [c.label, c.color] for c in legend.classes} if legend else None,
                            "units": None if legend else "people"})
        assessment = SimpleNamespace(
            name="Test country", baseline=BASELINE, reporting=REPORTING,
            integration=IntegrationOptions(hotspots=str(out / "hotspots.gpkg")),
            outputs=SimpleNamespace(maps=True, png=True, xlsx=True, html=True, pdf=True), aoi=str(out / "zones.gpkg"),
            zones=SimpleNamespace(path=str(out / "zones.gpkg")), resolve=lambda p: Path(p))
        ctx = SimpleNamespace(
            assessment=assessment, out_dir=out, tables=make_tables(), outputs=outputs, substitutions=[],
            provenance={"openldn_version": "0.1.0", "preset": {"id": "prais_2026_te", "hash": "c" * 64},
                        "parameters": {}, "inputs": [{"role": "ndvi", "path": "ndvi.tif", "sha256": "d" * 64}]},
            coverage=SimpleNamespace(), log=logging.getLogger("test"), progress=lambda *a, **k: None)
        with use_language(lang):
            stage.run(ctx)
        runs[lang] = out
    return runs


@cache
def _font_files() -> dict[str, tuple[str, int]]:
    """PostScript name and family name -> (font file, index in a collection), from fontconfig."""
    out = subprocess.run(["fc-list", "--format", "%{postscriptname}|%{family}|%{file}|%{index}\n"],
                         capture_output=True, text=True, check=True).stdout
    files: dict[str, tuple[str, int]] = {}
    for line in sorted(out.splitlines(), key=lambda x: "Regular" not in x):  # regular faces first
        ps, families, path, index = line.split("|")
        files.setdefault(ps, (path, int(index or 0)))
        for fam in families.split(","):
            files.setdefault(fam, (path, int(index or 0)))
    return files


@cache
def _cmap(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(path, fontNumber=index, lazy=True)
    return frozenset(font.getBestCmap() or {})


# The visible text of the page, by element: only elements that draw a character not yet seen in the same font
# family list and weight (every character of the page is checked at least once in each font it is drawn with).
_PAGE_TEXT = """() => {
  const out = [];
  const seen = new Set();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let n;
  while ((n = walk.nextNode())) {
    const t = n.nodeValue;
    if (!t.trim()) continue;
    const el = n.parentElement;
    const st = getComputedStyle(el);
    if (st.display === 'none' || st.visibility === 'hidden' || !el.getClientRects().length) continue;
    let fresh = false;
    for (const c of t) {
      const k = c + '|' + st.fontFamily + '|' + st.fontWeight;
      if (!seen.has(k)) { seen.add(k); fresh = true; }
    }
    if (!fresh) continue;
    if (!el.dataset.tofu) el.dataset.tofu = String(out.length);
    out.push([el.dataset.tofu, t, st.fontFamily]);
  }
  return out;
}"""


def _words(text: str) -> tuple[str, ...]:
    return tuple(sorted(re.findall(r"\w+", unicodedata.normalize("NFKC", text))))


def _launch(p: object) -> object:
    return p.chromium.launch(executable_path=CHROMIUM,  # type: ignore[attr-defined]
                             args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                   "--disable-component-update", "--no-first-run"])


@pytest.mark.browser
@slow
def test_report_in_chromium_every_language(stage_runs: dict[str, Path], tmp_path: Path) -> None:
    """Each language: lang/dir, translated headings, no horizontal overflow at 1366x768, no missing glyph."""
    if not Path(CHROMIUM).exists() or shutil.which("fc-list") is None:
        pytest.skip("headless Chromium or fontconfig is absent: apt-get install chromium (see .ci/run)")
    pytest.importorskip("fontTools")
    from playwright.sync_api import sync_playwright

    files = _font_files()
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            for lang, run in stage_runs.items():
                page = browser.new_page(viewport={"width": 1366, "height": 768})  # type: ignore[attr-defined]
                page.goto((run / "report" / "report.html").as_uri(), wait_until="load")
                got = page.evaluate("[document.documentElement.lang, document.documentElement.dir, "
                                    "getComputedStyle(document.body).direction, "
                                    "document.documentElement.scrollWidth, document.documentElement.clientWidth]")
                assert got[:3] == [lang, "rtl" if lang == "ar" else "ltr", "rtl" if lang == "ar" else "ltr"], got
                assert got[3] <= got[4], (lang, "horizontal overflow", got)
                h2 = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
                for msgid in HEADINGS:
                    assert expected(lang, msgid) in h2, (lang, msgid, h2)
                page.screenshot(path=str(tmp_path / f"report-{lang}.png"))
                texts = page.evaluate(_PAGE_TEXT)
                by_el: dict[str, str] = {}
                stacks: dict[str, list[str]] = {}
                for key, t, stack in texts:
                    by_el[key] = by_el.get(key, "") + t
                    stacks[key] = [f.strip().strip('"') for f in stack.split(",")]
                cdp = page.context.new_cdp_session(page)
                cdp.send("DOM.enable")
                cdp.send("CSS.enable")
                root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
                used: set[str] = set()
                for key, text in by_el.items():
                    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": f'[data-tofu="{key}"]'})
                    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
                    names = [f.get("postScriptName") or f["familyName"] for f in fonts]
                    used.update(f["familyName"] for f in fonts)
                    if not names:
                        # Chromium reports no fonts for some table cells: the installed fonts of the element's
                        # font stack (what Chromium falls back through) must cover its text
                        names = [f for f in stacks[key] if f in files]
                        assert any(re.match(r"(Noto|DejaVu)", f) for f in names), (lang, stacks[key])
                    cover: set[int] = set()
                    for name in names:
                        assert name in files, (lang, name, "font file not found")
                        cover |= _cmap(*files[name])
                    missing = {c for c in text if unicodedata.category(c)[0] not in "ZC" and ord(c) not in cover}
                    assert not missing, (lang, text[:80], sorted(missing), names)
                assert used and all(re.match(r"(Noto|DejaVu)", f) for f in used), (lang, used)
                if lang == "ar":
                    assert any("Arabic" in f for f in used), used
                if lang == "zh":
                    assert any("CJK" in f for f in used), used
                page.close()
        finally:
            browser.close()  # type: ignore[attr-defined]


@pytest.mark.browser
@slow
def test_pdf_every_language(stage_runs: dict[str, Path]) -> None:
    """The PDF of each language: A4 pages numbered in the language and a table of contents with the sections' pages."""
    if not Path(CHROMIUM).exists():
        pytest.skip("headless Chromium is absent: apt-get install chromium (see .ci/run)")
    pypdf = pytest.importorskip("pypdf")
    for lang, run in stage_runs.items():
        pdf = run / "report" / "report.pdf"
        assert pdf.is_file(), lang
        reader = pypdf.PdfReader(str(pdf))
        n = len(reader.pages)
        assert n >= 4, lang
        html = (run / "report" / "report.html").read_text(encoding="utf-8")
        pages = re.findall(r'</a><span class="pg">([^<]+)</span>', html)
        assert len(pages) == len(HEADINGS), (lang, pages)
        numbers = [int(parse_decimal(x, locale=BABEL[lang])) for x in pages]
        assert numbers == sorted(numbers) and numbers[0] >= 1 and numbers[-1] <= n, (lang, numbers)
        # the outline (bookmarks) carries the translated headings on the pages the contents give
        # (Chromium writes right-to-left titles in visual order: the words are compared, not their order)
        outline: dict[tuple[str, ...], int] = {}
        items = list(reader.outline)
        while items:
            item = items.pop(0)
            if isinstance(item, list):
                items.extend(item)
            else:
                outline[_words(str(item.title))] = reader.get_destination_page_number(item) + 1
        for msgid, page in zip(HEADINGS, numbers, strict=True):
            assert outline.get(_words(expected(lang, msgid))) == page, (lang, msgid, outline)
        if lang != "ar":  # Arabic text comes out of the PDF in visual order: checked through the outline above
            text = " ".join(unicodedata.normalize("NFKC", reader.pages[1].extract_text() or "").split())
            footer = expected(lang, "Page %(page)s of %(pages)s") % {"page": 2, "pages": n}
            footer = " ".join(unicodedata.normalize("NFKC", footer).split())
            # pypdf reads the glyph of 页 as the radical ⻚ (U+2EDA) of the font's character map
            assert re.search(re.escape(footer).replace("页", "[页⻚]"), text), (lang, footer, text[-200:])
