"""The consistency certificate: every table's totals against the area ledger, rules listed honestly, present in the
run JSON, the HTML report and the workbook.

Expected values come from the hand-written factory (tests/reporting/reporting_factory.py: Z1 land 600 + no data 10 +
water 40 km², Z2 300 + 0 + 10 km²).
"""

from __future__ import annotations

import html
import json
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from reporting_factory import BASELINE, REPORTING, WATER, ZONES, make_tables

from openldn.exceptions import PRAISValidationError
from openldn.reporting.certificate import RULES, consistency_certificate, degraded_area_notes
from openldn.reporting.prais import build_report


def _ledger(official: float | None = None) -> dict:
    """The ledger summary of the factory's run, written by hand."""
    zones = {z: {"zone_name": n, "total_km2": land + nd + w, "water_km2": w, "land_km2": land + nd,
                 "land_nodata_km2": nd, "denominator_km2": land + nd} for z, (n, land, nd, w) in ZONES.items()}
    zones["ALL"] = {"zone_name": "Area of interest", "total_km2": 960.0, "water_km2": 50.0, "land_km2": 910.0,
                    "land_nodata_km2": 10.0, "denominator_km2": 910.0 if official is None else official}
    return {"water_rule": "baseline_initial", "water_year": 2000, "wanted_year": 2000, "water_code": WATER,
            "source": "UNCCD class 7 of land cover 2000", "definition": "hand-made", "official_land_km2": official,
            "zones": zones}


def _consistent_tables() -> dict[str, pd.DataFrame]:
    t = make_tables()
    # the factory's crosstabs leave out water and no data (a real run's crosstabs cover the whole zone)
    t.pop("lc_transitions")
    t.pop("lpd_by_lc")
    return t


def test_certificate__consistent_run_reconciles_exactly() -> None:
    tables = _consistent_tables()
    rep = build_report(tables, baseline=BASELINE, reporting=REPORTING, ledger=_ledger())
    cert = rep.consistency
    assert cert["ok"] and cert["failures"] == 0 and cert["reference"] == "area ledger"
    assert max(e["relative_difference"] for e in cert["entries"]) <= 1e-9
    tidy = {(e["table"], e["quantity"]) for e in cert["entries"] if e["source"] == "tidy"}
    for key in ("subindicator_degradation", "sdg_degradation", "status", "drought_area"):
        assert {(key, "total"), (key, "water"), (key, "land")} <= tidy
    assert ("lc_area", "total") in tidy and ("land_area", "water") in tidy
    prais = {(e["table"], e["quantity"]) for e in cert["entries"] if e["source"] == "prais"}
    assert {("SO1-1.T7", "land"), ("SO1-1.T7", "denominator"), ("SO1-4.T2", "denominator"),
            ("SO3-1.T1", "denominator"), ("CP-1.T1", "water"), ("CP-1.T1", "total")} <= prais
    # one entry per period and zone: 3 sub-indicator variables x 3 periods x 3 zones x 3 quantities
    sub = [e for e in cert["entries"] if e["table"] == "subindicator_degradation"]
    assert len(sub) == 3 * 3 * 3 * 3
    # the land areas of the PRAIS report are the ledger's
    assert rep.land_area["Z1"]["land_km2"] == 610.0 and rep.land_area["ALL"]["source"].startswith("area ledger")


def test_certificate__a_table_with_another_water_area_fails_loudly() -> None:
    tables = _consistent_tables()
    lc = tables["subindicator_degradation"]
    lc = lc[lc.variable == "lc_degradation"].copy()
    # the bug of issue 12: water from another year (5 km² more water, 5 km² less stable land) in one table
    for zone, extra in (("Z1", 5.0), ("ALL", 5.0)):
        sel = (lc.zone_id == zone) & (lc.period == "2016-2023")
        lc.loc[sel & (lc.class_code == WATER), "area_km2"] += extra
        lc.loc[sel & (lc.class_code == 0), "area_km2"] -= extra
    tables["lc_degradation"] = lc
    rep = build_report(tables, baseline=BASELINE, reporting=REPORTING, ledger=_ledger())
    cert = rep.consistency
    assert not cert["ok"]
    bad = {(e["table"], e["period"], e["zone_id"], e["quantity"]) for e in cert["entries"] if not e["ok"]}
    assert bad == {("lc_degradation", "2016-2023", z, q) for z in ("Z1", "ALL") for q in ("water", "land")}
    e = next(e for e in cert["entries"] if not e["ok"] and e["zone_id"] == "Z1" and e["quantity"] == "water")
    assert e["value_km2"] == 45.0 and e["ledger_km2"] == 40.0 and e["relative_difference"] == pytest.approx(0.125)
    assert {r["rule"]: r["status"] for r in cert["rules"]}["C2"] == "failed"
    # the failure is loud in the HTML report and in the workbook
    from openldn.reporting.report import render_html

    html = render_html(rep, name="t", maps=[], tables=tables)
    assert "Consistency certificate FAILED" in html and "<strong>FAILED</strong>" in html


