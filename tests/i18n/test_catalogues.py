"""The six UN languages: every catalogue complete, the workbook the same numbers in every language, --lang checked.

Messages are extracted from the sources exactly as ``pybabel extract -F babel.cfg`` does (the repository's babel.cfg:
Python keywords ``_ gettext ngettext:1,2 pgettext:1c,2 N_``, the data extractor :mod:`openldn.i18n.extract`; the web
app's ``t`` and ``tn:1,2`` in ``web/static/*.js``); a message without a non-fuzzy, non-empty translation in any
language, or whose translation has other placeholders than its source, fails the test with the list of what is
missing, part by part.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from openldn.i18n import LANGUAGES, catalogue_paths, read_catalogue, use_language

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "openldn"
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
PYTHON_KEYWORDS: dict[str, Any] = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2),
                                   "N_": None}
JS_KEYWORDS: dict[str, Any] = {"t": None, "tn": (1, 2)}
#: Plural-Forms every catalogue file of a language must declare (docs/translating.md).
PLURAL_FORMS = {
    "ar": "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);",
    "es": "nplurals=2; plural=(n != 1);",
    "fr": "nplurals=2; plural=(n > 1);",
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
    "zh": "nplurals=1; plural=0;",
}
_SKIP_DIRS = {"static", "frontend", "node_modules", "__pycache__"}

Message = tuple[str | tuple[str, ...], str | None, str]  # (msgid or (singular, plural), context, where)


def _mapping() -> tuple[list[tuple[str, str]], dict[str, Any]]:
    with (REPO / "babel.cfg").open(encoding="utf-8") as handle:
        return parse_mapping_cfg(handle, str(REPO / "babel.cfg"))


def _extract(folder: Path, methods: set[str], keywords: dict[str, Any]) -> Iterator[Message]:
    method_map, options_map = _mapping()
    chosen = [(pattern, method) for pattern, method in method_map if method in methods]
    assert chosen, f"babel.cfg has no section for {sorted(methods)}"

    def keep(dirpath: str) -> bool:
        name = Path(dirpath).name
        return name not in _SKIP_DIRS and not name.startswith(".")

    for filename, lineno, message, _comments, context in extract_from_dir(
        str(folder), chosen, options_map, keywords=keywords, directory_filter=keep,
    ):
        yield message, context, f"{filename}:{lineno}"


@pytest.fixture(scope="module")
def messages() -> dict[str, list[Message]]:
    """Every message of each domain, as pybabel extracts it with babel.cfg."""
    python = list(_extract(SRC, {"python", "openldn.i18n.extract:extract_yaml"}, PYTHON_KEYWORDS))
    # the web app's pages, and the drought monitoring page (web/frontend, its node_modules left out)
    web = [m for folder in ("static", "frontend") for m in _extract(SRC / "web" / folder, {"javascript"}, JS_KEYWORDS)]
    return {"openldn": python, "web": web}


_NAMED = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
_BRACES = re.compile(r"\{(\w+)\}")


def _placeholders(text: str, domain: str) -> set[str]:
    return set((_BRACES if domain == "web" else _NAMED).findall(text))


def _problems(domain: str, lang: str, found: list[Message]) -> list[str]:
    cat = read_catalogue(lang, domain)
    out: list[str] = []
    seen: set[tuple[Any, Any]] = set()
    for msgid, context, where in found:
        if (msgid, context) in seen or not msgid:
            continue
        seen.add((msgid, context))
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = cat.get(key, context=context)
        if entry is None:
            out.append(f"missing: {key!r} ({where})")
            continue
        if entry.fuzzy:
            out.append(f"fuzzy: {key!r} ({where})")
            continue
        strings = list(entry.string) if isinstance(entry.string, tuple | list) else [entry.string]
        if not all(strings):
            out.append(f"empty: {key!r} ({where})")
            continue
        if isinstance(msgid, tuple) and len(strings) != cat.num_plurals:
            out.append(f"{len(strings)} plural forms instead of {cat.num_plurals}: {key!r} ({where})")
            continue
        sources = list(msgid) if isinstance(msgid, tuple) else [msgid]
        wanted = set().union(*(_placeholders(s, domain) for s in sources))
        for s in strings:
            if _placeholders(s, domain) - wanted or (not isinstance(msgid, tuple) and _placeholders(s, domain) != wanted):
                out.append(f"placeholders {sorted(_placeholders(s, domain))} instead of {sorted(wanted)}: {key!r}")
                break
            if domain == "openldn" and wanted and "python-format" in entry.flags:
                try:
                    s % dict.fromkeys(wanted, "x")
                except (ValueError, TypeError, KeyError) as err:
                    out.append(f"translation breaks %-formatting ({err}): {s!r}")
                    break
    return out


def test_extraction_finds_every_kind_of_message(messages: dict[str, list[Message]]) -> None:
    ids = {m for m, _c, _w in messages["openldn"]}
    # a CLI message (cli/main.py), a workbook heading (reporting/export.py), a PRAIS table title (prais.py, N_) and a
    # legend class label (data/legends/lpd.yaml) are all found; the drought bulletin's own words are not
    assert "--lang %(value)r: unknown language; use one of %(languages)s." in ids
    assert "Consistency certificate" in ids
    assert "Land cover extent by class and year (km²)" in ids
    assert "Stable but stressed" in ids
    assert "Drought bulletin: {name}, {month}" not in ids
    assert any(w.startswith("data/legends/lpd.yaml") or "/data/legends/lpd.yaml" in w
               for m, _c, w in messages["openldn"] if m == "Moderate decline")
    assert messages["web"], "no message extracted from web/static/*.js"


@pytest.mark.parametrize("domain", ["openldn", "web"])
@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_complete(messages: dict[str, list[Message]], domain: str, lang: str) -> None:
    problems = _problems(domain, lang, messages[domain])
    assert not problems, (f"{lang}/{domain}: {len(problems)} message(s) without a usable translation "
                          "(add them to your part file, docs/translating.md):\n  " + "\n  ".join(problems[:40]))


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_files_are_clean(lang: str) -> None:
    """Every .po file of a language: UTF-8, the language's plural forms, no fuzzy and no empty entry."""
    from babel.messages.pofile import read_po

    files = [p for d in ("openldn", "web") for p in catalogue_paths(lang, d)]
    assert files, f"no catalogue for {lang}"
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "charset=UTF-8" in text or "charset=utf-8" in text, f"{path.name} ({lang}): no UTF-8 Content-Type"
        declared = re.search(r'"Plural-Forms: ([^"]*)\\n"', text)
        assert declared and declared.group(1) == PLURAL_FORMS[lang], f"{path.name} ({lang}): Plural-Forms"
        with path.open("rb") as handle:
            cat = read_po(handle)
        bad = [m.id for m in cat if m.id and (m.fuzzy or not all(
            m.string if isinstance(m.string, tuple | list) else [m.string]))]
        assert not bad, f"{lang}/{path.name}: fuzzy or empty entries {bad[:5]}"


