"""Input checks with meaning: data faults stop the run (or warn) before any number is computed.

``validate`` and ``run`` both call :func:`check_inputs` on the opened inputs (over the area of interest), so
``validate`` refuses what ``run`` would. Each finding is one line naming the input file, the problem and the fix:

* values outside the input's physical range (``InputDecl.valid_range``: a vegetation index within -1..1 after
  scaling; SOC, population, precipitation and PET not negative);
* a vegetation index stored as integers × 10 000 without ``scale`` (values up to thousands), and years stored with
  different scalings;
* an undeclared nodata value (a sentinel such as -9999, -3000 or 65535 filling many cells);
* class codes that are not whole numbers (a land cover code 10.5 is not silently truncated);
* an input with no valid value over the area of interest (error) or covering only part of it (warning);
* duplicate admin-unit ids (error) and overlapping units (warning).

Warnings become errors with ``--strict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numba
import numpy as np
import xarray as xr

__all__ = ["Finding", "aoi_window", "check_inputs", "check_zones"]

#: Values that data providers use as fill; one of them filling many cells is an undeclared nodata.
FILL_SENTINELS: tuple[float, ...] = (-9999.0, -3000.0, -32768.0, -32767.0, -3.4028234663852886e38, 9999.0,
                                     32767.0, 65535.0, 255.0, -999.0, -99.0)
#: Share of the AOI an input must cover before a warning.
MIN_COVERAGE = 0.95
#: Share of cells one sentinel must fill to be called a nodata value.
SENTINEL_SHARE = 0.001


@dataclass(frozen=True)
class Finding:
    """One problem found in an input.

    Attributes
    ----------
    level : {"error", "warning"}
        An error stops the run; a warning is printed (and stops it with ``--strict``).
    input : str
        Input name (``ndvi``) or ``zones``.
    message : str
        One line: the file, the problem, the fix.
    """

    level: Literal["error", "warning"]
    input: str
    message: str


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def aoi_window(da: xr.DataArray, aoi: Any) -> tuple[xr.DataArray, xr.DataArray]:
    """``da`` cropped to the AOI's bounding box (in its own CRS), and the AOI mask on that window."""
    import rioxarray  # noqa: F401
    from odc.geo.geom import Geometry
    from odc.geo.xr import rasterize

    crs = da.rio.crs
    geoms = aoi.to_crs(crs) if crs is not None and aoi.crs is not None else aoi
    w, s, e, n = geoms.total_bounds
    rx, ry = (abs(r) for r in da.rio.resolution())
    x, y = da["x"].values, da["y"].values
    xi = np.flatnonzero((x >= w - rx) & (x <= e + rx))
    yi = np.flatnonzero((y >= s - ry) & (y <= n + ry))
    if xi.size == 0 or yi.size == 0:
        win = da.isel(x=slice(0, 0), y=slice(0, 0))
        return win, xr.zeros_like(win, dtype=bool)
    win = da.isel(x=slice(int(xi[0]), int(xi[-1]) + 1), y=slice(int(yi[0]), int(yi[-1]) + 1))
    template = win.isel(time=0, drop=True) if "time" in win.dims else win
    geom = Geometry(geoms.geometry.union_all(), crs=str(crs) if crs is not None else None)
    values = np.asarray(rasterize(geom, template.odc.geobox, all_touched=True).values, dtype=bool)
    mask = xr.DataArray(values, dims=("y", "x"), coords={"y": template["y"].values, "x": template["x"].values})
    return win, mask


def _sentinels(spec: Any) -> list[float]:
    """Fill values to look for: as stored, and as they read after the declared scale/offset."""
    out = list(FILL_SENTINELS)
    scale = getattr(spec, "scale", None) if spec is not None else None
    offset = getattr(spec, "offset", None) if spec is not None else None
    if scale is not None or offset is not None:
        sc, of = np.float32(scale if scale is not None else 1.0), np.float32(offset if offset is not None else 0.0)
        out += [float(np.float32(np.float32(s) * sc + of)) for s in FILL_SENTINELS]
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _bits_key(bits: Any) -> Any:  # pragma: no cover - numba
    """16-bit key of a value's bit pattern (the 16-bit words of up to 64 bits, XOR-ed)."""
    b = np.uint64(bits)
    return (b ^ (b >> np.uint64(16)) ^ (b >> np.uint64(32)) ^ (b >> np.uint64(48))) & np.uint64(0xFFFF)


