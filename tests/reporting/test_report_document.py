"""The report a ministry files: executive summary generated from the figures, section order, no internal codes,
tables that stay inside their box.

The expected numbers of the summary are computed here from the tidy tables of the factory (areas divided by the
land area by hand), not read from the PRAIS tables the summary uses.
"""

from __future__ import annotations

import re

import pandas as pd
from reporting_factory import BASELINE, REPORTING, make_tables

from openldn.reporting.prais import build_report
from openldn.reporting.report import SECTIONS, render_html
from openldn.reporting.summary import executive_summary


def _area(df: pd.DataFrame, variable: str, period: str, label: str) -> float:
    sel = df[(df.zone_id.astype(str) == "ALL") & (df.variable == variable) & (df.period == period)
             & (df.class_label == label)]
    return float(sel.area_km2.sum())


def test_executive_summary_numbers_come_from_the_figures() -> None:
    tables = make_tables()
    la = tables["land_area"]
    la = la[(la.zone_id == "ALL") & (la.period == la.period.iloc[0])]
    # the denominator: land with its no-data part (water excluded)
    land = float(la[la.class_label.isin(["Land", "No data"])].area_km2.sum())
    text = " ".join(executive_summary(build_report(tables, baseline=BASELINE, reporting=REPORTING)))
    sdg = tables["sdg_degradation"]
    base = _area(sdg, "sdg_15_3_1", BASELINE, "Degraded")
    st = tables["status"]
    last = _area(st, "status", str(st[st.variable == "status"].period.iloc[-1]), "Degraded")
    assert f"{base / land * 100:.1f}% of the land ({base:,.0f} km²) was degraded" in text
    assert f"{last / land * 100:.1f}% of the land ({last:,.0f} km²) is degraded" in text
    assert f"{abs(last - base):,.1f} km² {'more' if last > base else 'less'} than at the baseline" in text
    assert f"({(last - base) / land * 100:+.1f} percentage points)" in text
    # the sub-indicator marking the most land degraded in the latest period is named first
    sub = tables["subindicator_degradation"]
    shares = {name: _area(sub, var, REPORTING[-1], "Degraded") / land * 100
              for var, name in (("lc_degradation", "land cover"), ("prod_degradation", "land productivity"),
                                ("soc_degradation", "soil organic carbon"))}
    top = max(shares, key=lambda k: shares[k])
    assert f"{top} marks the most land as degraded ({shares[top]:.1f}%" in text
    # the admin units, population and drought are described
    assert "North" in text and "South" in text
    assert "of the population" in text and "lived on degraded land" in text
    assert "in drought" in text


def test_executive_summary_without_tables_is_empty() -> None:
    tables = {k: v for k, v in make_tables().items() if k == "land_area"}
    assert executive_summary(build_report(tables, baseline=BASELINE, reporting=REPORTING)) == []


def test_report_sections_in_order_without_internal_codes() -> None:
    tables = make_tables()
    rep = build_report(tables, baseline=BASELINE, reporting=REPORTING)
    html = render_html(rep, name="Test", maps=[], tables=tables,
                       provenance={"preset": {"id": "prais_2026_te", "hash": "0" * 64}},
                       pages={"tables": 3, "method": 9})
    pos = [html.index(f'id="{k}"') for k in SECTIONS]
    assert pos == sorted(pos)
    visible = re.sub(r"<[^>]+>", " ", html.split("</style>", 1)[1])
    for internal in ("standard.md", "reference-implementation", "prais_2026_table13", "prais_2026_te", "lpd_by_lc",
                     "sdg_15_3_1", "1OAO"):
        assert internal not in visible, internal
    assert "PRAIS 2026 (manual reading of the Trends.Earth methods)" in visible  # the preset's human name
    # every table sits in a box that scrolls (the page never widens)
    assert html.count("<table") == html.count('<div class="tablewrap"><table')
    # the PDF's table of contents carries the pages found in the PDF
    assert re.search(r'href="#tables">2\. PRAIS tables</a><span class="pg">3</span>', html)
    # a print style sheet with page numbers
    assert "@media print" in html and 'counter(page) " of " counter(pages)' in html
