"""Stratified random sample design on a categorical map (Olofsson et al. 2014, §5.1; Cochran 1977, §5.5).

The strata are the classes of one categorical map of a run (SDG 15.3.1, LPD, land cover degradation, status...).
:func:`sample_size` and :func:`allocate` are pure; :func:`scan_strata` and :func:`draw_points` read the map GeoTIFF
strip by strip (memory bounded by ``max_pixels`` per strip, whatever the map size) and never load it whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from openldn.exceptions import ConfigError, InputFileError

__all__ = [
    "DEGRADED_CLASSES",
    "Exclude",
    "MapInfo",
    "SampleDesign",
    "StrataScan",
    "allocate",
    "check_exclude",
    "draw_points",
    "map_info",
    "run_categorical_maps",
    "sample_size",
    "scan_strata",
]

#: Classes that count as degraded in each legend of the indicator maps (legend id -> class codes): degraded status
#: (-1) of the degradation legend (SDG 15.3.1, sub-indicators, status), the two declining LPD classes (SO1-2 counts
#: declining and moderate decline as degraded) and the three degradation classes of the 7-class status.
DEGRADED_CLASSES: dict[str, tuple[int, ...]] = {
    "degradation": (-1,),
    "lpd": (1, 2),
    "status7": (1, 2, 3),
    "productivity_performance": (-1,),
}


def sample_size(weights: ArrayLike, user_accuracies: ArrayLike, target_se: float) -> int:
    """Total sample size for a target standard error (Olofsson et al. 2014, eq. 13; Cochran 1977, eq. 5.25).

    ``n = (sum_i W_i S_i / S)^2`` with ``S_i = sqrt(U_i (1 - U_i))``, rounded up.

    Parameters
    ----------
    weights : sequence of float
        Mapped area proportion ``W_i`` of each stratum (normalised to sum to 1).
    user_accuracies : sequence of float
        Expected user's accuracy ``U_i`` of each stratum (0-1).
    target_se : float
        Target standard error ``S`` of the estimated proportion (e.g. 0.01).

    Returns
    -------
    int

    Notes
    -----
    Olofsson et al. give the formula for the standard error of overall accuracy. It also bounds the standard error
    of the proportion of one class, here the degraded class: in the degraded stratum the share of reference
    degraded units is ``U_d``; in another stratum ``i`` it is at most its commission error ``1 - U_i``, and
    ``sqrt(p (1 - p))`` is then at most ``sqrt(U_i (1 - U_i))`` when ``U_i >= 0.5``. So ``S_i = sqrt(U_i (1 - U_i))``
    gives a sample size large enough for the target standard error of the degraded-area proportion. The finite
    population correction is ignored (map strata hold far more pixels than the sample).

    Examples
    --------
    The paper's example (§5.1.1): W = 0.02, 0.015, 0.32, 0.645, U = 0.7, 0.6, 0.9, 0.95, S(O) = 0.01 -> n = 641.

    >>> sample_size([0.02, 0.015, 0.32, 0.645], [0.7, 0.6, 0.9, 0.95], 0.01)
    641
    """
    w = np.asarray(weights, dtype=np.float64)
    u = np.asarray(user_accuracies, dtype=np.float64)
    if w.shape != u.shape or w.ndim != 1 or w.size == 0:
        raise ConfigError(f"sample size: {w.size} weights and {u.size} user's accuracies; give one of each per stratum")
    if np.any(w < 0) or w.sum() <= 0:
        raise ConfigError("sample size: stratum weights must be non-negative and not all zero")
    if np.any((u < 0) | (u > 1)):
        raise ConfigError(f"sample size: expected user's accuracies {u.tolist()} must lie between 0 and 1")
    if not 0 < target_se < 0.5:
        raise ConfigError(f"sample size: target standard error {target_se} must be a proportion in (0, 0.5), e.g. 0.01")
    w = w / w.sum()
    s = np.sqrt(u * (1.0 - u))
    return int(np.ceil(round(float((np.sum(w * s) / target_se) ** 2), 9)))


def allocate(
    n: int,
    weights: ArrayLike,
    *,
    minimum: int = 0,
    available: ArrayLike | None = None,
) -> np.ndarray:
    """Split a total sample size among strata: proportional to area, or with a fixed minimum per stratum.

    Parameters
    ----------
    n : int
        Total sample size.
    weights : sequence of float
        Mapped area proportion of each stratum.
    minimum : int
        0: proportional allocation. Above 0: every mapped stratum gets at least ``minimum`` units (Olofsson et al.
        2014 recommend 50-100 in the rare classes) and the rest is shared in proportion to area among the strata
        whose proportional share exceeds the minimum. In both cases every mapped stratum gets at least 2 units
        (the stratified variance needs 2).
    available : sequence of int, optional
        Pixels available in each stratum: no stratum gets more (the surplus goes to the others by area).

    Returns
    -------
    numpy.ndarray
        int64 sample size of each stratum, summing to ``n`` (or to the available total when smaller). Rounding by
        largest remainder; strata without area get 0.
    """
    w = np.asarray(weights, dtype=np.float64)
    k = w.size
    if n < 0 or minimum < 0:
        raise ConfigError(f"allocation: sample size {n} and minimum {minimum} must not be negative")
    cap = np.full(k, n, dtype=np.int64) if available is None else np.asarray(available, dtype=np.int64)
    cap = np.where(w > 0, cap, 0)
    n = int(min(n, int(cap.sum())))
    out = np.zeros(k, dtype=np.int64)
    fixed = np.zeros(k, dtype=bool)
    floor = np.minimum(cap, max(minimum, 2))  # the stratified variance needs 2 units in every mapped stratum
    if floor.sum() > n:
        raise ConfigError(f"allocation: at least {max(minimum, 2)} units in each of {int((w > 0).sum())} mapped "
                          f"strata need more than the total sample size {n}; raise --n or lower --minimum")
    # iterate: strata whose proportional share is below the floor (or above the cap) are fixed there
    while True:
        free = (~fixed) & (w > 0)
        rest = n - int(out[fixed].sum())
        if not free.any():
            break
        share = rest * w[free] / w[free].sum()
        idx = np.flatnonzero(free)
        low = share < floor[idx]
        high = share > cap[idx]
        if low.any() or high.any():
            for i, lo, hi in zip(idx, low, high, strict=True):
                if lo:
                    out[i], fixed[i] = floor[i], True
                elif hi:
                    out[i], fixed[i] = cap[i], True
            continue
        base = np.floor(share).astype(np.int64)
        left = rest - int(base.sum())
        order = np.argsort(-(share - base), kind="stable")[:left]
        base[order] += 1
        out[idx] = base
        break
    return out


@dataclass(frozen=True)
class MapInfo:
    """A categorical map GeoTIFF of a run: its key, path, legend and grid."""

    key: str
    path: Path
    legend_id: str | None
    classes: dict[int, str]
    nodata: int | None
    crs: str
    transform: tuple[float, ...]
    shape: tuple[int, int]

    @property
    def column(self) -> str:
        """Column name of this map's values in a sample table (``sdg/2016-2023`` -> ``sdg_2016-2023``)."""
        return self.key.replace("/", "_")


