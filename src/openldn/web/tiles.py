"""Map layers of a finished run: the outputs manifest, PNG tiles rendered from the COGs, and pixel values.

Rendering uses rio-tiler; categorical layers are coloured with the legend in the manifest, continuous layers with
the ramp and range the run recorded (``ramp`` in ``outputs.json``), or, for a record without one, a viridis ramp
stretched between the 2nd and 98th percentiles.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from rio_tiler.colormap import cmap
from rio_tiler.errors import PointOutsideBounds, TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.models import ImageData

from openldn.web.errors import WebError
from openldn.web.security import inside

__all__ = ["EMPTY_PNG", "layer_info", "load_manifest", "point_values", "render_tile"]

MANIFEST = "outputs.json"
#: Where a run in progress builds its result, and its checkpoint state (written by ``openldn.pipeline``).
STAGING = Path(".openldn") / "staging"
STATE = Path(".openldn") / "state.json"


def _empty_png() -> bytes:
    return ImageData(np.ma.masked_all((1, 256, 256), dtype="uint8")).render(img_format="PNG")


#: A fully transparent 256 x 256 tile, answered outside a layer's bounds.
EMPTY_PNG = _empty_png()


def _hex_to_rgba(color: str) -> tuple[int, int, int, int]:
    text = color.lstrip("#")
    if len(text) not in (6, 8):
        raise ValueError(f"colour {color!r} is not #RRGGBB")
    r, g, b = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    a = int(text[6:8], 16) if len(text) == 8 else 255
    return (r, g, b, a)


#: Colours given to legend classes that have none.
_PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")


def _legend(entry: dict[str, Any]) -> dict[int, tuple[str, str]]:
    legend = entry.get("legend") or {}
    out: dict[int, tuple[str, str]] = {}
    for i, (code, value) in enumerate(legend.items()):
        if isinstance(value, dict):
            label, color = value.get("label"), value.get("color")
        elif isinstance(value, list | tuple):
            label, color = value[0] if value else None, value[1] if len(value) > 1 else None
        else:
            label, color = value, None
        if not (isinstance(color, str) and color.startswith("#") and len(color) in (7, 9)):
            color = _PALETTE[i % len(_PALETTE)]
        out[int(code)] = (str(label if label is not None else code), color)
    if len(out) > 1 and len({c.lower() for _, c in out.values()}) == 1:
        # one colour for every class cannot be read on a map: colour the classes apart
        out = {code: (label, _PALETTE[i % len(_PALETTE)]) for i, (code, (label, _)) in enumerate(sorted(out.items()))}
    return out


def _staged_entries(out_dir: Path) -> list[dict[str, Any]]:
    """The map outputs of the stages finished so far in a run in progress: ``.openldn/state.json`` lists each
    completed stage's outputs, written in ``.openldn/staging`` (read only, never changed here)."""
    state = out_dir / STATE
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries: list[dict[str, Any]] = []
    for name, stage in (data.get("stages") or {}).items() if isinstance(data, dict) else []:
        if isinstance(stage, dict) and stage.get("done"):
            entries.extend({**e, "stage": e.get("stage") or name, "staged": True}
                           for e in stage.get("outputs") or [] if isinstance(e, dict))
    return entries


def load_manifest(out_dir: Path) -> list[dict[str, Any]]:
    """Read ``outputs.json`` of a run and resolve each entry's path inside the run folder.

    While a run is in progress (no ``outputs.json`` yet), the outputs of its finished stages are read from the
    staging area instead (entries then carry ``staged: True``).

    Parameters
    ----------
    out_dir : pathlib.Path
        The run's output folder.

    Returns
    -------
    list of dict
        Manifest entries with an extra ``file`` (absolute :class:`~pathlib.Path`) and ``relpath`` (str).
        Entries whose path leaves the run folder are dropped.
    """
    path = out_dir / MANIFEST
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = (data.get("outputs", data.get("layers")) if isinstance(data, dict) else data) or []
        base = out_dir
    else:
        entries, base = _staged_entries(out_dir), out_dir / STAGING
    out = []
    for entry in entries:
        raw = Path(str(entry.get("path", "")))
        file = (raw if raw.is_absolute() else base / raw).resolve()
        if not inside(out_dir, file):
            continue
        out.append({**entry, "file": file, "relpath": file.relative_to(out_dir.resolve()).as_posix()})
    return out


def raster_layers(out_dir: Path) -> list[dict[str, Any]]:
    """Return the manifest entries that are GeoTIFF/COG map layers."""
    return [e for e in load_manifest(out_dir) if e["file"].suffix.lower() in (".tif", ".tiff")]


