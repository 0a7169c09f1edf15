"""Fractional coverage of the analysis grid by the area of interest and by admin units.

Memory layout (bounded for 10,000 x 10,000 grids): one small integer code per cell (bit 0 set for cells lying
entirely inside the AOI, ``code >> 1`` the admin unit holding the whole cell), stored as runs along rows
(:class:`CodeRuns`: a few runs per row and per zone crossed, not one value per cell) and, for each *level* (the AOI, then the admin units), a sparse list ``(cell, zone, fraction)`` of the boundary cells
(and the rare cells fully inside two overlapping zones). Fractions are exact polygon/cell intersection areas (in the
grid's CRS plane), computed strip by strip with the kernel in :mod:`openldn.zonal._kernels`. The rasters derived
from them (AOI mask, fraction of a zone, zone labels) are lazy: each row strip is made when computed, so none of
them is ever held for the whole grid.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.blocks import chunk_spans
from openldn.exceptions import ConfigError, EmptyAOIError
from openldn.zonal._kernels import accumulate_edges, fill_runs, finish_strip, sparse_entries

if TYPE_CHECKING:
    import geopandas as gpd
    from odc.geo.geobox import GeoBox

__all__ = ["ALL_ZONE", "CodeRuns", "Coverage", "CoverageLevel", "build_coverage", "coverage_fraction"]

#: Identifier of the zone made of the whole area of interest.
ALL_ZONE = "ALL"
#: Coverage fractions within this distance of 0 or 1 are snapped to 0 or 1.
COVER_TOL = 1e-9
#: Cells per strip when rasterising coverage.
_STRIP_CELLS = 1 << 22


@dataclass(frozen=True, eq=False)
class CoverageLevel:
    """Sparse coverage entries of one level of zones (the AOI, or the admin units).

    Attributes
    ----------
    cells : numpy.ndarray
        int64 flat cell indices (``row * nx + col``) of the entries, sorted.
    zones : numpy.ndarray
        int32 zone index (into :attr:`Coverage.zone_ids`) of each entry.
    fractions : numpy.ndarray
        float64 fraction of the cell's area inside that zone, in (0, 1]: boundary cells, and the rare cells lying
        entirely inside two overlapping zones (fraction 1 for the second one).
    """

    cells: np.ndarray
    zones: np.ndarray
    fractions: np.ndarray

    def window(self, r0: int, r1: int, c0: int, c1: int, nx: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Entries of rows ``r0:r1`` and columns ``c0:c1`` of a grid ``nx`` wide: (row, column) within the window,
        zone, fraction."""
        lo, hi = np.searchsorted(self.cells, [r0 * nx, r1 * nx])
        cells = self.cells[lo:hi] - r0 * nx
        rows, cols = cells // nx, cells % nx
        zones, fractions = self.zones[lo:hi], self.fractions[lo:hi]
        if c0 > 0 or c1 < nx:
            keep = (cols >= c0) & (cols < c1)
            rows, cols, zones, fractions = rows[keep], cols[keep] - c0, zones[keep], fractions[keep]
        return rows.astype(np.int64), cols.astype(np.int64), zones, fractions


