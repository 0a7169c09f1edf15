"""Pipeline stage ``pixel_confidence``: a per-pixel confidence layer of the productivity call (docs/accuracy.md).

With ``pixel_confidence: {enabled: true}`` in the run file, for every period the stage recomputes the trend
p-value and the performance ratio with the run's own productivity options (the productivity stage's functions,
:class:`openldn.agreement.stage.VariantProductivity`), counts the valid years of the trend window, and combines
(:mod:`openldn.accuracy.confidence`):

* ``trend_decisiveness(p, alpha)``: distance of the trend's p-value to the significance level, in decades;
* ``year_coverage(n_valid, trend_years, min_years)``: valid years beyond the minimum;
* ``threshold_distance(ratio, performance_threshold, ratio_scale)``: distance of the performance ratio to its
  threshold;

by their minimum into ``confidence_score/<period>`` (0-1) and its classes ``confidence/<period>`` (1 low,
2 medium, 3 high). ``openldn accuracy design --extra N --confidence <that map>`` puts extra sample points where it
is low.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, model_validator

from openldn.accuracy.confidence import (
    CONFIDENCE_CLASSES,
    confidence_class,
    pixel_confidence,
    threshold_distance,
    trend_decisiveness,
    year_coverage,
)
from openldn.i18n import N_, _

__all__ = ["CONFIDENCE_LABELS", "PixelConfidenceOptions", "run"]

#: Labels of the confidence classes (translated at use).
CONFIDENCE_LABELS: dict[int, str] = {1: N_("Low confidence"), 2: N_("Medium confidence"), 3: N_("High confidence")}
_COLORS = {1: "#D7301F", 2: "#FDBB84", 3: "#2C7FB8"}
assert set(CONFIDENCE_LABELS) == set(CONFIDENCE_CLASSES)


class PixelConfidenceOptions(BaseModel):
    """Run-file section ``pixel_confidence:``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Write the per-pixel confidence layer of the productivity call.")
    decades: float = Field(1.0, gt=0, description="Orders of magnitude of p from alpha counted as fully decisive.")
    ratio_scale: float = Field(
        0.1, gt=0, description="Distance of the performance ratio to its threshold counted as fully safe."
    )
    bounds: tuple[float, float] = Field(
        (1 / 3, 2 / 3), description="Score bounds of the classes: below the first low, from the second high."
    )

    @model_validator(mode="after")
    def _check(self) -> PixelConfidenceOptions:
        others = sorted(self.model_fields_set - {"enabled"})
        if not self.enabled and others:
            raise ValueError(f"pixel_confidence: {', '.join(others)} given but enabled is false; set enabled: true "
                             "or remove them")  # fmt: skip
        if not 0 <= self.bounds[0] <= self.bounds[1] <= 1:
            raise ValueError(f"pixel_confidence.bounds {list(self.bounds)}: give 0 <= low <= high <= 1")
        return self


def _options(a: Any) -> PixelConfidenceOptions:
    from openldn.core.stage import section_options

    return section_options(a, "pixel_confidence", PixelConfidenceOptions)


def confidence_legend() -> Any:
    """Legend of the confidence classes."""
    from openldn.core.codes import NODATA
    from openldn.core.vocab import LandClass, Legend

    return Legend(id="pixel_confidence", name=_("Confidence of the productivity call"), nodata=NODATA,
                  source="openldn.accuracy", classes=tuple(
                      LandClass(c, CONFIDENCE_CLASSES[c].lower(), _(CONFIDENCE_LABELS[c]), _COLORS[c])
                      for c in sorted(CONFIDENCE_CLASSES)))  # fmt: skip


def run(ctx: Any) -> None:
    """Write ``confidence_score/<period>`` and ``confidence/<period>`` (no-op unless enabled).

    Parameters
    ----------
    ctx : openldn.core.stage.StageContext
        Run context.
    """
    from openldn.agreement.stage import VariantProductivity, _run_productivity
    from openldn.exceptions import ConfigError
    from openldn.productivity.stage import period_windows

    a = ctx.assessment
    opts = _options(a)
    if not opts.enabled:
        return
    if not ctx.has_input("ndvi"):
        raise ConfigError("pixel_confidence needs the input 'ndvi' (the trend's p-value and the performance ratio); "
                          "an imported LPD map carries neither: set pixel_confidence.enabled: false")  # fmt: skip
    popts = _run_productivity(a)
    prod = VariantProductivity(ctx)
    periods = list(a.periods)
    for i, p in enumerate(periods):
        ctx.progress("pixel_confidence", i, len(periods), p.label)
        dyn = prod.dynamics(popts, p, a.baseline_period)
        w = period_windows(p, popts)
        ndvi = prod.ndvi(popts.annual_aggregation)
        from openldn.core.periods import years_of

        in_window = np.isin(years_of(ndvi), list(w.trend.years))
        n_valid = ndvi.isel(time=np.flatnonzero(in_window)).notnull().sum("time")
        score = pixel_confidence(
            trend_decisiveness(dyn["p"], alpha=popts.trajectory_alpha, decades=opts.decades),
            year_coverage(n_valid.where(dyn["p"].notnull()), len(w.trend.years), min_years=min(popts.min_years, len(w.trend.years) - 1)),
            threshold_distance(dyn["ratio"], popts.performance_threshold, opts.ratio_scale),
        )
        score = xr.DataArray(score).astype(np.float32).rename("confidence_score")
        score = ctx.materialize(f"confidence_score/{p.label}", score)
        ctx.write_raster(f"confidence_score/{p.label}", score, units="0-1",
                         title=_("Confidence score of the productivity call %(period)s") % {"period": p.label})
        cls = confidence_class(score, bounds=opts.bounds)
        ctx.layers[f"confidence/{p.label}"] = cls
        ctx.write_raster(f"confidence/{p.label}", cls, legend=confidence_legend(),
                         title=_("Confidence of the productivity call %(period)s") % {"period": p.label})
    ctx.provenance["pixel_confidence"] = {
        **opts.model_dump(), "alpha": popts.trajectory_alpha, "performance_threshold": popts.performance_threshold,
        "trend_years": popts.trend_years, "min_years": popts.min_years,
        "definition": "minimum of trend decisiveness, year coverage and distance of the performance ratio to its "
                      "threshold (docs/accuracy.md, Pixel confidence layer)",
    }  # fmt: skip
    ctx.progress("pixel_confidence", len(periods), len(periods), "done")


# -- the stage declaration (openldn.core.stage; registered in openldn.registry) ---------------------------------
from openldn.core.stage import KeyPattern, Stage  # noqa: E402

STAGE = Stage(
    name="pixel_confidence",
    title="Pixel confidence of the productivity call",
    run=run,
    options_key="pixel_confidence",
    options=PixelConfidenceOptions,
    switched_on_by=("ndvi",),
    layers=(KeyPattern("confidence/{period}"), KeyPattern("confidence_score/{period}")),
)