def find_layer(out_dir: Path, key: str) -> dict[str, Any]:
    """Return the raster layer ``key`` of a run, or raise a 404 :class:`WebError`.

    A staged layer whose file is gone was just published (the run finished between two requests): the lookup is
    made again on the published manifest.
    """
    for _attempt in range(2):
        for entry in raster_layers(out_dir):
            if entry.get("key") == key:
                if entry["file"].is_file():
                    return entry
                break
    raise WebError(404, f"layer {key!r} is not among the run's map outputs")


@lru_cache(maxsize=1024)
def _info(path: str, mtime: float) -> dict[str, Any]:
    with Reader(path) as src:
        info = src.info()
        bounds = src.get_geographic_bounds(src.tms.rasterio_geographic_crs)
        return {
            "bounds": [float(b) for b in bounds],
            "bands": [d for _, d in info.band_descriptions],
            "dtype": str(info.dtype),
            "nodata": info.nodata_value
            if info.nodata_value is not None and math.isfinite(info.nodata_value)
            else None,
            "minzoom": int(src.minzoom),
            "maxzoom": int(src.maxzoom),
        }


@lru_cache(maxsize=1024)
def _ranges(path: str, mtime: float) -> list[tuple[float, float]]:
    """2nd and 98th percentiles of each band (the stretch of continuous layers)."""
    with Reader(path) as src, np.errstate(invalid="ignore"):
        stats = src.statistics(percentiles=[2, 98], max_size=256)
    ranges = []
    for band in stats.values():
        lo, hi = band.percentile_2, band.percentile_98
        if lo is None or hi is None or not math.isfinite(lo) or not math.isfinite(hi):
            lo, hi = 0.0, 1.0
        if hi <= lo:
            hi = lo + 1.0
        ranges.append((float(lo), float(hi)))
    return ranges


def layer_info(entry: dict[str, Any]) -> dict[str, Any]:
    """Describe a raster layer for the map: bounds (lon/lat), bands, legend, value range.

    Parameters
    ----------
    entry : dict
        A manifest entry from :func:`load_manifest`.

    Returns
    -------
    dict
        JSON-ready description.
    """
    file: Path = entry["file"]
    if not file.is_file():
        raise WebError(404, f"map file {entry['relpath']!r} of layer {entry.get('key')!r} is missing")
    info = _info(str(file), file.stat().st_mtime)
    legend = _legend(entry)
    return {
        "key": entry.get("key"),
        "title": entry.get("title") or entry.get("key"),
        "kind": entry.get("kind") or ("categorical" if legend else "continuous"),
        "path": entry["relpath"],
        "units": entry.get("units") or "",
        "stage": entry.get("stage") or "",
        "staged": bool(entry.get("staged")),
        "legend": [{"code": c, "label": lab, "color": col} for c, (lab, col) in sorted(legend.items())],
        **info,
        "ramp": None if legend else _ramp(entry),
        "ranges": [] if legend else (
            [[r["vmin"], r["vmax"]]] * len(info["bands"]) if (r := _ramp(entry)) is not None
            else [list(x) for x in _ranges(str(file), file.stat().st_mtime)]
        ),
    }


def render_tile(entry: dict[str, Any], z: int, x: int, y: int, *, band: int = 1) -> bytes:
    """Render one web-mercator PNG tile of a layer.

    Parameters
    ----------
    entry : dict
        A manifest entry from :func:`load_manifest`.
    z, x, y : int
        Tile address (XYZ scheme).
    band : int, default 1
        1-based band (for example the year of an annual stack).

    Returns
    -------
    bytes
        PNG image; transparent where the layer has no data or outside its bounds.
    """
    file: Path = entry["file"]
    info = _info(str(file), file.stat().st_mtime)
    if not 1 <= band <= max(1, len(info["bands"])):
        raise WebError(422, f"band {band} is not in 1..{len(info['bands'])} for layer {entry.get('key')!r}")
    legend = _legend(entry)
    try:
        with Reader(str(file)) as src:
            img = src.tile(x, y, z, indexes=band)
    except TileOutsideBounds:
        return EMPTY_PNG
    if legend:
        # codes are remapped onto bytes 0..n-1 so that any integer code (e.g. -1 degraded) can be coloured
        lut = _byte_lut(tuple(sorted(legend)))
        data = np.asarray(img.array.data).astype("int64")
        remapped = np.zeros(data.shape, dtype="uint8")
        known = np.zeros(data.shape, dtype=bool)
        for code, byte in lut.items():
            hit = data == code
            remapped[hit] = byte
            known |= hit
        mask = np.ma.getmaskarray(img.array) | ~known
        coded = ImageData(np.ma.masked_array(remapped, mask=mask), bounds=img.bounds, crs=img.crs)
        colormap = {lut[c]: _hex_to_rgba(color) for c, (_, color) in legend.items()}
        return coded.render(img_format="PNG", colormap=colormap)
    ramp = _ramp(entry)
    if ramp is not None:  # the run's own ramp and range (the same as its PNG maps and QGIS styles)
        with np.errstate(invalid="ignore"):
            img.rescale(in_range=((ramp["vmin"], ramp["vmax"]),))
            return img.render(img_format="PNG", colormap=_ramp_colormap(ramp))
    ranges = _ranges(str(file), file.stat().st_mtime)
    lo, hi = ranges[band - 1] if band - 1 < len(ranges) else (0.0, 1.0)
    with np.errstate(invalid="ignore"):
        img.rescale(in_range=((lo, hi),))
        return img.render(img_format="PNG", colormap=cmap.get("viridis"))


