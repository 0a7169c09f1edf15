"""The executive summary of the report: sentences generated from the PRAIS tables of the run.

Every number in the text is read from a validated table (SO1-4.T2 for the share of land degraded and its change,
SO1-1.T7 / SO1-2.T3 / SO1-3.T2 for the sub-indicators, the per-unit SO1-4.T2 tables for the admin units, SO2-3.T1
for the population, SO3-1.T1 and SO3-2 for drought); nothing is written when its table is absent.
"""

from __future__ import annotations

from typing import Any

from openldn.i18n import N_, _, format_decimal, format_integer, format_percent, ngettext
from openldn.reporting.prais import PRAISReport

__all__ = ["executive_summary"]

#: Sub-indicator tables (code -> name in the text).
_SUBS = {"SO1-1.T7": N_("land cover"), "SO1-2.T3": N_("land productivity"), "SO1-3.T2": N_("soil organic carbon")}
#: Drought intensity columns of SO3-1.T1 (p1..p4).
_DROUGHT = (1, 2, 3, 4)


def _pct(v: float) -> str:
    return format_percent(v, 1)


def _km2(v: float) -> str:
    return _("%(area)s km²") % {"area": format_decimal(v, 0 if abs(v) >= 100 else 1)}


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
    out = [_("In the baseline period %(period)s, %(share)s of the land (%(area)s) was degraded (SDG indicator "
             "15.3.1).") % {"period": _period_of(base["assessment"]), "share": _pct(bp), "area": _km2(bk)}]
    if len(t.rows) > 1:
        lp, lk = float(last.get("percent") or 0.0), float(last.get("degraded_km2") or 0.0)
        ch = float(last.get("change_km2") or 0.0)
        values = {"period": _period_of(last["assessment"]), "share": _pct(lp), "area": _km2(lk),
                  "change": _km2(abs(ch)), "points": ("+" if lp - bp > 0 else "") + format_decimal(lp - bp, 1)}
        if ch > 0:
            text = _("By the latest reporting period %(period)s, %(share)s of the land (%(area)s) is degraded: "
                     "%(change)s more than at the baseline (%(points)s percentage points).")
        elif ch < 0:
            text = _("By the latest reporting period %(period)s, %(share)s of the land (%(area)s) is degraded: "
                     "%(change)s less than at the baseline (%(points)s percentage points).")
        else:
            text = _("By the latest reporting period %(period)s, %(share)s of the land (%(area)s) is degraded: "
                     "the same area as at the baseline (%(points)s percentage points).")
        out.append(text % values)
    return out


def _last_degraded(t: Any) -> tuple[str, float, float] | None:
    rows = [r for r in t.rows if str(r.get("class")) in ("Degraded", _("Degraded"))]
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
            subs.append((_(name), *got))
    out = []
    sep = _(", ")
    if subs:
        subs.sort(key=lambda s: -s[2])
        main = subs[0]
        values = {"name": main[0], "share": _pct(main[2]), "period": main[1]}
        if len(subs) > 1:
            values["others"] = sep.join(_("%(name)s %(share)s") % {"name": n, "share": _pct(p)}
                                        for n, _per, p, _a in subs[1:])
            text = _("Of the three sub-indicators, %(name)s marks the most land as degraded (%(share)s in "
                     "%(period)s; %(others)s); under the one out, all out rule land degraded in any sub-indicator "
                     "counts as degraded.")
        else:
            text = _("Of the three sub-indicators, %(name)s marks the most land as degraded (%(share)s in "
                     "%(period)s); under the one out, all out rule land degraded in any sub-indicator counts as "
                     "degraded.")
        out.append(text % values)
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
        names = sep.join(_("%(unit)s (%(area)s, %(share)s of its land)") % {"unit": n, "area": _km2(a),
                                                                             "share": _pct(p)} for n, a, p in top)
        if len(units) > len(top):
            text = ngettext(
                "The admin units with the most degraded land in the latest assessment are %(names)s; together they "
                "hold %(share)s of the degraded land of the %(n)s unit.",
                "The admin units with the most degraded land in the latest assessment are %(names)s; together they "
                "hold %(share)s of the degraded land of the %(n)s units.", len(units)) % {
                "names": names, "share": _pct(share), "n": format_integer(len(units))}
        else:
            text = _("The admin units with the most degraded land in the latest assessment are %(names)s.") % {
                "names": names}
        out.append(text)
    return out


def _population(report: PRAISReport) -> list[str]:
    t = report.get("SO2-3.T1")
    if t is None or not t.rows:
        return []
    last = t.rows[-1]
    if last.get("pct_total") is None:
        return []
    n = last.get("n_total")
    values = {"year": last["year"], "share": _pct(float(last["pct_total"]))}
    if n is not None:
        values["people"] = format_integer(float(n))
        text = ngettext("In %(year)s, %(share)s of the population (%(people)s person) lived on degraded land.",
                        "In %(year)s, %(share)s of the population (%(people)s people) lived on degraded land.",
                        round(float(n))) % values
    else:
        text = _("In %(year)s, %(share)s of the population lived on degraded land.") % values
    extra = []
    if last.get("pct_female") is not None and last.get("pct_male") is not None:
        extra.append(_("Of women, %(women)s lived on degraded land; of men, %(men)s.") % {
            "women": _pct(float(last["pct_female"])), "men": _pct(float(last["pct_male"]))})
    if len(t.rows) > 1 and t.rows[0].get("pct_total") is not None:
        extra.append(_("In %(year)s, the share was %(share)s.") % {
            "year": t.rows[0]["year"], "share": _pct(float(t.rows[0]["pct_total"]))})
    return [text, *extra]


def _drought(report: PRAISReport) -> list[str]:
    t = report.get("SO3-1.T1")
    if t is None or not t.rows:
        return []

    def any_drought(r: dict[str, Any]) -> float:
        return sum(float(r.get(f"p{k}") or 0.0) for k in _DROUGHT)

    last = t.rows[-1]
    worst = max(t.rows, key=any_drought)
    severe = float(last.get("p3") or 0.0) + float(last.get("p4") or 0.0)
    out = [_("Drought: in %(year)s, %(share)s of the land was in drought (SPI below 0), %(severe)s in severe or "
             "extreme drought; the driest year of %(first)s-%(last)s was %(worst)s (%(worst_share)s of the land in "
             "drought).") % {"year": last["year"], "share": _pct(any_drought(last)), "severe": _pct(severe),
                             "first": t.rows[0]["year"], "last": last["year"], "worst": worst["year"],
                             "worst_share": _pct(any_drought(worst))}]
    pop = report.get("SO3-2.T1")
    if pop is not None and pop.rows:
        r = pop.rows[-1]
        share = r.get("any")
        if share is None:
            parts = [r.get(f"p{k}") for k in _DROUGHT]
            share = sum(float(v) for v in parts if v is not None) if any(v is not None for v in parts) else None
        if share is not None and r.get("year") is not None:
            out.append(_("In %(year)s, %(share)s of the population lived in areas in drought.") % {
                "year": r["year"], "share": _pct(float(share))})
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
        Plain-text paragraphs in the current language (escaped when put in HTML).
    """
    paragraphs = [" ".join(_degraded_share(report)), " ".join(_drivers(report)), " ".join(_population(report)),
                  " ".join(_drought(report))]
    return [p for p in paragraphs if p]
