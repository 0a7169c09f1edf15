"""A factory of tidy tables in the documented format (architecture.md "Zonal API ... and tidy tables").

Two admin units Z1, Z2 and the whole area ``ALL`` (= Z1 + Z2). Land, water and no-data areas are fixed by hand so
that expected values can be written down independently of the code under test:

* Z1: land 600 km², no data 10 km², water 40 km² -> total land area (denominator) 610 km²;
* Z2: land 300 km², no data 0, water 10 km² -> 300 km²;
* ALL: 910 km² land area, 50 km² water, country area 960 km².
"""

from __future__ import annotations

import pandas as pd

ND = -32768
WATER = -2
BASELINE = "2000-2015"
REPORTING = ["2016-2019", "2016-2023"]
ZONES = {"Z1": ("North", 600.0, 10.0, 40.0), "Z2": ("South", 300.0, 0.0, 10.0)}
DEG = {-1: "Degraded", 0: "Stable", 1: "Improved", ND: "No data", WATER: "Water body"}
UNCCD = {1: "Tree-covered", 2: "Grassland", 3: "Cropland", 4: "Wetland", 5: "Artificial", 6: "Other land",
         7: "Water body"}
LPD = {1: "Declining", 2: "Moderate decline", 3: "Stable but stressed", 4: "Stable", 5: "Increasing"}

# hand-chosen -1/0/1 splits of each zone's land (nodata row = the zone's no-data area)
SPLITS = {
    # variable -> period -> zone -> (degraded, stable, improved)
    "lc_degradation": {BASELINE: {"Z1": (60, 500, 40), "Z2": (30, 250, 20)},
                       "2016-2019": {"Z1": (20, 560, 20), "Z2": (10, 280, 10)},
                       "2016-2023": {"Z1": (30, 540, 30), "Z2": (15, 270, 15)}},
    "prod_degradation": {BASELINE: {"Z1": (100, 400, 100), "Z2": (50, 200, 50)},
                         "2016-2019": {"Z1": (90, 420, 90), "Z2": (40, 230, 30)},
                         "2016-2023": {"Z1": (80, 440, 80), "Z2": (45, 220, 35)}},
    "soc_degradation": {BASELINE: {"Z1": (10, 580, 10), "Z2": (5, 290, 5)},
                        "2016-2019": {"Z1": (10, 580, 10), "Z2": (5, 290, 5)},
                        "2016-2023": {"Z1": (12, 576, 12), "Z2": (6, 288, 6)}},
    "sdg_15_3_1": {BASELINE: {"Z1": (150, 350, 100), "Z2": (70, 180, 50)},
                   "2016-2019": {"Z1": (110, 390, 100), "Z2": (50, 200, 50)},
                   "2016-2023": {"Z1": (100, 380, 120), "Z2": (60, 190, 50)}},
    "status": {"2016-2019": {"Z1": (160, 290, 150), "Z2": (80, 150, 70)},
               "2016-2023": {"Z1": (140, 300, 160), "Z2": (90, 140, 70)}},
}


def _zone_rows(zone: str) -> tuple[str, float, float, float]:
    return ZONES[zone]


def _with_all(rows: list[dict], keys: list[str], value: str) -> list[dict]:
    """Append the ALL zone as the sum of the zones for every combination of ``keys``."""
    df = pd.DataFrame(rows)
    agg = df.groupby(keys, as_index=False, sort=False)[value].sum()
    agg["zone_id"] = "ALL"
    agg["zone_name"] = "Area of interest"
    return rows + agg.to_dict("records")


def _class_rows(variable: str, period: str, values: dict[str, dict[int, float]], labels: dict[int, str]) -> list:
    rows = []
    for z, cls in values.items():
        tot = sum(cls.values())
        for c, a in cls.items():
            rows.append({"zone_id": z, "zone_name": ZONES[z][0], "period": period, "variable": variable,
                         "class_code": c, "class_label": labels.get(c, str(c)), "area_km2": float(a),
                         "share": a / tot})
    return rows


