"""``openldn accuracy design|estimate``: sample design on a run's map, and estimates from the labelled sample.

Heavy libraries are imported inside the commands (the CLI starts fast).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from openldn.exceptions import ConfigError, OpenLDNError

__all__ = ["app"]

app = typer.Typer(
    name="accuracy",
    help="Sample-based accuracy and area estimates of a run's maps (Olofsson et al. 2014).",
    no_args_is_help=True,
)


def _codes(text: str | None, what: str) -> list[int] | None:
    if text is None or not text.strip():
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{what} {text!r}: give class codes separated by commas, e.g. -1 or 1,2") from None


def _users(text: str | None) -> dict[int, float] | None:
    if text is None or not text.strip():
        return None
    out: dict[int, float] = {}
    for part in text.split(","):
        try:
            code, value = part.split("=")
            out[int(code)] = float(value)
        except ValueError:
            raise ConfigError(f"--users {text!r}: give code=accuracy pairs separated by commas, e.g. "
                              "'-1=0.7,0=0.95,1=0.7'") from None  # fmt: skip
    return out


def _exclude(text: str | None) -> tuple[str, list[int]] | None:
    if text is None or not text.strip():
        return None
    key, _, codes = text.partition("=")
    parsed = _codes(codes, "--exclude")
    if not key.strip() or not parsed:
        raise ConfigError(f"--exclude {text!r}: give a map and codes, e.g. 'lc_unccd/2023=7'")
    return key.strip(), parsed


@app.command()
def design(
    map_: Annotated[str, typer.Argument(metavar="MAP", help="Map key of the run (e.g. sdg/2016-2023) or a GeoTIFF.")],
    run: Annotated[Path | None, typer.Option("--run", "-r", help="Output folder of the run.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the sample files.")] = Path("sample"),
    n: Annotated[int | None, typer.Option("--n", min=2, help="Total sample size (default: from --target-se).")] = None,
    target_se: Annotated[float, typer.Option("--target-se", help="Target standard error of the degraded-area "
                                             "proportion.")] = 0.01,
    users: Annotated[str | None, typer.Option("--users", help="Expected user's accuracies, e.g. '-1=0.7,0=0.95' "
                                              "(others 0.8).")] = None,
    minimum: Annotated[int, typer.Option("--minimum", min=0, help="At least this many points per class (0: "
                                         "proportional allocation).")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    degraded: Annotated[str | None, typer.Option("--degraded", help="Degraded class codes, e.g. '-1' or '1,2' "
                                                 "(default from the map's legend).")] = None,
    zones: Annotated[Path | None, typer.Option("--zones", help="Admin units file: sample only inside them.")] = None,
    zone_field: Annotated[str, typer.Option("--zone-field", help="Identifier field of --zones.")] = "id",
    zone_ids: Annotated[str | None, typer.Option("--zone-ids", help="Only these admin units (comma-separated ids).")]
    = None,
    exclude: Annotated[str | None, typer.Option("--exclude", help="Leave out cells of another map with these codes, "
                                                "e.g. 'lc_unccd/2023=7' (water).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a different, already labelled sample in --out.")]
    = False,
    confidence_map: Annotated[str | None, typer.Option("--confidence", help="Pixel confidence map of the run (e.g. "
                                                       "confidence/2016-2023): strata = low-confidence part and "
                                                       "rest of every class.")] = None,
    extra: Annotated[int, typer.Option("--extra", min=0, help="Extra points in the low-confidence strata (needs "
                                       "--confidence).")] = 0,
    low: Annotated[str, typer.Option("--low", help="Confidence classes counted as low (default 1).")] = "1",
) -> None:
    """Draw a stratified random sample on a categorical map; write points.gpkg/.csv, design.json and labels.csv."""
    from openldn.accuracy.sampling import design_sample

    d, table = design_sample(
        map_, out, run_dir=run, n=n, target_se=target_se, users_accuracy=_users(users), minimum=minimum, seed=seed,
        degraded=_codes(degraded, "--degraded"), zones=zones, zone_field=zone_field,
        zone_ids=[z.strip() for z in zone_ids.split(",")] if zone_ids else None, exclude=_exclude(exclude),
        force=force, confidence=confidence_map, extra=extra, low_classes=_codes(low, "--low") or [1],
    )  # fmt: skip
    alloc = ", ".join(f"{lab} {a}" for lab, a in zip(d.class_labels, d.allocation, strict=True))
    typer.echo(f"{len(table)} points on {d.map_key} ({alloc}) written to {out}; fill in {out / 'labels.csv'}")


@app.command()
def estimate(
    sample: Annotated[Path, typer.Argument(help="Sample folder written by `openldn accuracy design`.")],
    labels: Annotated[Path | None, typer.Option("--labels", "-l", help="Labels file (CSV or GeoPackage); default "
                                                "labels.csv in the sample folder.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: the sample folder).")]
    = None,
    confidence: Annotated[float, typer.Option("--confidence", help="Confidence level of the intervals.")] = 0.95,
    rule: Annotated[str, typer.Option("--rule", help="SO1-4.T2 confidence rule: relative or absolute.")]
    = "relative",
    thresholds: Annotated[str | None, typer.Option("--thresholds", help="High,medium bounds of the rule, e.g. "
                                                   "0.25,0.5.")] = None,
    map_: Annotated[str | None, typer.Option("--map", help="Assess another map of the run with this sample (key, "
                                             "e.g. lpd/2016-2023); labels then use that map's legend.")] = None,
    degraded: Annotated[str | None, typer.Option("--degraded", help="Degraded classes of --map (default from its "
                                                 "legend).")] = None,
) -> None:
    """Estimate accuracies, class areas and the degraded proportion (with intervals) from the labelled points."""
    import pandas as pd

    from openldn.accuracy.assess import assess_sample, write_assessment
    from openldn.accuracy.design import SampleDesign
    from openldn.accuracy.labels import read_labels
    from openldn.accuracy.sampling import SAMPLE_FILES

    d = SampleDesign.from_json(sample / SAMPLE_FILES["design"])
    pts_path = sample / SAMPLE_FILES["points_csv"]
    if not pts_path.is_file():
        raise ConfigError(f"{pts_path}: no sample points; give the folder written by `openldn accuracy design`")
    points = pd.read_csv(pts_path, dtype={"point_id": str, "zone_id": str})
    labels_path = labels if labels is not None else sample / SAMPLE_FILES["labels"]
    lab = read_labels(labels_path)
    th: tuple[float, float] | None = None
    if thresholds:
        try:
            a, b = (float(v) for v in thresholds.split(","))
        except ValueError:
            raise ConfigError(f"--thresholds {thresholds!r}: give two numbers, e.g. 0.25,0.5") from None
        th = (a, b)
    if rule not in ("relative", "absolute"):
        raise ConfigError(f"--rule {rule!r}: use relative or absolute")
    if map_ is not None:
        _estimate_other_map(d, points, lab, map_, _codes(degraded, "--degraded"), out if out is not None else sample,
                            confidence=confidence, rule=rule, thresholds=th)  # fmt: skip
        return
    res = assess_sample(d, points, lab, confidence=confidence, rule=rule, thresholds=th)  # type: ignore[arg-type]
    paths = write_assessment(res, out if out is not None else sample, sources={
        "design": sample / SAMPLE_FILES["design"], "points": pts_path, "labels": labels_path})  # fmt: skip
    est = res.estimate
    from openldn.accuracy.estimators import z_value

    typer.echo(f"{res.n_labelled} of {res.n_points} points labelled; overall accuracy {est.overall:.3f} "
               f"± {z_value(confidence) * est.overall_se:.3f}")  # fmt: skip
    if res.degraded is not None:
        g = res.degraded
        typer.echo(f"degraded: {100 * g.proportion:.2f} % of the area (map {100 * g.mapped_proportion:.2f} %), "
                   f"{100 * confidence:.0f} % interval {100 * g.ci_low:.2f}-{100 * g.ci_high:.2f} %, "
                   f"{g.area:.1f} ± {g.half_width * g.total_area:.1f} km²; confidence {res.confidence}")  # fmt: skip
    typer.echo(f"written: {', '.join(str(p) for p in paths.values())}")


def _estimate_other_map(d: Any, points: Any, lab: Any, key: str, degraded: list[int] | None, out: Path, *,
                        confidence: float, rule: str, thresholds: tuple[float, float] | None) -> None:  # fmt: skip
    from openldn.accuracy.assess import assess_map, write_map_assessment
    from openldn.accuracy.design import DEGRADED_CLASSES, map_info
    from openldn.accuracy.sampling import resolve_map

    run_dir = Path(d.map_path).parent.parent  # <run>/maps/<file>.tif
    try:
        info, _ = resolve_map(key, run_dir)
    except OpenLDNError:
        info = map_info(key)
    deg = degraded if degraded is not None else list(DEGRADED_CLASSES.get(info.legend_id or "", ()))
    est, level, n = assess_map(d, points, lab, map_column=info.column, classes=info.classes, degraded=deg,
                               confidence=confidence, rule=rule, thresholds=thresholds)  # type: ignore[arg-type]  # fmt: skip
    paths = write_map_assessment(est, level, n, map_key=info.key, classes=info.classes, out_dir=out)
    typer.echo(f"{info.key}: {n} labelled points; overall accuracy {est.overall:.3f} ± "
               f"{1.959964 * est.overall_se:.3f}")  # fmt: skip
    if est.degraded is not None:
        g = est.degraded
        typer.echo(f"degraded: {100 * g.proportion:.2f} % ({100 * g.ci_low:.2f}-{100 * g.ci_high:.2f} %), "
                   f"{g.area:.1f} km²; confidence {level}")  # fmt: skip
    typer.echo(f"written: {', '.join(str(p) for p in paths.values())}")
