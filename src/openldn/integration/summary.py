"""Proportion of degraded land, the land-area denominator and the change assessment (GPG v2 (Sims et al. 2021) ch. 2; docs/differences.md, §7.5, §16).

Denominator rule (one denominator per run):

* total land area = area of interest minus inland water;
* water is taken from the land cover of the **initial year of the baseline** (default), or from an official
  CP-1.T1 value when supplied (``official_land_area_km2``);
* total land area = area of interest minus water, so cells without land cover data stay in the denominator and are
  reported as their own row; water is reported separately and is never part of the denominator.

Tables here are the tidy tables of architecture.md (``zone_id, zone_name, period, variable, class_code,
class_label, area_km2, share_of_area, share_of_land``). Water rows carry :data:`openldn.core.codes.WATER`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import xarray as xr

from openldn.core.codes import NODATA, WATER  # WATER re-exported: the one water code of every table
from openldn.core.years import closest_year as _closest_year

__all__ = [
    "SDG_LABELS",
    "STATUS7_LABELS",
    "WATER",
    "LandArea",
    "change_assessment",
    "class_areas",
    "land_area_from_tables",
    "proportion_degraded",
]

#: Labels of the 3-class codes used in every -1/0/1 table.
SDG_LABELS: dict[int, str] = {-1: "Degraded", 0: "Stable", 1: "Improved", NODATA: "No data", WATER: "Water body"}
#: Labels of the 7-class status.
STATUS7_LABELS: dict[int, str] = {
    1: "Persistent degradation",
    2: "Recent degradation",
    3: "Baseline degradation",
    4: "Stability",
    5: "Baseline improvement",
    6: "Recent improvement",
    7: "Persistent improvement",
    NODATA: "No data",
    WATER: "Water body",
}


def proportion_degraded(
    sdg: xr.DataArray, area: xr.DataArray, *, land: xr.DataArray | None = None
) -> xr.DataArray:
    """SDG 15.3.1: degraded area over total land area, in percent.

    Parameters
    ----------
    sdg : xarray.DataArray
        1OAO or status layer, -1/0/1 with nodata -32768, dims ``(y, x)``.
    area : xarray.DataArray
        Area of each cell in m² (``openldn.pixel_area``), same grid.
    land : xarray.DataArray, optional
        Boolean land mask (True on land, False on water and outside the area of interest). Without it every cell is
        land. No-data cells on land count in the denominator.

    Returns
    -------
    xarray.DataArray
        0-d float64, percent of land area that is degraded; lazy when the inputs are dask-backed.

    References
    ----------
    GPG v2 (Sims et al. 2021) ch. 2; docs/differences.md; PRAIS 2026 §1.4.1.
    """
    land_mask = xr.ones_like(sdg, dtype=bool) if land is None else land.astype(bool)
    a = area.astype("float64")
    land_area = a.where(land_mask, 0.0).sum()
    degraded = a.where(land_mask & (sdg == -1), 0.0).sum()
    out = 100.0 * degraded / land_area
    out.name = "proportion_degraded"
    out.attrs = {"units": "%", "long_name": "Proportion of land that is degraded (SDG 15.3.1)"}
    return out


@dataclass(frozen=True)
class LandArea:
    """The land-area denominator of one zone, in km².

    ``land_km2`` = area of the zone minus inland water ("country area minus inland water bodies", PRAIS 2026
    §1.4.1); cells without land cover data stay in it and are reported as ``nodata_km2``.
    """

    #: Zone id (``"ALL"`` for the whole area of interest).
    zone_id: str
    #: Total land area (denominator of every percentage), no-data cells included.
    land_km2: float
    #: Inland water, reported separately, never in the denominator.
    water_km2: float
    #: Part of ``land_km2`` without land cover data (reported separately).
    nodata_km2: float
    #: Where the value comes from, e.g. ``"land_area 2000"`` or ``"official (CP-1.T1)"``.
    source: str
    #: Land area computed from the data (differs from ``land_km2`` only with an official value).
    data_land_km2: float | None = None

    @property
    def country_km2(self) -> float:
        """Total country area = land + water (PRAIS computes it so)."""
        return self.land_km2 + self.water_km2

    @property
    def computed_land_km2(self) -> float:
        """Land area from the data (what class tables sum to)."""
        return self.land_km2 if self.data_land_km2 is None else self.data_land_km2


def _kind(label: str, code: int) -> str:
    low = str(label).lower()
    if int(code) == NODATA or "no data" in low or "nodata" in low:
        return "nodata"
    if "water" in low or int(code) == WATER:
        return "water"
    return "land"


def land_area_from_tables(
    tables: dict[str, pd.DataFrame],
    *,
    year: int,
    official_land_area_km2: float | None = None,
) -> dict[str, LandArea]:
    """Land-area denominator per zone from the run's tables.

    Sources, in order: the official value (whole area of interest only); the ``land_area`` table (land/water/no data
    per year) at ``year``; the ``lc_area`` table at ``year`` (class 7 = water, nodata separate); else the zone totals
    of ``sdg_degradation`` (water rows with code :data:`WATER`).

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Tidy tables keyed as in architecture.md.
    year : int
        Year of the water mask (initial year of the baseline by default, docs/differences.md).
    official_land_area_km2 : float, optional
        Official CP-1.T1 land area for the whole area of interest.

    Returns
    -------
    dict of str to LandArea
        One entry per zone id.
    """
    out: dict[str, LandArea] = {}
    if "land_area" in tables and len(tables["land_area"]):
        t = tables["land_area"]
        sel = t[t["period"].astype(str) == str(year)]
        if sel.empty:  # closest available year
            years = sorted({int(p) for p in t["period"].astype(str) if p.isdigit()})
            if years:
                best = _closest_year(years, year, what="land area").used
                sel = t[t["period"].astype(str) == str(best)]
                year = best
        src = f"land_area {year}"
    elif "lc_area" in tables and len(tables["lc_area"]):
        t = tables["lc_area"]
        years = sorted({int(p) for p in t["period"].astype(str) if p.isdigit()})
        best = _closest_year(years, year, what="land area").used if years else year
        sel = t[t["period"].astype(str) == str(best)].copy()
        sel["class_label"] = [
            "Water" if int(c) == 7 else ("No data" if int(c) == NODATA else "Land") for c in sel["class_code"]
        ]
        src = f"lc_area {best} (class 7 = water)"
    elif "sdg_degradation" in tables:
        t = tables["sdg_degradation"]
        first = str(t["period"].iloc[0])
        sel = t[t["period"] == first].copy()
        sel["class_label"] = ["Water" if int(c) == WATER else "Land" for c in sel["class_code"]]
        src = f"sdg_degradation {first}"
    else:
        return out
    for zid, g in sel.groupby(sel["zone_id"].astype(str), sort=False):
        acc = {"land": 0.0, "water": 0.0, "nodata": 0.0}
        for lab, code, a in zip(g["class_label"], g["class_code"], g["area_km2"], strict=True):
            acc[_kind(lab, code)] += float(a)
        land = acc["land"] + acc["nodata"]
        out[zid] = LandArea(zid, land, acc["water"], acc["nodata"], src)
    if official_land_area_km2 is not None and "ALL" in out:
        o = out["ALL"]
        out["ALL"] = LandArea("ALL", float(official_land_area_km2), o.water_km2, o.nodata_km2,
                              "official (CP-1.T1)", data_land_km2=o.land_km2)
    return out


def class_areas(table: pd.DataFrame, *, zone_id: str = "ALL", period: str | None = None) -> dict[int, float]:
    """Area (km²) by class code of one zone and period of a tidy class table.

    Parameters
    ----------
    table : pandas.DataFrame
        Tidy class table.
    zone_id : str
        Zone to read.
    period : str, optional
        Period label; all rows of the zone when None.

    Returns
    -------
    dict of int to float
        Class code -> km² (classes absent from the table are absent from the dict).
    """
    sel = table[table["zone_id"].astype(str) == str(zone_id)]
    if period is not None:
        sel = sel[sel["period"].astype(str) == str(period)]
    out: dict[int, float] = {}
    for c, a in zip(sel["class_code"], sel["area_km2"], strict=True):
        out[int(c)] = out.get(int(c), 0.0) + float(a)
    return out


def change_assessment(baseline_degraded_km2: float, latest_degraded_km2: float, land_km2: float) -> dict[str, float]:
    """Change in degraded area between the baseline and the latest status (PRAIS 2026 reporting manual §1.4; GPG v2 ch. 2; GPG Addendum 2025).

    Parameters
    ----------
    baseline_degraded_km2 : float
        Degraded area of the baseline assessment.
    latest_degraded_km2 : float
        Degraded area of the latest status assessment.
    land_km2 : float
        Total land area (denominator).

    Returns
    -------
    dict
        ``change_km2`` (latest minus baseline) and ``change_percent`` (of total land area).
    """
    change = latest_degraded_km2 - baseline_degraded_km2
    pct = 100.0 * change / land_km2 if land_km2 > 0 else float("nan")
    return {"change_km2": change, "change_percent": pct}