def map_info(path: str | Path, key: str | None = None) -> MapInfo:
    """Read the legend and grid of a categorical GeoTIFF written by a run (tags ``legend``, ``legend_classes``).

    Parameters
    ----------
    path : str or pathlib.Path
        The GeoTIFF.
    key : str, optional
        Output key (default: the ``openldn_key`` tag or the file stem).

    Returns
    -------
    MapInfo
    """
    import rasterio

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: map file not found; give a categorical map of a run (maps/*.tif) or its key")
    try:
        with rasterio.open(p) as src:
            tags = src.tags()
            crs = src.crs.to_wkt() if src.crs else ""
            transform = tuple(src.transform)[:6]
            shape = (src.height, src.width)
            nodata = None if src.nodata is None else int(src.nodata)
            dtype = src.dtypes[0]
    except rasterio.errors.RasterioError as err:
        raise InputFileError(f"{p}: not a readable GeoTIFF ({err}); give a categorical map of a run") from err
    if not crs:
        raise InputFileError(f"{p}: the map has no CRS; sample points need one (write it with gdal_edit -a_srs)")
    if not np.issubdtype(np.dtype(dtype), np.integer):
        raise InputFileError(f"{p}: {dtype} values; a sample design needs a categorical (integer) map")
    classes: dict[int, str] = {}
    if tags.get("legend_classes"):
        for c in json.loads(tags["legend_classes"]):
            classes[int(c["code"])] = str(c.get("label") or c.get("key") or c["code"])
    else:  # a categorical map without an openldn legend: take its values (bounded read, small maps only)
        with rasterio.open(p) as src:
            vals = np.unique(src.read(1, masked=True).compressed())
        classes = {int(v): str(int(v)) for v in vals}
    return MapInfo(key=key or tags.get("openldn_key") or p.stem, path=p, legend_id=tags.get("legend"),
                   classes=classes, nodata=nodata, crs=crs, transform=transform, shape=shape)  # fmt: skip


def run_categorical_maps(run_dir: str | Path) -> dict[str, MapInfo]:
    """Every categorical map of a run folder (from its ``outputs.json`` manifest), keyed by output key.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        Output folder of ``openldn run``.

    Returns
    -------
    dict of str to MapInfo
    """
    run = Path(run_dir)
    manifest = run / "outputs.json"
    if not manifest.is_file():
        raise InputFileError(f"{manifest}: no run manifest; give the output folder of a finished `openldn run`")
    out: dict[str, MapInfo] = {}
    for rec in json.loads(manifest.read_text(encoding="utf-8")):
        if rec.get("kind") == "categorical" and str(rec.get("path", "")).endswith(".tif"):
            path = run / rec["path"]
            if path.is_file():
                out[rec["key"]] = map_info(path, rec["key"])
    return out


@dataclass
class StrataScan:
    """Pixel counts and mapped areas of the strata of a map (inside the selected admin units, if any)."""

    classes: list[int]
    pixels: np.ndarray  # int64 per class
    area_m2: np.ndarray  # float64 per class
    strip_pixels: list[np.ndarray] = field(default_factory=list, repr=False)  # per strip, per class
    zone_area_m2: np.ndarray | None = None  # zones x classes, with zones

    @property
    def weights(self) -> np.ndarray:
        """Mapped area proportion of each class."""
        total = float(self.area_m2.sum())
        return self.area_m2 / total if total > 0 else np.zeros_like(self.area_m2)


@dataclass
class SampleDesign:
    """Record of a sample design (written as ``design.json`` beside the points)."""

    map_key: str
    map_path: str
    legend_id: str | None
    classes: list[int]
    class_labels: list[str]
    degraded_classes: list[int]
    pixels: list[int]
    mapped_area_m2: list[float]
    allocation: list[int]
    n: int
    seed: int
    target_se: float | None
    expected_users_accuracy: list[float] | None
    minimum: int
    zones_path: str | None = None
    zone_field: str | None = None
    zone_ids: list[str] | None = None
    zone_mapped_area_m2: dict[str, list[float]] | None = None
    exclude: dict[str, Any] | None = None
    crs: str = ""
    maps: list[str] = field(default_factory=list)
    #: Pixel confidence map splitting every class into a low-confidence and an other stratum (None: strata =
    #: classes); with it, the pixels, areas and points of the low-confidence part of each class.
    confidence_map: str | None = None
    low_classes: list[int] | None = None
    pixels_low: list[int] | None = None
    mapped_area_low_m2: list[float] | None = None
    allocation_low: list[int] | None = None
    extra: int = 0
    method: str = ("stratified random sample of pixels (strata = map classes), simple random sample without "
                   "replacement within each stratum; points at pixel centres (Olofsson et al. 2014)")  # fmt: skip

    def strata_area_m2(self) -> np.ndarray:
        """Area of every stratum: the classes, or (with a confidence map) low then other part of each class."""
        full = np.asarray(self.mapped_area_m2, dtype=np.float64)
        if self.mapped_area_low_m2 is None:
            return full
        low = np.asarray(self.mapped_area_low_m2, dtype=np.float64)
        return np.column_stack([low, np.maximum(full - low, 0.0)]).ravel()

    def to_json(self) -> str:
        """JSON text."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, path: str | Path) -> SampleDesign:
        """Read a ``design.json``."""
        p = Path(path)
        if not p.is_file():
            raise InputFileError(f"{p}: no sample design file; write one with `openldn accuracy design`")
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            return cls(**doc)
        except (ValueError, TypeError) as err:
            raise InputFileError(f"{p}: not a sample design file written by openldn ({err})") from err


def _strips(shape: tuple[int, int], max_pixels: int) -> Iterator[tuple[int, int]]:
    rows = max(1, max_pixels // max(1, shape[1]))
    for r0 in range(0, shape[0], rows):
        yield r0, min(shape[0], r0 + rows)


def _row_areas(info: MapInfo, r0: int, r1: int) -> np.ndarray:
    """Area (m²) of every cell of rows r0:r1 (shape (r1 - r0, ncols)), with the project's pixel-area rule."""
    from affine import Affine
    from pyproj import CRS

    from openldn.core.grid import row_areas

    t = Affine(*info.transform)
    ny, nx = r1 - r0, info.shape[1]
    crs = CRS.from_user_input(info.crs)
    if crs.is_geographic and t.b == 0 and t.d == 0:  # one area per row (the same formula as pixel_area)
        rows_m2 = row_areas(t.f + t.e * np.arange(r0, r1 + 1), t.a, crs=crs)
        return np.broadcast_to(rows_m2[:, None], (ny, nx))
    import rioxarray  # noqa: F401
    import xarray as xr

    from openldn.core.grid import pixel_area

    cols = np.arange(nx) + 0.5
    rows = np.arange(r0, r1) + 0.5
    x = t.c + t.a * cols
    y = t.f + t.e * rows
    da = xr.DataArray(np.zeros((ny, nx), dtype=np.uint8), dims=("y", "x"), coords={"y": y, "x": x})
    da = da.rio.write_crs(info.crs).rio.write_transform(t * Affine.translation(0, r0))
    return np.asarray(pixel_area(da).values, dtype=np.float64)


def _zone_raster(info: MapInfo, r0: int, r1: int, zones: Any) -> np.ndarray:
    """Index (1-based) of the zone containing each cell centre of rows r0:r1; 0 outside the selected zones."""
    from affine import Affine
    from rasterio.features import rasterize

    t = Affine(*info.transform) * Affine.translation(0, r0)
    shapes = [(geom, i + 1) for i, geom in enumerate(zones.geometry) if geom is not None and not geom.is_empty]
    if not shapes:
        return np.zeros((r1 - r0, info.shape[1]), dtype=np.int32)
    out: np.ndarray = rasterize(shapes, out_shape=(r1 - r0, info.shape[1]), transform=t, fill=0, dtype="int32",
                                all_touched=False)  # fmt: skip
    return out


def _read_strip(info: MapInfo, r0: int, r1: int) -> np.ndarray:
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(info.path) as src:
        return np.asarray(src.read(1, window=Window(0, r0, info.shape[1], r1 - r0)))


#: Pixels to leave out of the frame: a map on the same grid and the codes to exclude (e.g. water in the land cover).
Exclude = tuple[MapInfo, tuple[int, ...]]


def check_exclude(info: MapInfo, exclude: Exclude | None) -> None:
    """Check that an exclusion map shares the stratifying map's grid."""
    if exclude is None:
        return
    other = exclude[0]
    if other.shape != info.shape or not np.allclose(other.transform, info.transform) or other.crs != info.crs:
        raise ConfigError(f"{other.path}: the exclusion map is not on the grid of {info.path}; use a map of the "
                          "same run")  # fmt: skip


def _frame(info: MapInfo, r0: int, r1: int, shape: tuple[int, ...], zones: Any,
           exclude: Exclude | None) -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
    """Cells of rows r0:r1 in the sampling frame, and the 1-based zone index of each cell (None without zones)."""
    zr = None if zones is None else _zone_raster(info, r0, r1, zones)
    inside = np.ones(shape, dtype=bool) if zr is None else zr > 0
    if exclude is not None:
        inside &= ~np.isin(_read_strip(exclude[0], r0, r1), np.asarray(exclude[1]))
    return inside, zr


def scan_strata(
    info: MapInfo, *, zones: Any = None, exclude: Exclude | None = None, max_pixels: int = 4_000_000
) -> StrataScan:
    """Count the pixels and sum the mapped area of each legend class, strip by strip.

    Parameters
    ----------
    info : MapInfo
        The categorical map (see :func:`map_info`).
    zones : geopandas.GeoDataFrame, optional
        Admin units (already in the map's CRS) to restrict the frame to (pixel-centre rule).
    exclude : tuple of MapInfo and tuple of int, optional
        A map on the same grid and the codes whose cells leave the frame (e.g. ``lc_unccd/2023`` and ``(7,)``:
        water).
    max_pixels : int
        Pixels read at once.

    Returns
    -------
    StrataScan
        With ``zone_area_m2`` (zones x classes) when zones are given.
    """
    check_exclude(info, exclude)
    classes = sorted(info.classes)
    k = len(classes)
    pixels = np.zeros(k, dtype=np.int64)
    area = np.zeros(k, dtype=np.float64)
    per_strip: list[np.ndarray] = []
    lut_codes = np.asarray(classes)
    nz = 0 if zones is None else len(zones)
    zone_area = np.zeros((nz, k), dtype=np.float64)
    for r0, r1 in _strips(info.shape, max_pixels):
        data = _read_strip(info, r0, r1)
        cell = _row_areas(info, r0, r1)
        inside, zr = _frame(info, r0, r1, data.shape, zones, exclude)
        pos = np.minimum(np.searchsorted(lut_codes, data), k - 1)  # class index of each cell
        keep = inside & (lut_codes[pos] == data)
        idx = pos[keep]
        w = cell[keep]
        counts = np.bincount(idx, minlength=k).astype(np.int64)
        area += np.bincount(idx, weights=w, minlength=k)
        if zr is not None:
            zone_area += np.bincount(zr[keep] * k + idx, weights=w, minlength=(nz + 1) * k).reshape(nz + 1, k)[1:]
        pixels += counts
        per_strip.append(counts)
    if pixels.sum() == 0:
        raise ConfigError(f"{info.path}: no pixel of the map's classes {classes} lies in the sampling frame "
                          "(all no data, or outside the selected admin units)")  # fmt: skip
    return StrataScan(classes=classes, pixels=pixels, area_m2=area, strip_pixels=per_strip,
                      zone_area_m2=zone_area if zones is not None else None)  # fmt: skip


def draw_points(
    info: MapInfo,
    scan: StrataScan,
    allocation: ArrayLike,
    *,
    seed: int,
    zones: Any = None,
    zone_ids: Sequence[str] | None = None,
    exclude: Exclude | None = None,
    max_pixels: int = 4_000_000,
) -> pd.DataFrame:
    """Draw a stratified random sample of pixels (without replacement within each stratum).

    Parameters
    ----------
    info : MapInfo
        The stratifying map.
    scan : StrataScan
        Its strata (from :func:`scan_strata`, with the same ``zones``).
    allocation : sequence of int
        Sample size per class (order of ``scan.classes``).
    seed : int
        Seed of the ``numpy.random.Generator``: the same map, design and seed give the same points.
    zones : geopandas.GeoDataFrame, optional
        Admin units in the map's CRS (the same as for the scan).
    zone_ids : sequence of str, optional
        Identifier of each zone row (recorded in the ``zone_id`` column).
    exclude : tuple of MapInfo and tuple of int, optional
        Cells left out of the frame (the same as for the scan).
    max_pixels : int
        Pixels read at once.

    Returns
    -------
    pandas.DataFrame
        Columns ``point_id``, ``stratum``, ``stratum_label``, ``row``, ``col``, ``x``, ``y`` (map CRS, pixel
        centre), ``lon``, ``lat`` (WGS84) and ``zone_id`` when zones are given; in a random order (the interpreter
        does not see the strata grouped), ids ``P00001``...
    """
    from affine import Affine
    from pyproj import CRS, Transformer

    alloc = np.asarray(allocation, dtype=np.int64)
    if alloc.shape != scan.pixels.shape or np.any(alloc > scan.pixels) or np.any(alloc < 0):
        raise ConfigError(f"allocation {alloc.tolist()} does not fit the strata pixel counts {scan.pixels.tolist()}")
    rng = np.random.default_rng(seed)
    ranks = [np.sort(rng.choice(int(scan.pixels[i]), size=int(alloc[i]), replace=False)) if alloc[i] else
             np.zeros(0, dtype=np.int64) for i in range(len(scan.classes))]  # fmt: skip
    seen = np.zeros(len(scan.classes), dtype=np.int64)
    found: list[tuple[int, int, int, int]] = []  # class index, row, col, zone index
    for s, (r0, r1) in enumerate(_strips(info.shape, max_pixels)):
        counts = scan.strip_pixels[s]
        wanted = [(i, r[(r >= seen[i]) & (r < seen[i] + counts[i])] - seen[i]) for i, r in enumerate(ranks)]
        if any(len(w) for _, w in wanted):
            data = _read_strip(info, r0, r1)
            inside, zr = _frame(info, r0, r1, data.shape, zones, exclude)
            for i, local in wanted:
                if not len(local):
                    continue
                flat = np.flatnonzero((data == scan.classes[i]) & inside)[local]
                rr, cc = np.divmod(flat, info.shape[1])
                for r, c in zip(rr, cc, strict=True):
                    found.append((i, int(r) + r0, int(c), int(zr[r, c]) - 1 if zr is not None else -1))
        seen += counts
    found.sort()  # canonical order (class, row, col) whatever the strip size, then a seeded shuffle
    order = rng.permutation(len(found))
    found = [found[j] for j in order]
    t = Affine(*info.transform)
    rows = np.array([f[1] for f in found], dtype=np.int64)
    cols = np.array([f[2] for f in found], dtype=np.int64)
    xs = t.c + t.a * (cols + 0.5) + t.b * (rows + 0.5)
    ys = t.f + t.d * (cols + 0.5) + t.e * (rows + 0.5)
    to_ll = Transformer.from_crs(CRS.from_user_input(info.crs), "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
    width = max(5, len(str(len(found))))
    df = pd.DataFrame({
        "point_id": [f"P{j + 1:0{width}d}" for j in range(len(found))],
        "stratum": [scan.classes[f[0]] for f in found],
        "stratum_label": [info.classes[scan.classes[f[0]]] for f in found],
        "row": rows,
        "col": cols,
        "x": np.asarray(xs, dtype=np.float64),
        "y": np.asarray(ys, dtype=np.float64),
        "lon": np.round(np.asarray(lon, dtype=np.float64), 7),
        "lat": np.round(np.asarray(lat, dtype=np.float64), 7),
    })  # fmt: skip
    if zones is not None:
        ids = list(zone_ids) if zone_ids is not None else [str(i) for i in range(len(zones))]
        df["zone_id"] = [ids[f[3]] if f[3] >= 0 else "" for f in found]
    return df