@dataclass(frozen=True, eq=False)
class CodeRuns:
    """Full-cell codes of a grid (or of a window of it) as runs of equal non-zero codes along rows.

    A country's codes change only where a row crosses a boundary, so a few runs per row describe the whole grid:
    memory grows with the grid's height and the number of zones crossed, not with its number of cells. Any window
    decodes exactly to the dense codes (:meth:`decode`), which is what the per-strip kernels receive.

    Attributes
    ----------
    shape : tuple of int
        ``(rows, cols)`` of the window described.
    dtype : numpy.dtype
        dtype of the decoded codes (int16, or int32 beyond 16,382 admin units).
    rows, starts, ends : numpy.ndarray
        int64 row, first column and one-past-last column of each run, sorted by (row, start).
    values : numpy.ndarray
        The run's code (non-zero).
    """

    shape: tuple[int, int]
    dtype: np.dtype[Any]
    rows: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    values: np.ndarray

    @classmethod
    def encode(cls, codes: np.ndarray, *, block_rows: int = 1024) -> CodeRuns:
        """Runs of ``codes`` (2-D), made ``block_rows`` rows at a time (bounded temporaries)."""
        ny, nx = codes.shape
        parts = [_row_runs(codes[r0 : r0 + block_rows], r0) for r0 in range(0, ny, block_rows)]
        return cls.join(parts, (int(ny), int(nx)), codes.dtype)

    @classmethod
    def join(cls, parts: list[tuple[np.ndarray, ...]], shape: tuple[int, int], dtype: Any) -> CodeRuns:
        """The runs of a grid of ``shape`` from those of its consecutive row bands (:func:`_row_runs`, in order)."""
        if parts:
            rows, starts, ends, values = (np.concatenate([p[k] for p in parts]) for k in range(4))
        else:
            rows = starts = ends = np.empty(0, dtype=np.int64)
            values = np.empty(0, dtype=dtype)
        return cls(shape=shape, dtype=np.dtype(dtype), rows=rows, starts=starts, ends=ends, values=values.astype(dtype))

    @property
    def nbytes(self) -> int:
        """Bytes held by the runs."""
        return int(self.rows.nbytes + self.starts.nbytes + self.ends.nbytes + self.values.nbytes)

    def window(self, r0: int, r1: int, c0: int = 0, c1: int | None = None) -> CodeRuns:
        """The runs of rows ``r0:r1`` and columns ``c0:c1``, in the window's own coordinates (small, picklable)."""
        nx = self.shape[1]
        c1 = nx if c1 is None else c1
        lo, hi = np.searchsorted(self.rows, [r0, r1])
        rows, starts, ends, values = self.rows[lo:hi], self.starts[lo:hi], self.ends[lo:hi], self.values[lo:hi]
        if c0 > 0 or c1 < nx:
            m = (ends > c0) & (starts < c1)
            rows, starts, ends, values = rows[m], starts[m], ends[m], values[m]
            starts = np.maximum(starts, c0)
            ends = np.minimum(ends, c1)
        return CodeRuns(shape=(int(r1 - r0), int(c1 - c0)), dtype=self.dtype, rows=rows - r0, starts=starts - c0,
                        ends=ends - c0, values=values)

    def decode(self) -> np.ndarray:
        """The dense codes of the window."""
        out = np.zeros(self.shape, dtype=self.dtype)
        fill_runs(self.rows, self.starts, self.ends, self.values.astype(self.dtype, copy=False), out)
        return out


def _row_runs(c: np.ndarray, r0: int) -> tuple[np.ndarray, ...]:
    """Runs (rows, starts, ends, values) of the non-zero codes of the rows ``c`` (2-D) of a grid, from row ``r0``."""
    nx = c.shape[1]
    change = np.ones(c.shape, dtype=bool)
    change[:, 1:] = c[:, 1:] != c[:, :-1]
    rr, cc = np.nonzero(change)  # run starts, row-major order
    ends = np.empty_like(cc)
    ends[:-1] = cc[1:]
    ends[-1:] = nx
    new_row = np.ones(rr.size, dtype=bool)
    new_row[:-1] = rr[1:] != rr[:-1]
    ends[new_row] = nx  # the last run of a row ends at the row's end
    vals = c[rr, cc]
    keep = vals != 0
    return (rr[keep] + r0).astype(np.int64), cc[keep].astype(np.int64), ends[keep].astype(np.int64), vals[keep]


def _with_codes(fn: Any, runs: CodeRuns, *args: Any) -> Any:
    """``fn(codes, *args)`` with the dense codes of ``runs`` (decoded inside the task)."""
    return fn(runs.decode(), *args)


def _aoi_block(runs: CodeRuns, parts: _Parts, nx: int) -> np.ndarray:
    """Cells of one window that overlap the AOI at all: its runs of cells fully inside (code bit 0) and its sparse
    AOI entries, set straight into a boolean window (no dense codes in between)."""
    out = np.zeros(runs.shape, dtype=np.bool_)
    inside = (runs.values & 1).astype(np.bool_)
    fill_runs(runs.rows[inside], runs.starts[inside], runs.ends[inside], inside[inside], out)
    out[parts[0][0], parts[0][1]] = True
    return out


