"""Headline figures printed at the end of ``openldn run``, read from the run's tables (``tables/*.csv``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from openldn.i18n import _, format_area, format_decimal, format_integer, format_percent

__all__ = ["headline_lines"]


def _read(tables: Path, name: str) -> pd.DataFrame | None:
    p = tables / f"{name}.csv"
    if not p.exists():
        return None
    df = pd.read_csv(p, dtype={"zone_id": str, "period": str})
    return df[df["zone_id"] == "ALL"] if "zone_id" in df.columns else df


def _pct(x: float) -> str:
    return format_percent(100 * x, 1)


def headline_lines(out_dir: Path) -> list[str]:
    """One line per headline figure: SDG 15.3.1 per period (and its change), people on degraded land, drought.

    Words and numbers are in the current language (:func:`openldn.i18n.use_language`).

    Parameters
    ----------
    out_dir : Path
        Output folder of a finished run.

    Returns
    -------
    list of str
        Lines without markup; empty when the run wrote none of these tables.
    """
    tables = Path(out_dir) / "tables"
    lines: list[str] = []
    sdg = _read(tables, "sdg_degradation")
    if sdg is not None and len(sdg):
        deg = sdg[(sdg["variable"] == "sdg_15_3_1") & (sdg["class_code"] == -1)]
        parts = [_("%(period)s %(share)s (%(area)s)") % {"period": p, "share": _pct(float(sh)),
                                                        "area": format_area(float(km), 1)}
                 for p, sh, km in zip(deg["period"], deg["share_of_land"], deg["area_km2"], strict=True)]
        if parts:
            lines.append(_("SDG 15.3.1, land degraded: %(values)s") % {"values": "; ".join(parts)})
        if len(deg) > 1:
            first, last = deg.iloc[0], deg.iloc[-1]
            change = 100 * (float(last["share_of_land"]) - float(first["share_of_land"]))
            sign = "+" if change >= 0 else ""
            lines.append("  " + _("change %(first)s -> %(last)s: %(change)s percentage points") % {
                "first": first["period"], "last": last["period"], "change": sign + format_decimal(change, 1)})
    pop = _read(tables, "population_degraded")
    if pop is not None and len(pop) and "assessment_period" in pop.columns:
        tot = pop[(pop["variable"] == "population_total") & (pop["class_code"] != -32768)]
        if "classes" in tot.columns:
            tot = tot[tot["classes"] == "period_sdg"]
        parts = []
        for period, g in tot.groupby("assessment_period", sort=False):
            everyone = float(g["value"].sum())
            degraded = float(g.loc[g["class_code"] == -1, "value"].sum())
            share = f" ({_pct(degraded / everyone)})" if everyone > 0 else ""
            parts.append(f"{period} {format_integer(degraded)}{share}")
        if parts:
            lines.append(_("People on degraded land: %(values)s") % {"values": "; ".join(parts)})
    dr = _read(tables, "drought_area")
    if dr is not None and len(dr):
        dr = dr[dr["variable"] == "drought_class"]
        by_year = dr[dr["class_code"].between(1, 4)].groupby("period")["share_of_land"].sum()
        known = dr[dr["class_code"].between(0, 4)].groupby("period")["share_of_land"].sum()
        shares = {str(k): float(v) for k, v in by_year.items() if float(known.get(k, 0.0)) > 0}  # no-data years out
        if shares:
            latest = max(shares)
            worst = max(shares, key=lambda k: shares[k])
            text = _("Land in drought (mild to extreme): %(year)s %(share)s") % {
                "year": latest, "share": _pct(shares[latest])}
            if worst != latest:
                text += "; " + _("most in %(year)s: %(share)s") % {"year": worst, "share": _pct(shares[worst])}
            dp = _read(tables, "drought_population")
            if dp is not None and len(dp):
                exposed = dp[(dp["variable"] == "population_total") & (dp["period"] == latest)
                             & dp["class_code"].between(1, 4)]["value"].sum()
                text += "; " + _("people exposed in %(year)s: %(count)s") % {
                    "year": latest, "count": format_integer(float(exposed))}
            lines.append(text)
    return lines
