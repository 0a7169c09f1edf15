"""From a drawn sample and its reference labels to accuracy and area estimates, and the SO1-4.T2 confidence level.

:func:`confidence_level` is the documented rule (docs/accuracy.md) turning the interval of the degraded-area
proportion into the high / medium / low confidence that PRAIS asks beside the proportion of degraded land
(table SO1-4.T2). :func:`assess_sample` joins a sample with its labels, builds the error matrix of the labelled
points and applies :func:`openldn.accuracy.estimate_accuracy`; :func:`write_assessment` writes CSV + JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from openldn.accuracy.design import SampleDesign
from openldn.accuracy.estimators import (
    AccuracyEstimate,
    GeneralEstimate,
    ProportionEstimate,
    estimate_accuracy,
    estimate_accuracy_strata,
    estimate_domain_proportion,
)
from openldn.accuracy.labels import check_labels
from openldn.exceptions import ConfigError

__all__ = [
    "ConfidenceRule",
    "SampleAssessment",
    "assess_map",
    "assess_sample",
    "confidence_level",
    "file_record",
    "write_assessment",
    "write_map_assessment",
]

ConfidenceRule = Literal["relative", "absolute"]

#: Default thresholds of each rule: (high, medium); above ``medium`` the confidence is low.
#: ``relative``: half-width of the 95 % interval over the estimated proportion; ``absolute``: half-width in
#: percentage points of the land area.
DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {"relative": (0.25, 0.5), "absolute": (2.0, 5.0)}


def confidence_level(
    estimate: ProportionEstimate,
    *,
    rule: ConfidenceRule = "relative",
    thresholds: tuple[float, float] | None = None,
) -> str:
    """SO1-4.T2 confidence level (``"high"``, ``"medium"``, ``"low"``) from the interval of the degraded proportion.

    Parameters
    ----------
    estimate : ProportionEstimate
        Stratified estimate of the degraded-area proportion with its interval.
    rule : {"relative", "absolute"}
        ``relative`` (default): the half-width of the interval divided by the estimate; ``absolute``: the
        half-width in percentage points of the land area.
    thresholds : tuple of float, optional
        ``(high, medium)`` upper bounds; default ``(0.25, 0.5)`` for ``relative`` (interval within ±25 % of the
        estimate: high; within ±50 %: medium; else low) and ``(2, 5)`` percentage points for ``absolute``.

    Returns
    -------
    str

    Notes
    -----
    PRAIS asks for the level without defining it; this rule is openldn's convention, documented in
    docs/accuracy.md and recorded with the estimate. A zero estimate is ``high`` only if its interval is zero too.
    """
    if rule not in DEFAULT_THRESHOLDS:
        raise ConfigError(f"confidence rule {rule!r}: use 'relative' or 'absolute'")
    hi_t, med_t = thresholds if thresholds is not None else DEFAULT_THRESHOLDS[rule]
    if not 0 <= hi_t <= med_t:
        raise ConfigError(f"confidence thresholds {(hi_t, med_t)}: give 0 <= high <= medium")
    half = estimate.half_width
    if rule == "relative":
        value = half / estimate.proportion if estimate.proportion > 0 else (0.0 if half == 0 else float("inf"))
    else:
        value = 100.0 * half
    return "high" if value <= hi_t else "medium" if value <= med_t else "low"


@dataclass(frozen=True)
class SampleAssessment:
    """Estimates from a labelled sample, with what is needed to report them."""

    design: SampleDesign
    estimate: AccuracyEstimate | GeneralEstimate
    degraded: ProportionEstimate | None
    confidence: str | None
    rule: str
    thresholds: tuple[float, float]
    n_points: int
    n_labelled: int
    labelled_per_stratum: list[int]
    interpreters: list[str]
    zones: dict[str, ProportionEstimate] | None = None

    def zone_table(self) -> pd.DataFrame:
        """Degraded area and share of each admin unit (empty without zones in the design)."""
        rows = []
        for zid, e in (self.zones or {}).items():
            rows.append({"zone_id": zid, "zone_area_km2": e.total_area, "degraded_km2": e.area,
                         "degraded_km2_se": e.area_se, "degraded_km2_ci_low": e.ci_low * e.total_area,
                         "degraded_km2_ci_high": e.ci_high * e.total_area, "share": e.proportion, "share_se": e.se,
                         "share_ci_low": e.ci_low, "share_ci_high": e.ci_high,
                         "mapped_share": e.mapped_proportion})  # fmt: skip
        return pd.DataFrame(rows)

    def table(self) -> pd.DataFrame:
        """Per-class table with labels; areas in km² (``area_km2`` ...)."""
        t = self.estimate.table()
        t.insert(1, "class_label", self.design.class_labels)
        t.insert(0, "map", self.design.map_key)
        return t.rename(columns={c: c.replace("area", "area_km2", 1) for c in t.columns
                                 if c.startswith("area") and "proportion" not in c}).rename(
            columns={"mapped_area": "mapped_area_km2"})  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (areas in km²)."""
        if isinstance(self.estimate, AccuracyEstimate):
            d = self.estimate.to_dict()
        else:
            d = {"method": "Stehman (2014): strata = low-confidence part and rest of every map class",
                 "confidence": self.estimate.confidence, "classes": list(self.design.classes),
                 "strata_area": (self.design.strata_area_m2() / 1e6).tolist(), "total_area": self.estimate.total_area,
                 "overall_accuracy": self.estimate.overall, "overall_accuracy_se": self.estimate.overall_se}  # fmt: skip
        d["per_class"] = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
                          for row in json.loads(self.table().to_json(orient="records"))]  # fmt: skip
        return {
            "map": self.design.map_key,
            "area_unit": "km2",
            "sample": {"n_points": self.n_points, "n_labelled": self.n_labelled,
                       "labelled_per_stratum": dict(zip(map(str, self.design.classes), self.labelled_per_stratum,
                                                        strict=True)),
                       "interpreters": self.interpreters, "seed": self.design.seed,
                       "allocation": self.design.allocation},
            "degraded": None if self.degraded is None else self.degraded.to_dict(),
            "degraded_by_zone": None if self.zones is None else {z: e.to_dict() for z, e in self.zones.items()},
            "confidence_level": self.confidence,
            "confidence_rule": {"rule": self.rule, "thresholds": list(self.thresholds),
                                "definition": _RULE_TEXT[self.rule]},
            "estimates": d,
        }