@dataclass(frozen=True, eq=False)
class Coverage:
    """Fractional coverage of a grid by the area of interest (zone ``"ALL"``) and admin units.

    Build it with :func:`build_coverage`. Zone 0 is always the whole AOI; zones 1.. are the admin units, clipped
    to the AOI, in input order.

    Cells lying entirely inside the AOI and/or entirely inside one admin unit are described by :attr:`codes`
    (one small integer per cell: bit 0 set when the cell is fully inside the AOI, ``code >> 1`` the index of the
    admin unit holding the whole cell, 0 for none). Every other (cell, zone) overlap is a sparse entry of a
    :class:`CoverageLevel` (level 0: the AOI, level 1: the admin units).
    """

    #: The analysis grid.
    geobox: GeoBox
    #: Zone identifiers, ``"ALL"`` first.
    zone_ids: tuple[str, ...]
    #: Zone names, same order.
    zone_names: tuple[str, ...]
    #: Full-cell codes as runs along rows (decode a window with ``runs.window(r0, r1).decode()``).
    runs: CodeRuns = field(repr=False)
    #: Sparse entries: level 0 the AOI, level 1 (when admin units are given) the admin units.
    levels: tuple[CoverageLevel, ...] = field(repr=False)
    #: How border cells count: ``"fraction"`` (exact share) or ``"centre"`` (pixel-centre rule).
    rule: str = "fraction"

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape ``(ny, nx)``."""
        return (int(self.geobox.shape.y), int(self.geobox.shape.x))

    @property
    def codes(self) -> np.ndarray:
        """Full-cell codes ``(ny, nx)`` of the whole grid, decoded (int16, or int32 beyond 16,382 admin units).

        Whole-grid: for small grids and tests. Streaming code decodes one window at a time (:meth:`codes_window`).
        """
        return self.runs.decode()

    def codes_window(self, r0: int, r1: int, c0: int = 0, c1: int | None = None) -> CodeRuns:
        """The code runs of rows ``r0:r1`` and columns ``c0:c1`` (decode them with ``.decode()``)."""
        return self.runs.window(r0, r1, c0, c1)

    def window(self, r0: int, r1: int, c0: int = 0, c1: int | None = None) -> tuple[CodeRuns, _Parts]:
        """The code runs (decode them with ``.decode()``) and each level's sparse entries (:meth:`CoverageLevel.window`)
        of rows ``r0:r1`` and columns ``c0:c1``, in the window's own coordinates (small: nothing per cell)."""
        nx = self.shape[1]
        c1 = nx if c1 is None else c1
        return self.codes_window(r0, r1, c0, c1), tuple(lev.window(r0, r1, c0, c1, nx) for lev in self.levels)

    @property
    def n_zones(self) -> int:
        """Number of zones including ``"ALL"``."""
        return len(self.zone_ids)

    @property
    def n_codes(self) -> int:
        """Number of possible full-cell codes (``2 * n_zones``)."""
        return 2 * self.n_zones

    @property
    def has_zones(self) -> bool:
        """Whether admin units were given."""
        return len(self.levels) > 1

    def zones_table(self) -> pd.DataFrame:
        """``zone_id``, ``zone_name`` of every zone, ``"ALL"`` first."""
        return pd.DataFrame({"zone_id": list(self.zone_ids), "zone_name": list(self.zone_names)})

    def index_of(self, zone_id: str) -> int:
        """Index of a zone identifier."""
        try:
            return self.zone_ids.index(str(zone_id))
        except ValueError:
            raise ConfigError(f"Zone {zone_id!r} is not in the coverage; zones: {', '.join(self.zone_ids[:10])}...") from None

    def strips(self, rows: int | None = None) -> Iterator[tuple[int, int]]:
        """Fixed row strips ``(r0, r1)`` covering the grid (the same for any chunking of the inputs)."""
        ny, nx = self.shape
        h = rows or strip_rows(nx)
        for r0 in range(0, ny, h):
            yield r0, min(ny, r0 + h)

    def full_mask(self, zone_id: str = ALL_ZONE) -> np.ndarray:
        """Boolean array of the cells lying entirely inside a zone (and recorded as such in :attr:`codes`)."""
        return _full(self.runs.decode(), self.index_of(zone_id))

    def fraction(self, zone_id: str = ALL_ZONE) -> xr.DataArray:
        """Fraction (0..1) of each cell inside a zone, as a float32 DataArray on the grid.

        Lazy (dask, one chunk per row strip of :meth:`strips`): each chunk is made from that strip's codes and
        sparse entries when computed, so memory does not grow with the grid.
        """
        return self._lazy(_fraction_strip, np.float32, f"coverage_{zone_id}", self.index_of(zone_id))

    def aoi_mask(self, chunks: tuple[tuple[int, ...], tuple[int, ...]] | None = None) -> xr.DataArray:
        """Boolean DataArray: True for cells that overlap the area of interest at all (lazy, as :meth:`fraction`).

        ``chunks`` (row and column chunk sizes, as ``dask.array.Array.chunks``) makes one block per chunk of the
        arrays it masks, each made from its own window of the runs: masked by row strips, a map written in windows
        of 512 rows at a 1,024-pixel chunk decoded every strip 3.6 times (10,000²).
        """
        return self._lazy(_aoi_block, np.bool_, "aoi_mask", chunks=chunks, decode=False)

    def zone_labels(self) -> xr.DataArray:
        """int32 DataArray: index of the admin unit holding the largest part of each cell (0 = none / AOI only).

        Lazy, as :meth:`fraction`.
        """
        return self._lazy(_labels_strip, np.int32, "zone")

    def _lazy(self, fn: Any, dtype: Any, name: str, *args: Any,
              chunks: tuple[tuple[int, ...], tuple[int, ...]] | None = None, decode: bool = True) -> xr.DataArray:
        """A dask-backed grid whose block of rows ``r0:r1`` and columns ``c0:c1`` is ``fn(codes, entries, width,
        *args)`` over that window (``decode=False``: ``fn`` gets the window's code runs instead of its codes).

        The blocks are the row strips of :meth:`strips`, whole rows wide, or the given ``chunks``. Each task holds
        only its window's code runs and sparse entries (small: nothing per cell).
        """
        import uuid

        import dask
        import dask.array as dska

        ny, nx = self.shape
        if chunks is None:
            row_spans, col_spans = list(self.strips()), [(0, nx)]
        else:
            row_spans, col_spans = (chunk_spans(c) for c in chunks)
        token = uuid.uuid4().hex  # a new graph each call: never mistaken for another coverage's strips
        func, lead = (_with_codes, (fn,)) if decode else (fn, ())
        grid = []
        for r0, r1 in row_spans:
            row = []
            for c0, c1 in col_spans:
                runs, parts = self.window(r0, r1, c0, c1)
                task = dask.delayed(func, pure=True)(*lead, runs, parts, c1 - c0, *args,
                                                     dask_key_name=f"{name}-{token}-{r0}-{c0}")
                row.append(dska.from_delayed(task, shape=(r1 - r0, c1 - c0), dtype=dtype))
            grid.append(row)
        data = dska.block(grid) if grid else dska.zeros((ny, nx), dtype=dtype)
        return _grid_array(data, self.geobox, name=name)


