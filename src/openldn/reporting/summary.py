"""The executive summary of the report: sentences generated from the PRAIS tables of the run.

Every number in the text is read from a validated table (SO1-4.T2 for the share of land degraded and its change,
SO1-1.T7 / SO1-2.T3 / SO1-3.T2 for the sub-indicators, the per-unit SO1-4.T2 tables for the admin units, SO2-3.T1
for the population, SO3-1.T1 and SO3-2 for drought); nothing is written when its table is absent.
"""

from __future__ import annotations

from typing import Any

from openldn.reporting.prais import PRAISReport

__all__ = ["executive_summary"]

#: Sub-indicator tables (code -> name in the text).
_SUBS = {"SO1-1.T7": "land cover", "SO1-2.T3": "land productivity", "SO1-3.T2": "soil organic carbon"}
#: Drought intensity columns of SO3-1.T1 (p1..p4) and their names.
_DROUGHT = {1: "mild", 2: "moderate", 3: "severe", 4: "extreme"}


def _pct(v: float) -> str:
    return f"{v:.1f} %"


def _km2(v: float) -> str:
    return f"{v:,.0f} km²" if abs(v) >= 100 else f"{v:,.1f} km²"


def _period_of(assessment: str) -> str:
    """``"Status 2019 (2016-2019)"`` -> ``"2016-2019"``; ``"Baseline 2000-2015"`` -> ``"2000-2015"``."""
    s = str(assessment)
    if "(" in s and s.endswith(")"):
        return s[s.rindex("(") + 1:-1]
    return s.split()[-1]


def _degraded_share(report: PRAISReport) -> list[str]:
    t = report.get("SO1-4.T2")
    if t is None or not t.rows:
        return []
    base, last = t.rows[0], t.rows[-1]
    bp, bk = float(base.get("percent") or 0.0), float(base.get("degraded_km2") or 0.0)
    out = [f"In the baseline period {_period_of(base['assessment'])}, {_pct(bp)} of the land ({_km2(bk)}) was "
           "degraded (SDG indicator 15.3.1)."]
    if len(t.rows) > 1:
        lp, lk = float(last.get("percent") or 0.0), float(last.get("degraded_km2") or 0.0)
        ch = float(last.get("change_km2") or 0.0)
        trend = "more than" if ch > 0 else ("less than" if ch < 0 else "the same as")
        out.append(f"By the latest reporting period {_period_of(last['assessment'])}, {_pct(lp)} of the land "
                   f"({_km2(lk)}) is degraded: {_km2(abs(ch))} {trend} at the baseline "
                   f"({lp - bp:+.1f} percentage points).")
    return out


def _last_degraded(t: Any) -> tuple[str, float, float] | None:
    rows = [r for r in t.rows if str(r.get("class")) == "Degraded"]
    if not rows:
        return None
    r = rows[-1]
    return str(r.get("period")), float(r.get("percent") or 0.0), float(r.get("area_km2") or 0.0)


def _drivers(report: PRAISReport) -> list[str]:
    subs = []
    for code, name in _SUBS.items():
        t = report.get(code)
        got = _last_degraded(t) if t is not None else None
        if got is not None:
            subs.append((name, *got))
    out = []
    if subs:
        subs.sort(key=lambda s: -s[2])
        main = subs[0]
        rest = ", ".join(f"{n} {_pct(p)}" for n, _per, p, _a in subs[1:])
        out.append(f"Of the three sub-indicators, {main[0]} marks the most land as degraded ({_pct(main[2])} in "
                   f"{main[1]}{'; ' + rest if rest else ''}); under the one-out-all-out rule land degraded in any "
                   "sub-indicator counts as degraded.")
    units = []
    for t in report.tables:
        if t.code != "SO1-4.T2" or t.zone_id == "ALL" or not t.rows:
            continue
        last = t.rows[-1]
        units.append((t.zone_name, float(last.get("degraded_km2") or 0.0), float(last.get("percent") or 0.0)))
    total = sum(u[1] for u in units)
    if len(units) > 1 and total > 0:
        units.sort(key=lambda u: -u[1])
        top = units[:3]
        share = sum(u[1] for u in top) / total * 100
        names = ", ".join(f"{n} ({_km2(a)}, {_pct(p)} of its land)" for n, a, p in top)
        held = f"; together they hold {_pct(share)} of the degraded land of the {len(units)} units" \
            if len(units) > len(top) else ""
        out.append(f"The admin units with the most degraded land in the latest assessment are {names}{held}.")
    return out


def _population(report: PRAISReport) -> list[str]:
    t = report.get("SO2-3.T1")
    if t is None or not t.rows:
        return []
    last = t.rows[-1]
    if last.get("pct_total") is None:
        return []
    n = last.get("n_total")
    text = (f"In {last['year']}, {_pct(float(last['pct_total']))} of the population"
            + (f" ({float(n):,.0f} people)" if n is not None else "") + " lived on degraded land")
    if last.get("pct_female") is not None and last.get("pct_male") is not None:
        text += f" ({_pct(float(last['pct_female']))} of women, {_pct(float(last['pct_male']))} of men)"
    if len(t.rows) > 1 and t.rows[0].get("pct_total") is not None:
        text += f", against {_pct(float(t.rows[0]['pct_total']))} in {t.rows[0]['year']}"
    return [text + "."]


def _drought(report: PRAISReport) -> list[str]:
    t = report.get("SO3-1.T1")
    if t is None or not t.rows:
        return []

    def any_drought(r: dict[str, Any]) -> float:
        return sum(float(r.get(f"p{k}") or 0.0) for k in _DROUGHT)

    last = t.rows[-1]
    worst = max(t.rows, key=any_drought)
    severe = float(last.get("p3") or 0.0) + float(last.get("p4") or 0.0)
    out = [f"Drought: in {last['year']}, {_pct(any_drought(last))} of the land was in drought (SPI below 0), "
           f"{_pct(severe)} in severe or extreme drought; the driest year of {t.rows[0]['year']}-{last['year']} was "
           f"{worst['year']} ({_pct(any_drought(worst))} of the land in drought)."]
    pop = report.get("SO3-2.T1")
    if pop is not None and pop.rows:
        r = pop.rows[-1]
        share = r.get("any")
        if share is None:
            parts = [r.get(f"p{k}") for k in _DROUGHT]
            share = sum(float(v) for v in parts if v is not None) if any(v is not None for v in parts) else None
        if share is not None and r.get("year") is not None:
            out.append(f"In {r['year']}, {_pct(float(share))} of the population lived in areas in drought.")
    return out


def executive_summary(report: PRAISReport) -> list[str]:
    """Paragraphs of the executive summary, generated from the figures of the PRAIS tables.

    Parameters
    ----------
    report : PRAISReport
        Validated PRAIS tables.

    Returns
    -------
    list of str
        Plain-text paragraphs (escaped when put in HTML).
    """
    paragraphs = [" ".join(_degraded_share(report)), " ".join(_drivers(report)), " ".join(_population(report)),
                  " ".join(_drought(report))]
    return [p for p in paragraphs if p]
