"""Soil organic carbon sub-indicator (SO1-3): Tier 1 / Tier 2 stocks and SOC degradation.

PRAIS 2026 §1.3; GPG v2 ch. 5; PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5.
"""

from openldn.soil_carbon.change import degradation, relative_change, statistical_degradation
from openldn.soil_carbon.factors import SocFactors, climate_factor, load_soc_factors, stock_change_factor
from openldn.soil_carbon.options import SoilCarbonOptions
from openldn.soil_carbon.stocks import as_stock, tier1_stock

__all__ = [
    "SocFactors",
    "SoilCarbonOptions",
    "as_stock",
    "climate_factor",
    "degradation",
    "load_soc_factors",
    "relative_change",
    "statistical_degradation",
    "stock_change_factor",
    "tier1_stock",
]
