"""The land-area stage: land, water and no-data area per land cover year (source of CP-1.T1).

Water is UNCCD class 7; land is classes 1-6; everything else inside the area of interest is no data. One table per
land cover year lets the reporting stage pick the denominator rule of the run (standard.md §3, §16 A12-A13).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from openldn.core.codes import NODATA
from openldn.core.periods import years_of

__all__ = ["CP1_YEARS", "LAND_CLASSES", "land_water_mask", "reported_years", "run"]

#: Codes of the land/water mask.
LAND_CLASSES: dict[int, tuple[str, str]] = {1: ("Land", "#C8B560"), 2: ("Water bodies", "#0053C4")}


def land_water_mask(lc_unccd: xr.DataArray) -> xr.DataArray:
    """1 where land (UNCCD 1-6), 2 where water (7), nodata elsewhere; int16."""
    land = (lc_unccd >= 1) & (lc_unccd <= 6)
    water = lc_unccd == 7
    out = xr.where(land, np.int16(1), xr.where(water, np.int16(2), np.int16(NODATA))).astype("int16")
    out.attrs = {"long_name": "Land and water", "_FillValue": NODATA}
    return out


#: Years of CP-1.T1 (PRAIS 2026): land, water and country area.
CP1_YEARS = (2000, 2015, 2019, 2023)


def reported_years(ctx: object, available: list[int]) -> list[int]:
    """Land cover years whose land area a report can use: period bounds, the reporting LC start, CP-1.T1 years.

    Each wanted year is served by the closest available land cover year.
    """
    a = ctx.assessment  # type: ignore[attr-defined]
    periods = getattr(a, "periods", None)
    if not periods or not available:  # a bare context: keep every year
        return sorted(available)
    wanted = {y for p in periods for y in (p.start, p.end)} | set(CP1_YEARS)
    start = getattr(getattr(a, "land_cover", None), "reporting_lc_start", None)
    if start:
        wanted.add(int(start))
    return sorted({min(available, key=lambda y: (abs(y - w), y)) for w in wanted})


def run(ctx: object) -> None:
    """Add the ``land_area`` table: land/water/no-data area of the reported land cover years, per zone."""
    from openldn.zonal import class_area_table

    lc = ctx.layers["lc_unccd"]  # type: ignore[attr-defined]
    all_years = [int(y) for y in years_of(lc)]
    keep = set(reported_years(ctx, all_years))
    frames = []
    for i, year in enumerate(all_years):
        if year not in keep:
            continue
        mask = land_water_mask(lc.isel(time=i))
        frames.append(
            class_area_table(mask, ctx.coverage, ctx.area, variable="land_area", period=str(year),  # type: ignore[attr-defined]
                             legend={k: v[0] for k, v in LAND_CLASSES.items()})
        )
    import pandas as pd

    ctx.add_table("land_area", pd.concat(frames, ignore_index=True))  # type: ignore[attr-defined]


# -- the stage declaration (openldn.core.stage; registered in openldn.registry) ---------------------------------
from openldn.core.stage import KeyPattern, Stage  # noqa: E402

STAGE = Stage(
    name="land_area",
    title="Land and water areas (the area ledger)",
    run=run,  # type: ignore[arg-type]
    switched_on_by=("land_cover",),
    tables=(KeyPattern("land_area", "land, water and no-data area per land cover year and zone (CP-1.T1)"),),
)