_RULE_TEXT = {
    "relative": "high if the half-width of the interval of the degraded proportion is at most the first threshold "
    "times the estimate, medium if at most the second, else low",
    "absolute": "high if the half-width of the interval of the degraded proportion is at most the first threshold "
    "(percentage points), medium if at most the second, else low",
}


def assess_sample(
    design: SampleDesign,
    points: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    confidence: float = 0.95,
    rule: ConfidenceRule = "relative",
    thresholds: tuple[float, float] | None = None,
) -> SampleAssessment:
    """Estimate accuracies and areas from the labelled points of a sample.

    Parameters
    ----------
    design : SampleDesign
        The design (``design.json``): strata, mapped areas, degraded classes.
    points : pandas.DataFrame
        The sample (``points.csv``): at least ``point_id`` and ``stratum``.
    labels : pandas.DataFrame
        Labels as read by :func:`openldn.accuracy.labels.read_labels` (checked here); unlabelled points are left
        out and counted.
    confidence : float
        Confidence level of the intervals.
    rule, thresholds
        The confidence-level rule (:func:`confidence_level`).

    Returns
    -------
    SampleAssessment
    """
    classes = dict(zip(design.classes, design.class_labels, strict=True))
    checked = check_labels(labels, classes, points["point_id"].astype(str))
    pts = points.assign(point_id=points["point_id"].astype(str))[["point_id", "stratum"]]
    joined = pts.merge(checked, on="point_id", how="inner")
    done = joined[joined["reference"].notna()]
    pos = {c: i for i, c in enumerate(design.classes)}
    k = len(design.classes)
    counts = np.zeros((k, k), dtype=np.int64)
    for s, r in zip(done["stratum"].astype(int), done["reference"].astype(int), strict=True):
        counts[pos[s], pos[r]] += 1
    area_km2 = np.asarray(design.mapped_area_m2, dtype=np.float64) / 1e6
    short = [f"{design.classes[i]} ({design.class_labels[i]}): {int(counts[i].sum())}"
             for i in range(k) if area_km2[i] > 0 and counts[i].sum() < 2]  # fmt: skip
    if short:
        raise ConfigError(f"labels: strata with fewer than 2 labelled points: {'; '.join(short)}; every mapped class "
                          f"needs at least 2 ({len(done)} of {len(points)} points labelled so far)")  # fmt: skip
    est: AccuracyEstimate | GeneralEstimate
    if design.confidence_map is not None:  # strata = low-confidence part and rest of every class (Stehman 2014)
        est = _substrata_estimate(design, points, done, area_km2, confidence)
        deg = est.degraded
    else:
        est = estimate_accuracy(counts, area_km2, classes=design.classes, confidence=confidence)
        deg = est.class_proportion(design.degraded_classes) if design.degraded_classes else None
    level = None if deg is None else confidence_level(deg, rule=rule, thresholds=thresholds)
    interp = sorted({str(v) for v in done["interpreter"] if str(v).strip()})
    zones = None
    if (design.zone_mapped_area_m2 and design.degraded_classes and "zone_id" in points.columns
            and design.confidence_map is None):
        zone_of = dict(zip(points["point_id"].astype(str), points["zone_id"].astype(str), strict=True))
        in_deg = done["reference"].astype(int).isin(design.degraded_classes).to_numpy()
        zcol = done["point_id"].map(zone_of).to_numpy()
        strata = done["stratum"].astype(int).map(pos).to_numpy()
        n_h = counts.sum(axis=1)
        deg_pos = [pos[c] for c in design.degraded_classes]
        zones = {}
        for zid, zarea in design.zone_mapped_area_m2.items():
            zarea_km2 = np.asarray(zarea, dtype=np.float64) / 1e6
            if zarea_km2.sum() <= 0:
                continue
            hits = np.bincount(strata[in_deg & (zcol == zid)], minlength=k)
            zones[zid] = estimate_domain_proportion(
                n_h, hits, area_km2, float(zarea_km2.sum()), classes=tuple(design.degraded_classes),
                mapped_domain_share=float(zarea_km2[deg_pos].sum() / zarea_km2.sum()), confidence=confidence,
            )  # fmt: skip
    return SampleAssessment(
        design=design, estimate=est, degraded=deg, confidence=level, rule=rule,
        thresholds=thresholds if thresholds is not None else DEFAULT_THRESHOLDS[rule],
        n_points=len(points), n_labelled=len(done), labelled_per_stratum=counts.sum(axis=1).tolist(),
        interpreters=interp, zones=zones,
    )  # fmt: skip


