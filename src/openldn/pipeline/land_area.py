"""The land-area stage: land, water and no-data area per land cover year (source of CP-1.T1).

Water is UNCCD class 7; land is classes 1-6; everything else inside the area of interest is no data. One table per
land cover year lets the reporting stage pick the denominator rule of the run (standard.md §3, §16 A12-A13).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from openldn.core.codes import NODATA
from openldn.core.periods import years_of

__all__ = ["LAND_CLASSES", "land_water_mask", "run"]

#: Codes of the land/water mask.
LAND_CLASSES: dict[int, tuple[str, str]] = {1: ("Land", "#C8B560"), 2: ("Water bodies", "#0053C4")}


def land_water_mask(lc_unccd: xr.DataArray) -> xr.DataArray:
    """1 where land (UNCCD 1-6), 2 where water (7), nodata elsewhere; int16."""
    land = (lc_unccd >= 1) & (lc_unccd <= 6)
    water = lc_unccd == 7
    out = xr.where(land, np.int16(1), xr.where(water, np.int16(2), np.int16(NODATA))).astype("int16")
    out.attrs = {"long_name": "Land and water", "_FillValue": NODATA}
    return out


def run(ctx: object) -> None:
    """Add the ``land_area`` table: land/water/no-data area of each land cover year, per zone."""
    from openldn.zonal import class_area_table

    lc = ctx.layers["lc_unccd"]  # type: ignore[attr-defined]
    frames = []
    for i, year in enumerate(years_of(lc)):
        mask = land_water_mask(lc.isel(time=i))
        frames.append(
            class_area_table(mask, ctx.coverage, ctx.area, variable="land_area", period=str(year),  # type: ignore[attr-defined]
                             legend={k: v[0] for k, v in LAND_CLASSES.items()})
        )
    import pandas as pd

    ctx.add_table("land_area", pd.concat(frames, ignore_index=True))  # type: ignore[attr-defined]