def _ramp(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The colour ramp the run wrote for a continuous layer (``ramp``: ``vmin``, ``vmax``, ``stops`` of
    ``[value, "#RRGGBB"]``), or None."""
    ramp = entry.get("ramp")
    if not isinstance(ramp, dict):
        return None
    try:
        stops = sorted((float(v), str(c)) for v, c in ramp.get("stops") or [])
        lo, hi = float(ramp["vmin"]), float(ramp["vmax"])
        for _, color in stops:
            _hex_to_rgba(color)
    except (KeyError, TypeError, ValueError):
        return None
    if len(stops) < 2 or not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return None
    return {"vmin": lo, "vmax": hi, "stops": [[v, c] for v, c in stops], "name": str(ramp.get("name") or "")}


def _ramp_colormap(ramp: dict[str, Any]) -> dict[int, tuple[int, int, int, int]]:
    """256 colours along the ramp's stops, byte 0 at ``vmin`` and 255 at ``vmax`` (linear in value)."""
    values = np.array([v for v, _ in ramp["stops"]])
    rgba = np.array([_hex_to_rgba(c) for _, c in ramp["stops"]], dtype=float)
    at = ramp["vmin"] + np.arange(256) / 255.0 * (ramp["vmax"] - ramp["vmin"])
    channels = [np.interp(at, values, rgba[:, k]) for k in range(4)]
    return {i: tuple(int(np.rint(ch[i])) for ch in channels) for i in range(256)}  # type: ignore[misc]


@lru_cache(maxsize=64)
def _byte_lut(codes: tuple[int, ...]) -> dict[int, int]:
    return {code: i for i, code in enumerate(codes)}


def point_values(entries: list[dict[str, Any]], lon: float, lat: float) -> list[dict[str, Any]]:
    """Read the value of every layer (every band) at a point.

    Parameters
    ----------
    entries : list of dict
        Manifest entries (raster layers).
    lon, lat : float
        Point in degrees (WGS84).

    Returns
    -------
    list of dict
        One item per layer: ``key``, ``title`` and ``values`` (per band: ``band``, ``value``, ``label``), with
        ``value`` None where the layer has no data or the point is outside it.
    """
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = pool.map(lambda e: _point_one(e, lon, lat), [e for e in entries if e["file"].is_file()])
        return list(found)


def _point_one(entry: dict[str, Any], lon: float, lat: float) -> dict[str, Any]:
    file: Path = entry["file"]
    legend = _legend(entry)
    info = _info(str(file), file.stat().st_mtime)
    values = []
    try:
        with Reader(str(file)) as src:
            pt = src.point(lon, lat)
        arr = np.ma.masked_array(pt.array)
        for i, (v, masked) in enumerate(zip(arr.data, np.ma.getmaskarray(arr), strict=True)):
            value: float | int | None = None if masked or not np.isfinite(v) else v.item()
            label = None
            if value is not None and legend:
                value = int(value)
                label = legend.get(value, (str(value), ""))[0]
            band = info["bands"][i] if i < len(info["bands"]) else str(i + 1)
            values.append({"band": band, "value": value, "label": label})
    except PointOutsideBounds:
        values = [{"band": b, "value": None, "label": None} for b in info["bands"]]
    return {"key": entry.get("key"), "title": entry.get("title") or entry.get("key"), "values": values}