# -- the workbook in every language ------------------------------------------------------------------------------

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}


def _read_xlsx(path: Path) -> dict[str, dict[str, Any]]:
    """Sheet name -> {"cells": {(row, col): value}, "rtl": bool}, with openpyxl, else from the XML parts.

    The workbook's XML parts (ECMA-376) are read with the standard library when openpyxl is not installed:
    shared strings, number cells, inline strings and the sheet view's ``rightToLeft``.
    """
    try:
        import openpyxl
    except ModuleNotFoundError:
        return _read_xlsx_xml(path)
    wb = openpyxl.load_workbook(path, read_only=False)
    out = {}
    for ws in wb.worksheets:
        cells = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row if c.value is not None}
        out[ws.title] = {"cells": cells, "rtl": bool(ws.sheet_view.rightToLeft)}
    return out


def _col(ref: str) -> tuple[int, int]:
    letters = "".join(ch for ch in ref if ch.isalpha())
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(ref[len(letters):]), col


def _read_xlsx_xml(path: Path) -> dict[str, dict[str, Any]]:
    with zipfile.ZipFile(path) as z:
        shared: list[str] = []
        if "xl/sharedStrings.xml" in z.namelist():
            root = ElementTree.fromstring(z.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")) for si in root.findall("m:si", _NS)]
        rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels}
        book = ElementTree.fromstring(z.read("xl/workbook.xml"))
        out = {}
        for sheet in book.find("m:sheets", _NS) or []:
            rid = sheet.get(f"{{{_NS['r']}}}id")
            part = "xl/" + str(target[rid]).lstrip("/").removeprefix("xl/")
            root = ElementTree.fromstring(z.read(part))
            view = root.find("m:sheetViews/m:sheetView", _NS)
            cells: dict[tuple[int, int], Any] = {}
            for c in root.iter(f"{{{_NS['m']}}}c"):
                v = c.find("m:v", _NS)
                kind = c.get("t")
                if kind == "s" and v is not None:
                    cells[_col(c.get("r", "A1"))] = shared[int(v.text or 0)]
                elif kind == "inlineStr":
                    cells[_col(c.get("r", "A1"))] = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
                elif v is not None and v.text is not None:
                    cells[_col(c.get("r", "A1"))] = float(v.text)
            out[str(sheet.get("name"))] = {"cells": cells, "rtl": view is not None and view.get("rightToLeft") == "1"}
    return out