def _full(codes: np.ndarray, z: int) -> np.ndarray:
    """Cells of ``codes`` lying entirely inside zone ``z`` (bit 0 for the AOI, ``code >> 1`` for admin units)."""
    return (codes & 1).astype(bool) if z == 0 else (codes >> 1) == z


_Parts = tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], ...]


def _fraction_strip(codes: np.ndarray, parts: _Parts, nx: int, z: int) -> np.ndarray:
    """Covered fraction of zone ``z`` over one strip (full cells plus that zone's sparse entries, in entry order)."""
    out = _full(codes, z).astype(np.float32)
    for rows, cols, zones, fr in parts:
        sel = zones == z
        np.add.at(out.reshape(-1), rows[sel] * nx + cols[sel], fr[sel].astype(np.float32))
    return out


def _labels_strip(codes: np.ndarray, parts: _Parts, nx: int) -> np.ndarray:
    """Admin unit holding the largest part of each cell of one strip (0 = none)."""
    lab = (codes >> 1).astype(np.int32)
    if len(parts) < 2 or parts[1][0].size == 0:
        return lab
    rows, cols, zones, fr = parts[1]
    cells = rows * nx + cols
    order = np.lexsort((-fr, cells))
    cells, zones = cells[order], zones[order]
    first = np.ones(cells.size, dtype=bool)
    first[1:] = cells[1:] != cells[:-1]
    flat = lab.reshape(-1)
    keep = first & (flat[cells] == 0)
    flat[cells[keep]] = zones[keep]
    return lab


