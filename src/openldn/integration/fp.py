"""False positives / false negatives recode, hotspots and brightspots from user polygons (PRAIS 2026 reporting manual §1.4; GPG v2 ch. 2; GPG Addendum 2025).

A recode polygon carries a ``reason`` (``false_positive`` or ``false_negative``, or free text) and a ``target`` class
(``degraded``/``stable``/``improved`` or -1/0/1). Inside the polygon every valid pixel of the 1OAO layer takes the
target class; no-data pixels stay no data. Optional fields: ``periods`` (comma-separated period labels, or ``all``),
``name``, ``basis`` (basis for judgement), ``start`` (period when the process started). Polygons are rasterised on the
analysis grid with the pixel-centre rule; where polygons overlap, the later one wins.

Hotspot and brightspot polygons are records (SO1-4.T4/T5) with optional fields ``name``, ``process``, ``drivers`` and
``actions``; their area is the geodesic area of the polygon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.codes import NODATA, STATUS_DTYPE
from openldn.exceptions import ConfigError, InputFileError
from openldn.integration._georef import keep_crs

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "TARGETS",
    "polygon_class_shares",
    "rasterize_targets",
    "read_polygons",
    "recode",
    "recode_from_polygons",
    "site_records",
]

#: Accepted target names and their codes.
TARGETS: dict[str, int] = {"degraded": -1, "stable": 0, "improved": 1, "-1": -1, "0": 0, "1": 1}


def read_polygons(path: str, *, required: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """Read a polygon file (GeoPackage, GeoJSON, Shapefile) and check its fields.

    Parameters
    ----------
    path : str
        Vector file.
    required : tuple of str
        Fields that must exist (case-insensitive; names are lower-cased on read).

    Returns
    -------
    geopandas.GeoDataFrame
    """
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as err:
        raise InputFileError(f"Polygon file {path} cannot be read ({err}); give a GeoPackage or GeoJSON file.") from err
    gdf = gdf.rename(columns={c: c.lower() for c in gdf.columns if c != gdf.geometry.name})
    missing = [f for f in required if f not in gdf.columns]
    if missing:
        raise ConfigError(f"Polygon file {path} lacks field(s) {', '.join(missing)}: add them to every polygon.")
    return gdf


def _target_code(value: Any, row: int) -> int:
    key = str(value).strip().lower()
    if key.endswith(".0"):
        key = key[:-2]
    if key not in TARGETS:
        raise ConfigError(
            f"Recode polygon #{row + 1}: target {value!r} is not a class; use degraded, stable or improved."
        )
    return TARGETS[key]


def _applies(periods: Any, period: str | None) -> bool:
    if period is None or periods is None or (isinstance(periods, float) and np.isnan(periods)):
        return True
    items = [p.strip() for p in str(periods).split(",") if p.strip()]
    return not items or "all" in [i.lower() for i in items] or period in items


def _rasterize(shapes: list[tuple[Any, int]], like: xr.DataArray, fill: int) -> xr.DataArray:
    from rasterio.features import rasterize

    ny, nx = like.sizes["y"], like.sizes["x"]
    if shapes:
        arr = rasterize(shapes, out_shape=(ny, nx), transform=like.rio.transform(), fill=fill, dtype="int32")
    else:
        arr = np.full((ny, nx), fill, dtype="int32")
    data: Any = arr
    if like.chunks is not None:
        import dask.array as da

        chunks = dict(zip(like.dims, like.chunks, strict=True))
        data = da.from_array(arr, chunks=(chunks["y"], chunks["x"]))
    return xr.DataArray(data, dims=("y", "x"), coords={"y": like["y"], "x": like["x"]})


def _to_crs(polygons: gpd.GeoDataFrame, like: xr.DataArray) -> gpd.GeoDataFrame:
    crs = like.rio.crs
    if crs is not None and polygons.crs is not None and polygons.crs != crs:
        return polygons.to_crs(crs)
    return polygons


def rasterize_targets(polygons: gpd.GeoDataFrame, like: xr.DataArray, *, period: str | None = None) -> xr.DataArray:
    """Raster of recode targets (-1/0/1, nodata -32768 outside every polygon) on the grid of ``like``.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Recode polygons with a ``target`` field (and optional ``periods``).
    like : xarray.DataArray
        Layer on the analysis grid (dims ``y``, ``x``, CRS and transform set).
    period : str, optional
        Period label; polygons whose ``periods`` field does not list it are skipped.

    Returns
    -------
    xarray.DataArray
        int16 targets; dask-backed when ``like`` is.
    """
    if "target" not in polygons.columns:
        raise ConfigError("Recode polygons lack the 'target' field: give degraded, stable or improved per polygon.")
    polygons = _to_crs(polygons, like)
    periods = polygons["periods"] if "periods" in polygons.columns else [None] * len(polygons)
    shapes = [
        (geom, _target_code(t, i))
        for i, (geom, t, p) in enumerate(zip(polygons.geometry, polygons["target"], periods, strict=True))
        if geom is not None and not geom.is_empty and _applies(p, period)
    ]
    return _rasterize(shapes, like, NODATA).astype(STATUS_DTYPE)


def recode(sdg: xr.DataArray, targets: xr.DataArray) -> xr.DataArray:
    """Apply a raster of recode targets to a -1/0/1 layer.

    Parameters
    ----------
    sdg : xarray.DataArray
        1OAO layer (-1/0/1, nodata -32768).
    targets : xarray.DataArray
        Target class per cell (-1/0/1), nodata -32768 where no recode applies.

    Returns
    -------
    xarray.DataArray
        int16 recoded layer; no-data cells of ``sdg`` stay no data.
    """
    valid = (sdg == -1) | (sdg == 0) | (sdg == 1)
    hit = valid & ((targets == -1) | (targets == 0) | (targets == 1))
    out = xr.where(hit, targets, sdg).astype(STATUS_DTYPE)
    out.attrs = dict(sdg.attrs)
    out.name = sdg.name
    return keep_crs(out, sdg)


def recode_from_polygons(
    sdg: xr.DataArray, polygons: gpd.GeoDataFrame, *, period: str | None = None
) -> xr.DataArray:
    """Recode a 1OAO layer inside false-positive / false-negative polygons.

    Parameters
    ----------
    sdg : xarray.DataArray
        1OAO layer on the analysis grid.
    polygons : geopandas.GeoDataFrame
        Polygons with ``reason`` and ``target`` fields.
    period : str, optional
        Period label of ``sdg`` (selects polygons by their ``periods`` field).

    Returns
    -------
    xarray.DataArray
        Recoded layer.
    """
    if "reason" not in polygons.columns:
        raise ConfigError("Recode polygons lack the 'reason' field: give false_positive or false_negative per polygon.")
    return recode(sdg, rasterize_targets(polygons, sdg, period=period))


def _geodesic_km2(polygons: gpd.GeoDataFrame) -> np.ndarray:
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    g = polygons.to_crs(4326) if polygons.crs is not None else polygons
    return np.array([abs(geod.geometry_area_perimeter(geom)[0]) / 1e6 if geom is not None else 0.0
                     for geom in g.geometry])


def _field(polygons: gpd.GeoDataFrame, name: str, default: str = "") -> list[str]:
    if name not in polygons.columns:
        return [default] * len(polygons)
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in polygons[name]]


def site_records(polygons: gpd.GeoDataFrame, *, kind: str) -> pd.DataFrame:
    """One record per polygon for SO1-4.T3 (``kind="recode"``), T4 (``"hotspot"``) or T5 (``"brightspot"``).

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Site polygons.
    kind : {"recode", "hotspot", "brightspot"}
        Which table the records are for.

    Returns
    -------
    pandas.DataFrame
        Columns ``site_id, location, area_km2, process, basis, start, drivers, actions, target, kind``.
    """
    if kind not in ("recode", "hotspot", "brightspot"):
        raise ConfigError(f"site_records kind {kind!r} is unknown: use recode, hotspot or brightspot.")
    names = _field(polygons, "name")
    return pd.DataFrame(
        {
            "site_id": [str(i + 1) for i in range(len(polygons))],
            "location": [n or f"{kind} {i + 1}" for i, n in enumerate(names)],
            "area_km2": _geodesic_km2(polygons),
            "process": _field(polygons, "reason" if kind == "recode" else "process"),
            "basis": _field(polygons, "basis"),
            "start": _field(polygons, "start"),
            "drivers": _field(polygons, "drivers"),
            "actions": _field(polygons, "actions"),
            "target": _field(polygons, "target"),
            "kind": kind,
        }
    )


def _pixel_bounds(geoms: list[Any], like: xr.DataArray) -> np.ndarray:
    """Per geometry: ``(col_min, col_max, row_min, row_max)`` of its bounding box in pixel coordinates of ``like``.

    NaN for a missing or empty geometry.
    """
    inv = ~like.rio.transform()
    out = np.full((len(geoms), 4), np.nan)
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        x0, y0, x1, y1 = g.bounds
        corners = [inv * (x, y) for x in (x0, x1) for y in (y0, y1)]
        cols, rows = [c for c, _ in corners], [r for _, r in corners]
        out[i] = (min(cols), max(cols), min(rows), max(rows))
    return out


def _window_ids(
    geoms: list[Any], bounds: np.ndarray, like: xr.DataArray, rows: slice, cols: slice
) -> np.ndarray:
    """Polygon ids (1-based, 0 outside) on a window of the grid of ``like``, as the whole-grid raster has them.

    Every polygon whose bounding box reaches the window is burnt in order (the later wins where polygons overlap),
    on the window's transform: the same pixel-centre rule as on the whole grid.
    """
    from affine import Affine
    from rasterio.features import rasterize

    shape = (rows.stop - rows.start, cols.stop - cols.start)
    with np.errstate(invalid="ignore"):
        reach = (
            (bounds[:, 1] >= cols.start - 1) & (bounds[:, 0] <= cols.stop + 1)
            & (bounds[:, 3] >= rows.start - 1) & (bounds[:, 2] <= rows.stop + 1)
        )
    shapes = [(geoms[j], j + 1) for j in np.flatnonzero(reach)]
    if not shapes:
        return np.zeros(shape, dtype="int32")
    transform = like.rio.transform() * Affine.translation(cols.start, rows.start)
    return np.asarray(rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype="int32"))


def polygon_class_shares(
    polygons: gpd.GeoDataFrame, layers: dict[str, xr.DataArray], area: xr.DataArray
) -> pd.DataFrame:
    """Share of each polygon's area that is degraded / stable / improved / no data in each layer.

    PRAIS shows these shares per false-positive polygon as a guide to which sub-indicator drives the error
    (PRAIS 2026 reporting manual §1.4; GPG v2 ch. 2; GPG Addendum 2025). This function computes (it is a table builder, not a lazy compute function).

    Polygons are rasterised on the analysis grid with the pixel-centre rule (the later polygon wins where they
    overlap). Each polygon is handled on the window of its bounding box: only that window of ``area`` and of each
    layer is read, so memory follows the size of the polygons, not of the grid.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Site polygons.
    layers : dict of str to xarray.DataArray
        -1/0/1 layers on the analysis grid, e.g. ``{"land_cover": ..., "productivity": ..., "sdg_15_3_1": ...}``.
    area : xarray.DataArray
        Cell area in m².

    Returns
    -------
    pandas.DataFrame
        Columns ``site_id, variable, class_code, class_label, area_km2, share``.
    """
    import dask

    from openldn.integration.summary import SDG_LABELS

    if not layers:
        return pd.DataFrame(columns=["site_id", "variable", "class_code", "class_label", "area_km2", "share"])
    like = next(iter(layers.values()))
    polygons = _to_crs(polygons, like)
    geoms = list(polygons.geometry)
    bounds = _pixel_bounds(geoms, like)
    ny, nx = like.sizes["y"], like.sizes["x"]
    codes = (-1, 0, 1, NODATA)
    km2: dict[tuple[str, int], list[float]] = {}
    shares: dict[tuple[str, int], list[float]] = {}
    for sid in range(1, len(geoms) + 1):
        c_lo, c_hi, r_lo, r_hi = bounds[sid - 1]
        if np.isnan(c_lo):
            r0 = r1 = c0 = c1 = 0
        else:  # every pixel whose centre can lie in the box, with a pixel to spare, clipped to the grid
            c0, c1 = int(np.clip(np.floor(c_lo) - 1, 0, nx)), int(np.clip(np.ceil(c_hi) + 1, 0, nx))
            r0, r1 = int(np.clip(np.floor(r_lo) - 1, 0, ny)), int(np.clip(np.ceil(r_hi) + 1, 0, ny))
        rows, cols = slice(r0, r1), slice(c0, c1)
        if r1 > r0 and c1 > c0:
            m = _window_ids(geoms, bounds, like, rows, cols) == sid
            windows = [area.isel(y=rows, x=cols)] + [layer.isel(y=rows, x=cols) for layer in layers.values()]
            got = dask.compute(*windows)
            a = np.asarray(got[0].values, dtype="float64")
            values = [np.asarray(w.values) for w in got[1:]]
        else:  # the polygon covers no cell of the grid
            m = np.zeros((0, 0), dtype=bool)
            a = np.zeros((0, 0), dtype="float64")
            values = [np.zeros((0, 0), dtype="int16") for _ in layers]
        tot = a[m].sum()
        for name, v in zip(layers, values, strict=True):
            for code in codes:
                sel = m & ((v == code) if code != NODATA else ~np.isin(v, (-1, 0, 1)))
                k = a[sel].sum() / 1e6
                km2.setdefault((name, code), []).append(k)
                shares.setdefault((name, code), []).append(k * 1e6 / tot if tot > 0 else 0.0)
    rows_out = [
        (str(sid), name, code, SDG_LABELS[code], km2[(name, code)][sid - 1], shares[(name, code)][sid - 1])
        for name in layers
        for sid in range(1, len(geoms) + 1)
        for code in codes
    ]
    return pd.DataFrame(rows_out, columns=["site_id", "variable", "class_code", "class_label", "area_km2", "share"])
