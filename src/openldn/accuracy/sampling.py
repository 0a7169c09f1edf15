"""Draw a sample on a map of a run and write it for the interpreters (GeoPackage, CSV, design record, labels form).

Files written in the output folder:

* ``points.gpkg`` (layer ``points``, geometry in the map's CRS) and ``points.csv``: ``point_id``, ``stratum``,
  ``stratum_label``, ``row``, ``col``, ``x``, ``y``, ``lon``, ``lat``, ``zone_id`` (with admin units), then the
  value of every categorical map of the run at the point (one column per map, named like ``sdg_2016-2023``);
* ``design.json``: the :class:`~openldn.accuracy.design.SampleDesign` (map, strata, mapped areas, allocation, seed);
* ``labels.csv``: the empty labels form (``point_id``, ``reference``, ``interpreter``, ``confidence``, ``notes``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from openldn.accuracy.design import (
    DEGRADED_CLASSES,
    MapInfo,
    SampleDesign,
    allocate,
    draw_points,
    map_info,
    run_categorical_maps,
    sample_size,
    scan_strata,
)
from openldn.accuracy.labels import label_template
from openldn.exceptions import ConfigError

__all__ = ["DEFAULT_USERS_ACCURACY", "SAMPLE_FILES", "design_sample", "resolve_map", "values_at_points"]

#: Expected user's accuracy of a class when none is given (used only for the sample size).
DEFAULT_USERS_ACCURACY = 0.8
#: File names written by :func:`design_sample`.
SAMPLE_FILES: dict[str, str] = {
    "points_gpkg": "points.gpkg",
    "points_csv": "points.csv",
    "design": "design.json",
    "labels": "labels.csv",
}


def resolve_map(map_: str | Path, run_dir: str | Path | None) -> tuple[MapInfo, dict[str, MapInfo]]:
    """The stratifying map (a run output key such as ``sdg/2016-2023``, or a GeoTIFF path) and the run's maps."""
    maps = run_categorical_maps(run_dir) if run_dir is not None else {}
    key = str(map_)
    if key in maps:
        return maps[key], maps
    alias = {m.column: m for m in maps.values()}
    if key in alias:
        return alias[key], maps
    p = Path(map_)
    if not p.suffix and run_dir is not None:
        raise ConfigError(f"map {key!r} is not a categorical map of the run {run_dir}; use one of "
                          f"{', '.join(sorted(maps))}")  # fmt: skip
    if run_dir is not None and not p.is_absolute() and not p.is_file():
        p = Path(run_dir) / p
    info = map_info(p)
    return info, maps or {info.key: info}


def values_at_points(points: pd.DataFrame, maps: Mapping[str, MapInfo], crs: str) -> pd.DataFrame:
    """Value of every map at the points (columns named after the maps; no data as ``pd.NA``)."""
    import rasterio
    from pyproj import CRS, Transformer

    out = pd.DataFrame(index=points.index)
    xs = points["x"].to_numpy(dtype=np.float64)
    ys = points["y"].to_numpy(dtype=np.float64)
    for info in maps.values():
        if CRS.from_user_input(info.crs) != CRS.from_user_input(crs):
            tr = Transformer.from_crs(CRS.from_user_input(crs), CRS.from_user_input(info.crs), always_xy=True)
            mx, my = tr.transform(xs, ys)
        else:
            mx, my = xs, ys
        with rasterio.open(info.path) as src:
            vals = np.array([v[0] for v in src.sample(zip(mx, my, strict=True))], dtype=np.int64) if len(xs) else \
                np.zeros(0, dtype=np.int64)  # fmt: skip
            # points outside this map's extent come back as nodata (rasterio fills with the file's nodata or 0)
            bad = np.zeros(len(vals), dtype=bool)
            if info.nodata is not None:
                bad |= vals == info.nodata
            rows, cols = rasterio.transform.rowcol(src.transform, mx, my)
            bad |= (np.asarray(rows) < 0) | (np.asarray(rows) >= src.height) | (np.asarray(cols) < 0) | \
                (np.asarray(cols) >= src.width)  # fmt: skip
        col = pd.array(vals, dtype="Int64")
        col[bad] = pd.NA
        out[info.column] = col
    return out


def _parse_users(users: Mapping[int, float] | None, classes: Sequence[int]) -> list[float]:
    users = dict(users or {})
    unknown = sorted(set(users) - set(classes))
    if unknown:
        raise ConfigError(f"expected user's accuracy given for class(es) {unknown} that are not in the map's legend "
                          f"{list(classes)}")  # fmt: skip
    return [float(users.get(c, DEFAULT_USERS_ACCURACY)) for c in classes]