def _sentinel_keys(dtype: np.dtype[Any], sents: np.ndarray) -> np.ndarray:
    """The :func:`_bits_key` of every value of ``dtype`` that equals a sentinel (a table of 2**16 flags).

    A value equals a sentinel only if the sentinel is a value of the type (integers: a whole number in range); for
    floats, zero is also negative zero, whose bits differ.
    """
    wanted = np.zeros(1 << 16, np.bool_)
    udt = np.dtype(f"u{dtype.itemsize}")
    for s in sents:
        if np.isnan(s):
            continue
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            if s != np.floor(s) or not info.min <= s <= info.max:
                continue
        as_type = np.asarray(s).astype(dtype)
        if float(as_type) != s:
            continue
        for same in (as_type, -as_type) if dtype.kind == "f" and s == 0 else (as_type,):
            wanted[int(_bits_key(np.asarray(same, dtype=dtype).view(udt)[()]))] = True
    return wanted


@numba.njit(cache=True, nogil=True)
def _scan(v: np.ndarray, bits: np.ndarray, inside: np.ndarray, fill: float, use_fill: bool, sents: np.ndarray,
          keyed: np.ndarray, codes: bool = False, lo: int = 0, hi: int = -1
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray, np.ndarray
                     ]:  # pragma: no cover - numba
    """All statistics of one ``(time, y, x)`` block of an input over the AOI, in one pass, on the values as read.

    A cell is valid when it is inside the AOI (``inside``), not NaN and not the fill value (when ``use_fill``).
    Returns the valid count, min and max of each time step (``+inf``/``-inf`` when none), the count of cells whose
    value is not a whole number (cells that are not valid included, as ``numpy`` counts the NaN of a masked array),
    the count of each sentinel and the cells holding a valid value in any time step. ``sents`` are float64 copies of
    the sentinels rounded to the precision the masked values would have (integers convert exactly, so comparing
    there is comparing in that precision).

    Every inner loop runs branch-free over the cells of a row (SIMD): the valid values go to a row buffer with NaN
    for the others (NaN equals no sentinel), the minimum and maximum are kept per column and reduced once per time
    step. A (24, 512, 512) block of a scaled vegetation index with its 22 sentinels took 41 ms cell by cell.

    ``codes`` (integers of up to 16 bits, values ``lo..hi``): the sentinels are counted through a table of the
    type's values (a sentinel matches the cells of at most one value, the one it equals when it is a whole number
    in ``lo..hi``) instead of one pass over every row per sentinel: a 24-year int16 block 15.5 -> 8.5 ms, a uint8
    land cover series 11.1 -> 6.4 ms. The values held by the block's cells (any cell, inside the AOI or not, valid
    or not) are flagged too (the last result, by their low 16 bits), for the checks a stage makes of its class
    codes (:func:`present_codes`).

    Other types: ``bits`` are the values' bit patterns (``v`` viewed as unsigned integers) and ``keyed`` flags the
    :func:`_bits_key` of every value equal to a sentinel (:func:`_sentinel_keys`). Only the cells whose key is
    flagged (rare: a sentinel, or one of the few values sharing its key) are compared with the sentinels: a
    (24, 1024, 1024) float32 block of a scaled vegetation index 79 -> 38 ms, where comparing every cell with
    each of its 22 sentinels took two thirds of the scan.
    """
    nt, ny, nx = v.shape
    ns = sents.size
    n = np.zeros(nt, np.int64)
    mn = np.full(nt, np.inf)
    mx = np.full(nt, -np.inf)
    cnt = np.zeros(ns, np.int64)
    anyv = np.zeros((ny, nx), np.bool_)
    row = np.empty(nx)
    col_lo = np.empty(nx)
    col_hi = np.empty(nx)
    hist = np.zeros(1 << 16 if codes else 1, np.int64)  # valid cells of each sentinel's value, by its low 16 bits
    seen = np.zeros(1 << 16 if codes else 1, np.bool_)  # the values of the cells, by their low 16 bits
    wanted = np.zeros(1 << 16 if codes else 1, np.bool_)
    keys = np.full(ns, -1, np.int64)  # each sentinel's value's key, -1 when no value of the type equals it
    for m in range(ns if codes else 0):
        s = sents[m]
        if s == np.floor(s) and lo <= s <= hi:
            keys[m] = np.int64(s) & 0xFFFF
            wanted[keys[m]] = True
    frac = 0
    inf = np.inf
    nan = np.nan
    for t in range(nt):
        k = 0
        col_lo[:] = inf
        col_hi[:] = -inf
        for i in range(ny):
            vi = v[t, i]
            ins = inside[i]
            av = anyv[i]
            for j in range(nx):
                x = vi[j]
                xf = np.float64(x)
                ok = (x == x) & ins[j] & ~(use_fill & (x == fill))
                k += int(ok)
                av[j] |= ok
                whole = (xf - xf == 0.0) & (xf == np.floor(xf))  # finite and a whole number
                frac += int(~(ok & whole))
                row[j] = xf if ok else nan
                col_lo[j] = min(col_lo[j], xf if ok else inf)
                col_hi[j] = max(col_hi[j], xf if ok else -inf)
            if codes:
                for j in range(nx):
                    key = np.int64(vi[j]) & 0xFFFF
                    if wanted[key]:  # a sentinel's value: rare, so the branch is predicted and counts do not chain
                        hist[key] += int(row[j] == row[j])
                    seen[key] = True
            else:
                bi = bits[t, i]
                for j in range(nx):
                    if keyed[_bits_key(bi[j])]:  # rare, so the branch is predicted
                        for m in range(ns):
                            cnt[m] += int(row[j] == sents[m])
        r_lo = inf
        r_hi = -inf
        for j in range(nx):
            r_lo = min(r_lo, col_lo[j])
            r_hi = max(r_hi, col_hi[j])
        n[t] = k
        mn[t] = r_lo
        mx[t] = r_hi
    for m in range(ns if codes else 0):
        if keys[m] >= 0:
            cnt[m] = hist[keys[m]]
    return n, mn, mx, frac, cnt, anyv, seen