def _run(run_file: Path, out: Path, lang: str) -> Path:
    from openldn.config import load_assessment
    from openldn.pipeline import run_assessment

    a = load_assessment(run_file)
    a = a.model_copy(update={"outputs": a.outputs.model_copy(update={"png": False, "html": False, "pdf": False})})
    a._base_dir = run_file.parent
    a._source = str(run_file)
    run_assessment(a, out, language=lang)
    return out / "report" / "prais_tables.xlsx"


@pytest.fixture(scope="module")
def workbooks(demo_run_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo's workbook written by two whole runs (English, French) and, for the other languages, by the
    workbook writer from the English run's tables (the same PRAIS report, written in that language)."""
    from openldn.reporting.export import write_xlsx
    from openldn.reporting.prais import PRAISReport, PRAISTable

    root = tmp_path_factory.mktemp("i18n_runs")
    books = {"en": _run(demo_run_file, root / "en", "en"), "fr": _run(demo_run_file, root / "fr", "fr")}
    doc = json.loads((root / "en" / "report" / "openldn-run.json").read_text(encoding="utf-8"))
    report = PRAISReport(
        baseline=doc["baseline"], reporting=doc["reporting"], land_area=doc["land_area"],
        tables=[PRAISTable(**t) for t in doc["tables"]], substitutions=doc["substitutions"], checks=doc["checks"],
        consistency=doc["consistency"], skipped=doc["skipped"],
    )
    for lang in ("ar", "es", "ru", "zh"):
        with use_language(lang):
            books[lang] = write_xlsx(report, root / f"{lang}.xlsx", name=doc["name"], provenance=doc["provenance"])
    return books


#: What some cells must read in each language (the UNCCD's terms, docs/glossary.md): the About sheet's name and title,
#: the title of SO1-1.T4 and the LPD class "Stable but stressed" (an SO1-2.T1 heading).
EXPECTED = {
    "en": ("About", "openldn PRAIS tables: ", "Land cover extent by class and year (km²)", "3 Stable but stressed"),
    "fr": ("À propos", "Tableaux PRAIS d'openldn : ", "Étendue de la couverture terrestre par classe et par année (km²)",
           "3 Stable mais sous pression"),
    "es": ("Acerca de", "Tablas PRAIS de openldn: ", "Extensión de la cubierta terrestre por clase y año (km²)",
           "3 Estable pero con estrés"),
    "ru": ("О расчёте", "Таблицы PRAIS openldn: ", "Площадь почвенно-растительного покрова по классам и годам (км²)",
           "3 Стабильные, но в состоянии стресса"),
    "zh": ("关于", "openldn PRAIS 表：", "按类别和年份划分的土地覆盖面积（平方公里）", "3 稳定但承压"),
    "ar": ("حول", "جداول PRAIS من openldn: ", "امتداد الغطاء الأرضي حسب الفئة والسنة (كم²)", "3 مستقرة لكن تحت الإجهاد"),
}
_CODE_SHEET = re.compile(r"[A-Z0-9]+-\d\.T\d+")


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["fr", "ar", "es", "ru", "zh"])
def test_workbook_in_each_language_holds_the_english_numbers(workbooks: dict[str, Path], lang: str) -> None:
    from openldn.reporting.prais import localize

    en, other = _read_xlsx(workbooks["en"]), _read_xlsx(workbooks[lang])
    assert len(en) == len(other)
    about, about_title, title, lpd_heading = EXPECTED[lang]
    assert next(iter(other)) == about and next(iter(en)) == EXPECTED["en"][0]
    assert str(other[about]["cells"][(1, 1)]).startswith(about_title)
    numbers = words = 0
    untranslated = []
    for (en_name, en_sheet), (name, sheet) in zip(en.items(), other.items(), strict=True):
        if _CODE_SHEET.fullmatch(en_name):
            assert name == en_name  # PRAIS table codes stay codes
        else:
            assert name != en_name, f"sheet {en_name!r} not translated"
        assert sheet["rtl"] == (lang == "ar"), name
        assert set(sheet["cells"]) == set(en_sheet["cells"]), f"{name}: cells at other positions"
        for pos, value in en_sheet["cells"].items():
            theirs = sheet["cells"][pos]
            if isinstance(value, int | float) and not isinstance(value, bool):
                numbers += 1
                assert theirs == value, f"{name}{pos}: {theirs!r} != {value!r}"
                continue
            assert isinstance(theirs, str), f"{name}{pos}: {theirs!r} for {value!r}"
            if _CODE_SHEET.fullmatch(en_name) and pos == (1, 1):  # "<code>  <title>": the title translated
                code, _sep, en_title = value.partition("  ")
                with use_language(lang):
                    assert theirs == f"{code}  {localize(en_title)}" and theirs != value, theirs
            elif _CODE_SHEET.fullmatch(en_name) and re.search(r"[A-Za-z]{3}", value):
                words += 1
                with use_language(lang):
                    wanted = localize(value) if not re.fullmatch(r".+ \([^()]+\)", value) or pos[1] != 1 else None
                if wanted is not None and theirs != wanted:
                    untranslated.append(f"{name}{pos}: {theirs!r}")
    assert numbers > 100 and words > 100
    assert not untranslated, untranslated[:10]
    assert other["SO1-1.T4"]["cells"][(1, 1)] == f"SO1-1.T4  {title}"
    assert lpd_heading in other["SO1-2.T1"]["cells"].values()