def design_sample(
    map_: str | Path,
    out_dir: str | Path,
    *,
    run_dir: str | Path | None = None,
    n: int | None = None,
    target_se: float = 0.01,
    users_accuracy: Mapping[int, float] | None = None,
    minimum: int = 0,
    seed: int = 0,
    degraded: Sequence[int] | None = None,
    zones: str | Path | None = None,
    zone_field: str = "id",
    zone_ids: Sequence[str] | None = None,
    exclude: tuple[str | Path, Sequence[int]] | None = None,
    max_pixels: int = 4_000_000,
    force: bool = False,
    confidence: str | Path | None = None,
    extra: int = 0,
    low_classes: Sequence[int] = (1,),
) -> tuple[SampleDesign, pd.DataFrame]:
    """Design a stratified random sample on a categorical map and write it (see the module docstring).

    Parameters
    ----------
    map_ : str or pathlib.Path
        The stratifying map: an output key of the run (``sdg/2016-2023``, ``lpd/2016-2023``,
        ``lc_degradation/2016-2023``, ``status/2016-2023``...) or a categorical GeoTIFF path.
    out_dir : str or pathlib.Path
        Folder for the sample files (created).
    run_dir : str or pathlib.Path, optional
        Output folder of the run: its categorical maps are resolved by key and their values written at the points.
    n : int, optional
        Total sample size. Default: from ``target_se`` and the expected user's accuracies (:func:`sample_size`).
    target_se : float
        Target standard error of the degraded-area proportion (used when ``n`` is not given).
    users_accuracy : mapping of int to float, optional
        Expected user's accuracy per class code (default :data:`DEFAULT_USERS_ACCURACY` for every class).
    minimum : int
        0: proportional allocation; above 0: at least that many points per mapped class.
    seed : int
        Random seed (same inputs and seed -> same points).
    degraded : sequence of int, optional
        Class codes counted as degraded (default from :data:`~openldn.accuracy.design.DEGRADED_CLASSES`).
    zones : str or pathlib.Path, optional
        Admin units file: the sample is drawn only inside them (cell-centre rule) and each point gets its
        ``zone_id``.
    zone_field : str
        Identifier field of ``zones``.
    zone_ids : sequence of str, optional
        Only these admin units (default: all).
    exclude : tuple, optional
        ``(map, codes)``: cells of another map of the run (key or path, same grid) with these codes leave the
        frame, e.g. ``("lc_unccd/2023", [7])`` for a land-only frame on the land cover degradation map (which is
        stable, not no data, on water).
    max_pixels : int
        Pixels read at once (memory bound).
    force : bool
        Replace a different design already in ``out_dir`` even though its labels file holds labels (they are
        moved aside to ``labels.previous.csv``).
    confidence : str or pathlib.Path, optional
        A pixel confidence map of the run (``confidence/<period>``, same grid): every class is split into its
        low-confidence part (codes ``low_classes``) and the rest, two strata sampled separately (the class's points
        shared by pixel count, at least 2 in each non-empty part); estimates then use the estimators for strata
        that differ from the map classes (Stehman 2014).
    extra : int
        Points added to the low-confidence strata (shared by their pixel counts); needs ``confidence``.
    low_classes : sequence of int
        Codes of ``confidence`` counted as low (default ``(1,)``, :data:`~openldn.accuracy.confidence.CONFIDENCE_CLASSES`).

    Returns
    -------
    tuple of SampleDesign and pandas.DataFrame
        The design record and the points table (as written to ``points.csv``).
    """
    import geopandas as gpd

    from openldn.io import atomic_path, read_vector, write_table

    info, maps = resolve_map(map_, run_dir)
    classes = sorted(info.classes)
    deg = list(degraded) if degraded is not None else list(DEGRADED_CLASSES.get(info.legend_id or "", ()))
    bad = [c for c in deg if c not in info.classes]
    if bad:
        raise ConfigError(f"degraded class(es) {bad} are not in the legend of {info.key} ({info.classes})")
    zgdf = None
    zid: list[str] | None = None
    if zones is not None:
        zgdf = read_vector(zones, id_field=zone_field).to_crs(info.crs)
        zgdf[zone_field] = zgdf[zone_field].astype(str)
        if zone_ids:
            missing = sorted(set(map(str, zone_ids)) - set(zgdf[zone_field]))
            if missing:
                raise ConfigError(f"{zones}: admin unit id(s) {missing} not found in field {zone_field!r}")
            zgdf = zgdf[zgdf[zone_field].isin([str(z) for z in zone_ids])].reset_index(drop=True)
        zid = list(zgdf[zone_field])
    excl = None
    if exclude is not None:
        excl_info, _ = resolve_map(exclude[0], run_dir)
        excl = (excl_info, tuple(int(c) for c in exclude[1]))
    scan = scan_strata(info, zones=zgdf, exclude=excl, max_pixels=max_pixels)
    users = _parse_users(users_accuracy, classes)
    from_se = n is None
    if n is None:
        n = sample_size(scan.weights, users, target_se)
    if n < 2:
        raise ConfigError(f"sample size {n}: draw at least 2 points per mapped class")
    alloc = allocate(n, scan.weights, minimum=minimum, available=scan.pixels)
    split: dict[str, Any] = {}
    if confidence is None:
        if extra:
            raise ConfigError("--extra needs --confidence: the pixel confidence map whose low classes get the extra "
                              "points (run with pixel_confidence: {enabled: true})")  # fmt: skip
        points = draw_points(info, scan, alloc, seed=seed, zones=zgdf, zone_ids=zid, exclude=excl,
                             max_pixels=max_pixels)  # fmt: skip
    else:
        if excl is not None:
            raise ConfigError("--confidence and --exclude cannot be combined; use a map whose frame is land (the "
                              "SDG 15.3.1, LPD or status map) with --confidence")  # fmt: skip
        points, split = _split_by_confidence(info, scan, alloc, confidence, run_dir, zgdf, zid,
                                             tuple(int(c) for c in low_classes), extra, seed, max_pixels)  # fmt: skip
        alloc = np.asarray(split["allocation"], dtype=np.int64)
    values = values_at_points(points, maps, info.crs)
    table = pd.concat([points, values], axis=1)
    design = SampleDesign(
        map_key=info.key,
        map_path=str(info.path.resolve()),
        legend_id=info.legend_id,
        classes=classes,
        class_labels=[info.classes[c] for c in classes],
        degraded_classes=deg,
        pixels=scan.pixels.tolist(),
        mapped_area_m2=scan.area_m2.tolist(),
        allocation=alloc.tolist(),
        n=int(alloc.sum()),
        seed=int(seed),
        target_se=float(target_se) if from_se else None,
        expected_users_accuracy=users,
        minimum=int(minimum),
        zones_path=None if zones is None else str(Path(zones).resolve()),
        zone_field=None if zones is None else zone_field,
        zone_ids=None if not zone_ids else [str(z) for z in zone_ids],
        zone_mapped_area_m2=None if scan.zone_area_m2 is None or zid is None else
        {z: scan.zone_area_m2[i].tolist() for i, z in enumerate(zid)},
        exclude=None if excl is None else {"map": excl[0].key, "path": str(excl[0].path.resolve()),
                                           "codes": list(excl[1])},
        crs=info.crs,
        maps=[m.column for m in maps.values()],
        confidence_map=split.get("map"),
        low_classes=split.get("low_classes"),
        pixels_low=split.get("pixels_low"),
        mapped_area_low_m2=split.get("area_low_m2"),
        allocation_low=split.get("allocation_low"),
        extra=int(extra),
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = out / SAMPLE_FILES["labels"]
    if labels.exists() and _has_labels(labels) and not _same_points(out / SAMPLE_FILES["points_csv"], table):
        if not force:
            raise ConfigError(f"{out}: holds labels of a different sample ({labels}); write the new design to another "
                              "folder, or use --force to replace it (the labels are kept as labels.previous.csv)")
        labels.replace(out / "labels.previous.csv")
    write_table(table, out / SAMPLE_FILES["points_csv"])
    gdf = gpd.GeoDataFrame(table.astype(dict.fromkeys(values.columns, "float64")),
                           geometry=gpd.points_from_xy(table["x"], table["y"]), crs=info.crs)  # fmt: skip
    quiet = logging.getLogger("pyogrio")  # its "Created N records" is not news for the user
    level = quiet.level
    quiet.setLevel(max(level, logging.WARNING))
    try:
        with atomic_path(out / SAMPLE_FILES["points_gpkg"]) as tmp:
            gdf.to_file(tmp, layer="points", driver="GPKG")
    finally:
        quiet.setLevel(level)
    with atomic_path(out / SAMPLE_FILES["design"]) as tmp:
        tmp.write_text(design.to_json(), encoding="utf-8")
    if not labels.exists():  # never overwrite interpreters' work
        write_table(label_template(table["point_id"]), labels)
    return design, table


def _largest_remainder(total: int, weights: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """``total`` shared in proportion to ``weights`` (largest remainder), at most ``cap`` each."""
    w = np.asarray(weights, dtype=np.float64)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(w.size, dtype=np.int64)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - out), kind="stable")
    out[order[: total - int(out.sum())]] += 1
    capped: np.ndarray = np.minimum(out, np.asarray(cap, dtype=np.int64))
    return capped