_NO_KEYS = np.zeros(1, np.bool_)


def _block(v: np.ndarray, inside: np.ndarray, fill: float, use_fill: bool, sents: np.ndarray,
           whole_time: bool) -> tuple[Any, ...]:
    """:func:`_scan` of one block; the per-cell any-valid map is kept only when time is split over blocks, the
    values present only for integers of up to 16 bits."""
    # contiguous (a no-op for a whole chunk): numba's loops over a strided block do not vectorise, and a window's
    # block scanned as it came took 85.5 ms against 42.0 ms copied first (int16, 24 x 1,024²)
    v = np.ascontiguousarray(v)
    ins = np.asarray(inside, dtype=np.bool_)
    if v.dtype.kind in "iu" and v.dtype.itemsize <= 2:
        info = np.iinfo(v.dtype)
        n, mn, mx, frac, cnt, anyv, seen = _scan(v, v, ins, fill, use_fill, sents, _NO_KEYS, True,
                                                 int(info.min), int(info.max))
        keys = np.flatnonzero(seen)
        present = keys.astype(np.uint16).view(np.int16) if info.min < 0 else keys  # the values of those keys
    else:
        bits = v.view(f"u{v.dtype.itemsize}")  # the same cells as unsigned integers
        n, mn, mx, frac, cnt, anyv, _ = _scan(v, bits, ins, fill, use_fill, sents, _sentinel_keys(v.dtype, sents))
        present = None
    return n, mn, mx, frac, cnt, (int(anyv.sum()) if whole_time else anyv), present


