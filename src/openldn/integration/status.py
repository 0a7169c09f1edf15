"""Status assessment: baseline x period through the 3x3 status matrix or the 7-class expanded status.

PRAIS 2026 reporting manual §1.4; GPG v2 ch. 2; GPG Addendum 2025 and Trends.Earth status (docs/differences.md). Rows are the baseline assessment, columns the period
assessment (-1 degraded, 0 stable, 1 improved):

========  ==========  ==========  ==========
baseline  period -1   period 0    period 1
========  ==========  ==========  ==========
-1        1           3           6
0         2           4           6
1         2           5           7
========  ==========  ==========  ==========

with 1 persistent degradation, 2 recent degradation, 3 baseline degradation, 4 stability, 5 baseline improvement,
6 recent improvement, 7 persistent improvement. 7 -> 3 classes: 1, 2, 3 degraded; 4 stable; 5, 6, 7 improved, which is
the 3x3 status matrix of the Addendum. No data in either input gives no data.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from openldn.core.codes import NODATA, STATUS_DTYPE
from openldn.exceptions import GridMismatchError
from openldn.integration._georef import keep_crs
from openldn.integration.sdg import assessment_lookup

__all__ = ["EXPANDED_MATRIX", "STATUS7_TO_3", "status", "status7_to_status3"]

#: EXPANDED_MATRIX[baseline + 1, period + 1] = 7-class status.
EXPANDED_MATRIX: np.ndarray = np.array([[1, 3, 6], [2, 4, 6], [2, 5, 7]], dtype=STATUS_DTYPE)
#: 7-class -> 3-class status.
STATUS7_TO_3: dict[int, int] = {1: -1, 2: -1, 3: -1, 4: 0, 5: 1, 6: 1, 7: 1}


def status(baseline: xr.DataArray, period: xr.DataArray, *, expanded: bool = False) -> xr.DataArray:
    """Status of the land at the end of a reporting period.

    Parameters
    ----------
    baseline : xarray.DataArray
        Baseline assessment (1OAO or a sub-indicator), -1/0/1 with nodata -32768.
    period : xarray.DataArray
        Assessment of the reporting period, same grid and codes.
    expanded : bool
        False: 3-class status (-1/0/1) from the status matrix (PRAIS 2026 reporting manual §1.4; GPG v2 ch. 2; GPG Addendum 2025). True: 7-class expanded status
        (1-7, PRAIS 2026 reporting manual §1.4; GPG v2 ch. 2; GPG Addendum 2025).

    Returns
    -------
    xarray.DataArray
        int16 status with nodata -32768, same backing as the inputs.

    References
    ----------
    UNCCD GPG Addendum (2021) §2.1; PRAIS 2026 §1.4 Step 1 (Figure 4); PRAIS 2026 reporting manual §1.4; GPG v2 ch. 2; GPG Addendum 2025.
    """
    try:
        b, p = xr.align(baseline, period, join="exact")
    except ValueError as err:
        raise GridMismatchError(
            "status: the baseline and period assessments are not on the same grid; compute both on the analysis grid."
        ) from err
    table = np.full((4, 4), NODATA, dtype=STATUS_DTYPE)  # the last row and column: no data in either input
    table[:3, :3] = EXPANDED_MATRIX if expanded else np.vectorize(STATUS7_TO_3.get)(EXPANDED_MATRIX)
    out = assessment_lookup(table, b, p)
    out.name = "status7" if expanded else "status"
    if expanded:
        meanings = (
            "persistent_degradation recent_degradation baseline_degradation stability baseline_improvement "
            "recent_improvement persistent_improvement"
        )
        values = np.arange(1, 8, dtype=STATUS_DTYPE)
    else:
        meanings = "degraded stable improved"
        values = np.array([-1, 0, 1], dtype=STATUS_DTYPE)
    out.attrs = {
        "long_name": ("Expanded (7-class) land status" if expanded else "Land status (status matrix)"),
        "flag_values": values,
        "flag_meanings": meanings,
        "_FillValue": NODATA,
    }
    return keep_crs(out, b)


def status7_to_status3(status7: xr.DataArray) -> xr.DataArray:
    """Collapse a 7-class status to the 3-class status (1, 2, 3 -> -1; 4 -> 0; 5, 6, 7 -> 1).

    Parameters
    ----------
    status7 : xarray.DataArray
        7-class status (1-7, nodata -32768).

    Returns
    -------
    xarray.DataArray
        int16 -1/0/1 with nodata -32768.
    """
    out = xr.full_like(status7, NODATA, dtype=STATUS_DTYPE)
    for k, v in STATUS7_TO_3.items():
        out = xr.where(status7 == k, np.int16(v), out)
    out = out.astype(STATUS_DTYPE)
    out.name = "status"
    out.attrs = {"_FillValue": NODATA}
    return keep_crs(out, status7)
