"""Zonal statistics: AOI and admin-unit coverage of the analysis grid, and tidy area / sum / mean tables.

>>> from openldn.zonal import build_coverage, class_area_table  # doctest: +SKIP
>>> cov = build_coverage(geobox, aoi=aoi_gdf, zones=zones_gdf, id_field="id", name_field="name")  # doctest: +SKIP
>>> class_area_table(classes, cov, area, variable="land_cover", period="2015")  # doctest: +SKIP
"""

from __future__ import annotations

from openldn.zonal._kernels import AREA_QUANTUM_M2
from openldn.zonal.coverage import ALL_ZONE, Coverage, CoverageLevel, build_coverage, coverage_fraction
from openldn.zonal.tables import (
    NODATA_LABEL,
    PendingTable,
    TablePass,
    class_area_table,
    compute_table_groups,
    compute_tables,
    crosstab_area_table,
    distinct_values,
    zonal_mean_table,
    zonal_sum_table,
    zone_area_table,
)

__all__ = [
    "ALL_ZONE",
    "AREA_QUANTUM_M2",
    "NODATA_LABEL",
    "Coverage",
    "CoverageLevel",
    "PendingTable",
    "TablePass",
    "build_coverage",
    "class_area_table",
    "compute_table_groups",
    "compute_tables",
    "coverage_fraction",
    "crosstab_area_table",
    "distinct_values",
    "zonal_mean_table",
    "zonal_sum_table",
    "zone_area_table",
]