def _finish(rows: list[dict]) -> pd.DataFrame:
    rows = _with_all(rows, ["period", "variable", "class_code", "class_label"], "area_km2")
    df = pd.DataFrame(rows)
    tot = df.groupby(["zone_id", "period", "variable"])["area_km2"].transform("sum")
    df["share"] = df["area_km2"] / tot
    return df[["zone_id", "zone_name", "period", "variable", "class_code", "class_label", "area_km2", "share"]]


def make_tables(*, drought: bool = True) -> dict[str, pd.DataFrame]:
    """Every stage table of a consistent two-zone run."""
    t: dict[str, pd.DataFrame] = {}
    rows = []
    for y in ("2000", "2015", "2019", "2023"):
        rows += _class_rows("land_area", y, {z: {1: v[1], 2: v[3], ND: v[2]} for z, v in ZONES.items()},
                            {1: "Land", 2: "Water bodies", ND: "No data"})
    t["land_area"] = _finish(rows)

    sub = []
    for var in ("lc_degradation", "prod_degradation", "soc_degradation"):
        for p, zs in SPLITS[var].items():
            sub += _class_rows(var, p, {z: {-1: d, 0: s, 1: i, ND: ZONES[z][2], WATER: ZONES[z][3]}
                                        for z, (d, s, i) in zs.items()}, DEG)
    t["subindicator_degradation"] = _finish(sub)
    sdg = []
    for p, zs in SPLITS["sdg_15_3_1"].items():
        sdg += _class_rows("sdg_15_3_1", p, {z: {-1: d, 0: s, 1: i, ND: ZONES[z][2], WATER: ZONES[z][3]}
                                             for z, (d, s, i) in zs.items()}, DEG)
    t["sdg_degradation"] = _finish(sdg)
    st = []
    for p, zs in SPLITS["status"].items():
        st += _class_rows("status", p, {z: {-1: d, 0: s, 1: i, ND: ZONES[z][2], WATER: ZONES[z][3]}
                                        for z, (d, s, i) in zs.items()}, DEG)
        # 7-class: split degraded into 1/2/3, stable 4, improved 5/6/7 (sums consistent with the 3-class rows)
        st += _class_rows("status7", p, {z: {1: d / 2, 2: d / 4, 3: d / 4, 4: s, 5: i / 2, 6: i / 4, 7: i / 4,
                                             ND: ZONES[z][2], WATER: ZONES[z][3]}
                                         for z, (d, s, i) in zs.items()},
                          {1: "Persistent degradation", 2: "Recent degradation", 3: "Baseline degradation",
                           4: "Stability", 5: "Baseline improvement", 6: "Recent improvement",
                           7: "Persistent improvement", ND: "No data", WATER: "Water body"})
    t["status"] = _finish(st)

    lc = []
    for y in ("2000", "2015", "2019", "2023"):
        lc += _class_rows("land_cover", y, {z: {1: v[1] * 0.3, 2: v[1] * 0.3, 3: v[1] * 0.2, 4: v[1] * 0.05,
                                                5: v[1] * 0.05, 6: v[1] * 0.1, 7: v[3], ND: v[2]}
                                            for z, v in ZONES.items()}, {**UNCCD, ND: "No data"})
    t["lc_area"] = _finish(lc)

    tr = []
    for p in (BASELINE, "2016-2023"):
        for z, v in ZONES.items():
            for a in range(1, 8):
                for b in range(1, 8):
                    area = (v[1] / 7 * 0.8 if a == b else v[1] / 7 * 0.2 / 6) if a < 7 and b < 7 else (
                        v[3] if a == b == 7 else 0.0)
                    tr.append({"zone_id": z, "zone_name": v[0], "period": p, "variable": "lc_transition",
                               "class_code_a": a, "class_label_a": UNCCD[a], "class_code_b": b,
                               "class_label_b": UNCCD[b], "area_km2": area})
    tr = _with_all(tr, ["period", "variable", "class_code_a", "class_label_a", "class_code_b", "class_label_b"],
                   "area_km2")
    t["lc_transitions"] = pd.DataFrame(tr)

    lp = []
    for p in (BASELINE, "2016-2023"):
        for z, v in ZONES.items():
            for k in LPD:
                for c in range(1, 7):
                    lp.append({"zone_id": z, "zone_name": v[0], "period": p, "variable": "lpd_by_lc",
                               "class_code_a": k, "class_label_a": LPD[k], "class_code_b": c,
                               "class_label_b": UNCCD[c], "area_km2": v[1] / 30})
    t["lpd_by_lc"] = pd.DataFrame(_with_all(lp, ["period", "variable", "class_code_a", "class_label_a",
                                                 "class_code_b", "class_label_b"], "area_km2"))

    soc = []
    for y in ("2000", "2015", "2019", "2023"):
        for z, v in ZONES.items():
            for c in range(1, 7):
                soc.append({"zone_id": z, "zone_name": v[0], "period": y, "variable": "soc", "class_code": c,
                            "class_label": UNCCD[c], "value": 40.0 + c})
        for c in range(1, 7):
            soc.append({"zone_id": "ALL", "zone_name": "Area of interest", "period": y, "variable": "soc",
                        "class_code": c, "class_label": UNCCD[c], "value": 40.0 + c})
    t["soc_by_lc"] = pd.DataFrame(soc)

    pop = []
    people = {"Z1": {-1: 1000.0, 0: 5000.0, 1: 3000.0, ND: 200.0}, "Z2": {-1: 500.0, 0: 2000.0, 1: 1500.0, ND: 0.0}}
    for year in ("2015", "2023"):
        for z, cls in people.items():
            for c, n in cls.items():
                for g, f in (("total", 1.0), ("female", 0.5), ("male", 0.5)):
                    pop.append({"zone_id": z, "zone_name": ZONES[z][0], "period": year,
                                "variable": f"population_{g}", "class_code": c, "class_label": DEG[c],
                                "value": n * f * (1.1 if year == "2023" else 1.0)})
    t["population_degraded"] = pd.DataFrame(_with_all(pop, ["period", "variable", "class_code", "class_label"],
                                                      "value"))
    if drought:
        d = []
        for y in range(2000, 2024):
            d += _class_rows("drought", str(y), {z: {0: v[1] * 0.6, 1: v[1] * 0.2, 2: v[1] * 0.1, 3: v[1] * 0.05,
                                                     4: v[1] * 0.05 - (1 if y % 2 else 0), ND: v[2] + (1 if y % 2
                                                                                                      else 0),
                                                     WATER: v[3]}
                                                 for z, v in ZONES.items()},
                             {0: "Non-drought", 1: "Mild", 2: "Moderate", 3: "Severe", 4: "Extreme", ND: "No data",
                              WATER: "Water body"})
        t["drought_area"] = _finish(d)
        dp = []
        for y in range(2000, 2024):
            for z in ZONES:
                for c, f in ((0, 0.5), (1, 0.2), (2, 0.1), (3, 0.1), (4, 0.1)):
                    for g in ("total", "female", "male"):
                        dp.append({"zone_id": z, "zone_name": ZONES[z][0], "period": str(y),
                                   "variable": f"population_{g}", "class_code": c, "class_label": str(c),
                                   "value": 1000.0 * f})
        t["drought_population"] = pd.DataFrame(_with_all(dp, ["period", "variable", "class_code", "class_label"],
                                                         "value"))
        t["dvi"] = pd.DataFrame([{"zone_id": "ALL", "zone_name": "Area of interest", "period": "2018",
                                  "variable": f"dvi_{g}", "value": v}
                                 for g, v in (("total", 0.42), ("female", 0.45), ("male", 0.40))])
    return t