@pytest.mark.slow
def test_english_workbook_unchanged_words(workbooks: dict[str, Path]) -> None:
    en = _read_xlsx(workbooks["en"])
    assert en["SO1-1.T4"]["cells"][(1, 1)] == f"SO1-1.T4  {EXPECTED['en'][2]}"
    assert EXPECTED["en"][3] in en["SO1-2.T1"]["cells"].values()
    assert not any(s["rtl"] for s in en.values())


# -- texts made of words and values ------------------------------------------------------------------------------


def test_localize_templates_and_numbers() -> None:
    from openldn.reporting.prais import localize

    water = "2000-2015: water bodies 12.345 km² reported separately (not land)."
    assert localize(water) == water  # English: as the tables hold it
    with use_language("fr"):
        assert localize("2016 (data 2015)") == "2016 (données 2015)"
        assert localize(water) == "2000-2015 : plans d'eau 12,345 km² déclarés séparément (hors terres)."
        assert localize("SOC 2016 (data 2015) (t/ha)") == "COS 2016 (données 2015) (t/ha)"
        assert localize("Zone Nord") == "Zone Nord"  # a name from the user's data
    with use_language("zh"):
        assert localize("Status 2019 (2016-2019)") == "2019 年状况（2016-2019）"


def test_cli_summary_numbers_per_locale(tmp_path: Path) -> None:
    from openldn.cli.summary import headline_lines

    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "sdg_degradation.csv").write_text(
        "zone_id,period,variable,class_code,share_of_land,area_km2\nALL,2000-2015,sdg_15_3_1,-1,0.125,1234.5\n")
    with use_language("fr"):
        line = headline_lines(tmp_path)[0]
    # French: decimal comma, a (narrow) no-break space before % and as the thousands separator
    assert re.fullmatch(r"ODD 15\.3\.1, terres dégradées : 2000-2015 12,5\s%\s\(1\s234,5 km²\)", line), line


# -- choosing the language ---------------------------------------------------------------------------------------


def test_unknown_lang_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from openldn.cli.main import main

    assert main(["demo", "--lang", "xx", "--out", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "Error: --lang 'xx': unknown language; use one of ar, en, es, fr, ru, zh."
    assert not (tmp_path / "demo").exists()


def test_run_file_language_key(demo_run_file: Path, tmp_path: Path) -> None:
    import yaml

    from openldn.config import load_assessment
    from openldn.exceptions import ConfigError
    from openldn.pipeline.run import _run_language

    data = yaml.safe_load(demo_run_file.read_text(encoding="utf-8"))
    data.setdefault("outputs", {})["language"] = "xx"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"outputs\.language.*'xx'.*ar, en, es, fr, ru, zh"):
        load_assessment(bad, base_dir=demo_run_file.parent)
    data["outputs"]["language"] = "es_ES.UTF-8"  # a locale name is read as its language
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(data), encoding="utf-8")
    a = load_assessment(good, base_dir=demo_run_file.parent)
    assert a.outputs.language == "es"
    assert _run_language(a, None) == "es"  # the run file's key
    assert _run_language(a, "fr") == "fr"  # --lang wins over it
    with pytest.raises(ConfigError, match="ar, en, es, fr, ru, zh"):
        _run_language(a, "klingon")
    plain = load_assessment(demo_run_file)
    with use_language("ru"):
        assert _run_language(plain, None) == "ru"  # neither: the current language (the CLI's system locale)


def test_validate_speaks_the_language(demo_run_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from openldn.cli.main import main

    assert main(["validate", str(demo_run_file), "--lang", "fr"]) == 0
    out = capsys.readouterr().out
    assert ": valide. Préréglage prais_2026_te ; périodes" in out, out


def test_system_locale_is_the_default(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from openldn.cli.main import main

    monkeypatch.setenv("LC_ALL", "ru_RU.UTF-8")
    assert main(["init", "x.yaml"]) == 2  # neither --aoi nor --country
    assert "укажите территорию оценки" in capsys.readouterr().err
    monkeypatch.setenv("LC_ALL", "C")
    monkeypatch.setenv("LANG", "C")
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.delenv("LANGUAGE", raising=False)
    assert main(["init", "x.yaml"]) == 2
    assert "give the area of interest" in capsys.readouterr().err
