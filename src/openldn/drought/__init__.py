"""Drought indicators SO3-1 (hazard), SO3-2 (exposure) and SO3-3 (vulnerability).

Compute functions (pure, lazy): :func:`spi`, :func:`spei`, :func:`annual_index`, :func:`drought_class`,
:func:`max_intensity`, :func:`population_for_years`, :func:`exposed_population`, :func:`dvi_table`,
:func:`dvi_grid`; the pipeline stage is :func:`openldn.drought.stage.run`.
"""

from openldn.drought.classes import (
    DROUGHT_LABELS,
    annual_index,
    drought_class,
    drought_legend,
    drought_windows,
    max_intensity,
)
from openldn.drought.dvi import (
    dvi_grid,
    dvi_method_table,
    dvi_table,
    dvi_trend,
    load_factor_catalogue,
    normalise,
    read_factor_table,
)
from openldn.drought.exposure import exposed_population, nearest_years, population_for_years
from openldn.drought.spi import SPI_MAX, SPI_MIN, spei, spi

__all__ = [
    "DROUGHT_LABELS",
    "SPI_MAX",
    "SPI_MIN",
    "annual_index",
    "drought_class",
    "drought_legend",
    "drought_windows",
    "dvi_grid",
    "dvi_method_table",
    "dvi_table",
    "dvi_trend",
    "exposed_population",
    "load_factor_catalogue",
    "max_intensity",
    "nearest_years",
    "normalise",
    "population_for_years",
    "read_factor_table",
    "spei",
    "spi",
]
