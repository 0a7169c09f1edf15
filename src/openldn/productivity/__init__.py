"""Land productivity dynamics (SO1-2): trend, state, performance and their combination into LPD.

Compute functions are pure and lazy (numpy- or dask-backed xarray in, the same kind out); the stage
(:mod:`openldn.productivity.stage`) plugs them into ``openldn run``.
"""

from __future__ import annotations

from openldn.productivity.dynamics import land_productivity_dynamics
from openldn.productivity.lpd import (
    LPDTable,
    import_lpd,
    list_lpd_tables,
    load_lpd_table,
    lpd_class,
    lpd_to_degradation,
)
from openldn.productivity.performance import (
    land_productivity_units,
    performance,
    performance_percentiles,
    unit_percentiles,
)
from openldn.productivity.state import state_percentile_shift, state_zscore
from openldn.productivity.trajectory import (
    classify_trajectory,
    restrend_residuals,
    trajectory,
    use_efficiency,
)
from openldn.productivity.trend import bh_threshold, fdr_significant, mann_kendall

__all__ = [
    "LPDTable",
    "bh_threshold",
    "classify_trajectory",
    "fdr_significant",
    "import_lpd",
    "land_productivity_dynamics",
    "land_productivity_units",
    "list_lpd_tables",
    "load_lpd_table",
    "lpd_class",
    "lpd_to_degradation",
    "mann_kendall",
    "performance",
    "performance_percentiles",
    "restrend_residuals",
    "state_percentile_shift",
    "state_zscore",
    "trajectory",
    "unit_percentiles",
    "use_efficiency",
]
