"""The consistency certificate of a run: every table's totals against the area ledger, and the rules checked.

For each tidy area table and period, and each PRAIS table built from them, the certificate compares the table's
total (and, where the table splits water off, its water and land) with the run's area ledger
(:mod:`openldn.pipeline.ledger`) and records the relative difference (expected 0 to 1e-9: every table sums the same
cells). It also lists the PRAIS validation rules (V1-V3) and the openldn checks (C1-C8) with what was actually done
for each: ``passed``, ``failed``, ``partly checked`` or ``not checked`` (a rule not checked is never listed as passed),
and plain-language notes where two published figures legitimately differ (status-based vs period-based degraded
area).

The certificate is written to the run JSON (``consistency``), the HTML report (section "Consistency certificate") and
the workbook (sheet "Consistency").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from openldn.core.codes import WATER
from openldn.i18n import N_, _, format_decimal

__all__ = [
    "LEDGER_TABLES",
    "RULES",
    "TOLERANCE",
    "TOTAL_TABLES",
    "certificate_rows",
    "consistency_certificate",
    "degraded_area_notes",
    "note_text",
    "rule_text",
    "status_text",
]

#: Largest relative difference accepted between a table's total and the ledger.
TOLERANCE: float = 1e-9
#: Tidy tables whose water row is the ledger's: total, water and land are compared.
LEDGER_TABLES: tuple[str, ...] = ("lc_degradation", "prod_degradation", "soc_degradation", "subindicator_degradation",
                                  "sdg_degradation", "status", "drought_area")
#: Tidy tables that cover the whole zone without the ledger's water split: the total is compared.
TOTAL_TABLES: tuple[str, ...] = ("lc_area", "land_area", "lc_transitions", "lpd_by_lc")
#: The rules of PRAIS 2026 reporting manual, validation rules, in words (PRAIS 2026 validation rules V1-V3 and the openldn checks C1-C8).
RULES: dict[str, str] = {
    "V1": N_("CP-1.T1 areas (and CP-1.T2 population) are not less than any area (population) of the SO1, SO2-3 and SO3 "
          "tables; percentages do not exceed 100 %"),
    "V2": N_("no negative number where only positive numbers are allowed"),
    "V3": N_("numeric fields hold numbers only"),
    "C1": N_("class areas of each SO1 table sum to the total land area used as denominator; no table exceeds CP-1.T1"),
    "C2": N_("the same total land area in every SO1 table of a period"),
    "C3": N_("regional transition matrices cover the land exactly once, and there are at most 5"),
    "C4": N_("every land cover code of the input maps to a legend class"),
    "C5": N_("every year a table needs exists in the inputs, or its substitution is recorded"),
    "C6": N_("population percentages use the national total of the same group and never exceed 100 %"),
    "C7": N_("SO3-1 percentages use the same land-area denominator as SO1 (CP-1.T1)"),
    "C8": N_("DVI values lie in [0, 1]"),
}


#: Status words of the rules (``how`` each rule was checked).
_STATUS: dict[str, str] = {"passed": N_("passed"), "failed": N_("failed"), "partly checked": N_("partly checked"),
                           "not checked": N_("not checked")}
#: Words of the certificate entries shown in the report (quantities, references, variables of the PRAIS checks).
_WORDS = (N_("total"), N_("water"), N_("land"), N_("denominator"), N_("area ledger"),
          N_("land areas of the report's tables (no ledger given)"),
          N_("Classes (improved + stable + degraded + no data)"),
          N_("Percentage denominator (area x 100 / percent)"), N_("Water bodies"), N_("Total country area"))


def status_text(status: str) -> str:
    """A rule status (``passed``, ``failed``, ``partly checked``, ``not checked``) in the current language."""
    return _(_STATUS[status]) if status in _STATUS else status


def rule_text(rule: str, text: str = "") -> str:
    """The words of rule ``rule`` (V1-V3, C1-C8) in the current language; ``text`` for a rule not listed."""
    return _(RULES[rule]) if rule in RULES else _(text)


def note_text(note: Mapping[str, Any]) -> str:
    """The text of a note of :func:`degraded_area_notes` in the current language (its figures formatted)."""
    return _("Degraded land %(period)s: %(period_area)s km² on the SDG 15.3.1 map of the period alone "
             "(tables/sdg_degradation, web tables) and %(status_area)s km² in the land status at the end of the "
             "period (SO1-4.T1/T2, report headline). Both are right: the status also counts as degraded the land "
             "that was degraded in the baseline and shows no change in the period, and it is no data where the "
             "baseline has no data; the period map counts only degradation found within the period.") % {
        "period": note["period"], "period_area": format_decimal(float(note["period_degraded_km2"]), 2),
        "status_area": format_decimal(float(note["status_degraded_km2"]), 2)}


def _rel(value: float, reference: float) -> float:
    d = abs(value - reference)
    if d == 0.0:
        return 0.0
    return d / max(abs(reference), 1e-300)


def _reference(ledger: Mapping[str, Any] | None, land_area: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    """zone -> {total, water, land, denominator} from the ledger summary, else from the report's land areas."""
    out: dict[str, dict[str, float]] = {}
    if ledger:
        for zid, z in ledger["zones"].items():
            out[str(zid)] = {"total": float(z["total_km2"]), "water": float(z["water_km2"]),
                             "land": float(z["land_km2"]), "denominator": float(z["denominator_km2"])}
        return out
    for zid, la in land_area.items():
        land = float(la.get("computed_land_km2") or la["land_km2"])
        out[str(zid)] = {"total": land + float(la["water_km2"]), "water": float(la["water_km2"]), "land": land,
                         "denominator": float(la["land_km2"])}
    return out


