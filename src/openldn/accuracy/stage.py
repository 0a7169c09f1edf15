"""Pipeline stage ``accuracy``: the sample-based estimate of the degraded proportion beside the map figure.

With a run-file section ``accuracy: {design: <sample folder or design.json>, labels: ..., confidence_rule: ...}``
the stage joins the sample drawn by ``openldn accuracy design`` on a map of this run with its reference labels,
estimates the error matrix, the accuracies and the area of every class (Olofsson et al. 2014;
:func:`openldn.accuracy.assess.assess_sample`), and records:

* ``ctx.provenance["accuracy"]``: the adjusted proportion of degraded land with its interval, the map's own
  proportion on the same frame, the SO1-4.T2 confidence level and its rule, and the sample's provenance (design,
  points and labels files with their sha256, seed, allocation, labelled counts, interpreters);
* tables ``accuracy`` (per class) and ``accuracy_degraded`` (one row per assessed map).

The reporting stage shows them beside the map figure (HTML report, workbook sheet, run JSON;
:mod:`openldn.reporting.accuracy_section`) and ticks the SO1-4.T2 confidence level from the interval. The sample
must have been drawn on this run's map: the design's pixel count of every class is checked against the run's layer
(a sample of another map would give a figure for another map). See docs/accuracy.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from openldn.exceptions import ConfigError

__all__ = ["AccuracyOptions", "run", "sample_files"]


class AccuracyOptions(BaseModel):
    """Run-file section ``accuracy:`` (docs/accuracy.md, "In a run")."""

    model_config = ConfigDict(extra="forbid")

    design: str | None = Field(
        None,
        description="Sample design: the folder written by `openldn accuracy design` or its design.json. Without it "
        "the stage does nothing (and every other key of this section is an error).",
    )
    points: str | None = Field(None, description="Sample points CSV (default: points.csv beside the design).")
    labels: str | None = Field(
        None, description="Reference labels, CSV or GeoPackage (default: labels.csv beside the design)."
    )
    map: str | None = Field(
        None,
        description="Layer of this run the sample was drawn on (default: the design's map, e.g. sdg/2016-2023); its "
        "pixel count per class must equal the design's.",
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of the intervals.")
    confidence_rule: Literal["relative", "absolute"] = Field(
        "relative",
        description="Rule deriving the SO1-4.T2 confidence level from the interval of the degraded proportion: "
        "relative = half-width over the estimate, absolute = half-width in percentage points (docs/accuracy.md).",
    )
    thresholds: tuple[float, float] | None = Field(
        None,
        description="(high, medium) bounds of the rule (default 0.25, 0.5 for relative; 2, 5 for absolute).",
    )

    @model_validator(mode="after")
    def _design_given(self) -> AccuracyOptions:
        others = sorted(self.model_fields_set - {"design"})
        if self.design is None and others:
            raise ValueError(f"accuracy: {', '.join(others)} given without accuracy.design; give the sample folder "
                             "(design) or remove the section")  # fmt: skip
        if self.thresholds is not None and not 0 <= self.thresholds[0] <= self.thresholds[1]:
            raise ValueError(f"accuracy.thresholds {list(self.thresholds)}: give 0 <= high <= medium")
        return self


def _options(a: Any) -> AccuracyOptions:
    from openldn.core.stage import section_options

    return section_options(a, "accuracy", AccuracyOptions)


def _resolve(a: Any, path: str) -> Path:
    return Path(a.resolve(path)) if hasattr(a, "resolve") else Path(path)


def sample_files(a: Any, opts: AccuracyOptions) -> dict[str, Path]:
    """Paths of the design, points and labels files of the run's ``accuracy`` section."""
    from openldn.accuracy.sampling import SAMPLE_FILES

    if opts.design is None:
        raise ConfigError("accuracy.design is not set")
    d = _resolve(a, opts.design)
    folder = d if d.is_dir() else d.parent
    design = d / SAMPLE_FILES["design"] if d.is_dir() else d
    return {
        "design": design,
        "points": _resolve(a, opts.points) if opts.points else folder / SAMPLE_FILES["points_csv"],
        "labels": _resolve(a, opts.labels) if opts.labels else folder / SAMPLE_FILES["labels"],
    }


def _check(a: Any, inputs: Any) -> list[str]:
    """Errors ``validate`` can find from the run file alone: missing files, a conflicting confidence."""
    opts = _options(a)
    if opts.design is None:
        return []
    errors = []
    integ = getattr(a, "integration", None)
    if getattr(integ, "confidence", None) is not None:
        errors.append("integration.confidence and accuracy.design are both given: with a reference sample the "
                      "SO1-4.T2 confidence level is derived from the interval (accuracy.confidence_rule); remove "
                      "integration.confidence")  # fmt: skip
    for what, p in sample_files(a, opts).items():
        if not p.is_file():
            errors.append(f"accuracy: {what} file {p} not found; give the folder written by `openldn accuracy "
                          "design` and fill in its labels.csv")  # fmt: skip
    return errors


