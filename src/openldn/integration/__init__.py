"""SO1-4 (SDG 15.3.1) integration and SO2-3: One-Out-All-Out, status, proportion degraded, recode, population.

Compute functions take numpy- or dask-backed xarray DataArrays and return the same kind.
"""

from __future__ import annotations

from openldn.integration.fp import recode, recode_from_polygons, site_records
from openldn.integration.population import (
    aggregate_counts,
    population_by_class,
    population_on_class,
    signed_population,
)
from openldn.integration.sdg import one_out_all_out
from openldn.integration.status import status, status7_to_status3
from openldn.integration.summary import (
    SDG_LABELS,
    STATUS7_LABELS,
    WATER,
    LandArea,
    change_assessment,
    land_area_from_tables,
    proportion_degraded,
)

__all__ = [
    "SDG_LABELS",
    "STATUS7_LABELS",
    "WATER",
    "LandArea",
    "aggregate_counts",
    "change_assessment",
    "land_area_from_tables",
    "one_out_all_out",
    "population_by_class",
    "population_on_class",
    "proportion_degraded",
    "recode",
    "recode_from_polygons",
    "signed_population",
    "site_records",
    "status",
    "status7_to_status3",
]