def _split_by_confidence(
    info: MapInfo, scan: Any, alloc: np.ndarray, confidence: str | Path, run_dir: str | Path | None, zones: Any,
    zone_ids: list[str] | None, low: tuple[int, ...], extra: int, seed: int, max_pixels: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Draw the sample with every class split into its low-confidence part and the rest (two strata each)."""
    from openldn.accuracy.design import check_exclude

    cinfo, _ = resolve_map(confidence, run_dir)
    check_exclude(info, (cinfo, ()))
    bad = [c for c in low if c not in cinfo.classes]
    if bad or not low:
        raise ConfigError(f"--low {list(low)}: not classes of the confidence map {cinfo.key} ({cinfo.classes})")
    non_low = tuple(c for c in cinfo.classes if c not in low) + ((cinfo.nodata,) if cinfo.nodata is not None else ())
    try:
        low_scan = scan_strata(info, zones=zones, exclude=(cinfo, non_low), max_pixels=max_pixels)
    except ConfigError:
        raise ConfigError(f"{cinfo.path}: no pixel of the confidence classes {list(low)} in the frame; draw the "
                          "sample without --confidence/--extra") from None  # fmt: skip
    low_px = low_scan.pixels
    oth_px = scan.pixels - low_px
    a_low = np.zeros_like(alloc)
    a_oth = np.zeros_like(alloc)
    for i, a in enumerate(alloc):
        if a == 0:
            continue
        al = round(float(a * low_px[i] / scan.pixels[i]))
        ao = int(a) - al
        al = min(max(al, min(2, int(low_px[i]))), int(low_px[i]))
        ao = min(max(ao, min(2, int(oth_px[i]))), int(oth_px[i]))
        a_low[i], a_oth[i] = al, ao
    a_low = a_low + _largest_remainder(extra, low_px, low_px - a_low)
    excl_low = (cinfo, non_low)
    frames = [draw_points(info, low_scan, a_low, seed=seed, zones=zones, zone_ids=zone_ids, exclude=excl_low,
                          max_pixels=max_pixels).assign(substratum="low")]  # fmt: skip
    if a_oth.sum() > 0:
        oth_scan = scan_strata(info, zones=zones, exclude=(cinfo, low), max_pixels=max_pixels)
        frames.append(draw_points(info, oth_scan, a_oth, seed=seed + 1, zones=zones, zone_ids=zone_ids,
                                  exclude=(cinfo, low), max_pixels=max_pixels).assign(substratum="other"))  # fmt: skip
    pts = pd.concat(frames, ignore_index=True)
    pts = pts.iloc[np.random.default_rng(seed + 2).permutation(len(pts))].reset_index(drop=True)
    width = max(5, len(str(len(pts))))
    pts["point_id"] = [f"P{j + 1:0{width}d}" for j in range(len(pts))]
    return pts, {"map": cinfo.key, "low_classes": list(low), "pixels_low": low_px.tolist(),
                 "area_low_m2": low_scan.area_m2.tolist(), "allocation_low": a_low.tolist(),
                 "allocation": (a_low + a_oth).tolist()}  # fmt: skip


def _has_labels(path: Path) -> bool:
    """True if a labels file has at least one reference filled in."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError):
        return True  # unreadable: treat as precious
    return "reference" not in df.columns or bool((df["reference"].str.strip() != "").any())


def _same_points(path: Path, table: pd.DataFrame) -> bool:
    """True if the points file holds the same point ids at the same cells as ``table``."""
    if not path.is_file():
        return False
    try:
        old = pd.read_csv(path, dtype={"point_id": str}, usecols=["point_id", "row", "col"])
    except (OSError, ValueError):
        return False
    new = table[["point_id", "row", "col"]].reset_index(drop=True)
    return old.astype(str).equals(new.astype(str))