def _check_strata(design: Any, layer: Any, key: str, path: Path) -> None:
    """The design's pixels per class must be the run layer's (the sample was drawn on this very map)."""
    import dask

    if design.exclude or design.zone_mapped_area_m2:  # a sub-frame: its counts are not the whole map's
        return
    counts = dask.compute(*[(layer == c).sum() for c in design.classes])
    have = [int(np.asarray(c)) for c in counts]
    if have != [int(v) for v in design.pixels]:
        raise ConfigError(f"{path}: the sample was drawn on another map than this run's {key} (pixels per class "
                          f"{dict(zip(design.classes, design.pixels, strict=True))} in the design, "
                          f"{dict(zip(design.classes, have, strict=True))} in the run); draw the sample on this "
                          "run's map with `openldn accuracy design`")  # fmt: skip


def accuracy_record(result: Any, files: dict[str, Path], key: str, opts: AccuracyOptions) -> dict[str, Any]:
    """JSON-ready record of a run's accuracy assessment: figures beside the map figure, and their provenance."""
    from openldn.io import sha256_file

    d = result.design
    deg = result.degraded
    doc = result.to_dict()
    return {
        "map": key,
        "design_map": d.map_key,
        "area_unit": "km2",
        "confidence": opts.confidence,
        "degraded_classes": list(d.degraded_classes),
        "degraded": None if deg is None else {
            "map_proportion": deg.mapped_proportion, "proportion": deg.proportion, "se": deg.se,
            "ci_low": deg.ci_low, "ci_high": deg.ci_high, "half_width": deg.half_width, "area_km2": deg.area,
            "area_ci_low_km2": deg.ci_low * deg.total_area, "area_ci_high_km2": deg.ci_high * deg.total_area,
            "map_area_km2": deg.mapped_proportion * deg.total_area, "frame_area_km2": deg.total_area,
        },
        "overall_accuracy": float(result.estimate.overall),
        "overall_accuracy_se": float(result.estimate.overall_se),
        "confidence_level": result.confidence,
        "confidence_rule": doc["confidence_rule"],
        "sample": {**doc["sample"], "n_design": d.n, "target_se": d.target_se, "minimum": d.minimum,
                   "method": d.method},
        "files": {what: {"path": str(p.resolve()), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
                  for what, p in files.items()},
    }  # fmt: skip


def degraded_table(record: dict[str, Any]) -> pd.DataFrame:
    """One-row table of the adjusted degraded proportion (``accuracy_degraded``)."""
    deg = record.get("degraded") or {}
    return pd.DataFrame([{"map": record["map"], **deg, "confidence_level": record.get("confidence_level"),
                          "confidence_rule": record["confidence_rule"]["rule"],
                          "n_points": record["sample"]["n_points"], "n_labelled": record["sample"]["n_labelled"],
                          "seed": record["sample"]["seed"]}])  # fmt: skip


def run(ctx: Any) -> None:
    """Estimate the degraded proportion of a run's map from its labelled sample (no-op without ``accuracy.design``).

    Parameters
    ----------
    ctx : openldn.core.stage.StageContext
        Run context after the stage that made the sampled map.
    """
    from openldn.accuracy.assess import assess_sample
    from openldn.accuracy.design import SampleDesign
    from openldn.accuracy.labels import read_labels

    a = ctx.assessment
    opts = _options(a)
    if opts.design is None:
        return
    errors = _check(a, {})
    if errors:
        raise ConfigError(errors[0])
    ctx.progress("accuracy", 0, 2, "sample")
    files = sample_files(a, opts)
    design = SampleDesign.from_json(files["design"])
    key = opts.map or design.map_key
    if key not in ctx.layers:
        raise ConfigError(f"{files['design']}: the sample was drawn on {key}, which this run does not compute; "
                          f"set accuracy.map to one of {', '.join(sorted(ctx.layers)) or '(none)'}")  # fmt: skip
    _check_strata(design, ctx.layers[key], key, files["design"])
    points = pd.read_csv(files["points"], dtype={"point_id": str, "zone_id": str})
    if "point_id" not in points.columns or "stratum" not in points.columns:
        raise ConfigError(f"{files['points']}: needs the columns point_id and stratum; give the points.csv written "
                          "by `openldn accuracy design`")  # fmt: skip
    labels = read_labels(files["labels"])
    result = assess_sample(design, points, labels, confidence=opts.confidence, rule=opts.confidence_rule,
                           thresholds=opts.thresholds)  # fmt: skip
    record = accuracy_record(result, files, key, opts)
    ctx.provenance["accuracy"] = record
    ctx.add_table("accuracy", result.table())
    ctx.add_table("accuracy_degraded", degraded_table(record))
    ctx.progress("accuracy", 2, 2, "done")


# -- the stage declaration (openldn.core.stage; registered in openldn.registry) ---------------------------------
from openldn.core.stage import KeyPattern, Stage  # noqa: E402

STAGE = Stage(
    name="accuracy",
    title="Accuracy and area estimate from a reference sample",
    run=run,
    options_key="accuracy",
    options=AccuracyOptions,
    tables=(KeyPattern("accuracy", "accuracies and class areas with intervals from the reference sample"),
            KeyPattern("accuracy_degraded", "adjusted proportion of degraded land with its interval")),
    check=_check,
)
