"""Monthly drought monitoring and early warning (``openldn monitor``).

The latest month's SPI/SPEI at 1-24 months through stored reference-period fits (:mod:`.fits`), alert levels per
pixel and admin unit by a configurable rule (:mod:`.alerts`), the people exposed by sex, and a bulletin in HTML,
PDF, CSV and JSON (:mod:`.bulletin`). See ``docs/monitoring.md``.
"""

from __future__ import annotations

from openldn.monitoring.alerts import AlertRules, alert_levels, load_alert_rules, unit_level
from openldn.monitoring.fits import FitStore, IndexSpec, fit_parameters, transform
from openldn.monitoring.monitor import (
    MonitorOptions,
    MonitorResult,
    MonthlyIndices,
    monitor_indices,
    parse_month,
    run_monitor,
    summarise,
)

__all__ = [
    "AlertRules",
    "FitStore",
    "IndexSpec",
    "MonitorOptions",
    "MonitorResult",
    "MonthlyIndices",
    "alert_levels",
    "fit_parameters",
    "load_alert_rules",
    "monitor_indices",
    "parse_month",
    "run_monitor",
    "summarise",
    "transform",
    "unit_level",
]
