"""The library calls the web layer makes (imported lazily, so the app starts while parts are missing)."""

from __future__ import annotations

import functools
import importlib
import json
from pathlib import Path
from typing import Any

from openldn.web.errors import WebError

__all__ = ["assessment_schema", "boundaries_geojson", "make_demo", "validate_run_file"]


def _attr(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise WebError(503, f"{module}.{name} is not available in this installation ({error})") from None


def assessment_schema() -> dict[str, Any]:
    """Return the JSON schema of the run file (``openldn.config.Assessment``), which drives the web form."""
    schema: dict[str, Any] = _attr("openldn.config", "Assessment").model_json_schema()
    return schema


def validate_run_file(data: dict[str, Any], base_dir: Path) -> Any:
    """Validate run-file content with :func:`openldn.config.load_assessment`, paths relative to ``base_dir``.

    Raises the library's errors (``ConfigError``, ``InputFileError``, ...) with the same one-line messages as
    ``openldn validate``.
    """
    return _attr("openldn.config", "load_assessment")(data, base_dir=base_dir)


def make_demo(out_dir: Path) -> Path:
    """Write the demo data set with :func:`openldn.datasets.make_demo`; return its run file."""
    return Path(_attr("openldn.datasets", "make_demo")(out_dir))


def boundaries_geojson(
    path: Path, *, id_field: str | None = None, name_field: str | None = None, offset: int = 0, limit: int = 500
) -> dict[str, Any]:
    """Read an area of interest or admin units with :func:`openldn.io.read_vector` as lon/lat GeoJSON, one page.

    Geometries are simplified to about 1/2000 of the layer's extent and rounded to 1e-6 degree (for display
    only); each feature keeps ``id`` and ``name`` (from ``id_field`` / ``name_field`` when given). Features
    ``offset`` to ``offset + limit`` are returned, with ``total`` and ``next_offset`` (None on the last page), so a
    layer with many units is sent in pages.
    """
    stat = Path(path).stat()
    layer = _simplified(str(path), stat.st_mtime_ns, stat.st_size, id_field, name_field)
    page = layer.iloc[offset : offset + limit]
    out: dict[str, Any] = json.loads(page.to_json(drop_id=True)) if len(page) else {"type": "FeatureCollection", "features": []}
    out["total"] = len(layer)
    out["next_offset"] = offset + limit if offset + limit < len(layer) else None
    return out


@functools.lru_cache(maxsize=8)
def _simplified(path: str, mtime_ns: int, size: int, id_field: str | None, name_field: str | None) -> Any:
    """The layer in lon/lat, simplified and rounded for display (cached by file, modification time and size)."""
    import numpy as np
    import shapely

    gdf = _attr("openldn.io", "read_vector")(Path(path), id_field=id_field, name_field=name_field)
    gdf = gdf.to_crs(4326)
    west, south, east, north = gdf.total_bounds
    tolerance = max(east - west, north - south) / 2000
    out = gdf[[]].copy()
    out["id"] = gdf[id_field].astype(str) if id_field else [str(i + 1) for i in range(len(gdf))]
    out["name"] = gdf[name_field].astype(str) if name_field else out["id"]
    simple = gdf.geometry.simplify(tolerance, preserve_topology=True)
    out["geometry"] = shapely.transform(simple.values, lambda xy: np.round(xy, 6))
    return out.set_geometry("geometry", crs=4326)
