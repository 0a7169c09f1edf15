"""Benchmark of the Mann-Kendall + Theil-Sen kernel of openldn.productivity (printed figures, not a timed test).

Stack: (20, 1000, 1000) float32 with 5 % nodata (NaN) by default. Timed side by side in one run, on the same array:

* the openldn kernel (:func:`openldn.productivity._kernels.mk_block`: S, ties, var(S), z, p, Theil-Sen and OLS
  slopes) over all rows, split in bands across ``--threads`` threads;
* the yardstick ``mk_sen_tiled`` of ``../shared/bench/mk_reference.py`` (S, var(S), z, p, Theil-Sen slope), when
  that folder is present (it is imported only here, never by the package);
* the autocorrelation-robust variants (Hamed-Rao, pre-whitening; per-pixel kernels) on a subset of rows, against
  ``pymannkendall`` run pixel by pixel (``--pmk-pixels`` pixels, scaled) when it is installed;
* the percentile kernels: productivity state (percentile-class shift of the recent mean over 13 + 3 years, deciles)
  against numpy over whole arrays (sort along time, interpolated quantiles), and the performance per-unit exact
  90th percentile (40 units) against ``np.percentile`` unit by unit;
* a numpy baseline vectorised over the year pairs (S, tie counts, float32 pairwise slopes for a block of pixels at
  once) whose Theil-Sen slope is the median of the *sorted* pairwise slopes (``np.sort`` along the pairs, then the
  middle order statistics of the valid ones), timed on a subset of rows and scaled. ``np.nanmedian`` is not used:
  it is several times slower than sorting and would flatter the kernel.

Each engine is timed ``--repeat`` times, interleaved, and the best wall time is kept (the machine is shared: the
load average is printed beside the figures). The three results are compared on the subset.

Run: ``python benchmarks/bench_productivity.py [--size 1000] [--years 20] [--threads N] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy.special import erfc

from openldn.productivity import mann_kendall
from openldn.productivity._kernels import (
    MK_OUTPUTS,
    mk_block,
    mk_variant_block,
    percentile_shift_block,
    run_rows,
)
from openldn.productivity.performance import unit_percentiles

YARDSTICK = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench"


def numpy_baseline(x: np.ndarray, t: np.ndarray, min_years: int = 4, block: int = 4096) -> np.ndarray:
    """S, var(S), z, p and Theil-Sen slope with numpy vectorised over the year pairs, sorted median.

    Pixel-major blocks ``(pixels, years)``: the differences of all year pairs at once (float32, as the input; the
    sign of a float32 difference is exact), S from their signs, the tie count of each year by a matrix product
    with the pair-year incidence matrix, the pairwise slopes sorted along the pairs (missing pairs are NaN and sort
    last) and the median from the middle order statistics of the valid ones.
    """
    nt = x.shape[0]
    flat = x.reshape(nt, -1)
    npix = flat.shape[1]
    out = np.full((5, npix), np.nan)
    pi, pj = np.triu_indices(nt, 1)
    idt = (1.0 / (t[pj] - t[pi])).astype(np.float32)
    inc = np.zeros((pi.size, nt), np.float32)
    inc[np.arange(pi.size), pi] = 1.0
    inc[np.arange(pi.size), pj] = 1.0
    for b0 in range(0, npix, block):
        v = np.ascontiguousarray(flat[:, b0 : b0 + block].T)
        n = (v == v).sum(axis=1).astype(np.float64)
        d = v[:, pj] - v[:, pi]
        s = (d > 0).sum(axis=1).astype(np.float64) - (d < 0).sum(axis=1)
        cnt = (d == 0).astype(np.float32) @ inc  # tied pairs each year belongs to = t - 1 for a tie group of t
        var = (n * (n - 1) * (2 * n + 5) - (cnt * (2 * cnt + 7)).sum(axis=1)) / 18
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
        slopes = d * idt
        slopes.sort(axis=1)
        m = (n * (n - 1) / 2).astype(np.int64)
        rows = np.arange(v.shape[0])
        lo = np.clip((m - 1) // 2, 0, pi.size - 1)
        hi = np.clip(m // 2, 0, pi.size - 1)
        slope = 0.5 * (slopes[rows, lo].astype(np.float64) + slopes[rows, hi])
        p = erfc(np.abs(z) / math.sqrt(2))
        res = np.stack([s, var, z, p, slope])
        res[:, n < min_years] = np.nan
        out[:, b0 : b0 + block] = res
    return out.reshape((5, *x.shape[1:]))


def numpy_percentile_shift(hist: np.ndarray, recent: np.ndarray, n_classes: int = 10, extension: float = 0.05) -> np.ndarray:
    """Percentile-class shift with numpy over whole arrays: sorted historical series (NaN last), extended by
    ``extension`` of the range at both ends, quantiles by linear interpolation, classes of the two means."""
    h = np.sort(hist, axis=0).astype(np.float64)
    n = np.sum(~np.isnan(h), axis=0)
    ok = n > 0
    nn = np.maximum(n, 1)
    lo = h[0]
    hi = np.take_along_axis(h, (nn - 1)[None], axis=0)[0]
    ext = extension * (hi - lo)
    a = np.concatenate([(lo - ext)[None], h, np.full_like(h[:1], np.nan)], axis=0)
    np.put_along_axis(a, nn[None] + 1, (hi + ext)[None], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        hv = hist.astype(np.float64)
        rv = recent.astype(np.float64)
        bl = np.nansum(hv, axis=0) / np.sum(~np.isnan(hv), axis=0)
        tg = np.nansum(rv, axis=0) / np.sum(~np.isnan(rv), axis=0)
    cb = np.ones_like(bl)
    ct = np.ones_like(bl)
    m = nn + 2
    for k in range(n_classes - 1):
        pos = (k + 1.0) / n_classes * (m - 1)
        i0 = np.floor(pos).astype(np.int64)
        i1 = np.minimum(i0 + 1, m - 1)
        a0 = np.take_along_axis(a, i0[None], axis=0)[0]
        a1 = np.take_along_axis(a, i1[None], axis=0)[0]
        qk = a0 + (a1 - a0) * (pos - i0)
        cb += bl > qk
        ct += tg > qk
    out = np.stack([bl, tg, ct - cb])
    out[:, ~ok | np.isnan(tg)] = np.nan
    return out


def numpy_unit_percentiles(values: np.ndarray, units: np.ndarray, q: float) -> np.ndarray:
    """Per-unit percentile with numpy: one boolean selection and ``np.percentile`` per unit code."""
    v = values.ravel()
    u = units.ravel()
    ok = np.isfinite(v) & (u >= 0)
    return np.array([np.percentile(v[ok & (u == code)], q) for code in np.unique(u[ok])])


def pymannkendall_pixels(x: np.ndarray, method: int, npix: int) -> float:
    """Seconds per pixel of pymannkendall (Hamed-Rao or pre-whitening test) over the first ``npix`` pixels."""
    import warnings

    import pymannkendall as pmk

    warnings.filterwarnings("ignore", category=RuntimeWarning)

    test = pmk.hamed_rao_modification_test if method == 1 else pmk.pre_whitening_modification_test
    flat = x.reshape(x.shape[0], -1)[:, :npix].astype(np.float64)
    t0 = time.perf_counter()
    for c in range(flat.shape[1]):
        v = flat[:, c]
        test(v[~np.isnan(v)])
    return (time.perf_counter() - t0) / flat.shape[1]


def _load_yardstick() -> Any:
    """The yardstick module of ../shared/bench, or None when absent."""
    if not (YARDSTICK / "mk_reference.py").is_file():
        return None
    sys.path.insert(0, str(YARDSTICK))
    try:
        import mk_reference  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    return mk_reference


def _cpu() -> float:
    """CPU seconds of this process (all threads): less sensitive than wall time to other jobs on the cores."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-rows", type=int, default=100, help="rows timed for the numpy baseline")
    ap.add_argument("--pmk-pixels", type=int, default=300, help="pixels timed for the pymannkendall baseline")
    ap.add_argument("--api", action="store_true", help="also time the public mann_kendall on a DataArray")
    args = ap.parse_args()
    rng = np.random.default_rng(42)
    nt, ny, nx = args.years, args.size, args.size
    t = np.arange(2000, 2000 + nt, dtype=np.float64)
    x = (rng.normal(0.5, 0.1, size=(nt, ny, nx)) + 0.002 * (t - t[0])[:, None, None]).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    npix = ny * nx
    print(f"stack {x.shape} float32, {np.isnan(x).mean():.1%} nodata, {args.threads} thread(s), {_load()}")

    ref = _load_yardstick()
    out = np.zeros((len(MK_OUTPUTS), ny, nx), np.float64)
    ref_out = np.zeros((5, ny, nx), np.float64)
    # warm-up (numba compilation)
    small = x[:, :2, :64].copy()
    mk_block(small, t, 4, 0, 2, np.empty((len(MK_OUTPUTS), 2, 64)))
    if ref is not None:
        import numba

        numba.set_num_threads(args.threads)
        ref.mk_sen_tiled(small, np.empty((5, 2, 64)))

    best = {"openldn": math.inf, "yardstick": math.inf}
    cpu = {"openldn": math.inf, "yardstick": math.inf}
    for _ in range(args.repeat):
        c0, t0 = _cpu(), time.perf_counter()
        run_rows(mk_block, ny, x, t, 4, out=out, threads=args.threads)
        best["openldn"] = min(best["openldn"], time.perf_counter() - t0)
        cpu["openldn"] = min(cpu["openldn"], _cpu() - c0)
        if ref is not None:
            c0, t0 = _cpu(), time.perf_counter()
            ref.mk_sen_tiled(x, ref_out)
            best["yardstick"] = min(best["yardstick"], time.perf_counter() - t0)
            cpu["yardstick"] = min(cpu["yardstick"], _cpu() - c0)
    k_mpix = npix / best["openldn"] / 1e6
    print(f"openldn kernel (S, ties, var, z, p, Theil-Sen, OLS): best {best['openldn']:.2f} s = {k_mpix:.2f} Mpix/s "
          f"wall; {npix / cpu['openldn'] / 1e6:.2f} Mpix per CPU-second")
    if ref is not None:
        r_mpix = npix / best["yardstick"] / 1e6
        print(f"yardstick mk_reference.mk_sen_tiled (S, var, z, p, Theil-Sen): best {best['yardstick']:.2f} s = "
              f"{r_mpix:.2f} Mpix/s wall; {npix / cpu['yardstick'] / 1e6:.2f} Mpix per CPU-second")
    else:
        r_mpix = math.nan
        print(f"yardstick: {YARDSTICK / 'mk_reference.py'} absent, skipped")

    rows = min(args.baseline_rows, ny)
    xs = np.ascontiguousarray(x[:, :rows])
    try:
        import pymannkendall  # noqa: F401

        have_pmk = True
    except ImportError:
        have_pmk = False
    for method, label in ((1, "Hamed-Rao"), (2, "pre-whitening")):
        vout = np.empty((len(MK_OUTPUTS), rows, nx))
        mk_variant_block(small, t, 4, method, 1.96, 0, 2, np.empty((len(MK_OUTPUTS), 2, 64)))
        dt = math.inf
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            run_rows(mk_variant_block, rows, xs, t, 4, method, 1.96, out=vout, threads=args.threads)
            dt = min(dt, time.perf_counter() - t0)
        v_mpix = rows * nx / dt / 1e6
        line = f"openldn robust variant {label} (best of {args.repeat} on {rows} rows): {v_mpix:.3f} Mpix/s"
        if have_pmk:
            per_pix = pymannkendall_pixels(xs, method, args.pmk_pixels)
            b = 1.0 / per_pix / 1e6
            line += f"; pymannkendall per pixel ({args.pmk_pixels} pixels): {b:.5f} Mpix/s; RATIO {v_mpix / b:.0f}x"
        else:
            line += "; pymannkendall absent, baseline skipped"
        print(line + f"   ({_load()})")

    # percentile kernels: productivity state (per-pixel percentile classes) and performance (per-unit percentile)
    hist = x[:13]
    rec = x[13:16] if nt >= 16 else x[-3:]
    sout = np.empty((3, ny, nx))
    percentile_shift_block(hist[:, :2].copy(), rec[:, :2].copy(), 10, 0.05, 1, 1, 0, 2, np.empty((3, 2, nx)))
    best_s = math.inf
    best_sb = math.inf
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        run_rows(percentile_shift_block, ny, hist, rec, 10, 0.05, 1, 1, out=sout, threads=args.threads)
        best_s = min(best_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        sbase = numpy_percentile_shift(hist[:, :rows], rec[:, :rows])
        best_sb = min(best_sb, (time.perf_counter() - t0) * ny / rows)
    s_mpix = npix / best_s / 1e6
    sb_mpix = npix / best_sb / 1e6
    agree = np.array_equal(sbase[2], sout[2, :rows], equal_nan=True)
    print(f"openldn state percentile-shift kernel (13 + 3 years, deciles): {s_mpix:.2f} Mpix/s; numpy sort + "
          f"interpolation over whole arrays: {sb_mpix:.2f} Mpix/s; RATIO {s_mpix / sb_mpix:.1f}x; classes equal: "
          f"{agree}   ({_load()})")
    mean = np.nanmean(x, axis=0).astype(np.float64)
    units = (rng.integers(0, 40, size=(ny, nx))).astype(np.int64)
    units[rng.random(units.shape) < 0.05] = -1
    unit_percentiles(xr.DataArray(mean[:2]), xr.DataArray(units[:2]), q=90.0)  # warm-up (numba)
    best_p = math.inf
    best_pb = math.inf
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        _codes, pct, _counts = unit_percentiles(xr.DataArray(mean), xr.DataArray(units), q=90.0)
        best_p = min(best_p, time.perf_counter() - t0)
        t0 = time.perf_counter()
        pbase = numpy_unit_percentiles(mean, units, 90.0)
        best_pb = min(best_pb, time.perf_counter() - t0)
    p_mpix = npix / best_p / 1e6
    pb_mpix = npix / best_pb / 1e6
    print(f"openldn performance unit percentiles (40 units, exact p90): {p_mpix:.2f} Mpix/s; numpy percentile per "
          f"unit: {pb_mpix:.2f} Mpix/s; RATIO {p_mpix / pb_mpix:.1f}x; equal: {np.array_equal(pct, pbase)}   "
          f"({_load()})")

    if args.api:
        import pandas as pd

        da = xr.DataArray(
            x, dims=("time", "y", "x"), coords={"time": pd.to_datetime([f"{int(y)}-01-01" for y in t])}
        )
        t0 = time.perf_counter()
        mann_kendall(da, min_years=4)
        dt_api = time.perf_counter() - t0
        print(f"openldn.productivity.mann_kendall (DataArray): {dt_api:.2f} s, {npix / dt_api / 1e6:.2f} Mpix/s")

    t0 = time.perf_counter()
    base = numpy_baseline(x[:, :rows], t)
    dt_base = (time.perf_counter() - t0) * ny / rows
    b_mpix = npix / dt_base / 1e6
    print(f"numpy over year pairs, sorted median (timed on {rows} rows, scaled): {dt_base:.1f} s = "
          f"{b_mpix:.3f} Mpix/s (one thread: numpy does not parallelise these calls)")
    diff = np.nanmax(np.abs(base - out[:5, :rows]), axis=(1, 2))
    print("max |openldn - numpy| (s, var_s, z, p, slope; numpy's slopes are float32):", " ".join(f"{d:.2e}" for d in diff))
    if ref is not None:
        diff = np.nanmax(np.abs(ref_out - out[:5]), axis=(1, 2))
        print("max |openldn - yardstick| (s, var_s, z, p, slope; the yardstick's slopes are float32):",
              " ".join(f"{d:.2e}" for d in diff))
    cpu_ratio = cpu["yardstick"] / cpu["openldn"] if ref is not None else math.nan
    print(f"RATIO openldn / yardstick: {k_mpix / r_mpix:.2f}x wall, {cpu_ratio:.2f}x CPU time; openldn / numpy "
          f"sorted median: {k_mpix / b_mpix:.1f}x wall   ({_load()})")


if __name__ == "__main__":
    main()
