"""Numba kernels of the zonal module: exact polygon coverage of grid cells, and zonal accumulation over strips.

Coverage (``accumulate_edges``)
    Exact area of a polygon inside every cell of a row strip, in pixel units. For a closed ring, the winding
    number at a point is the signed count of edges crossing the horizontal line through it to its left. Integrated
    over a cell, each edge piece crossing a row contributes ``d * ∫ clamp(c + 1 - x(y), 0, 1) dy`` to cell ``c``
    (the part of the cell right of the edge; ``d`` = ±1 for upward/downward edges). With
    ``H(t) = ∫_{-∞}^{t} clamp(s, 0, 1) ds`` this is ``d * dy * (H(c + 1 - x_a) - H(c + 1 - x_b)) / (x_b - x_a)``
    for a straight piece from ``x_a`` to ``x_b``, a function of ``c`` that is 0 left of the piece and ``d * dy``
    right of it. Its differences along ``c`` are added into an accumulation buffer; a cumulative sum along each
    row then gives the exact covered area of every cell (the idea of the signed-area accumulation rasterisers used
    for anti-aliased font rendering). Work is proportional to the number of boundary cells, memory to one strip.

Accumulation (``pair_area``, ``weighted_sums``)
    One pass over a strip: cells fully inside one zone are looked up in the label rasters, boundary cells come from
    the sparse list (cell, zone, fraction). Areas are accumulated as int64 counts of 1e-4 m² so that totals do not
    depend on the order of summation.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["accumulate_edges", "mark_seen", "pair_area", "weighted_sums"]

#: Areas are accumulated in units of this many m² (architecture.md "Areas").
AREA_QUANTUM_M2 = 1e-4
_INV_QUANTUM = 1.0 / AREA_QUANTUM_M2


@numba.njit(cache=True, inline="always")
def _h(t: float) -> float:
    if t <= 0.0:
        return 0.0
    if t >= 1.0:
        return t - 0.5
    return 0.5 * t * t


@numba.njit(cache=True)
def _add_piece(acc: np.ndarray, row: int, xa: float, xb: float, w: float) -> None:
    """Add a straight piece from x=xa to x=xb (both within [0, ncols]) of signed height ``w`` to ``acc[row]``."""
    dx = xb - xa
    if abs(dx) < 1e-9:
        xm = 0.5 * (xa + xb)
        c = math.floor(xm)
        f = w * (c + 1.0 - xm)
        acc[row, c] += f
        acc[row, c + 1] += w - f
        return
    lo = min(xa, xb)
    hi = max(xa, xb)
    c0 = math.floor(lo)
    c1 = math.floor(hi)
    k = w / dx
    prev = 0.0
    for c in range(c0, c1 + 1):
        f = (_h(c + 1.0 - xa) - _h(c + 1.0 - xb)) * k
        acc[row, c] += f - prev
        prev = f
    acc[row, c1 + 1] += w - prev


@numba.njit(cache=True)
def _add_clipped(acc: np.ndarray, row: int, x0: float, x1: float, w: float, ncols: int) -> None:
    """Split a piece where it crosses x=0 and x=ncols; parts outside are clamped onto those lines (exact)."""
    if x0 == x1:
        _add_piece(acc, row, min(max(x0, 0.0), ncols), min(max(x1, 0.0), ncols), w)
        return
    t1 = 2.0
    t2 = 2.0
    ta = (0.0 - x0) / (x1 - x0)
    tb = (ncols - x0) / (x1 - x0)
    if 0.0 < ta < 1.0:
        t1 = ta
    if 0.0 < tb < 1.0:
        if t1 == 2.0:
            t1 = tb
        else:
            t2 = tb
    if t2 < t1:
        t1, t2 = t2, t1
    ts0 = 0.0
    for ts1 in (t1, t2, 1.0):
        if ts1 > 1.0:
            continue
        if ts1 > ts0:
            xs = min(max(x0 + ts0 * (x1 - x0), 0.0), float(ncols))
            xe = min(max(x0 + ts1 * (x1 - x0), 0.0), float(ncols))
            _add_piece(acc, row, xs, xe, w * (ts1 - ts0))
        ts0 = ts1


@numba.njit(cache=True)
def accumulate_edges(
    ex0: np.ndarray, ey0: np.ndarray, ex1: np.ndarray, ey1: np.ndarray, top: int, acc: np.ndarray
) -> None:
    """Add the signed-area differences of the directed edges into ``acc`` (rows ``top`` .. ``top + acc.shape[0]``).

    Coordinates are in pixel units of the window (x = column, y = row). ``acc`` has ``ncols + 2`` columns; after
    the call, ``cumsum(acc[:, :ncols], axis=1)`` is the signed covered area of each cell.
    """
    nrows = acc.shape[0]
    ncols = acc.shape[1] - 2
    bot = top + nrows
    for k in range(ex0.shape[0]):
        xa = ex0[k]
        ya = ey0[k]
        xb = ex1[k]
        yb = ey1[k]
        if ya == yb:
            continue
        d = 1.0
        if ya > yb:
            xa, xb = xb, xa
            ya, yb = yb, ya
            d = -1.0
        if yb <= top or ya >= bot:
            continue
        dxdy = (xb - xa) / (yb - ya)
        r_start = max(math.floor(ya), top)
        r_end = min(math.ceil(yb), bot)
        for r in range(r_start, r_end):
            sy0 = max(ya, float(r))
            sy1 = min(yb, float(r + 1))
            if sy1 <= sy0:
                continue
            x0 = xa + (sy0 - ya) * dxdy
            x1 = xa + (sy1 - ya) * dxdy
            if sy1 == yb:
                x1 = xb
            _add_clipped(acc, r - top, x0, x1, d * (sy1 - sy0), ncols)


@numba.njit(cache=True, nogil=True)
def mark_seen(codes: np.ndarray, off: int, seen: np.ndarray) -> None:
    """``seen[code - off] = True`` for every code of a 2-D array."""
    ny, nx = codes.shape
    for i in range(ny):
        for j in range(nx):
            seen[np.int64(codes[i, j]) - off] = True


@numba.njit(cache=True, nogil=True)
def pair_area(
    aoi_lab: np.ndarray,
    zone_lab: np.ndarray,
    a: np.ndarray,
    lut_a: np.ndarray,
    off_a: int,
    b: np.ndarray,
    lut_b: np.ndarray,
    off_b: int,
    area: np.ndarray,
    sp_i: np.ndarray,
    sp_j: np.ndarray,
    sp_zone: np.ndarray,
    sp_frac: np.ndarray,
    acc: np.ndarray,
) -> None:
    """Accumulate quantised areas per (zone, class a, class b) over one strip.

    ``aoi_lab``/``zone_lab``: zone index of cells fully inside one zone, -1 elsewhere (``zone_lab`` may be a
    broadcast -1). ``lut_*[code - off_*]`` maps a code to its class index. Sparse entries add ``frac`` of a cell's
    area to ``sp_zone``. ``acc`` is int64 ``(zones, na, nb)`` in units of 1e-4 m².
    """
    ny, nx = a.shape
    for i in range(ny):
        for j in range(nx):
            la = aoi_lab[i, j]
            lz = zone_lab[i, j]
            if la < 0 and lz < 0:
                continue
            q = np.int64(math.floor(area[i, j] * _INV_QUANTUM + 0.5))
            ia = lut_a[np.int64(a[i, j]) - off_a]
            ib = lut_b[np.int64(b[i, j]) - off_b]
            if la >= 0:
                acc[la, ia, ib] += q
            if lz >= 0:
                acc[lz, ia, ib] += q
    for k in range(sp_i.shape[0]):
        i = sp_i[k]
        j = sp_j[k]
        q = np.int64(math.floor(sp_frac[k] * area[i, j] * _INV_QUANTUM + 0.5))
        ia = lut_a[np.int64(a[i, j]) - off_a]
        ib = lut_b[np.int64(b[i, j]) - off_b]
        acc[sp_zone[k], ia, ib] += q


@numba.njit(cache=True, nogil=True)
def weighted_sums(
    aoi_lab: np.ndarray,
    zone_lab: np.ndarray,
    by: np.ndarray,
    lut: np.ndarray,
    off: int,
    values: np.ndarray,
    weight: np.ndarray,
    sp_i: np.ndarray,
    sp_j: np.ndarray,
    sp_zone: np.ndarray,
    sp_frac: np.ndarray,
    acc_vw: np.ndarray,
    acc_w: np.ndarray,
) -> None:
    """Accumulate ``sum(value * weight * fraction)`` and ``sum(weight * fraction)`` per (zone, class of ``by``).

    NaN values are skipped (they add to neither sum). Summation order is fixed (row-major, then the sparse list),
    so results are reproducible for a given strip layout.
    """
    ny, nx = values.shape
    for i in range(ny):
        for j in range(nx):
            la = aoi_lab[i, j]
            lz = zone_lab[i, j]
            if la < 0 and lz < 0:
                continue
            v = values[i, j]
            if math.isnan(v):
                continue
            w = weight[i, j]
            k = lut[np.int64(by[i, j]) - off]
            if la >= 0:
                acc_vw[la, k] += v * w
                acc_w[la, k] += w
            if lz >= 0:
                acc_vw[lz, k] += v * w
                acc_w[lz, k] += w
    for s in range(sp_i.shape[0]):
        i = sp_i[s]
        j = sp_j[s]
        v = values[i, j]
        if math.isnan(v):
            continue
        w = weight[i, j] * sp_frac[s]
        k = lut[np.int64(by[i, j]) - off]
        acc_vw[sp_zone[s], k] += v * w
        acc_w[sp_zone[s], k] += w
