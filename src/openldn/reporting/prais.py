"""PRAIS 4 (2026 cycle) tables as typed models, built from the run's tidy tables and validated before export.

Every table of PRAIS 2026 reporting manual, table codes that the run has data for is built per admin unit (``zone_id == "ALL"`` is the whole
area of interest). A table whose source is missing (its stage did not run) is simply absent. Each table code has a
row model (pydantic) whose fields are typed: numeric fields accept only numbers (rule V3). :func:`validate_report`
then applies the PRAIS rules V1-V3 and the openldn checks C1-C8 (PRAIS 2026 reporting manual, validation rules) and raises
:class:`~openldn.exceptions.PRAISValidationError` naming the table, the zone, the row and the rule.

One land-area denominator per run (GPG v2 (Sims et al. 2021) ch. 2; docs/differences.md): the run's area ledger
(:mod:`openldn.pipeline.ledger`): total land area = area minus inland water, water from the one land cover year chosen
by ``integration.water_mask_year`` (or an official CP-1.T1 value); cells without data stay in the denominator and are
reported as a "No data" row; water is reported separately. Every report also carries a consistency certificate
(:mod:`openldn.reporting.certificate`): each table's totals against the ledger and the rules actually checked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from openldn.core.codes import LPD_CLASSES, NODATA, WATER
from openldn.core.periods import Period
from openldn.core.years import closest_year as _closest_year
from openldn.exceptions import PRAISValidationError
from openldn.i18n import N_, format_decimal
from openldn.i18n import gettext as _
from openldn.integration.summary import LandArea, land_area_from_tables

__all__ = [
    "TABLE_TITLES",
    "TEMPLATES",
    "Column",
    "PRAISReport",
    "PRAISTable",
    "build_report",
    "localize",
    "validate_report",
]

ColumnKind = Literal["text", "area", "percent", "change", "change_percent", "count", "thousands", "stock", "index"]
#: Column kinds that may not be negative (rule V2).
NON_NEGATIVE: frozenset[str] = frozenset({"area", "percent", "count", "thousands", "stock", "index"})

#: Table code -> title (PRAIS 2026 reporting manual, table codes).
TABLE_TITLES: dict[str, str] = {
    "CP-1.T1": N_("Land area, water area and total country area (km²)"),
    "CP-1.T2": N_("Population, total / female / male (thousands)"),
    "SO1-1.T4": N_("Land cover extent by class and year (km²)"),
    "SO1-1.T5": N_("Land cover change, baseline (km²)"),
    "SO1-1.T6": N_("Land cover change, reporting period (km²)"),
    "SO1-1.T7": N_("Land cover degradation, baseline and reporting (km², % of total land area)"),
    "SO1-2.T1": N_("Land productivity dynamics by land cover class, baseline (km²)"),
    "SO1-2.T2": N_("Land productivity dynamics by land cover class, reporting period (km²)"),
    "SO1-2.T3": N_("Land productivity degradation, baseline and reporting (km², % of total land area)"),
    "SO1-3.T1": N_("Soil organic carbon stock by land cover class (t/ha)"),
    "SO1-3.T2": N_("Soil organic carbon degradation, baseline and latest reporting period (km², %)"),
    "SO1-4.T1": N_("Status assessment (km², % of total land area)"),
    "SO1-4.T2": N_("Degraded area: baseline, reporting periods and change (km², %)"),
    "SO1-4.T3": N_("False positives / false negatives"),
    "SO1-4.T4": N_("Hotspots"),
    "SO1-4.T5": N_("Brightspots"),
    "SO2-3.T1": N_("Population on degraded land by sex (%)"),
    "SO3-1.T1": N_("Area under drought by intensity class (km², % of total land area)"),
    "SO3-1.T2": N_("Proportion of land under drought (%)"),
    "SO3-2.T1": N_("Total population exposed to drought by intensity class (%)"),
    "SO3-2.T2": N_("Female population exposed to drought by intensity class (%)"),
    "SO3-2.T3": N_("Male population exposed to drought by intensity class (%)"),
    "SO3-3.T1": N_("Drought vulnerability index, total / female / male"),
    "SO3-3.T2": N_("Direction of change of the drought vulnerability index"),
}

# -- words of the tables ------------------------------------------------------------------------------------------
# The tables keep their words in English, the source language (the run document, the CSV files and the checks read
# them); the workbook and the report show them in the run's language through :func:`localize`. A text made of words
# and values (a period, a year, an area) is written from one of these templates, and :func:`localize` recognises it
# by its template.
_T_DATA_YEAR = N_("%(year)s (data %(data_year)s)")
_T_SUBSTITUTION = N_("%(code)s: data of %(data_year)s used for %(year)s")
_T_DENOMINATOR = N_("Denominator of every percentage: %(area)s km² (%(source)s).")
_T_LEDGER = N_("area ledger: %(source)s")
_T_INITIAL = N_("Initial class (%(period)s)")
_T_WATER = N_("%(period)s: water bodies %(area)s km² reported separately (not land).")
_T_NO_WATER = N_("%(period)s: water is not separated in this table's source.")
_T_PERIOD = N_("Period %(period)s.")
_T_SOC = N_("SOC %(label)s (t/ha)")
_T_BASELINE = N_("Baseline %(period)s")
_T_STATUS = N_("Status %(year)s (%(period)s)")
_T_SUBINDICATORS = N_("Sub-indicators used: %(names)s.")
_T_OWN_MAP = N_("%(period)s: %(area)s km² degraded on the period's own SDG 15.3.1 map (table sdg_degradation, web "
                "tables); the status row differs because the status also counts land degraded in the baseline and "
                "unchanged in the period, and is no data where the baseline has no data.")
_T_CONFIDENCE = N_("Confidence: %(level)s.")
_T_SITE_SHARE = N_("%% degraded (%(name)s)")
_T_SITE_NOTE = N_("Shares degraded per sub-indicator for period %(period)s (which sub-indicator drives the site).")
_T_SKIPPED = N_("%(section)s: source table has an unexpected layout (%(error)s)")
_T_C1 = N_("classes summed per period in %(n)s (table, zone, period) blocks of SO1-1.T7, SO1-2.T3, SO1-3.T2 and "
           "SO1-4.T1 against the computed land area; CP-1.T1 bound as V1")
_T_C5 = N_("years picked by the PRAIS tables are the requested ones or recorded; %(n)s substitution(s) listed")
_T_CLASS = N_("%(n)s %(label)s")  # an LPD class with its code ("1 Declining"); last: it matches many texts
#: Every template of the tables' texts, in the order :func:`localize` tries them.
TEMPLATES: tuple[str, ...] = (
    _T_DATA_YEAR, _T_SUBSTITUTION, _T_DENOMINATOR, _T_LEDGER, _T_INITIAL, _T_WATER, _T_NO_WATER, _T_PERIOD, _T_SOC,
    _T_BASELINE, _T_STATUS, _T_SUBINDICATORS, _T_OWN_MAP, _T_CONFIDENCE, _T_SITE_SHARE, _T_SITE_NOTE, _T_SKIPPED,
    _T_C1, _T_C5, _T_CLASS,
)
#: Words the tables take from other stages' tables (the direction of the DVI, the population groups, the
#: confidence levels, the statuses of the rules), declared here so that they are extracted and translated.
SHOWN_VALUES: tuple[str, ...] = (
    N_("Increasing vulnerability"), N_("Decreasing vulnerability"), N_("No change"), N_("Unknown"),
    N_("total"), N_("female"), N_("male"), N_("high"), N_("medium"), N_("low"),
    N_("passed"), N_("failed"), N_("partly checked"), N_("not checked"),
)
# What each placeholder of a template matches when a text is read back (anything else: any text).
_VALUE_PATTERNS = {"period": r"\d{4}(?:-\d{4})?", "year": r"\d{4}", "data_year": r"\d{4}", "n": r"\d+",
                   "area": r"-?\d+(?:\.\d+)?", "code": r"[A-Z][A-Z0-9.-]*"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


@lru_cache(maxsize=1)
def _template_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for template in TEMPLATES:
        parts, pos = [], 0
        for m in _PLACEHOLDER.finditer(template):
            parts.append(re.escape(template[pos:m.start()]))
            name = m.group(1)
            parts.append("%" if name is None else f"(?P<{name}>{_VALUE_PATTERNS.get(name, '.+?')})")
            pos = m.end()
        parts.append(re.escape(template[pos:]))
        out.append((template, re.compile("".join(parts), re.DOTALL)))
    return tuple(out)


def _en(template: str, **values: Any) -> str:
    """A text of the tables in English: ``template`` filled with ``values`` (read back by :func:`localize`)."""
    return template % values


def localize(text: str) -> str:
    """A text of the PRAIS tables (title, column label, row label, note) in the current language.

    A text of the catalogue is translated; a text written from one of :data:`TEMPLATES` is written again from the
    translated template, its values translated in turn (numbers with the language's decimal sign); any other text
    (a name from the user's data) is returned as it is.

    Parameters
    ----------
    text : str
        English text as the tables hold it.

    Returns
    -------
    str
    """
    from openldn.i18n import current_language

    if not text or current_language() == "en":
        return text
    out = _(text)
    if out != text:
        return out
    for template, pattern in _template_patterns():
        m = pattern.fullmatch(text)
        if m:
            return _(template) % {k: _localize_value(v) for k, v in m.groupdict().items()}
    return text


def _localize_value(value: str) -> str:
    if re.fullmatch(r"-?\d+\.\d+", value):
        return format_decimal(float(value), len(value.split(".")[1]))
    return localize(value)


class Column(BaseModel):
    """One column of a PRAIS table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(..., description="Field name in the rows.")
    label: str = Field(..., description="Column heading.")
    kind: ColumnKind = Field(..., description="Value kind: drives validation and formatting.")


class PRAISTable(BaseModel):
    """A PRAIS table for one zone: typed rows plus the columns that describe them."""

    model_config = ConfigDict(extra="forbid")

    code: str
    title: str
    zone_id: str
    zone_name: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    notes: list[str] = Field(default_factory=list)

    def row_model(self) -> type[BaseModel]:
        """Pydantic model of one row: numbers for numeric columns (None allowed), text for text columns."""
        return _row_model(self.code, tuple((c.key, c.kind == "text") for c in self.columns))

    def to_frame(self) -> pd.DataFrame:
        """Rows as a DataFrame with the column labels as headings."""
        return pd.DataFrame([[r.get(c.key) for c in self.columns] for r in self.rows],
                            columns=[c.label for c in self.columns])


@lru_cache(maxsize=256)
def _row_model(code: str, fields_spec: tuple[tuple[str, bool], ...]) -> type[BaseModel]:
    fields: dict[str, Any] = {k: ((str, ...) if is_text else (float | None, None)) for k, is_text in fields_spec}
    name = "Row_" + code.replace("-", "_").replace(".", "_")
    return create_model(name, __config__=ConfigDict(extra="forbid", strict=True), **fields)


class PRAISReport(BaseModel):
    """Every PRAIS table of a run, the denominators used and the substitutions made."""

    model_config = ConfigDict(extra="forbid")

    baseline: str
    reporting: list[str]
    land_area: dict[str, dict[str, Any]]
    tables: list[PRAISTable]
    substitutions: list[str] = Field(default_factory=list)
    #: Rules that were checked and passed (the full list, with those not checked, is ``rules``).
    checks: list[str] = Field(default_factory=list)
    #: Every rule of PRAIS 2026 reporting manual, validation rules: ``rule``, ``text``, ``status`` (passed / failed / partly checked / not
    #: checked) and ``how``.
    rules: list[dict[str, Any]] = Field(default_factory=list)
    #: The consistency certificate (:func:`openldn.reporting.certificate.consistency_certificate`).
    consistency: dict[str, Any] = Field(default_factory=dict)
    #: Sections whose source table had an unexpected layout (the other tables are still built).
    skipped: list[str] = Field(default_factory=list)

    def codes(self) -> list[str]:
        """Table codes present, in catalogue order."""
        order = list(TABLE_TITLES)
        return sorted({t.code for t in self.tables}, key=lambda c: order.index(c) if c in order else 99)

    def get(self, code: str, zone_id: str = "ALL") -> PRAISTable | None:
        """The table ``code`` of zone ``zone_id`` (None when absent)."""
        return next((t for t in self.tables if t.code == code and t.zone_id == zone_id), None)


# ----------------------------------------------------------------------------------------------------------------
# helpers over tidy tables


def _zones(df: pd.DataFrame) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for zid, zname in zip(df["zone_id"].astype(str), df.get("zone_name", df["zone_id"]).astype(str), strict=True):
        seen.setdefault(zid, zname)
    ids = sorted(seen, key=lambda z: (z != "ALL", z))
    return [(z, seen[z]) for z in ids]


def _z(df: pd.DataFrame, zone: str) -> pd.DataFrame:
    return df[df["zone_id"].astype(str) == zone]


def _areas(df: pd.DataFrame) -> dict[int, float]:
    out: dict[int, float] = {}
    for c, a in zip(df["class_code"], df["area_km2"], strict=True):
        out[int(c)] = out.get(int(c), 0.0) + float(a)
    return out


def _pct(a: float, d: float) -> float | None:
    return 100.0 * a / d if d > 0 else None


def _year(label: str) -> int | None:
    s = str(label)
    return int(s) if s.isdigit() else None


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


_DEG_ROWS = ((1, N_("Improved")), (0, N_("Stable")), (-1, N_("Degraded")), (NODATA, N_("No data")))
_DEG_COLS = [
    Column(key="period", label=N_("Period"), kind="text"),
    Column(key="class", label=N_("Class"), kind="text"),
    Column(key="area_km2", label=N_("Area (km²)"), kind="area"),
    Column(key="percent", label=N_("% of total land area"), kind="percent"),
]


class _Builder:
    def __init__(self, tables: dict[str, pd.DataFrame], baseline: Period, reporting: list[Period],
                 land: dict[str, LandArea]) -> None:
        self.t = tables
        self.baseline = baseline
        self.reporting = reporting
        self.land = land
        self.out: list[PRAISTable] = []
        self.subs: list[str] = []
        self.confidence: str | None = None

    def add(self, code: str, zone: tuple[str, str], columns: list[Column], rows: list[dict[str, Any]],
            notes: Iterable[str] = ()) -> None:
        if rows:
            self.out.append(PRAISTable(code=code, title=TABLE_TITLES[code], zone_id=zone[0], zone_name=zone[1],
                                       columns=columns, rows=rows, notes=list(notes)))

    def pick(self, code: str, periods: Iterable[Any], wanted: list[int]) -> list[tuple[str, str]]:
        """Closest available years, recording every substitution (check C5)."""
        out = _pick(periods, wanted)
        for label, year in out:
            if label != year:
                msg = _en(_T_SUBSTITUTION, code=code, data_year=year, year=label.split(" ")[0])
                if msg not in self.subs:
                    self.subs.append(msg)
        return out

    def report_years(self) -> list[int]:
        """Years of CP-1.T1 and SO1-3.T1: baseline start and end, end of every reporting period."""
        return sorted({self.baseline.start, self.baseline.end, *(p.end for p in self.reporting)})

    def landof(self, zone: str) -> LandArea | None:
        return self.land.get(zone)

    # -- CP-1 -----------------------------------------------------------------------------------------------
    def cp1(self) -> None:
        la = self.t.get("land_area")
        if la is not None and len(la):
            cols = [Column(key="year", label=N_("Year"), kind="text"),
                    Column(key="land_km2", label=N_("Total land area (km²)"), kind="area"),
                    Column(key="water_km2", label=N_("Water bodies (km²)"), kind="area"),
                    Column(key="country_km2", label=N_("Total country area (km²)"), kind="area"),
                    Column(key="nodata_km2", label=N_("Of which without land cover data (km²)"), kind="area")]
            for zone in _zones(la):
                rows = []
                zla = _z(la, zone[0])
                for label, year in self.pick("CP-1.T1", zla["period"], self.report_years()):
                    d = land_area_from_tables({"land_area": zla}, year=int(year)).get(zone[0])
                    if d is None:
                        continue
                    rows.append({"year": label, "land_km2": d.land_km2, "water_km2": d.water_km2,
                                 "country_km2": d.country_km2, "nodata_km2": d.nodata_km2})
                den = self.landof(zone[0])
                notes = [_en(_T_DENOMINATOR, area=f"{den.land_km2:.3f}", source=den.source)] if den else []
                self.add("CP-1.T1", zone, cols, rows, notes)
        pop = self.t.get("population_degraded")
        if pop is not None and len(pop):
            cols = [Column(key="year", label=N_("Year"), kind="text")] + [
                Column(key=g, label=lab, kind="thousands") for g, lab in (
                    ("total", N_("Total population (thousands)")), ("female", N_("Female population (thousands)")),
                    ("male", N_("Male population (thousands)")))]
            for zone in _zones(pop):
                z = _z(pop, zone[0])
                rows = []
                for year in sorted({str(p) for p in z["period"]}):
                    zy = z[z["period"].astype(str) == year]
                    row: dict[str, Any] = {"year": year}
                    for g in ("total", "female", "male"):
                        v = zy[zy["variable"] == f"population_{g}"]["value"]
                        row[g] = float(v.sum()) / 1000.0 if len(v) else None
                    rows.append(row)
                self.add("CP-1.T2", zone, cols, rows)

    # -- SO1-1 ----------------------------------------------------------------------------------------------
    def so1_1(self) -> None:
        lc = self.t.get("lc_area")
        if lc is not None and len(lc):
            classes = _class_list(lc)
            cols = [Column(key="year", label=N_("Year"), kind="text")] + [
                Column(key=f"c{c}", label=lab, kind="area") for c, lab in classes]
            for zone in _zones(lc):
                z = _z(lc, zone[0])
                rows = []
                wanted = sorted({self.baseline.start, self.baseline.end, *(p.start for p in self.reporting),
                                 *(p.end for p in self.reporting)})
                for label, year in self.pick("SO1-1.T4", z["period"], wanted):
                    a = _areas(z[z["period"].astype(str) == year])
                    rows.append({"year": label, **{f"c{c}": a.get(c, 0.0) for c, _ in classes}})
                self.add("SO1-1.T4", zone, cols, rows)
        tr = self.t.get("lc_transitions")
        if tr is not None and len(tr):
            for code, label in (("SO1-1.T5", self.baseline.label), ("SO1-1.T6", self.reporting[-1].label
                                                                     if self.reporting else None)):
                if label is None:
                    continue
                sel = tr[tr["period"].astype(str) == label]
                if sel.empty:
                    continue
                self._matrix(code, sel, _en(_T_INITIAL, period=label))

    def _matrix(self, code: str, sel: pd.DataFrame, first: str) -> None:
        fin = _class_list(sel, "b")
        cols = [Column(key="initial", label=first, kind="text")] + [
            Column(key=f"c{c}", label=lab, kind="area") for c, lab in fin] + [
            Column(key="total", label=N_("Total (km²)"), kind="area")]
        for zone in _zones(sel):
            z = _z(sel, zone[0])
            rows = []
            sums = _sum_by(z, "class_code_a", "class_code_b")
            for c, lab in _class_list(z, "a"):
                vals = {f"c{f}": sums.get((c, f), 0.0) for f, _ in fin}
                rows.append({"initial": lab, **vals, "total": sum(vals.values())})
            self.add(code, zone, cols, rows)

    # -- -1/0/1 tables (SO1-1.T7, SO1-2.T3, SO1-3.T2, SO1-4.T1) ------------------------------------------------
    def degradation(self, code: str, variable: str, fallback_key: str | None, periods: list[str]) -> None:
        harmonised = self.t.get("subindicator_degradation")
        src = None
        if harmonised is not None and len(harmonised) and (harmonised["variable"] == variable).any():
            src = harmonised[harmonised["variable"] == variable]
        elif fallback_key and fallback_key in self.t and len(self.t[fallback_key]):
            src = self.t[fallback_key]
            if "variable" in src and (src["variable"] == variable).any():
                src = src[src["variable"] == variable]
        if src is None:
            return
        self._deg_table(code, src, periods)

    def _deg_table(self, code: str, src: pd.DataFrame, periods: list[str], labels: Iterable[tuple[int, str]]
                   = _DEG_ROWS) -> None:
        for zone in _zones(src):
            den = self.landof(zone[0])
            z = _z(src, zone[0])
            rows: list[dict[str, Any]] = []
            notes: list[str] = []
            for p in periods:
                zp = z[z["period"].astype(str) == p]
                if zp.empty:
                    continue
                a = _areas(zp)
                land = den.land_km2 if den else sum(v for k, v in a.items() if k != WATER)
                known = {k for k, _ in labels} | {WATER}
                nd_extra = sum(v for k, v in a.items() if k not in known)
                for c, lab in labels:
                    val = a.get(c, 0.0) + (nd_extra if c == NODATA else 0.0)
                    rows.append({"period": p, "class": lab, "area_km2": val, "percent": _pct(val, land)})
                if WATER in a:
                    notes.append(_en(_T_WATER, period=p, area=f"{a[WATER]:.3f}"))
                else:
                    notes.append(_en(_T_NO_WATER, period=p))
            self.add(code, zone, list(_DEG_COLS), rows, notes)

    def so1_2(self) -> None:
        t = self.t.get("lpd_by_lc")
        if t is not None and len(t):
            lpd_side = "a" if _is_lpd(t, "a") else "b"
            lc_side = "b" if lpd_side == "a" else "a"
            for code, label in (("SO1-2.T1", self.baseline.label),
                                ("SO1-2.T2", self.reporting[-1].label if self.reporting else None)):
                sel = t[t["period"].astype(str) == label] if label else t.iloc[0:0]
                if sel.empty:
                    continue
                cols = [Column(key="lc_class", label=N_("Land cover class"), kind="text")] + [
                    Column(key=f"lpd{k}", label=_en(_T_CLASS, n=k, label=v), kind="area")
                    for k, v in LPD_CLASSES.items()] + [
                    Column(key="lpd_nd", label=N_("No data"), kind="area")]
                for zone in _zones(sel):
                    z = _z(sel, zone[0])
                    rows = []
                    sums = _sum_by(z, f"class_code_{lc_side}", f"class_code_{lpd_side}")
                    for c, lab in _class_list(z, lc_side):
                        row: dict[str, Any] = {"lc_class": lab}
                        for k in LPD_CLASSES:
                            row[f"lpd{k}"] = sums.get((c, k), 0.0)
                        row["lpd_nd"] = sum(v for (lc, k), v in sums.items() if lc == c and k not in LPD_CLASSES)
                        rows.append(row)
                    self.add(code, zone, cols, rows, [_en(_T_PERIOD, period=label)])
        self.degradation("SO1-2.T3", "prod_degradation", "prod_degradation", self._all_periods())

    def so1_3(self) -> None:
        t = self.t.get("soc_by_lc")
        if t is not None and len(t):
            picked = self.pick("SO1-3.T1", t["period"], self.report_years())
            years = [y for _, y in picked]
            cols = [Column(key="lc_class", label=N_("Land cover class"), kind="text")] + [
                Column(key=f"y{y}", label=_en(_T_SOC, label=lab), kind="stock") for lab, y in picked]
            for zone in _zones(t):
                z = _z(t, zone[0])
                rows = []
                for c, lab in _class_list(z):
                    r = z[z["class_code"].astype(int) == c]
                    row: dict[str, Any] = {"lc_class": lab}
                    for y in years:
                        v = r[r["period"].astype(str) == y]["value"]
                        row[f"y{y}"] = _num(v.iloc[0]) if len(v) else None
                    rows.append(row)
                self.add("SO1-3.T1", zone, cols, rows, [N_("Tier 1 (modified IPCC).")])
        periods = [self.baseline.label] + ([self.reporting[-1].label] if self.reporting else [])
        self.degradation("SO1-3.T2", "soc_degradation", "soc_degradation", periods)

    def _all_periods(self) -> list[str]:
        return [self.baseline.label] + [p.label for p in self.reporting]

    def so1_4(self) -> None:
        sdg = self.t.get("sdg_degradation")
        st = self.t.get("status")
        if st is not None and len(st):
            s3 = st[st["variable"] == "status"] if "variable" in st else st
            self._deg_table("SO1-4.T1", s3, [p.label for p in self.reporting],
                            labels=((-1, N_("Degraded")), (0, N_("Stable")), (1, N_("Improved")), (NODATA, N_("No data"))))
        if sdg is not None and len(sdg):
            s = sdg[sdg["variable"] == "sdg_15_3_1"] if "variable" in sdg else sdg
            cols = [Column(key="assessment", label=N_("Assessment"), kind="text"),
                    Column(key="degraded_km2", label=N_("Total degraded area (km²)"), kind="area"),
                    Column(key="change_km2", label=N_("Change from baseline (km²)"), kind="change"),
                    Column(key="percent", label=N_("% of total land area"), kind="percent"),
                    Column(key="change_percent", label=N_("Change (% of total land area)"), kind="change_percent")]
            for zone in _zones(s):
                den = self.landof(zone[0])
                z = _z(s, zone[0])
                base = _areas(z[z["period"].astype(str) == self.baseline.label]).get(-1)
                if base is None:
                    continue
                land = den.land_km2 if den else 0.0
                rows = [{"assessment": _en(_T_BASELINE, period=self.baseline.label), "degraded_km2": base, "change_km2": 0.0,
                         "percent": _pct(base, land), "change_percent": 0.0}]
                for p in self.reporting:
                    if st is not None and len(st):
                        zs = _z(st[st["variable"] == "status"], zone[0])
                        a = _areas(zs[zs["period"].astype(str) == p.label])
                    else:
                        a = {}
                    if -1 not in a:
                        continue
                    rows.append({"assessment": _en(_T_STATUS, year=p.end, period=p.label), "degraded_km2": a[-1],
                                 "change_km2": a[-1] - base, "percent": _pct(a[-1], land),
                                 "change_percent": _pct(a[-1] - base, land)})
                subs = sorted({str(v) for v in z.get("sub_indicators", pd.Series(dtype=str)).dropna()})
                notes = [N_("Method: One-Out-All-Out.")] + ([_en(_T_SUBINDICATORS, names="; ".join(subs))]
                                                             if subs else [])
                for p in self.reporting:
                    own = _areas(z[z["period"].astype(str) == p.label]).get(-1)
                    if own is not None and len(rows) > 1:
                        notes.append(_en(_T_OWN_MAP, period=p.label, area=f"{own:.3f}"))
                if self.confidence:
                    notes.append(_en(_T_CONFIDENCE, level=self.confidence))
                self.add("SO1-4.T2", zone, cols, rows, notes)
        sites = self.t.get("sites")
        if sites is not None and len(sites):
            for code, kind in (("SO1-4.T3", "recode"), ("SO1-4.T4", "hotspot"), ("SO1-4.T5", "brightspot")):
                k = sites[sites["kind"] == kind]
                if k.empty:
                    continue
                if kind == "recode":
                    cols = [Column(key="location", label=N_("Location"), kind="text"),
                            Column(key="area_km2", label=N_("Area (km²)"), kind="area"),
                            Column(key="process", label=N_("Type / process"), kind="text"),
                            Column(key="target", label=N_("Recoded to"), kind="text"),
                            Column(key="basis", label=N_("Basis for judgement"), kind="text"),
                            Column(key="start", label=N_("Period when it started"), kind="text")]
                else:
                    cols = [Column(key="location", label=N_("Location"), kind="text"),
                            Column(key="area_km2", label=N_("Area (km²)"), kind="area"),
                            Column(key="process", label=N_("Assessment process"), kind="text"),
                            Column(key="drivers", label=N_("Drivers"), kind="text"),
                            Column(key="actions", label=N_("Remediation actions"), kind="text")]
                rows = [{c.key: (float(r[c.key]) if c.kind != "text" else str(r[c.key] or "")) for c in cols}
                        for _, r in k.iterrows()]
                notes: list[str] = []
                shares = self.t.get("site_shares")
                if shares is not None and len(shares):
                    sh = shares[(shares["kind"] == kind) & (shares["class_code"].astype(int) == -1)]
                    names = {"sdg_15_3_1": N_("SDG 15.3.1"), "land_cover": N_("land cover"),
                             "productivity": N_("productivity"), "soil_carbon": N_("SOC")}
                    for var in [v for v in names if v in set(sh["variable"])]:
                        cols.append(Column(key=f"deg_{var}", label=_en(_T_SITE_SHARE, name=names[var]), kind="percent"))
                        by_site = dict(zip(sh[sh["variable"] == var]["site_id"].astype(str),
                                           sh[sh["variable"] == var]["share"].astype(float), strict=True))
                        for sid, row in zip(k["site_id"].astype(str), rows, strict=True):
                            row[f"deg_{var}"] = 100.0 * by_site[sid] if sid in by_site else None
                    if len(sh):
                        notes.append(_en(_T_SITE_NOTE, period=sh["period"].iloc[0]))
                self.add(code, ("ALL", N_("Area of interest")), cols, rows, notes)

    # -- SO2-3 ----------------------------------------------------------------------------------------------
    def so2_3(self) -> None:
        pop = self.t.get("population_degraded")
        if pop is None or not len(pop):
            return
        cols = [Column(key="year", label=N_("Year"), kind="text")]
        for g, lab in (("total", N_("% of total population on degraded land")),
                       ("female", N_("% of female population on degraded land")),
                       ("male", N_("% of male population on degraded land"))):
            cols.append(Column(key=f"pct_{g}", label=lab, kind="percent"))
        for g, lab in (("total", N_("Total population on degraded land")),
                       ("female", N_("Female population on degraded land")),
                       ("male", N_("Male population on degraded land"))):
            cols.append(Column(key=f"n_{g}", label=lab, kind="count"))
        for zone in _zones(pop):
            z = _z(pop, zone[0])
            rows = []
            for year in sorted({str(p) for p in z["period"]}):
                zy = z[z["period"].astype(str) == year]
                row: dict[str, Any] = {"year": year}
                for g in ("total", "female", "male"):
                    v = zy[zy["variable"] == f"population_{g}"]
                    if v.empty:
                        row[f"pct_{g}"] = row[f"n_{g}"] = None
                        continue
                    tot = float(v["value"].sum())
                    deg = float(v[v["class_code"].astype(int) == -1]["value"].sum())
                    row[f"pct_{g}"] = _pct(deg, tot)
                    row[f"n_{g}"] = deg
                rows.append(row)
            self.add("SO2-3.T1", zone, cols, rows,
                     [N_("Percentages of the same group's total population in the same year (CP-1.T2).")])

    # -- SO3 ------------------------------------------------------------------------------------------------
    def so3(self) -> None:
        names = {1: "Mild", 2: "Moderate", 3: "Severe", 4: "Extreme"}
        km2 = {1: N_("Mild (km²)"), 2: N_("Moderate (km²)"), 3: N_("Severe (km²)"), 4: N_("Extreme (km²)")}
        pct = {1: N_("Mild (%)"), 2: N_("Moderate (%)"), 3: N_("Severe (%)"), 4: N_("Extreme (%)")}
        d = self.t.get("drought_area")
        if d is not None and len(d):
            cols = [Column(key="year", label=N_("Year"), kind="text")]
            for k in names:
                cols += [Column(key=f"a{k}", label=km2[k], kind="area"),
                         Column(key=f"p{k}", label=pct[k], kind="percent")]
            cols2 = [Column(key="year", label=N_("Year"), kind="text"),
                     Column(key="percent", label=N_("% of total land area under drought"), kind="percent")]
            for zone in _zones(d):
                den = self.landof(zone[0])
                z = _z(d, zone[0])
                rows, rows2 = [], []
                for year, zy in z.groupby(z["period"].astype(str), sort=True):
                    a = _areas(zy)
                    land = den.land_km2 if den else sum(v for k, v in a.items() if k != WATER)
                    row: dict[str, Any] = {"year": year}
                    for k in names:
                        row[f"a{k}"] = a.get(k, 0.0)
                        row[f"p{k}"] = _pct(a.get(k, 0.0), land)
                    rows.append(row)
                    rows2.append({"year": year, "percent": _pct(sum(a.get(k, 0.0) for k in names), land)})
                self.add("SO3-1.T1", zone, cols, rows)
                self.add("SO3-1.T2", zone, cols2, rows2)
        dp = self.t.get("drought_population")
        if dp is not None and len(dp):
            for code, g in (("SO3-2.T1", "total"), ("SO3-2.T2", "female"), ("SO3-2.T3", "male")):
                sel = dp[dp["variable"].astype(str).map(_group) == g]
                if sel.empty:
                    continue
                cols = [Column(key="year", label=N_("Year"), kind="text")] + [
                    Column(key=f"p{k}", label=pct[k], kind="percent") for k in names] + [
                    Column(key="any", label=N_("Any drought (%)"), kind="percent")]
                agg = sel.groupby([sel["zone_id"].astype(str), sel["period"].astype(str),
                                   sel["class_code"].astype(int)], sort=True)["value"].sum()
                per: dict[tuple[str, str], dict[int, float]] = {}
                for (zid, year, k), v in agg.items():
                    per.setdefault((zid, year), {})[int(k)] = float(v)
                for zone in _zones(sel):
                    rows = []
                    for (zid, year), by in per.items():
                        if zid != zone[0]:
                            continue
                        tot = sum(by.values())
                        row: dict[str, Any] = {"year": year}
                        for k in names:
                            row[f"p{k}"] = _pct(by.get(k, 0.0), tot)
                        row["any"] = _pct(sum(by.get(k, 0.0) for k in names), tot)
                        rows.append(row)
                    self.add(code, zone, cols, rows)
        dvi = self.t.get("dvi")
        if dvi is not None and len(dvi):
            cols = [Column(key="year", label=N_("Year"), kind="text")] + [
                Column(key=g, label=lab, kind="index") for g, lab in (
                    ("total", N_("DVI total")), ("female", N_("DVI female")), ("male", N_("DVI male")))]
            for zone in _zones(dvi):
                z = _z(dvi, zone[0])
                rows = []
                for year in sorted({str(p) for p in z["period"]}):
                    zy = z[z["period"].astype(str) == year]
                    row: dict[str, Any] = {"year": year}
                    for g in ("total", "female", "male"):
                        v = zy[zy["variable"].astype(str).map(_group) == g]["value"]
                        row[g] = _num(v.iloc[0]) if len(v) else None
                    rows.append(row)
                self.add("SO3-3.T1", zone, cols, rows)
        trend = self.t.get("dvi_trend")
        if trend is not None and len(trend):
            cols = [Column(key="group", label=N_("Group"), kind="text"),
                    Column(key="first_year", label=N_("First year"), kind="text"),
                    Column(key="last_year", label=N_("Last year"), kind="text"),
                    Column(key="change", label=N_("Change of the DVI"), kind="change"),
                    Column(key="direction", label=N_("Direction of change"), kind="text")]
            for zone in _zones(trend):
                rows = [{"group": str(r["group"]), "first_year": str(r["first_year"]), "last_year": str(r["last_year"]),
                         "change": _num(r["change"]), "direction": str(r["direction"])}
                        for _, r in _z(trend, zone[0]).iterrows()]
                self.add("SO3-3.T2", zone, cols, rows)


def _sum_by(df: pd.DataFrame, *keys: str, value: str = "area_km2") -> dict[tuple[Any, ...], float]:
    """Sums of ``value`` by integer ``keys`` as a plain dict (one groupby instead of many boolean filters)."""
    if df.empty:
        return {}
    g = df.groupby([df[k].astype(int) for k in keys], sort=False)[value].sum()
    return {tuple(int(x) for x in (k if isinstance(k, tuple) else (k,))): float(v) for k, v in g.items()}


def _pick(periods: Iterable[Any], wanted: list[int]) -> list[tuple[str, str]]:
    """For each wanted year, the closest available year of a table: ``(row label, year used)``.

    The label is the wanted year, with the data year in brackets when it differs (substitution shown, C5).
    """
    available = sorted({int(p) for p in map(str, periods) if p.isdigit()})
    out: list[tuple[str, str]] = []
    seen: set[int] = set()
    for w in wanted:
        if not available:
            break
        best = _closest_year(available, w, what="land cover").used
        if best in seen and best != w:
            continue
        seen.add(best)
        out.append((str(w) if best == w else _en(_T_DATA_YEAR, year=w, data_year=best), str(best)))
    return out


def _group(variable: str) -> str:
    v = variable.lower()
    if "female" in v:
        return "female"
    if "male" in v:
        return "male"
    return "total"


def _class_list(df: pd.DataFrame, side: str = "") -> list[tuple[int, str]]:
    cc = f"class_code_{side}" if side else "class_code"
    cl = f"class_label_{side}" if side else "class_label"
    out: dict[int, str] = {}
    for c, lab in zip(df[cc].astype(int), df[cl].astype(str) if cl in df else df[cc].astype(str), strict=True):
        out.setdefault(int(c), lab)
    return sorted(out.items(), key=lambda kv: (kv[0] == NODATA, kv[0]))


def _is_lpd(df: pd.DataFrame, side: str) -> bool:
    labels = {str(v).lower() for v in df[f"class_label_{side}"]}
    return bool(labels & {v.lower() for v in LPD_CLASSES.values()})


# ----------------------------------------------------------------------------------------------------------------


def build_report(
    tables: dict[str, pd.DataFrame],
    *,
    baseline: str | Period,
    reporting: list[str] | list[Period],
    official_land_area_km2: float | None = None,
    water_mask_year: int | None = None,
    substitutions: Iterable[str] = (),
    confidence: str | None = None,
    validate: bool = True,
    ledger: Mapping[str, Any] | None = None,
    strict_codes: bool | None = None,
) -> PRAISReport:
    """Build every PRAIS table the run has data for, per admin unit, and validate them.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Tidy tables keyed as in architecture.md ("Stage table keys"); missing keys give missing PRAIS tables.
    baseline : str or Period
        Baseline period, e.g. ``"2000-2015"``.
    reporting : list of str or Period
        Reporting periods, in order (the last one is the latest).
    official_land_area_km2 : float, optional
        Official CP-1.T1 land area of the whole area of interest (replaces the computed one as denominator).
    water_mask_year : int, optional
        Land cover year of the water mask (default: the baseline's initial year, docs/differences.md).
    substitutions : iterable of str
        Substitutions recorded during the run (reported with check C5).
    confidence : {"high", "medium", "low"}, optional
        Confidence in the SDG 15.3.1 estimate (SO1-4.T2 tick box).
    validate : bool
        Run :func:`validate_report` (raises on the first broken rule).
    ledger : dict, optional
        The run's area ledger (:meth:`openldn.pipeline.ledger.AreaLedger.summary`): the land, water and total area
        of every zone and the denominator of every percentage. Without it they are read from the ``land_area``
        table at ``water_mask_year`` (a report built from tables alone).
    strict_codes : bool, optional
        ``land_cover.strict_codes`` of the run (whether rule C4 was enforced by the land cover stage).

    Returns
    -------
    PRAISReport
    """
    b = Period.from_user_input(baseline)
    rep = [Period.from_user_input(p) for p in reporting]
    if ledger is not None:
        land = _land_from_ledger(ledger)
    else:
        year = water_mask_year if water_mask_year is not None else b.start
        land = land_area_from_tables(tables, year=year, official_land_area_km2=official_land_area_km2)
    bld = _Builder(tables, b, rep, land)
    bld.confidence = confidence
    skipped: list[str] = []
    sections = (("CP-1", bld.cp1), ("SO1-1", bld.so1_1),
                ("SO1-1.T7", lambda: bld.degradation("SO1-1.T7", "lc_degradation", "lc_degradation",
                                                     bld._all_periods())),
                ("SO1-2", bld.so1_2), ("SO1-3", bld.so1_3), ("SO1-4", bld.so1_4), ("SO2-3", bld.so2_3),
                ("SO3", bld.so3))
    for name, build in sections:
        try:
            build()
        except (KeyError, ValueError, TypeError, AttributeError) as err:
            if isinstance(err, PRAISValidationError):
                raise
            # a stage table with an unexpected layout must not hide every other table
            skipped.append(_en(_T_SKIPPED, section=name, error=f"{type(err).__name__}: {err}"))
    report = PRAISReport(
        baseline=b.label,
        reporting=[p.label for p in rep],
        land_area={k: {"land_km2": v.land_km2, "water_km2": v.water_km2, "nodata_km2": v.nodata_km2,
                       "country_km2": v.country_km2, "computed_land_km2": v.computed_land_km2,
                       "source": v.source} for k, v in land.items()},
        tables=bld.out,
        substitutions=[*substitutions, *bld.subs],
        skipped=skipped,
    )
    if validate:
        validate_report(report, strict_codes=strict_codes, has_land_cover="lc_area" in tables)
    from openldn.reporting.certificate import consistency_certificate

    report.consistency = consistency_certificate(tables, report, ledger=ledger)
    return report


def _land_from_ledger(ledger: Mapping[str, Any]) -> dict[str, LandArea]:
    """Denominators of every zone from the area ledger's summary."""
    out = {}
    src = _en(_T_LEDGER, source=ledger.get("source", ""))
    for zid, z in ledger["zones"].items():
        den, land = float(z["denominator_km2"]), float(z["land_km2"])
        official = den != land
        out[str(zid)] = LandArea(str(zid), den, float(z["water_km2"]), float(z["land_nodata_km2"]),
                                 N_("official (CP-1.T1)") if official else src, data_land_km2=land if official else None)
    return out


def _fail(t: PRAISTable, i: int | None, rule: str, what: str, fix: str) -> PRAISValidationError:
    row = ""
    if i is not None:
        first = t.rows[i].get(t.columns[0].key) if t.rows else ""
        row = f", row {i + 1} ({first})"
    return PRAISValidationError(f"{t.code} [{t.zone_id}]{row}: rule {rule}: {what}; {fix}.")


def validate_report(report: PRAISReport, *, rel_tol: float = 1e-6, strict_codes: bool | None = None,
                    has_land_cover: bool = True) -> list[str]:
    """Check every table with PRAIS rules V1-V3 and openldn checks C1-C8 (PRAIS 2026 reporting manual, validation rules).

    Parameters
    ----------
    report : PRAISReport
        The tables to check.
    rel_tol : float
        Relative tolerance of the area sums (C1) and of the 100 % bound.
    strict_codes : bool, optional
        Whether the land cover stage stopped on unmapped codes (``land_cover.strict_codes``; rule C4).
    has_land_cover : bool
        Whether the run has land cover tables (C4 applies only then).

    Returns
    -------
    list of str
        The rules that were checked and passed (also ``report.checks``). ``report.rules`` lists every rule with
        its status: ``passed``, ``partly checked`` or ``not checked`` (a broken rule raises).

    Raises
    ------
    PRAISValidationError
        On the first broken rule; the message names the table, the zone, the row and the rule.
    """
    for t in report.tables:
        model = t.row_model()
        for i, r in enumerate(t.rows):
            try:
                model.model_validate({c.key: r.get(c.key) for c in t.columns})
            except ValidationError as err:
                loc = err.errors()[0]["loc"][0] if err.errors() and err.errors()[0]["loc"] else "?"
                raise _fail(t, i, "V3", f"field {loc!r} value {r.get(str(loc))!r} is not a number",
                            "numeric fields take numbers only") from None
            for c in t.columns:
                v = r.get(c.key)
                if c.kind == "text" or v is None:
                    continue
                if not math.isfinite(v):
                    raise _fail(t, i, "V3", f"field {c.label!r} is {v}", "numeric fields take finite numbers")
                if c.kind in NON_NEGATIVE and v < -1e-9:
                    raise _fail(t, i, "V2", f"field {c.label!r} is negative ({v})", "check the source table")
                if c.kind == "percent" and v > 100.0 * (1 + rel_tol) + 1e-9:
                    rule = "C6" if t.code.startswith(("SO2", "SO3-2")) else "V1"
                    raise _fail(t, i, rule, f"field {c.label!r} is {v:.4f} %, above 100 %",
                                "the denominator is smaller than the part (check the land area or population)")
                if c.kind == "index" and not 0.0 <= v <= 1.0:
                    raise _fail(t, i, "C8", f"DVI {c.label!r} is {v}, outside [0, 1]", "normalise the factors")

    # V1: no area above the total country area of CP-1.T1; C1: class areas sum to the one land area (every -1/0/1
    # table, whatever its notes say)
    n_c1 = 0
    for t in report.tables:
        la = report.land_area.get(t.zone_id)
        if la is None:
            continue
        country = la["country_km2"]
        tol = rel_tol * max(country, 1.0) + 1e-6
        for i, r in enumerate(t.rows):
            for c in t.columns:
                v = r.get(c.key)
                if c.kind == "area" and v is not None and v > country + tol and t.code != "CP-1.T1":
                    raise _fail(t, i, "V1", f"{c.label} {v:.3f} km² exceeds the total country area "
                                f"{country:.3f} km² (CP-1.T1)", "check the area of interest and CP-1.T1")
        if t.columns == _DEG_COLS:
            computed = la.get("computed_land_km2", la["land_km2"])
            for period in dict.fromkeys(r["period"] for r in t.rows):
                s = sum(r["area_km2"] for r in t.rows if r["period"] == period)
                n_c1 += 1
                if computed is not None and abs(s - computed) > tol:
                    raise _fail(t, None, "C1", f"period {period}: classes sum to {s:.6f} km², not the total land "
                                f"area {computed:.6f} km²", "use one water mask for every table (C2)")
    has_so3 = any(t.code.startswith("SO3-1") for t in report.tables)
    rules = [
        ("V1", "passed", N_("every area of every table compared with the zone's total country area (CP-1.T1 land + "
                            "water); every percentage compared with 100 %")),
        ("V2", "passed", N_("every value of a non-negative column (areas, percentages, counts, stocks, DVI)")),
        ("V3", "passed", N_("every numeric field validated as a finite number")),
        ("C1", "passed" if n_c1 else "not checked", _en(_T_C1, n=n_c1)),
        ("C2", "passed", N_("one land area (the area ledger's) is the denominator of every SO1 table; each table's "
                            "land total is compared with it in the consistency certificate")),
        ("C3", "not checked", N_("at most 5 region matrices is enforced when the run file is read; that the regions "
                                 "cover the land exactly once is not checked")),
        ("C4", ("passed" if strict_codes and has_land_cover else "not checked"),
         (N_("enforced by the land cover stage: land_cover.strict_codes is true, so an unmapped code would have "
             "stopped the run") if strict_codes and has_land_cover else
          N_("land_cover.strict_codes is false (unmapped codes are counted as no data) or no land cover")
          if has_land_cover else N_("no land cover in the run"))),
        ("C5", "passed", _en(_T_C5, n=len(report.substitutions))),
        ("C6", "partly checked", N_("percentages compared with 100 %; that each group divides by its own national "
                                    "total holds by construction of SO2-3.T1 and SO3-2 and is not re-checked")),
        ("C7", "passed" if has_so3 else "not checked",
         N_("SO3-1 percentages divide by the area ledger's denominator; compared in the consistency certificate")
         if has_so3 else N_("no SO3-1 table")),
        ("C8", "passed", N_("every DVI value compared with [0, 1]")),
    ]
    from openldn.reporting.certificate import RULES

    report.rules = [{"rule": k, "text": RULES[k], "status": st, "how": how} for k, st, how in rules]
    report.checks = [k for k, st, _ in rules if st == "passed"]
    return list(report.checks)
