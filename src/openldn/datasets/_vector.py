"""Private helpers of :mod:`openldn.datasets`: irregular AOI polygons and admin units that partition them."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from openldn.io import atomic_path

__all__ = ["irregular_aoi", "split_into_zones", "write_gpkg"]


def irregular_aoi(
    center: tuple[float, float],
    radius: float,
    *,
    n_vertices: int = 240,
    harmonics: Sequence[tuple[int, float, float]] = ((3, 0.09, 0.4), (5, 0.05, 1.3), (9, 0.02, 2.0)),
) -> Polygon:
    """A star-shaped, irregular polygon: a circle whose radius is modulated by a few harmonics.

    Parameters
    ----------
    center : tuple of float
        Centre (x, y) in map units.
    radius : float
        Mean radius in map units.
    n_vertices : int
        Number of vertices.
    harmonics : sequence of (int, float, float)
        (order, relative amplitude, phase) of each radius modulation.

    Returns
    -------
    shapely.geometry.Polygon
        A valid polygon whose radius stays within ``radius * (1 ± sum(amplitudes))``.
    """
    theta = np.linspace(0.0, 2.0 * math.pi, n_vertices, endpoint=False)
    r = np.full_like(theta, radius)
    for order, amp, phase in harmonics:
        r += radius * amp * np.sin(order * theta + phase)
    x = center[0] + r * np.cos(theta)
    y = center[1] + r * np.sin(theta)
    # round to 1e-7 degrees (~1 cm) so that the polygon is identical on every platform
    return Polygon(np.column_stack([np.round(x, 7), np.round(y, 7)]))


def split_into_zones(
    aoi: Polygon, center: tuple[float, float], angles_deg: Sequence[float]
) -> list[BaseGeometry]:
    """Split a star-shaped polygon into sectors around ``center``.

    The sectors (fans between consecutive angles) partition the plane, so the pieces partition the AOI: their
    union is the AOI and they overlap only along shared edges.

    Parameters
    ----------
    aoi : shapely.geometry.Polygon
        Polygon to split; ``center`` must lie inside it.
    center : tuple of float
        Apex of the sectors.
    angles_deg : sequence of float
        Increasing boundary angles in degrees (counter-clockwise from east), one per zone.

    Returns
    -------
    list of shapely geometry
        One piece per sector, in the order of ``angles_deg``.
    """
    minx, miny, maxx, maxy = aoi.bounds
    far = 4.0 * max(maxx - minx, maxy - miny)
    angles = [*angles_deg, angles_deg[0] + 360.0]
    pieces: list[BaseGeometry] = []
    for a0, a1 in itertools.pairwise(angles):
        steps = np.linspace(math.radians(a0), math.radians(a1), 16)
        ring = [center] + [(center[0] + far * math.cos(t), center[1] + far * math.sin(t)) for t in steps]
        pieces.append(aoi.intersection(Polygon(ring)))
    return pieces


def write_gpkg(path: Path, gdf: gpd.GeoDataFrame, *, layer: str) -> Path:
    """Write a GeoDataFrame to a GeoPackage atomically.

    Parameters
    ----------
    path : pathlib.Path
        Output ``.gpkg`` file.
    gdf : geopandas.GeoDataFrame
        Features.
    layer : str
        Layer name.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    with atomic_path(path) as tmp:
        gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
    return Path(path)