def test_certificate__no_check_is_skipped_because_of_a_note(tidy_tables: dict[str, pd.DataFrame]) -> None:
    """A -1/0/1 table whose source has no water row is checked like any other (it used to be skipped)."""
    sub = tidy_tables["subindicator_degradation"]
    prod = sub[sub.variable == "prod_degradation"]
    prod = prod.assign(class_code=prod.class_code.where(prod.class_code != WATER, 0))  # water merged into stable
    tidy_tables["subindicator_degradation"] = pd.concat([sub[sub.variable != "prod_degradation"], prod])
    with pytest.raises(PRAISValidationError, match=r"SO1-2\.T3.*C1"):
        build_report(tidy_tables, baseline=BASELINE, reporting=REPORTING)


def test_certificate__rules_listed_honestly() -> None:
    rep = build_report(_consistent_tables(), baseline=BASELINE, reporting=REPORTING, ledger=_ledger(),
                       strict_codes=False)
    rules = {r["rule"]: r for r in rep.consistency["rules"]}
    assert list(rules) == list(RULES)
    assert all(r["status"] in ("passed", "failed", "partly checked", "not checked") for r in rules.values())
    assert rules["C3"]["status"] == "not checked"
    assert rules["C4"]["status"] == "not checked"  # strict_codes false: unmapped codes are no data, not checked
    assert rules["C6"]["status"] == "partly checked"
    assert set(rep.checks) == {k for k, r in rules.items() if r["status"] == "passed"}
    strict = build_report(_consistent_tables(), baseline=BASELINE, reporting=REPORTING, ledger=_ledger(),
                          strict_codes=True)
    assert {r["rule"]: r["status"] for r in strict.rules}["C4"] == "passed"
    import openldn.reporting.prais as prais_module

    source = Path(prais_module.__file__).read_text()
    assert "not separated\" in" not in source and "in n for n in t.notes" not in source


def test_certificate__official_land_area_is_the_denominator() -> None:
    rep = build_report(_consistent_tables(), baseline=BASELINE, reporting=REPORTING, ledger=_ledger(official=1000.0))
    assert rep.land_area["ALL"]["land_km2"] == 1000.0 and rep.land_area["ALL"]["computed_land_km2"] == 910.0
    t7 = rep.get("SO1-1.T7")
    assert t7 is not None
    degraded = next(r for r in t7.rows if r["period"] == BASELINE and r["class"] == "Degraded")
    assert degraded["percent"] == pytest.approx(100.0 * 90.0 / 1000.0)  # 60 + 30 km² over the official area
    den = [e for e in rep.consistency["entries"] if e["quantity"] == "denominator" and e["zone_id"] == "ALL"]
    assert den and all(e["ok"] and e["ledger_km2"] == 1000.0 for e in den)


def test_certificate__period_and_status_degraded_areas_are_explained() -> None:
    notes = degraded_area_notes(make_tables(), REPORTING)
    last = next(n for n in notes if n["period"] == "2016-2023")
    # SDG 2016-2023: 100 + 60 km² degraded; status 2016-2023: 140 + 90 km² (factory splits)
    assert last["period_degraded_km2"] == 160.0 and last["status_degraded_km2"] == 230.0
    assert "160.00 km²" in last["text"] and "230.00 km²" in last["text"] and "baseline" in last["text"]
    rep = build_report(_consistent_tables(), baseline=BASELINE, reporting=REPORTING, ledger=_ledger())
    t2 = rep.get("SO1-4.T2")
    assert t2 is not None and any("160.000 km² degraded on the period's own" in n for n in t2.notes)


def test_certificate__without_ledger_the_report_land_areas_are_the_reference() -> None:
    tables = _consistent_tables()
    rep = build_report(tables, baseline=BASELINE, reporting=REPORTING)
    cert = consistency_certificate(tables, rep)
    assert cert["ok"] and cert["ledger"] is None and cert["reference"].startswith("land areas")