def _substrata_estimate(design: SampleDesign, points: pd.DataFrame, done: pd.DataFrame, area_km2: np.ndarray,
                        confidence: float) -> GeneralEstimate:  # fmt: skip
    """Estimates of a design whose strata split every class by pixel confidence (low part, other part)."""
    import dataclasses

    if "substratum" not in points.columns:
        raise ConfigError("points.csv: no substratum column, but the design splits the classes by pixel confidence; "
                          "give the points.csv written with the design")  # fmt: skip
    sub = dict(zip(points["point_id"].astype(str), points["substratum"].astype(str), strict=True))
    pos = {c: i for i, c in enumerate(design.classes)}
    h = np.array([2 * pos[int(s)] + (sub[p] != "low") for p, s in zip(done["point_id"], done["stratum"],
                                                                       strict=True)], dtype=np.int64)  # fmt: skip
    a_h = design.strata_area_m2() / 1e6
    n_h = np.bincount(h, minlength=a_h.size)
    short = [f"{design.classes[j // 2]} ({'low confidence' if j % 2 == 0 else 'other'}): {int(n_h[j])}"
             for j in range(a_h.size) if a_h[j] > 0 and n_h[j] < 2]  # fmt: skip
    if short:
        raise ConfigError(f"labels: strata with fewer than 2 labelled points: {'; '.join(short)}; every stratum "
                          "with area needs at least 2")  # fmt: skip
    keep = np.flatnonzero(n_h > 0)
    remap = np.full(a_h.size, -1, dtype=np.int64)
    remap[keep] = np.arange(keep.size)
    est = estimate_accuracy_strata(remap[h], a_h[keep], done["stratum"].astype(int).to_numpy(),
                                   done["reference"].astype(int).to_numpy(), classes=design.classes,
                                   degraded=design.degraded_classes, confidence=confidence)  # fmt: skip
    if est.degraded is not None:
        mapped = float(area_km2[[pos[c] for c in design.degraded_classes]].sum() / area_km2.sum())
        est = dataclasses.replace(est, degraded=dataclasses.replace(est.degraded, mapped_proportion=mapped))
    return est


def file_record(path: str | Path) -> dict[str, Any]:
    """Provenance record of an input file: resolved path, size and sha256."""
    import hashlib

    p = Path(path).resolve()
    digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
    return {"path": str(p), "bytes": p.stat().st_size if p.is_file() else None, "sha256": digest}


