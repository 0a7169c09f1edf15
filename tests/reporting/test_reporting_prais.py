"""PRAIS tables from tidy tables: expected values written by hand from the factory, validation rules V1-V3, C1-C8."""

from __future__ import annotations

import pandas as pd
import pytest
from reporting_factory import BASELINE, REPORTING, make_tables

from openldn.exceptions import PRAISValidationError
from openldn.reporting.prais import build_report


@pytest.fixture(scope="module")
def rep():
    """One report of the factory's tables, shared by the read-only tests."""
    return build_report(make_tables(), baseline=BASELINE, reporting=REPORTING)


def _rows(report, code, zone="ALL"):
    t = report.get(code, zone)
    assert t is not None, f"{code} {zone} missing"
    return t.rows


def test_every_table_present(rep) -> None:
    assert rep.codes() == [
        "CP-1.T1", "CP-1.T2", "SO1-1.T4", "SO1-1.T5", "SO1-1.T6", "SO1-1.T7", "SO1-2.T1", "SO1-2.T2", "SO1-2.T3",
        "SO1-3.T1", "SO1-3.T2", "SO1-4.T1", "SO1-4.T2", "SO2-3.T1", "SO3-1.T1", "SO3-1.T2", "SO3-2.T1",
        "SO3-2.T2", "SO3-2.T3", "SO3-3.T1",
    ]
    assert {t.zone_id for t in rep.tables if t.code == "SO1-1.T7"} == {"ALL", "Z1", "Z2"}
    assert set(rep.checks) >= {"V1", "V2", "V3", "C1", "C2", "C5", "C7", "C8"}
    # rules not (fully) checked are listed as such, never as passed
    status = {r["rule"]: r["status"] for r in rep.rules}
    assert status["C3"] == "not checked" and status["C6"] == "partly checked"
    assert not {"C3", "C6"} & set(rep.checks)


def test_land_area_denominator(rep) -> None:
    # ALL: land 900 + no data 10 = 910; water 50; country = 960 (hand values of the factory)
    assert rep.land_area["ALL"]["land_km2"] == pytest.approx(910.0)
    assert rep.land_area["ALL"]["water_km2"] == pytest.approx(50.0)
    cp = _rows(rep, "CP-1.T1")
    assert [r["year"] for r in cp] == ["2000", "2015", "2019", "2023"]
    assert cp[0]["country_km2"] == pytest.approx(960.0)


def test_sdg_and_change(rep) -> None:
    t2 = _rows(rep, "SO1-4.T2")
    # baseline degraded = 150 + 70 = 220; status 2016-2023 degraded = 140 + 90 = 230 -> +10 km², 10/910 %
    assert t2[0]["degraded_km2"] == pytest.approx(220.0)
    assert t2[0]["percent"] == pytest.approx(100 * 220 / 910)
    assert t2[-1]["degraded_km2"] == pytest.approx(230.0)
    assert t2[-1]["change_km2"] == pytest.approx(10.0)
    assert t2[-1]["change_percent"] == pytest.approx(100 * 10 / 910)
    z1 = _rows(rep, "SO1-4.T1", "Z1")
    latest = {r["class"]: r["area_km2"] for r in z1 if r["period"] == "2016-2023"}
    assert latest == {"Degraded": 140.0, "Stable": 300.0, "Improved": 160.0, "No data": 10.0}


def test_every_so1_table_has_the_same_land_area(rep) -> None:
    for code in ("SO1-1.T7", "SO1-2.T3", "SO1-3.T2", "SO1-4.T1"):
        for zone, land in (("ALL", 910.0), ("Z1", 610.0), ("Z2", 300.0)):
            rows = _rows(rep, code, zone)
            for p in {r["period"] for r in rows}:
                sel = [r for r in rows if r["period"] == p]
                assert sum(r["area_km2"] for r in sel) == pytest.approx(land), (code, zone, p)
                assert sum(r["percent"] for r in sel) == pytest.approx(100.0)


def test_population_so2_3(rep) -> None:
    rows = _rows(rep, "SO2-3.T1")
    # ALL 2015: degraded 1500 of 13200 people (every group in the same proportion)
    assert rows[0]["year"] == "2015"
    assert rows[0]["pct_total"] == pytest.approx(100 * 1500 / 13200)
    assert rows[0]["pct_female"] == pytest.approx(100 * 1500 / 13200)
    assert rows[0]["n_total"] == pytest.approx(1500.0)
    cp2 = _rows(rep, "CP-1.T2")
    assert cp2[0]["total"] == pytest.approx(13.2)


def test_drought_tables(rep) -> None:
    t2 = _rows(rep, "SO3-1.T2", "Z2")
    # 2000: mild..extreme = 0.4 * 300 = 120 km² of a 300 km² land area
    assert t2[0]["percent"] == pytest.approx(40.0)
    assert _rows(rep, "SO3-2.T1")[0]["any"] == pytest.approx(50.0)
    assert _rows(rep, "SO3-3.T1")[0]["female"] == pytest.approx(0.45)