def _grid_array(data: Any, gb: GeoBox, *, name: str) -> xr.DataArray:
    import rioxarray  # noqa: F401

    t = gb.affine
    xs = t.c + t.a * (np.arange(gb.shape.x) + 0.5)
    ys = t.f + t.e * (np.arange(gb.shape.y) + 0.5)
    da = xr.DataArray(data, dims=("y", "x"), coords={"y": ys, "x": xs}, name=name)
    if gb.crs is not None:
        da.rio.write_crs(gb.crs.to_wkt(), inplace=True)  # inplace: no copy of the data
    da.rio.write_transform(t, inplace=True)
    return da


def strip_rows(nx: int) -> int:
    """Rows per strip for a grid ``nx`` cells wide (about 4 M cells per strip)."""
    return max(1, _STRIP_CELLS // max(nx, 1))


# ---------------------------------------------------------------------------------------------------------------
# Polygon -> cell coverage
# ---------------------------------------------------------------------------------------------------------------


def _pixel_edges(geom: Any, gb: GeoBox) -> tuple[np.ndarray, ...]:
    """Directed edges (x0, y0, x1, y1) of a (multi)polygon in pixel coordinates, consistently oriented."""
    import shapely

    inv = ~gb.affine
    g = shapely.transform(geom, lambda xy: np.column_stack(inv * (xy[:, 0], xy[:, 1])))
    g = shapely.orient_polygons(g, exterior_cw=False)
    rings = shapely.get_rings(shapely.get_parts(g))
    if len(rings) == 0:
        e = np.empty(0, dtype=np.float64)
        return e, e, e, e
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    same = idx[1:] == idx[:-1]
    x0 = coords[:-1, 0][same]
    y0 = coords[:-1, 1][same]
    x1 = coords[1:, 0][same]
    y1 = coords[1:, 1][same]
    return (np.ascontiguousarray(x0), np.ascontiguousarray(y0), np.ascontiguousarray(x1), np.ascontiguousarray(y1))


def coverage_fraction(geom: Any, gb: GeoBox) -> Iterator[tuple[int, int, int, np.ndarray]]:
    """Exact fraction of each cell covered by ``geom`` (in the grid CRS), strip by strip.

    Yields
    ------
    tuple of (int, int, int, numpy.ndarray)
        ``(row0, col0, col1, fractions)``: ``fractions[i, j]`` is the covered share of cell
        ``(row0 + i, col0 + j)``; only the window of the geometry's bounds is visited.
    """
    win = _window(geom, gb)
    if win is None:
        return
    (x0, y0, x1, y1), r_lo, r_hi, c_lo, c_hi = win
    w = c_hi - c_lo
    # Exterior rings are counter-clockwise in pixel coordinates (shoelace > 0), which the kernel accumulates as
    # negative winding (pixel rows grow downwards): the coverage is minus the cumulative sum.
    for r0, acc in _accumulated(x0, y0, x1, y1, r_lo, r_hi, c_lo, w):
        yield r0, c_lo, c_hi, -np.cumsum(acc[:, :w], axis=1)


def _window(geom: Any, gb: GeoBox) -> tuple[tuple[np.ndarray, ...], int, int, int, int] | None:
    """Pixel-space edges of ``geom`` and its window (r_lo, r_hi, c_lo, c_hi) on the grid; None when outside."""
    import shapely

    ny, nx = int(gb.shape.y), int(gb.shape.x)
    if geom is None or shapely.is_empty(geom):
        return None
    edges = _pixel_edges(geom, gb)
    if edges[0].size == 0:
        return None
    xs = np.concatenate([edges[0], edges[2]])
    ys = np.concatenate([edges[1], edges[3]])
    c_lo = max(0, int(np.floor(xs.min())))
    c_hi = min(nx, int(np.ceil(xs.max())))
    r_lo = max(0, int(np.floor(ys.min())))
    r_hi = min(ny, int(np.ceil(ys.max())))
    if c_lo >= c_hi or r_lo >= r_hi:
        return None
    return edges, r_lo, r_hi, c_lo, c_hi


def _accumulated(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, r_lo: int, r_hi: int, c_lo: int,
                 w: int) -> Iterator[tuple[int, np.ndarray]]:
    """Signed-area accumulation strips (rows, w + 2) of the window; see :func:`accumulate_edges`."""
    ex0, ex1 = x0 - c_lo, x1 - c_lo
    ylo, yhi = np.minimum(y0, y1), np.maximum(y0, y1)
    h = strip_rows(w)
    for r0 in range(r_lo, r_hi, h):
        r1 = min(r_hi, r0 + h)
        sel = ~((yhi <= r0) | (ylo >= r1))
        acc = np.zeros((r1 - r0, w + 2), dtype=np.float64)
        accumulate_edges(ex0[sel], y0[sel], ex1[sel], y1[sel], r0, acc)
        yield r0, acc


def _zone_geoms(
    zones: gpd.GeoDataFrame, id_field: str, name_field: str, crs_wkt: str, aoi_geom: Any
) -> tuple[list[str], list[str], list[Any]]:
    import shapely

    if id_field not in zones.columns:
        fields = [c for c in zones.columns if c != zones.geometry.name]
        raise ConfigError(f"Admin units: id_field {id_field!r} is not a field; available fields: {', '.join(fields)}.")
    z = zones.to_crs(crs_wkt) if zones.crs is not None else zones
    ids = z[id_field].astype(str).to_numpy()
    names = z[name_field].astype(str).to_numpy() if name_field in z.columns else ids
    order: list[str] = []
    geoms: dict[str, list[Any]] = {}
    name_of: dict[str, str] = {}
    for zid, nm, g in zip(ids, names, z.geometry.values, strict=True):
        if zid == ALL_ZONE:
            raise ConfigError(f"Admin units: zone id {ALL_ZONE!r} is reserved for the whole area of interest; rename it.")
        if zid not in geoms:
            order.append(zid)
            geoms[zid] = []
            name_of[zid] = nm
        if g is not None:
            geoms[zid].append(g)
    out = []
    for zid in order:
        g = shapely.union_all(geoms[zid]) if len(geoms[zid]) > 1 else (geoms[zid][0] if geoms[zid] else None)
        if g is not None and not g.is_valid:
            g = shapely.make_valid(g)
        out.append(None if g is None else shapely.intersection(g, aoi_geom))
    return order, [name_of[z] for z in order], out


def _crs_wkt(gb: GeoBox) -> str:
    """WKT of the grid's CRS (error when the grid has none)."""
    if gb.crs is None:
        raise ConfigError("Analysis grid: no CRS; give the grid a CRS (e.g. EPSG:4326).")
    return str(gb.crs.to_wkt())


def _densify_for(gdf: gpd.GeoSeries | gpd.GeoDataFrame, gb: GeoBox) -> Any:
    """Reproject to the grid CRS, densifying edges first so that curved images of straight edges stay accurate."""
    import shapely

    crs_wkt = _crs_wkt(gb)
    if gdf.crs is None:
        raise ConfigError("Area of interest / admin units: no CRS; set one (e.g. gdf.set_crs('EPSG:4326')).")
    from pyproj import CRS

    if CRS.from_user_input(gdf.crs) == CRS.from_wkt(crs_wkt):
        return gdf
    # A quarter of a cell, expressed in the source CRS near the grid centre.
    from pyproj import Transformer

    t = gb.affine
    cx, cy = gb.shape.x / 2, gb.shape.y / 2
    tr = Transformer.from_crs(CRS.from_wkt(crs_wkt), gdf.crs, always_xy=True)
    p0 = np.array(tr.transform(*(t * (cx, cy))))
    p1 = np.array(tr.transform(*(t * (cx + 1, cy + 1))))
    step = float(np.hypot(*(p1 - p0))) / 4
    out = gdf.copy()
    if np.isfinite(step) and step > 0:
        geoms = out.geometry.values
        length = float(np.nansum(shapely.length(geoms)))
        step = max(step, length / 2e6)  # keep the vertex count bounded
        out = out.set_geometry(shapely.segmentize(geoms, step), crs=gdf.crs)
    return out.to_crs(crs_wkt)


def build_coverage(
    geobox: GeoBox,
    *,
    aoi: gpd.GeoDataFrame | gpd.GeoSeries,
    zones: gpd.GeoDataFrame | None = None,
    id_field: str = "id",
    name_field: str = "name",
    rule: Literal["fraction", "centre"] = "fraction",
) -> Coverage:
    """Fractional coverage of every cell of ``geobox`` by the AOI and by each admin unit.

    Parameters
    ----------
    geobox : odc.geo.geobox.GeoBox
        Analysis grid (north-up).
    aoi : geopandas.GeoDataFrame or GeoSeries
        Area of interest; its features are merged into one zone ``"ALL"``. Its name is taken from ``name_field``
        (or a ``name`` field) when it has a single feature, else ``"Area of interest"``.
    zones : geopandas.GeoDataFrame, optional
        Admin units. Features sharing an id are merged; each unit is clipped to the AOI.
    id_field, name_field : str
        Fields of ``zones`` with the unit identifier and name (the id is used when the name field is absent).
    rule : {"fraction", "centre"}
        ``"fraction"`` (default): border cells count with the exact share of their area inside each polygon.
        ``"centre"``: a cell counts entirely for a polygon containing its centre, and not at all otherwise -- the
        Trends.Earth AOI mask (GDAL rasterize without ``ALL_TOUCHED``, Trends.Earth conventions (docs/differences.md)), for
        conformance runs (differences register D13).

    Returns
    -------
    Coverage

    Raises
    ------
    EmptyAOIError
        The AOI does not cover any cell of the grid.
    ConfigError
        ``id_field`` is missing, or a zone id is ``"ALL"``.
    """
    import geopandas as gpd
    import shapely

    if isinstance(aoi, gpd.GeoSeries):
        aoi = gpd.GeoDataFrame(geometry=aoi)
    ny, nx = int(geobox.shape.y), int(geobox.shape.x)
    aoi_g = _densify_for(aoi, geobox)
    aoi_geom = shapely.make_valid(shapely.union_all(aoi_g.geometry.values))
    aoi_name = "Area of interest"
    for fld in (name_field, "name", "NAME"):
        if len(aoi) == 1 and fld in aoi.columns and pd.notna(aoi[fld].iloc[0]):
            aoi_name = str(aoi[fld].iloc[0])
            break
    n_units = 0
    if zones is not None:
        zg = _densify_for(zones, geobox)
        zids, znames, zgeoms = _zone_geoms(zg, id_field, name_field, _crs_wkt(geobox), aoi_geom)
        n_units = len(zids)
    if rule not in ("fraction", "centre"):
        raise ConfigError(f"build_coverage: rule {rule!r} is not 'fraction' or 'centre'.")
    dtype = np.int16 if 2 * (n_units + 1) < np.iinfo(np.int16).max else np.int32
    ids = [ALL_ZONE, *(zids if n_units else [])]
    names = [aoi_name, *(znames if n_units else [])]
    groups = [([aoi_geom], [1] if rule == "centre" else [0], True)]
    if n_units:
        groups.append((zgeoms, [2 * z for z in range(1, len(ids))] if rule == "centre" else list(range(1, len(ids))),
                       False))
    # the codes are made a band of rows at a time and kept as runs: memory is bounded by the band, not the grid
    # (whole, a 10,000² grid's int16 codes took 155 MB)
    windows = [[_window(g, geobox) for g in geoms] if rule == "fraction" else [] for geoms, _, _ in groups]
    sparse: list[list[tuple[np.ndarray, ...]]] = [[] for _ in groups]
    runs: list[tuple[np.ndarray, ...]] = []
    band = strip_rows(nx)
    for b0 in range(0, ny, band):
        codes = np.zeros((min(ny, b0 + band) - b0, nx), dtype=dtype)
        for k, (geoms, values, is_aoi) in enumerate(groups):
            if rule == "centre":
                _burn_centres(codes, b0, geoms, values, geobox)
            else:
                sparse[k].extend(_burn_fractions(codes, b0, windows[k], values, nx, aoi=is_aoi))
        runs.append(_row_runs(codes, b0))
    coded = CodeRuns.join(runs, (ny, nx), dtype)
    levels = [_sorted_level(parts) for parts in sparse] if rule == "fraction" else [_EMPTY_LEVEL for _ in groups]
    if levels[0].cells.size == 0 and not (coded.values & 1).any():  # no cell of the AOI, partial or full
        b = geobox.extent.boundingbox
        raise EmptyAOIError(
            f"Area of interest {tuple(round(v, 6) for v in aoi_g.total_bounds)} does not cover any cell of the grid "
            f"({b.left:.6g}, {b.bottom:.6g}, {b.right:.6g}, {b.top:.6g}); check the AOI and the grid."
        )
    return Coverage(geobox=geobox, zone_ids=tuple(ids), zone_names=tuple(names), runs=coded, levels=tuple(levels),
                    rule=rule)


_EMPTY_LEVEL = CoverageLevel(cells=np.empty(0, dtype=np.int64), zones=np.empty(0, dtype=np.int32),
                             fractions=np.empty(0, dtype=np.float64))


def _burn_centres(codes: np.ndarray, b0: int, geoms: list[Any], values: list[int], gb: GeoBox) -> None:
    """Pixel-centre rule: add ``values`` to the codes of the band of rows from ``b0`` where the cell centre lies inside
    each geometry."""
    from affine import Affine
    from rasterio.features import rasterize

    shapes = [(g, v) for g, v in zip(geoms, values, strict=True) if g is not None and not g.is_empty]
    if shapes:
        burnt = rasterize(shapes, out_shape=codes.shape, transform=gb.affine * Affine.translation(0, b0), fill=0,
                          all_touched=False, dtype=np.int32 if codes.dtype == np.int32 else np.int16)
        codes += burnt.astype(codes.dtype)


def _burn_fractions(codes: np.ndarray, b0: int, windows: list[Any], indices: list[int], nx: int, *,
                    aoi: bool) -> Iterator[tuple[np.ndarray, ...]]:
    """Write the full cells of each geometry (its :func:`_window`) into the codes of the band of rows from ``b0``
    (bit 0 for the AOI, ``2 * zone`` for admin units); yield the partial cells (grid cell, zone, fraction)."""
    b1 = b0 + codes.shape[0]
    for z, win in zip(indices, windows, strict=True):
        if win is None:
            continue
        (x0, y0, x1, y1), r_lo, r_hi, c0, c1 = win
        r_lo, r_hi = max(r_lo, b0), min(r_hi, b1)
        if r_lo >= r_hi:
            continue
        w = c1 - c0
        for r0, acc in _accumulated(x0, y0, x1, y1, r_lo, r_hi, c0, w):
            view = codes[r0 - b0 : r0 - b0 + acc.shape[0], c0:c1]
            n = finish_strip(acc, w, view, 1 if aoi else 2 * z, aoi, COVER_TOL)
            if n:
                cc = np.empty(n, dtype=np.int64)
                ff = np.empty(n, dtype=np.float64)
                sparse_entries(acc, w, r0, c0, nx, cc, ff)
                yield cc, np.full(n, z, dtype=np.int32), ff


def _sorted_level(parts: list[tuple[np.ndarray, ...]]) -> CoverageLevel:
    """The partial cells of a level, sorted by (cell, zone)."""
    if not parts:
        return _EMPTY_LEVEL
    c, z_, f = (np.concatenate([p[k] for p in parts]) for k in range(3))
    order = np.lexsort((z_, c))
    return CoverageLevel(cells=c[order], zones=z_[order], fractions=f[order])
