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
    One pass over a strip: cells fully inside the AOI and/or one admin unit are looked up in the full-cell code
    raster, boundary cells come from the sparse list (cell, zone, fraction). Areas are accumulated as int64 counts of 1e-4 m² so that totals do not
    depend on the order of summation.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["accumulate_edges", "fill_runs", "mark_seen", "pair_area", "weighted_sums"]

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
def fill_runs(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """``out[rows[k], starts[k]:ends[k]] = values[k]`` for every run ``k`` (runs do not overlap)."""
    for k in range(rows.size):
        row = out[rows[k]]
        v = values[k]
        for j in range(starts[k], ends[k]):
            row[j] = v


@numba.njit(cache=True, nogil=True)
def mark_seen(keys: np.ndarray, seen: np.ndarray) -> None:
    """``seen[key] = True`` for every (non-negative) key of a 2-D array."""
    ny, nx = keys.shape
    for i in range(ny):
        row = keys[i]
        for j in range(nx):
            seen[row[j]] = True


@numba.njit(cache=True, nogil=True)
def pair_area(
    codes: np.ndarray,
    a: np.ndarray,
    lut_a: np.ndarray,
    b: np.ndarray,
    lut_b: np.ndarray,
    nb: int,
    area: np.ndarray,
    sp_i: np.ndarray,
    sp_j: np.ndarray,
    sp_zone: np.ndarray,
    sp_frac: np.ndarray,
    acc_c: np.ndarray,
    acc: np.ndarray,
) -> None:
    """Accumulate quantised areas per (zone, class a, class b) over one strip.

    ``codes``: full-cell code of each cell (bit 0: inside the AOI; ``code >> 1``: admin unit holding the whole
    cell, 0 for none). ``a``/``b`` hold non-negative keys (unsigned views of the class rasters, or class indices)
    and ``lut_*[key]`` (int64) maps a key to its class index; the pair index is ``ia * nb + ib``. Full cells go to ``acc_c``
    ``(n_codes, na * nb)``; sparse entries add ``frac`` of a cell's area to ``acc[sp_zone]`` ``(n_zones, na * nb)``.
    Both int64, in units of 1e-4 m².

    Rows whose cells all have the same area (geographic grids) are counted first and multiplied by the row's
    quantised area once per (code, class pair); other rows quantise every cell. Both give the same sums.
    """
    ny, nx = a.shape
    nab = acc_c.shape[1]
    flat = acc_c.reshape(-1)
    # Per-row counting pays off when resetting the counters costs less than a pass over the row.
    rowcount = flat.size <= max(4096, nx)
    # Four banks of counters, cell j counted in bank j % 4, when they are small beside a row: consecutive cells of
    # a class map mostly hit the same counter, and one bank makes each count wait for the previous one.
    nbank = 4 if rowcount and 4 * flat.size <= nx else 1
    cnt = np.zeros((nbank, flat.size if rowcount else 1), dtype=np.int64)
    row_areas = area.strides[1] == 0  # a column broadcast along the rows (geographic grids): no need to look
    for i in range(ny):
        a0 = area[i, 0]
        const = rowcount
        if const and not row_areas:
            for j in range(nx):
                if area[i, j] != a0:
                    const = False
                    break
        ci = codes[i]
        ai = a[i]
        bi = b[i]
        if const:
            # cells outside every zone (code 0) are counted too (no branch) and ignored when decoding
            head = nx - nx % 4 if nbank == 4 else 0  # cells counted four at a time, then the rest in bank 0
            for j0 in range(0, head, 4):
                for u in range(4):
                    j = j0 + u
                    cnt[u, np.int64(ci[j]) * nab + lut_a[ai[j]] * nb + lut_b[bi[j]]] += 1
            for j in range(head, nx):
                cnt[0, np.int64(ci[j]) * nab + lut_a[ai[j]] * nb + lut_b[bi[j]]] += 1
            q0 = np.int64(math.floor(a0 * _INV_QUANTUM + 0.5))
            for k in range(nab, flat.size):
                n = cnt[0, k]
                for u in range(1, nbank):
                    n += cnt[u, k]
                if n:
                    flat[k] += n * q0
            cnt[:] = 0
        else:
            for j in range(nx):
                c = np.int64(ci[j])
                if c == 0:
                    continue
                k = c * nab + lut_a[ai[j]] * nb + lut_b[bi[j]]
                flat[k] += np.int64(math.floor(area[i, j] * _INV_QUANTUM + 0.5))
    for s in range(sp_i.shape[0]):
        i = sp_i[s]
        j = sp_j[s]
        q = np.int64(math.floor(sp_frac[s] * area[i, j] * _INV_QUANTUM + 0.5))
        k = lut_a[a[i, j]] * nb + lut_b[b[i, j]]
        acc[sp_zone[s], k] += q


@numba.njit(cache=True, nogil=True)
def weighted_sums(
    codes: np.ndarray,
    by: np.ndarray,
    lut: np.ndarray,
    values: np.ndarray,
    weight: np.ndarray,
    sp_i: np.ndarray,
    sp_j: np.ndarray,
    sp_zone: np.ndarray,
    sp_frac: np.ndarray,
    vw_c: np.ndarray,
    w_c: np.ndarray,
    acc_vw: np.ndarray,
    acc_w: np.ndarray,
) -> None:
    """Accumulate ``sum(value * weight * fraction)`` and ``sum(weight * fraction)`` per (zone, class of ``by``).

    Full cells go to ``vw_c``/``w_c`` ``(n_codes, K)`` by full-cell code, sparse entries to ``acc_vw``/``acc_w``
    ``(n_zones, K)``. NaN values are skipped. The summation order is fixed (row-major, then the sparse list), so
    results are reproducible for a given strip layout.
    """
    ny, nx = values.shape
    for i in range(ny):
        for j in range(nx):
            c = np.int64(codes[i, j])
            if c == 0:
                continue
            v = values[i, j]
            if math.isnan(v):
                continue
            w = weight[i, j]
            k = lut[by[i, j]]
            vw_c[c, k] += v * w
            w_c[c, k] += w
    for s in range(sp_i.shape[0]):
        i = sp_i[s]
        j = sp_j[s]
        v = values[i, j]
        if math.isnan(v):
            continue
        w = weight[i, j] * sp_frac[s]
        k = lut[by[i, j]]
        acc_vw[sp_zone[s], k] += v * w
        acc_w[sp_zone[s], k] += w


@numba.njit(cache=True)
def finish_strip(acc: np.ndarray, ncols: int, codes: np.ndarray, add: int, aoi: bool, tol: float) -> int:
    """Turn an accumulation strip into coverage, write full cells into ``codes``, count the sparse entries.

    ``acc`` (rows, ncols + 2) becomes the coverage fraction of each cell (in place, columns ``:ncols``). Cells fully
    covered whose code slot is free get ``add`` added to ``codes`` (a view of the same window); full cells whose
    slot is taken are marked 2.0 (a sparse entry with fraction 1). Returns the number of sparse entries, which
    :func:`sparse_entries` then collects.
    """
    nrows = acc.shape[0]
    n = 0
    for i in range(nrows):
        s = 0.0
        for j in range(ncols):
            s -= acc[i, j]
            cov = s
            if cov >= 1.0 - tol:
                c = codes[i, j]
                free = (c & 1) == 0 if aoi else (c >> 1) == 0
                if free:
                    codes[i, j] = c + add
                    acc[i, j] = 1.0
                else:
                    acc[i, j] = 2.0
                    n += 1
            elif cov > tol:
                acc[i, j] = cov
                n += 1
            else:
                acc[i, j] = 0.0
    return n


@numba.njit(cache=True)
def sparse_entries(acc: np.ndarray, ncols: int, r0: int, c0: int, nx: int, cells: np.ndarray, fracs: np.ndarray) -> None:
    """Collect the sparse entries marked by :func:`finish_strip` (flat cell index on the full grid, fraction)."""
    n = 0
    for i in range(acc.shape[0]):
        for j in range(ncols):
            v = acc[i, j]
            if 0.0 < v < 1.0 or v == 2.0:
                cells[n] = np.int64(r0 + i) * nx + c0 + j
                fracs[n] = 1.0 if v == 2.0 else v
                n += 1