def _combine(parts: list[tuple[Any, ...]], grid: tuple[int, int, int], has_time: bool, floating: bool,
             sentinels: list[float], n_aoi: int) -> dict[str, Any]:
    """Join the block statistics (``parts`` in C order over the ``(time, y, x)`` block grid)."""
    nbt, nby, nbx = grid

    def rows(it: int, k: int) -> list[Any]:
        return [parts[(it * nby + iy) * nbx + ix][k] for iy in range(nby) for ix in range(nbx)]

    n = np.concatenate([np.sum(rows(it, 0), axis=0) for it in range(nbt)])
    mn = np.concatenate([np.min(rows(it, 1), axis=0) for it in range(nbt)])
    mx = np.concatenate([np.max(rows(it, 2), axis=0) for it in range(nbt)])
    mn[n == 0] = np.nan  # an all-NaN reduction is NaN, as xarray's
    mx[n == 0] = np.nan
    if nbt == 1:
        covered = sum(int(c) for c in rows(0, 5))
    else:
        covered = sum(int(np.logical_or.reduce([parts[(it * nby + iy) * nbx + ix][5] for it in range(nbt)]).sum())
                      for iy in range(nby) for ix in range(nbx))
    cnt = np.sum([p[4] for p in parts], axis=0)
    out: dict[str, Any] = {
        "min": mn if has_time else mn[0],
        "max": mx if has_time else mx[0],
        "n_valid": n if has_time else n[0],
        "n_aoi": n_aoi,
        "covered": covered,
    }
    if floating:
        out["fractional"] = sum(int(p[3]) for p in parts)
    for s, c in zip(sentinels, cnt, strict=True):
        out[f"sentinel_{s}"] = int(c)
    if parts and parts[0][6] is not None:
        out["codes"] = np.unique(np.concatenate([p[6] for p in parts])).astype(np.int64)
    return out


#: The attribute of a checked input (as a stage's ``check`` receives it) that holds the values present in it.
_PRESENT = "openldn_values_present"


def with_present_codes(da: xr.DataArray, codes: np.ndarray | None) -> xr.DataArray:
    """``da`` carrying the values its cells hold (see :func:`present_codes`)."""
    return da if codes is None else da.assign_attrs({_PRESENT: codes})


def present_codes(da: xr.DataArray) -> np.ndarray | None:
    """The values the cells of a checked input hold (int64, sorted; every cell of its window on the area of
    interest, as a stage's ``check`` receives it), when the input checks' scan listed them (integer inputs of up
    to 16 bits), else None.

    A stage's ``check`` receives the inputs cropped to the area of interest; the checks have read every value of
    them already, so a stage judging its class codes need not read the input again (a 24-year land cover series of
    10,000² took 2.3 s to read again for its legend).
    """
    codes = da.attrs.get(_PRESENT)
    return None if codes is None else np.asarray(codes, dtype=np.int64)


def _stats(name: str, da: xr.DataArray, mask: xr.DataArray, sentinels: list[float]) -> Any:
    """Statistics of one input over the AOI, lazily: each block of the input is read once.

    Returns a ``dask.delayed`` dict (``min``/``max``/``n_valid`` per time step, ``n_aoi``, ``covered``,
    ``fractional`` for float inputs, ``sentinel_<value>`` counts), computed together for every input.
    """
    import dask

    fill = da.attrs.get("_FillValue")
    use_fill = fill is not None and not (isinstance(fill, float) and np.isnan(fill))
    has_time = "time" in da.dims
    vals = da.transpose(*(("time",) if has_time else ()), "y", "x")
    # the values are scanned as read (no masked float copy of the input); the sentinels are compared in the
    # precision the masked values would have (an int16 input masked with NaN is float32)
    masked_dtype = da[(0,) * da.ndim].where(False).dtype if da.size else da.dtype
    sents = np.asarray(sentinels, dtype=masked_dtype).astype(np.float64)
    floating = bool(np.issubdtype(da.dtype, np.floating))
    n_aoi = int(mask.sum())
    data = vals.data
    if not has_time:
        data = data[None]
    # the fill in the values' own precision, as ``da != fill`` compares (a float32 raster's -3.4e38)
    fill_value = 0.0
    if use_fill:
        fill_value = float(np.asarray(fill).astype(da.dtype)) if floating else float(np.asarray(fill))
    if hasattr(data, "to_delayed"):  # dask: one task per block, one task joining them
        blocks = data.to_delayed()
        grid = blocks.shape
        whole = grid[0] == 1
        inside = np.asarray(mask.values, dtype=bool)
        ys = np.cumsum((0,) + data.chunks[1])
        xs = np.cumsum((0,) + data.chunks[2])
        parts = [
            dask.delayed(_block, pure=True)(blocks[it, iy, ix], inside[ys[iy]:ys[iy + 1], xs[ix]:xs[ix + 1]],
                                            fill_value, use_fill, sents, whole)
            for it in range(grid[0]) for iy in range(grid[1]) for ix in range(grid[2])
        ]
        return dask.delayed(_combine, pure=True)(parts, grid, has_time, floating, sentinels, n_aoi)
    return _combine([_block(np.asarray(data), np.asarray(mask.values, dtype=bool), fill_value, use_fill, sents, True)],
                    (1, 1, 1), has_time, floating, sentinels, n_aoi)


