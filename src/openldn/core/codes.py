"""Integer codes of the indicator rasters (compatible with Trends.Earth; see docs/differences.md)."""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = [
    "LPD_CLASSES",
    "MASK",
    "NODATA",
    "STATUS_DTYPE",
    "WATER",
    "DroughtClass",
    "Status",
    "Status7",
]

#: Nodata value of every int16 indicator raster.
NODATA: int = -32768
#: Outside the area of interest (Trends.Earth convention, used only for file compatibility).
MASK: int = -32767
#: Code of water cells in every area table (degradation, SDG, status, drought): not land, never in a land share.
WATER: int = -2
#: dtype of status, LPD, 7-class status and drought class rasters.
STATUS_DTYPE = np.dtype("int16")


class Status(IntEnum):
    """Three-class degradation status of a sub-indicator or of SDG 15.3.1."""

    DEGRADED = -1
    STABLE = 0
    IMPROVED = 1


class Status7(IntEnum):
    """Expanded (7-class) status, PRAIS 2026 reporting manual §1.4; GPG v2 ch. 2; GPG Addendum 2025."""

    PERSISTENT_DEGRADATION = 1
    RECENT_DEGRADATION = 2
    BASELINE_DEGRADATION = 3
    STABILITY = 4
    BASELINE_IMPROVEMENT = 5
    RECENT_IMPROVEMENT = 6
    PERSISTENT_IMPROVEMENT = 7


class DroughtClass(IntEnum):
    """Drought intensity classes of SO3-1 (PRAIS 2026 reporting manual §3.1, Table 19)."""

    NON_DROUGHT = 0
    MILD = 1
    MODERATE = 2
    SEVERE = 3
    EXTREME = 4


#: Five LPD classes (PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4): code -> label.
LPD_CLASSES: dict[int, str] = {
    1: "Declining",
    2: "Moderate decline",
    3: "Stable but stressed",
    4: "Stable",
    5: "Increasing",
}