def _xlsx_sheets_and_strings(path: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """Sheet names, shared strings and sheet XML of a workbook (read with zipfile, no spreadsheet library)."""
    import re

    with zipfile.ZipFile(path) as z:
        names = re.findall(r'<sheet name="([^"]+)"', z.read("xl/workbook.xml").decode())
        shared = z.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in z.namelist() else ""
        sheets = {n: z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")}
    strings = [html.unescape(x) for x in re.findall(r"<t[^>]*>([^<]*)</t>", shared)]
    return names, strings, sheets


def test_certificate__in_the_workbook_and_the_json(tmp_path: Path) -> None:
    import jsonschema

    from openldn.reporting.export import load_schema, report_document, write_xlsx

    rep = build_report(_consistent_tables(), baseline=BASELINE, reporting=REPORTING, ledger=_ledger())
    doc = json.loads(json.dumps(report_document(rep, name="t")))
    jsonschema.validate(doc, load_schema())
    assert doc["consistency"]["ok"] and doc["consistency"]["ledger"]["zones"]["ALL"]["water_km2"] == 50.0
    path = write_xlsx(rep, tmp_path / "t.xlsx", name="t")
    names, strings, sheets = _xlsx_sheets_and_strings(path)
    assert names[:2] == ["About", "Consistency"]
    assert any(v.startswith("PASSED") for v in strings) and "C3" in strings and "not checked" in strings
    rows = sheets["xl/worksheets/sheet2.xml"].count("<row ")
    assert rows > len(rep.consistency["entries"])  # every entry has its row


# ------------------------------------------------------------------------------------------------------------------
# the demo


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from openldn.datasets import make_demo
    from openldn.pipeline.run import run_assessment

    root = tmp_path_factory.mktemp("demo_certificate")
    run_assessment(make_demo(root / "inputs", size=120), root / "out")
    return root / "out"


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("OPENLDN_RUN_SLOW"), reason="slow end-to-end run; set OPENLDN_RUN_SLOW=1")
def test_demo__certificate_in_json_report_and_workbook(demo_out: Path) -> None:
    import jsonschema

    from openldn.reporting.export import load_schema

    doc = json.loads((demo_out / "report" / "openldn-run.json").read_text())
    jsonschema.validate(doc, load_schema())
    cert = doc["consistency"]
    assert cert["ok"] and cert["failures"] == 0 and len(cert["entries"]) > 100
    assert max(e["relative_difference"] for e in cert["entries"]) <= 1e-9
    assert cert["ledger"]["water_rule"] == "baseline_initial" and cert["ledger"]["water_year"] == 2000
    assert {n["period"] for n in cert["notes"]} == {"2016-2019", "2016-2023"}
    html = (demo_out / "report" / "report.html").read_text()
    assert 'id="consistency"' in html and "Consistency certificate" in html and "FAILED" not in html
    assert "Two degraded areas per reporting period" in html
    names, strings, _ = _xlsx_sheets_and_strings(demo_out / "report" / "prais_tables.xlsx")
    assert names[:2] == ["About", "Consistency"] and any(v.startswith("PASSED") for v in strings)
    with zipfile.ZipFile(demo_out / "report" / "prais_tables.xlsx") as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_web_tables_say_what_the_shares_divide_by(tmp_path: Path) -> None:
    from openldn.web.tables import list_tables, read_table

    (tmp_path / "tables").mkdir()
    t = make_tables()
    frame = t["sdg_degradation"].drop(columns=["share"]).assign(share_of_area=0.1, share_of_land=0.2)
    frame.to_csv(tmp_path / "tables" / "sdg_degradation.csv", index=False)
    listed = {x["name"]: x for x in list_tables(tmp_path)}
    assert "share_of_land" in listed["sdg_degradation"]["note"] and "status" in listed["sdg_degradation"]["note"]
    assert read_table(tmp_path, "sdg_degradation")["note"] == listed["sdg_degradation"]["note"]


def test_failed_certificate_warns_and_is_an_error_under_strict(caplog: pytest.LogCaptureFixture) -> None:
    import logging
    from types import SimpleNamespace

    from openldn.reporting.stage import build_run_report

    tables = _consistent_tables()
    sdg = tables["sdg_degradation"]
    sel = (sdg.zone_id == "Z2") & (sdg.period == BASELINE) & (sdg.class_code == WATER)
    tables["sdg_degradation"] = sdg.assign(area_km2=sdg.area_km2.where(~sel, 12.0))  # 2 km² more water than 10
    ctx = SimpleNamespace(
        tables=tables, substitutions=[], log=logging.getLogger("openldn.test.certificate"),
        assessment=SimpleNamespace(baseline=BASELINE, reporting=REPORTING, integration=None, land_cover=None),
        ledger=SimpleNamespace(summary=_ledger), strict=False,
    )
    with caplog.at_level(logging.WARNING, logger="openldn.test.certificate"):
        rep = build_run_report(ctx)
    assert not rep.consistency["ok"] and "CONSISTENCY CERTIFICATE FAILED" in caplog.text
    ctx.strict = True
    with pytest.raises(PRAISValidationError, match=r"sdg_degradation .* zone Z2 (water|total)"):
        build_run_report(ctx)
