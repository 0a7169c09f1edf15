"""Land cover change sub-indicator (SO1-1): reclassification, transitions and degradation.

PRAIS 2026 §1.1; GPG v2 ch. 3; PRAIS 2026 reporting manual §1.1; GPG v2 ch. 3.
"""

from openldn.land_cover.options import LandCoverOptions, RegionOptions
from openldn.land_cover.reclassify import MAX_CUSTOM_CLASSES, check_nesting, reclassify
from openldn.land_cover.transitions import (
    MAX_REGIONS,
    degradation,
    degradation_by_region,
    transition_codes,
    water_mask,
)

__all__ = [
    "MAX_CUSTOM_CLASSES",
    "MAX_REGIONS",
    "LandCoverOptions",
    "RegionOptions",
    "check_nesting",
    "degradation",
    "degradation_by_region",
    "reclassify",
    "transition_codes",
    "water_mask",
]