def test_missing_stage_tables_are_absent() -> None:
    t = make_tables(drought=False)
    del t["lpd_by_lc"]
    rep = build_report(t, baseline=BASELINE, reporting=REPORTING)
    assert "SO3-1.T1" not in rep.codes() and "SO1-2.T1" not in rep.codes()
    assert "SO1-4.T2" in rep.codes()


def test_official_land_area_sets_the_denominator(tidy_tables) -> None:
    rep = build_report(tidy_tables, baseline=BASELINE, reporting=REPORTING, official_land_area_km2=1000.0,
                       confidence="medium")
    assert _rows(rep, "SO1-4.T2")[0]["percent"] == pytest.approx(22.0)
    assert "Confidence: medium." in rep.get("SO1-4.T2").notes


def _bump(t: dict[str, pd.DataFrame], key: str, variable: str, zone: str, code: int, delta: float) -> None:
    df = t[key]
    m = (df["zone_id"] == zone) & (df["variable"] == variable) & (df["class_code"] == code)
    df.loc[m, "area_km2"] += delta


def test_c1_class_sum_differs_from_land_area(tidy_tables) -> None:
    _bump(tidy_tables, "subindicator_degradation", "soc_degradation", "Z2", -1, 5.0)
    with pytest.raises(PRAISValidationError, match=r"SO1-3.T2 \[Z2\].*rule C1"):
        build_report(tidy_tables, baseline=BASELINE, reporting=REPORTING)


def test_v2_negative(tidy_tables) -> None:
    df = tidy_tables["population_degraded"]
    df.loc[(df["zone_id"] == "Z1") & (df["class_code"] == -1), "value"] = -5.0
    with pytest.raises(PRAISValidationError, match=r"SO2-3.T1 \[Z1\], row 1 \(2015\): rule V2"):
        build_report(tidy_tables, baseline=BASELINE, reporting=REPORTING)


def test_v1_percent_above_100(tidy_tables) -> None:
    _bump(tidy_tables, "status", "status", "ALL", -1, 2000.0)
    with pytest.raises(PRAISValidationError, match=r"SO1-4.T1 \[ALL\], row 1 \(2016-2019\): rule V1"):
        build_report(tidy_tables, baseline=BASELINE, reporting=REPORTING)


def test_v3_non_numeric(tidy_tables) -> None:
    rep = build_report(tidy_tables, baseline=BASELINE, reporting=REPORTING, validate=False)
    rep.get("SO1-4.T2").rows[0]["degraded_km2"] = "220 km2"
    from openldn.reporting.prais import validate_report

    with pytest.raises(PRAISValidationError, match=r"SO1-4.T2 \[ALL\], row 1 .*rule V3"):
        validate_report(rep)


def test_c8_dvi_range(tidy_tables) -> None:
    tidy_tables["dvi"].loc[0, "value"] = 1.2
    with pytest.raises(PRAISValidationError, match=r"SO3-3.T1 \[ALL\], row 1 \(2018\): rule C8"):
        build_report(tidy_tables, baseline=BASELINE, reporting=REPORTING)


def test_years_substituted_are_labelled() -> None:
    t = make_tables(drought=False)
    la = t["land_area"]
    t["land_area"] = la.assign(period=la["period"].replace({"2000": "2001", "2023": "2022"}))
    rep = build_report(t, baseline=BASELINE, reporting=REPORTING)
    assert [r["year"] for r in rep.get("CP-1.T1").rows] == ["2000 (data 2001)", "2015", "2019", "2023 (data 2022)"]
    assert "CP-1.T1: data of 2022 used for 2023" in rep.substitutions


def test_unexpected_layout_skips_only_that_section(tidy_tables) -> None:
    tidy_tables["dvi"] = tidy_tables["dvi"].drop(columns=["variable"])
    tidy_tables["dvi_trend"] = pd.DataFrame([{"zone_id": "ALL", "zone_name": "Area", "group": "total",
                                              "first_year": 2000, "last_year": 2023, "change": -0.04,
                                              "direction": "stable"}])
    rep = build_report(tidy_tables, baseline=BASELINE, reporting=REPORTING)
    assert len(rep.skipped) == 1 and rep.skipped[0].startswith("SO3:")
    assert rep.get("SO1-4.T2") is not None and rep.get("SO3-1.T1") is not None


def test_dvi_trend_table(tidy_tables) -> None:
    tidy_tables["dvi_trend"] = pd.DataFrame([{"zone_id": "ALL", "zone_name": "Area", "group": "total",
                                              "first_year": 2000, "last_year": 2023, "change": -0.04,
                                              "direction": "stable"}])
    rep = build_report(tidy_tables, baseline=BASELINE, reporting=REPORTING)
    assert rep.get("SO3-3.T2").rows == [{"group": "total", "first_year": "2000", "last_year": "2023",
                                         "change": -0.04, "direction": "stable"}]
