"""Sample-based accuracy assessment and area estimation of the indicator maps (Olofsson et al. 2014).

* :mod:`openldn.accuracy.estimators`: error matrix in area proportions, user's/producer's/overall accuracies,
  stratified area estimates with confidence intervals, the adjusted proportion of degraded land (pure functions);
* :mod:`openldn.accuracy.design`: sample size, allocation and stratified random points on a categorical map;
* :mod:`openldn.accuracy.sampling`: drawing a sample on a run's map and writing it (GeoPackage, CSV, design record);
* :mod:`openldn.accuracy.labels`: reading and checking reference labels;
* :mod:`openldn.accuracy.assess`: joining a sample with its labels into estimates and the SO1-4.T2 confidence level;
* :mod:`openldn.accuracy.confidence`: a per-pixel confidence layer of the productivity sub-indicator.

See docs/accuracy.md.
"""

from __future__ import annotations

from openldn.accuracy.estimators import (
    AccuracyEstimate,
    GeneralEstimate,
    ProportionEstimate,
    estimate_accuracy,
    estimate_accuracy_strata,
    estimate_class_proportion,
    estimate_domain_proportion,
    z_value,
)

__all__ = [
    "AccuracyEstimate",
    "GeneralEstimate",
    "ProportionEstimate",
    "estimate_accuracy",
    "estimate_accuracy_strata",
    "estimate_class_proportion",
    "estimate_domain_proportion",
    "z_value",
]
