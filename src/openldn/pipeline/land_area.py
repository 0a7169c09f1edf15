"""The land-area stage: the run's area ledger (:mod:`openldn.pipeline.ledger`) and the ``land_area`` table.

The ledger (one water mask chosen by ``integration.water_mask_year``, zone areas, land areas) is built as soon as the
land cover exists (the land cover stage asks for it for its own degradation table); this stage stores its land/water
codes as the layer ``land_water`` (so that a resumed run rebuilds the same ledger, :func:`restore`) and writes the
``land_area`` table: land, water and no-data area of each reported land cover year, per zone (CP-1.T1). That table
describes each year's own land cover; the denominator of every percentage is the ledger's (one year for the run).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from openldn.core.periods import years_of
from openldn.core.years import closest_year as _closest_year
from openldn.pipeline.ledger import LAND_WATER_LABELS, LAND_WATER_LAYER, land_water_codes, ledger_of

__all__ = ["CP1_YEARS", "LAND_CLASSES", "land_water_mask", "reported_years", "restore", "run"]

#: Codes of the land/water mask (kept name; defined once in :mod:`openldn.pipeline.ledger`).
LAND_CLASSES: dict[int, tuple[str, str]] = LAND_WATER_LABELS
#: 1 where land (UNCCD 1-6), 2 where water (7), nodata elsewhere (kept name of
#: :func:`openldn.pipeline.ledger.land_water_codes`).
land_water_mask = land_water_codes

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
    return sorted({_closest_year(available, w, what="land cover").used for w in wanted})


def restore(ctx: Any) -> None:
    """Rebuild ``ctx.ledger`` after a resume (from the stored ``land_water`` layer)."""
    ctx.ledger = None
    ledger_of(ctx)


def run(ctx: Any) -> None:
    """Store the ledger's land/water layer and add the ``land_area`` table of the reported land cover years."""
    from openldn.land_cover.stage import land_cover_of_year
    from openldn.zonal import class_area_table, compute_tables

    led = ledger_of(ctx)
    frames = [
        # the year layers the land cover stage stored (one band each, not strips of the whole series)
        class_area_table.plan(land_water_codes(land_cover_of_year(ctx.layers, year)), ctx.coverage, ctx.area,
                              variable="land_area", period=str(year),
                              legend={k: v[0] for k, v in LAND_WATER_LABELS.items()})
        for year in reported_years(ctx, [int(y) for y in years_of(ctx.layers["lc_unccd"])])
    ]
    if led.land_water is not None:  # stored with the tables summed in its pass
        land_water = ctx.as_stored(led.land_water)
        ctx.materialize_many({LAND_WATER_LAYER: land_water}, tables=frames)
        ctx.layers[LAND_WATER_LAYER] = land_water
        ctx.ledger = dataclasses.replace(led, land_water=ctx.layers[LAND_WATER_LAYER])
    ctx.add_table("land_area", pd.concat(compute_tables(frames), ignore_index=True))


# -- the stage declaration (openldn.core.stage; registered in openldn.registry) ---------------------------------
from openldn.core.stage import KeyPattern, Stage  # noqa: E402

STAGE = Stage(
    name="land_area",
    title="Land and water areas (the area ledger)",
    run=run,  # type: ignore[arg-type]
    switched_on_by=("land_cover",),
    tables=(KeyPattern("land_area", "land, water and no-data area per land cover year and zone (CP-1.T1)"),),
    layers=(KeyPattern("land_water", "the area ledger's land/water codes (1 land, 2 water) in the water year"),),
    restore=restore,  # type: ignore[arg-type]
)