def write_assessment(
    result: SampleAssessment, out_dir: str | Path, *, sources: dict[str, str | Path] | None = None
) -> dict[str, Path]:
    """Write ``accuracy.csv`` (per class), ``error_matrix.csv`` (counts and area proportions), ``accuracy.json`` and,
    with admin units in the design, ``accuracy_zones.csv`` (degraded area and share per unit).

    ``sources`` (e.g. ``{"design": ..., "points": ..., "labels": ...}``) are recorded in ``accuracy.json`` with
    their sha256 (provenance of the sample design and the labels)."""
    from openldn.io import atomic_path, write_table

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"table": out / "accuracy.csv", "matrix": out / "error_matrix.csv", "json": out / "accuracy.json"}
    write_table(result.table(), paths["table"])
    est = result.estimate
    rows = []
    if isinstance(est, AccuracyEstimate):  # strata = map classes: the error matrix in area proportions
        for i, c in enumerate(est.classes):
            for j, r in enumerate(est.classes):
                rows.append({"map_class": c, "reference_class": r, "count": int(est.counts[i, j]),
                             "area_proportion": float(est.proportions[i, j])})  # fmt: skip
        write_table(pd.DataFrame(rows), paths["matrix"])
    else:
        del paths["matrix"]
    if result.zones:
        paths["zones"] = write_table(result.zone_table(), out / "accuracy_zones.csv")
    with atomic_path(paths["json"]) as tmp:
        doc = result.to_dict()
        doc["sources"] = {k: file_record(v) for k, v in (sources or {}).items()}
        tmp.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return paths


def assess_map(
    design: SampleDesign,
    points: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    map_column: str,
    classes: dict[int, str],
    degraded: list[int],
    confidence: float = 0.95,
    rule: ConfidenceRule = "relative",
    thresholds: tuple[float, float] | None = None,
) -> tuple[GeneralEstimate, str | None, int]:
    """Accuracy and areas of another map of the run from the same sample (strata = the design's map classes).

    Parameters
    ----------
    design : SampleDesign
        The design (its strata and their mapped areas).
    points : pandas.DataFrame
        The sample, with the column ``map_column`` (that map's value at each point, written by the design).
    labels : pandas.DataFrame
        Reference labels in the legend of the assessed map (``classes``).
    map_column : str
        Column of ``points`` holding the assessed map's values (e.g. ``lpd_2016-2023``).
    classes : dict of int to str
        Legend of the assessed map.
    degraded : list of int
        Its degraded classes.
    confidence, rule, thresholds
        As for :func:`assess_sample`.

    Returns
    -------
    tuple
        The :class:`~openldn.accuracy.estimators.GeneralEstimate` (Stehman 2014), the SO1-4.T2 confidence level of
        its degraded proportion (None without degraded classes) and the number of labelled points used.
    """
    if map_column not in points.columns:
        raise ConfigError(f"sample points have no column {map_column!r}; the design wrote {design.maps}")
    checked = check_labels(labels, classes, points["point_id"].astype(str))
    pts = points.assign(point_id=points["point_id"].astype(str))[["point_id", "stratum", map_column]]
    done = pts.merge(checked, on="point_id", how="inner")
    done = done[done["reference"].notna() & done[map_column].notna()]
    pos = {c: i for i, c in enumerate(design.classes)}
    area_km2 = np.asarray(design.mapped_area_m2, dtype=np.float64) / 1e6
    est = estimate_accuracy_strata(
        done["stratum"].astype(int).map(pos).to_numpy(), area_km2, done[map_column].astype(int).to_numpy(),
        done["reference"].astype(int).to_numpy(), classes=sorted(classes), degraded=degraded, confidence=confidence,
    )  # fmt: skip
    level = None if est.degraded is None else confidence_level(est.degraded, rule=rule, thresholds=thresholds)
    return est, level, len(done)


def write_map_assessment(est: GeneralEstimate, level: str | None, n_labelled: int, *, map_key: str,
                         classes: dict[int, str], out_dir: str | Path) -> dict[str, Path]:  # fmt: skip
    """Write ``accuracy_<map>.csv`` and ``accuracy_<map>.json`` (areas in km²) for :func:`assess_map`."""
    from openldn.io import atomic_path, write_table

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = "accuracy_" + map_key.replace("/", "_")
    t = est.table()
    t.insert(1, "class_label", [classes[int(c)] for c in est.classes])
    t.insert(0, "map", map_key)
    t = t.rename(columns={c: c.replace("area", "area_km2", 1) for c in t.columns
                          if c.startswith("area") and "proportion" not in c})  # fmt: skip
    paths = {"table": write_table(t, out / f"{stem}.csv"), "json": out / f"{stem}.json"}
    doc = {
        "map": map_key,
        "method": "Stehman (2014): stratified estimators when the strata (the design map's classes) differ from "
        "the assessed map's classes",
        "area_unit": "km2",
        "n_labelled": n_labelled,
        "overall_accuracy": est.overall,
        "overall_accuracy_se": est.overall_se,
        "degraded": None if est.degraded is None else est.degraded.to_dict(),
        "confidence_level": level,
        "per_class": json.loads(t.to_json(orient="records")),
    }
    with atomic_path(paths["json"]) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return paths
