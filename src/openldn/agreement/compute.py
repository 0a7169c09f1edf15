"""Agreement between method variants: per-pixel counts, ranges of the table cells, the most influential choice.

Pure functions (no I/O): the stage (:mod:`openldn.agreement.stage`) computes one SDG 15.3.1 map per variant with
the productivity and integration functions of the run and hands them here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr

from openldn.core.blocks import isin
from openldn.core.codes import NODATA

__all__ = ["agreement_count", "national_shares", "range_table", "sensitivity_table"]

_CELL = ["period", "zone_id", "zone_name", "class_code", "class_label"]


def agreement_count(maps: Sequence[xr.DataArray], *, degraded: int = -1) -> xr.DataArray:
    """How many variants call each pixel degraded.

    Parameters
    ----------
    maps : sequence of xarray.DataArray
        One -1/0/1 map per variant (no data: any other value), on one grid; numpy- or dask-backed.
    degraded : int
        Code of the degraded class.

    Returns
    -------
    xarray.DataArray
        int16 count 0..len(maps); :data:`openldn.core.codes.NODATA` where any variant has no data (the count
        would otherwise mix pixels judged by different numbers of variants). Lazy for dask inputs.
    """
    if not maps:
        raise ValueError("agreement_count: give at least one map")
    aligned = xr.align(*maps, join="exact")
    count: xr.DataArray = sum((m == degraded).astype(np.int16) for m in aligned)  # type: ignore[assignment]
    valid = isin(aligned[0], [-1, 0, 1])
    for m in aligned[1:]:
        valid = valid & isin(m, [-1, 0, 1])
    out: xr.DataArray = xr.where(valid, count, np.int16(NODATA)).astype(np.int16)
    out.name = "agreement"
    out.attrs = {"long_name": "number of method variants calling the pixel degraded", "_FillValue": NODATA,
                 "variants": len(maps)}  # fmt: skip
    if aligned[0].rio.crs is not None:
        georef: xr.DataArray = out.rio.write_crs(aligned[0].rio.crs)
        return georef
    return out


def range_table(tables: pd.DataFrame) -> pd.DataFrame:
    """Range of every table cell (period x admin unit x class) across the variants.

    Parameters
    ----------
    tables : pandas.DataFrame
        Tidy class-area tables of every variant (``openldn.zonal`` layout: ``period``, ``zone_id``, ``zone_name``,
        ``class_code``, ``class_label``, ``area_km2``, ``share_of_land``) with a ``variant`` column.

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``min_km2``, ``max_km2``, ``range_km2``, ``min_share``, ``max_share``, ``range_share``
        (shares of the land area), ``variant_min``, ``variant_max`` and ``variants`` (how many were compared).
    """
    rows = []
    for cell, g in tables.groupby(_CELL, sort=False, dropna=False):
        a = g["area_km2"].to_numpy(dtype=np.float64)
        s = g["share_of_land"].to_numpy(dtype=np.float64)
        i_min, i_max = int(np.argmin(a)), int(np.argmax(a))
        rows.append({**dict(zip(_CELL, cell, strict=True)), "min_km2": a[i_min], "max_km2": a[i_max],
                     "range_km2": a[i_max] - a[i_min], "min_share": float(np.nanmin(s)) if np.isfinite(s).any()
                     else np.nan, "max_share": float(np.nanmax(s)) if np.isfinite(s).any() else np.nan,
                     "variant_min": str(g["variant"].iloc[i_min]), "variant_max": str(g["variant"].iloc[i_max]),
                     "variants": len(g)})  # fmt: skip
    out = pd.DataFrame(rows)
    if len(out):
        out.insert(list(out.columns).index("max_share") + 1, "range_share", out["max_share"] - out["min_share"])
    return out


def national_shares(tables: pd.DataFrame, *, zone: str = "ALL", degraded: int = -1) -> pd.DataFrame:
    """Degraded share of the land area of ``zone`` per variant and period (``variant``, ``period``, ``share``)."""
    t = tables[(tables["zone_id"].astype(str) == zone) & (tables["class_code"] == degraded)]
    return (t[["variant", "period", "share_of_land", "area_km2"]]
            .rename(columns={"share_of_land": "share", "area_km2": "degraded_km2"}).reset_index(drop=True))  # fmt: skip


def sensitivity_table(shares: pd.DataFrame, *, reference: str = "run") -> pd.DataFrame:
    """Change of the national degraded share that each choice makes against the reference method, ranked.

    Parameters
    ----------
    shares : pandas.DataFrame
        ``choice``, ``period``, ``share`` (and optionally ``kind``); the reference has ``choice == reference``.
    reference : str
        The choice everything is compared with (the run's own method).

    Returns
    -------
    pandas.DataFrame
        ``period``, ``choice``, ``share``, ``reference_share``, ``change`` (share - reference share),
        ``rank`` (1 = largest absolute change within the period and kind); the reference itself is left out.
    """
    ref = shares[shares["choice"] == reference].drop_duplicates("period").set_index("period")["share"]
    out = shares[shares["choice"] != reference].copy()
    if out.empty:
        return out.assign(reference_share=[], change=[], rank=[])
    out["reference_share"] = out["period"].map(ref)
    out["change"] = out["share"] - out["reference_share"]
    keys = ["period", "kind"] if "kind" in out.columns else ["period"]
    out["rank"] = out.groupby(keys)["change"].transform(lambda c: c.abs().rank(ascending=False, method="first"))
    out["rank"] = out["rank"].astype(int)
    return out.sort_values([*keys, "rank"]).reset_index(drop=True)