def check_inputs(raw: dict[str, xr.DataArray], aoi: Any, *, specs: dict[str, Any], source: str,
                 windows: dict[str, tuple[xr.DataArray, xr.DataArray]] | None = None,
                 present: dict[str, np.ndarray] | None = None) -> list[Finding]:
    """Check every opened input over the area of interest.

    Parameters
    ----------
    raw : dict
        Opened inputs (``openldn.io.open_raster`` results: nodata as NaN or ``_FillValue``, scale applied).
    aoi : GeoDataFrame
        The area of interest.
    specs : dict
        The run file's input specs by name (for the file names and declared scale/nodata in messages).
    source : str
        The run file (for messages).
    windows : dict, optional
        :func:`aoi_window` of each input, when the caller has them already.
    present : dict, optional
        Filled with the values present in each integer input of up to 16 bits (every cell of its window; int64,
        sorted), read in the same pass.

    Returns
    -------
    list of Finding
    """
    import dask

    from openldn.registry import input_decls

    decls = input_decls()
    lazy: dict[str, dict[str, Any]] = {}
    for name, da in raw.items():
        win, mask = windows[name] if windows is not None else aoi_window(da, aoi)
        if win.size == 0:
            continue  # no overlap: the overlap check names it
        lazy[name] = _stats(name, win, mask, _sentinels(specs.get(name)))
    try:
        (computed,) = dask.compute(lazy)
    except Exception:  # a truncated or corrupt file fails when its pixels are read: find which one
        from openldn.exceptions import InputFileError

        for name, stats in lazy.items():
            try:
                dask.compute(stats)
            except Exception as err:
                first = (str(err).splitlines() or [type(err).__name__])[0][:160]
                raise InputFileError(
                    f"{raw[name].attrs.get('source', name)} (inputs.{name}): the file cannot be read ({first}); it "
                    "is truncated or corrupt: re-download or re-export it."
                ) from None
        raise
    findings: list[Finding] = []
    for name, st in computed.items():
        findings += _judge(name, raw[name], st, decls[name], specs.get(name))
        if present is not None and "codes" in st:
            present[name] = st["codes"]
    return findings