def _entry(source: str, table: str, variable: str, period: str, zone: str, quantity: str, value: float,
           reference: float) -> dict[str, Any]:
    rel = _rel(value, reference)
    return {"source": source, "table": table, "variable": variable, "period": period, "zone_id": zone,
            "quantity": quantity, "value_km2": value, "ledger_km2": reference, "difference_km2": value - reference,
            "relative_difference": rel, "ok": bool(rel <= TOLERANCE)}


def _tidy_checks(tables: Mapping[str, pd.DataFrame], ref: dict[str, dict[str, float]],
                 water_year: int | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key in (*LEDGER_TABLES, *TOTAL_TABLES):
        df = tables.get(key)
        if df is None or not len(df) or "area_km2" not in df or "zone_id" not in df:
            continue
        var = df["variable"].astype(str) if "variable" in df else pd.Series(key, index=df.index)
        per = df["period"].astype(str) if "period" in df else pd.Series("", index=df.index)
        code = df["class_code"].astype(int) if "class_code" in df else None
        area = df["area_km2"].astype(float)
        water = area.where(code == WATER, 0.0) if code is not None else area * 0.0
        grouped = pd.DataFrame({"zone": df["zone_id"].astype(str), "variable": var, "period": per, "area": area,
                                "water": water}).groupby(["variable", "period", "zone"], sort=False)
        sums = grouped[["area", "water"]].sum()
        for (v, p, z), row in sums.iterrows():
            r = ref.get(str(z))
            if r is None:
                out.append({**_entry("tidy", key, v, p, z, "total", float(row["area"]), math.nan), "ok": False,
                            "problem": f"zone {z} is not in the ledger"})
                continue
            out.append(_entry("tidy", key, v, p, z, "total", float(row["area"]), r["total"]))
            if key in LEDGER_TABLES:
                out.append(_entry("tidy", key, v, p, z, "water", float(row["water"]), r["water"]))
                out.append(_entry("tidy", key, v, p, z, "land", float(row["area"] - row["water"]), r["land"]))
        if key == "land_area" and water_year is not None and code is not None:
            sel = df[(per == str(water_year)) & (code == 2)]
            for z, a in sel.groupby(sel["zone_id"].astype(str))["area_km2"].sum().items():
                if str(z) in ref:
                    out.append(_entry("tidy", key, "land_area", str(water_year), str(z), "water",
                                      float(a), ref[str(z)]["water"]))
    return out


def _prais_checks(report: Any, ref: dict[str, dict[str, float]], water_year: int | None) -> list[dict[str, Any]]:
    from openldn.reporting.prais import _DEG_COLS

    out: list[dict[str, Any]] = []
    for t in report.tables:
        r = ref.get(str(t.zone_id))
        if r is None:
            continue
        keys = [c.key for c in t.columns]
        if t.columns == _DEG_COLS:
            for period in dict.fromkeys(row["period"] for row in t.rows):
                rows = [row for row in t.rows if row["period"] == period]
                s = sum(float(row["area_km2"] or 0.0) for row in rows)
                out.append(_entry("prais", t.code, "classes (improved + stable + degraded + no data)", str(period),
                                  t.zone_id, "land", s, r["land"]))
                out += _denominators(t.code, str(period), t.zone_id, [(row["area_km2"], row["percent"])
                                                                      for row in rows], r["denominator"])
        elif t.code == "SO1-4.T2":
            for row in t.rows:
                out += _denominators(t.code, str(row["assessment"]), t.zone_id,
                                     [(row["degraded_km2"], row["percent"])], r["denominator"])
        elif t.code == "SO3-1.T1":
            for row in t.rows:
                pairs = [(row.get(f"a{k}"), row.get(f"p{k}")) for k in range(1, 5)]
                out += _denominators(t.code, str(row["year"]), t.zone_id, pairs, r["denominator"])
        elif t.code == "CP-1.T1" and water_year is not None and "water_km2" in keys:
            for row in t.rows:
                label = str(row["year"])
                if label == str(water_year) or label.endswith(f"(data {water_year})"):
                    out.append(_entry("prais", t.code, "water bodies", label, t.zone_id, "water",
                                      float(row["water_km2"]), r["water"]))
                    out.append(_entry("prais", t.code, "total country area", label, t.zone_id, "total",
                                      float(row["country_km2"]), r["total"]))
    return out


def _denominators(code: str, period: str, zone: str, pairs: list[tuple[Any, Any]],
                  denominator: float) -> list[dict[str, Any]]:
    """The denominator implied by area / percent of the largest row (one entry per period)."""
    best = max(((float(a), float(p)) for a, p in pairs if a is not None and p is not None and float(p) > 0),
               default=None)
    if best is None:
        return []
    a, p = best
    return [_entry("prais", code, "percentage denominator (area x 100 / percent)", period, zone, "denominator",
                   100.0 * a / p, denominator)]


def degraded_area_notes(tables: Mapping[str, pd.DataFrame], reporting: list[str]) -> list[dict[str, Any]]:
    """Where the period-based and the status-based degraded areas differ, both figures and why, per period.

    The SDG 15.3.1 map of a reporting period (one-out-all-out of the period's sub-indicators; ``sdg_degradation``,
    the web tables) and the land status at the end of the period (status matrix of the baseline and the period maps;
    PRAIS SO1-4.T1/T2 and the report's headline) are both reported; they measure different things.
    """
    sdg, st = tables.get("sdg_degradation"), tables.get("status")
    if sdg is None or st is None or not len(sdg) or not len(st):
        return []
    out = []
    for p in reporting:
        a = sdg[(sdg["zone_id"].astype(str) == "ALL") & (sdg["period"].astype(str) == p)
                & (sdg["variable"] == "sdg_15_3_1") & (sdg["class_code"].astype(int) == -1)]["area_km2"].sum()
        b = st[(st["zone_id"].astype(str) == "ALL") & (st["period"].astype(str) == p)
               & (st["variable"] == "status") & (st["class_code"].astype(int) == -1)]["area_km2"].sum()
        if not (a or b):
            continue
        note: dict[str, Any] = {"period": p, "period_degraded_km2": float(a), "status_degraded_km2": float(b),
                                "difference_km2": float(b - a)}
        note["text"] = note_text(note)
        out.append(note)
    return out


def consistency_certificate(
    tables: Mapping[str, pd.DataFrame],
    report: Any,
    *,
    ledger: Mapping[str, Any] | None = None,
    rules: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Compare every table of a run with the area ledger and list the rules checked.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The run's tidy tables.
    report : PRAISReport
        The PRAIS tables built from them.
    ledger : dict, optional
        :meth:`openldn.pipeline.ledger.AreaLedger.summary` of the run; without it the report's land areas are the
        reference (a report built from tables alone).
    rules : list of dict, optional
        Rule records from :func:`openldn.reporting.prais.validate_report` (``report.rules`` by default).

    Returns
    -------
    dict
        ``tolerance``, ``ok``, ``failures``, ``reference``, ``ledger``, ``entries`` (one per table, period, zone and
        quantity), ``rules`` and ``notes``.
    """
    water_year = ledger.get("water_year") if ledger else None
    ref = _reference(ledger, report.land_area)
    entries = _tidy_checks(tables, ref, water_year) + _prais_checks(report, ref, water_year)
    failures = [e for e in entries if not e["ok"]]
    rules = [dict(r) for r in (rules if rules is not None else getattr(report, "rules", []) or [])]
    broken = {"C2": [e for e in failures if e["quantity"] in ("land", "water", "total")],
              "C7": [e for e in failures if e["table"].startswith("SO3-1")]}
    for r in rules:
        bad = broken.get(str(r.get("rule")), [])
        if bad and r.get("status") != "not checked":
            r["status"] = "failed"
            r["how"] = f"{r.get('how', '')}; {len(bad)} difference(s) above {TOLERANCE:g} in the certificate"
    return {
        "tolerance": TOLERANCE,
        "ok": not failures and not any(r.get("status") == "failed" for r in rules),
        "failures": len(failures),
        "reference": "area ledger" if ledger else "land areas of the report's tables (no ledger given)",
        "ledger": dict(ledger) if ledger else None,
        "entries": entries,
        "rules": rules,
        "notes": degraded_area_notes(tables, list(report.reporting)),
    }


def certificate_rows(cert: Mapping[str, Any], *, zone: str | None = "ALL") -> list[dict[str, Any]]:
    """The entries of a certificate for display (one zone, ``None`` = every zone), failures first."""
    rows = [e for e in cert.get("entries", []) if zone is None or e["zone_id"] == zone]
    return sorted(rows, key=lambda e: (e["ok"], e["source"] != "tidy"))
