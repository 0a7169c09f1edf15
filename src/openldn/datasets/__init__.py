"""Deterministic demo data and the synthetic country generator (real GeoTIFF / GeoPackage files).

* :func:`make_demo` writes a small synthetic area (semi-arid Kenya) with every input of SO1, SO2-3 and SO3, planted
  and documented patches (``truth.json``) and a run file (``assessment.yaml``); :func:`demo_truth` reads the truth.
* :func:`make_synthetic_country` writes a large synthetic country as tiled COGs, block by block, for benchmarks.
"""

from openldn.datasets._country import COUNTRY_RESOLUTION, make_synthetic_country
from openldn.datasets._demo import (
    COMMON_NDVI_ANOMALY,
    DEMO_BASELINE,
    DEMO_BOUNDS_ORIGIN,
    DEMO_CHANGE_YEAR,
    DEMO_DROUGHT_YEAR,
    DEMO_FILES,
    DEMO_MONTHS,
    DEMO_PRECIP_FACTOR,
    DEMO_REPORTING,
    DEMO_RESOLUTION,
    DEMO_SEED,
    DEMO_YEARS,
    IPCC_CLIMATE_ZONES,
    demo_truth,
    make_demo,
)

__all__ = [
    "COMMON_NDVI_ANOMALY",
    "COUNTRY_RESOLUTION",
    "DEMO_BASELINE",
    "DEMO_BOUNDS_ORIGIN",
    "DEMO_CHANGE_YEAR",
    "DEMO_DROUGHT_YEAR",
    "DEMO_FILES",
    "DEMO_MONTHS",
    "DEMO_PRECIP_FACTOR",
    "DEMO_REPORTING",
    "DEMO_RESOLUTION",
    "DEMO_SEED",
    "DEMO_YEARS",
    "IPCC_CLIMATE_ZONES",
    "demo_truth",
    "make_demo",
    "make_synthetic_country",
]