def _judge(name: str, da: xr.DataArray, st: dict[str, Any], decl: Any, spec: Any) -> list[Finding]:
    where = str(da.attrs.get("source", name))
    out: list[Finding] = []

    def err(msg: str) -> None:
        out.append(Finding("error", name, f"{where} (inputs.{name}): {msg}"))

    def warn(msg: str) -> None:
        out.append(Finding("warning", name, f"{where} (inputs.{name}): {msg}"))

    n_aoi = int(st["n_aoi"])
    covered = int(st["covered"])
    if n_aoi and covered == 0:
        err("no valid value over the area of interest; check the file, its nodata value and its CRS.")
        return out
    if n_aoi and covered / n_aoi < MIN_COVERAGE:
        warn(f"covers only {100 * covered / n_aoi:.1f} % of the area of interest; cells without data are reported "
             "as no data (give a file covering the whole area).")
    mins = np.atleast_1d(np.asarray(st["min"], dtype=float))
    maxs = np.atleast_1d(np.asarray(st["max"], dtype=float))
    lo, hi = float(np.nanmin(mins)), float(np.nanmax(maxs))
    n_valid = max(int(np.sum(st["n_valid"])), 1)
    # an undeclared nodata sentinel filling many cells (checked first: it explains out-of-range values)
    for s in _sentinels(spec):
        count = int(st[f"sentinel_{s}"])
        at_edge = np.isclose(s, lo, rtol=1e-6, atol=0) or np.isclose(s, hi, rtol=1e-6, atol=0)
        if count and count / n_valid >= SENTINEL_SHARE and at_edge:
            scaled = s not in FILL_SENTINELS
            if scaled:
                raw_value = FILL_SENTINELS[_sentinels(spec).index(s) - len(FILL_SENTINELS)]
                err(f"value {_fmt(raw_value)} (read as {_fmt(s)} after scaling) fills {100 * count / n_valid:.1f} % of "
                    f"the cells: it looks like an undeclared nodata value; add `nodata: {_fmt(raw_value)}` to "
                    f"inputs.{name}.")
                return out
            rng = getattr(spec, "valid_range", None) or decl.valid_range
            in_range = (rng[0] is None or s >= rng[0]) and (rng[1] is None or s <= rng[1])
            if decl.kind == "categorical" or not in_range:
                err(f"value {_fmt(s)} fills {100 * count / n_valid:.1f} % of the cells: it looks like an undeclared "
                    f"nodata value; add `nodata: {_fmt(s)}` to inputs.{name}.")
                return out
    if decl.kind == "categorical":
        if int(st.get("fractional", 0)):
            err(f"holds class codes that are not whole numbers (between {_fmt(lo)} and {_fmt(hi)}); class codes must "
                "be integers: re-export the map with integer codes.")
        return out
    vmin, vmax = decl.valid_range
    if str(da.attrs.get("annual_composite", "")) in ("integral", "season_months", "season_threshold"):
        vmin, vmax = (None if v is None else v * 366.0 for v in (vmin, vmax))  # time integrals: index x days
    declared = getattr(spec, "valid_range", None) if spec is not None else None
    if declared is not None:  # the user says what the values are (e.g. an annual time-integrated NDVI)
        vmin, vmax = declared
    scale = getattr(spec, "scale", None) if spec is not None else None
    per_year = np.abs(maxs[np.isfinite(maxs)])
    if vmax is not None and vmax <= 1.0 and per_year.size > 1 and per_year.min() > 0 \
            and per_year.max() / per_year.min() > 50:
        years = _labels(da)
        top = float(per_year.max())
        odd = [years[i] for i, v in enumerate(maxs) if np.isfinite(v) and (abs(v) > 50 * per_year.min()) == (top > 1.5)]
        err(f"years are stored with different scalings (the largest value is {_fmt(float(per_year.min()))} in some "
            f"years and {_fmt(top)} in others, e.g. {', '.join(odd[:5])}); store every year with one scale.")
        return out
    if vmax is not None and vmax <= 1.0 and hi > 1.5:
        if hi > 100 and scale is None:
            err(f"values up to {_fmt(hi)}: a vegetation index stored as integers × 10000 needs `scale: 0.0001` under "
                f"inputs.{name} (values must be within {_fmt(vmin or -1)}..{_fmt(vmax)} after scaling).")
        else:
            err(f"values up to {_fmt(hi)} are outside {_fmt(vmin or -1)}..{_fmt(vmax)} after scaling; check "
                f"`scale`/`offset` under inputs.{name}, or declare the values' range with `valid_range` (e.g. "
                "[0, 24] for a time-integrated NDVI).")
        return out
    if vmin is not None and lo < vmin - 1e-6:
        err(f"negative values (down to {_fmt(lo)}) in {decl.units or 'a quantity that cannot be negative'}; "
            f"declare the nodata value (`nodata:`) or correct the file.")
    elif vmax is not None and hi > vmax + 1e-6:
        err(f"values up to {_fmt(hi)} are above {_fmt(vmax)}; check `scale`/`offset` under inputs.{name}.")
    return out


def _labels(da: xr.DataArray) -> list[str]:
    if "time" not in da.dims:
        return [""]
    return [str(v)[:4] if da.attrs.get("time_kind") == "annual" else str(v)[:7] for v in da["time"].values]


def check_zones(zones: Any, *, id_field: str, path: str) -> list[Finding]:
    """Admin units: duplicate ids are errors (they would merge units), overlaps are warnings (double counting)."""
    out: list[Finding] = []
    ids = zones[id_field]
    dup = sorted({str(v) for v in ids[ids.duplicated()]})
    if dup:
        out.append(Finding("error", "zones", f"{path} (zones.id_field '{id_field}'): duplicate unit id(s) "
                                             f"{', '.join(dup[:5])}; give every unit its own id."))
    geoms = zones.geometry
    if len(geoms) > 1:
        import shapely

        total = float(shapely.area(geoms.values).sum())
        union = float(shapely.union_all(geoms.values).area)
        if total > 0 and (total - union) / total > 1e-3:
            out.append(Finding("warning", "zones", f"{path}: admin units overlap ({100 * (total - union) / total:.2f} % "
                                                   "of their area is in two units or more); fix the boundaries."))
    return out
