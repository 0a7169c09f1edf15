"""Benchmark of the Mann-Kendall + Theil-Sen kernel of openldn.productivity (printed figures, not a timed test).

Stack: (20, 2000, 2000) float32 with 5 % nodata (NaN). Baseline: a numpy implementation vectorised over the year
pairs (S, tie counts and pairwise slopes for a block of pixels at once, then ``np.nanmedian`` over the pairs),
applied block by block to bound its memory. Both are timed in the same run on the same data; the baseline is timed
on a subset of rows and scaled, and both results are compared on that subset.

Run: ``python benchmarks/bench_productivity.py [--size 2000] [--years 20] [--threads N]``.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import time

import numpy as np
from scipy.special import erfc

from openldn.productivity import mann_kendall
from openldn.productivity._kernels import MK_OUTPUTS, mk_block, run_rows


def numpy_baseline(x: np.ndarray, t: np.ndarray, min_years: int = 4, block: int = 65536) -> np.ndarray:
    """S, var(S), z, p and Theil-Sen slope with numpy vectorised over the year pairs (reference speed)."""
    nt = x.shape[0]
    flat = x.reshape(nt, -1)
    npix = flat.shape[1]
    out = np.full((5, npix), np.nan)
    pairs = [(i, j) for i in range(nt - 1) for j in range(i + 1, nt)]
    for b0 in range(0, npix, block):
        v = flat[:, b0 : b0 + block].astype(np.float64)
        ok = ~np.isnan(v)
        n = ok.sum(axis=0).astype(np.float64)
        s = np.zeros(v.shape[1])
        cnt = np.zeros(v.shape)
        slopes = np.empty((len(pairs), v.shape[1]))
        for k, (i, j) in enumerate(pairs):
            d = v[j] - v[i]
            s += np.nan_to_num(np.sign(d))
            eq = d == 0
            cnt[i] += eq
            cnt[j] += eq
            slopes[k] = d / (t[j] - t[i])
        var = (n * (n - 1) * (2 * n + 5) - (cnt * (2 * cnt + 7)).sum(axis=0)) / 18
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
            slope = np.nanmedian(slopes, axis=0)
        p = erfc(np.abs(z) / math.sqrt(2))
        res = np.stack([s, var, z, p, slope])
        res[:, n < min_years] = np.nan
        out[:, b0 : b0 + block] = res
    return out.reshape((5, *x.shape[1:]))


def _cpu() -> float:
    """CPU seconds used by this process (all threads): robust to other jobs sharing the cores."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--baseline-rows", type=int, default=200, help="rows timed for the numpy baseline")
    args = ap.parse_args()
    rng = np.random.default_rng(42)
    nt, ny, nx = args.years, args.size, args.size
    t = np.arange(2000, 2000 + nt, dtype=np.float64)
    x = (rng.normal(0.5, 0.1, size=(nt, ny, nx)) + 0.002 * (t - t[0])[:, None, None]).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    npix = ny * nx
    print(f"stack {x.shape} float32, {np.isnan(x).mean():.1%} nodata, {args.threads} thread(s)")

    # warm-up (numba compilation)
    small = x[:, :2, :64].copy()
    mk_block(small, t, 4, 0, 2, np.empty((len(MK_OUTPUTS), 2, 64)))

    out = np.empty((len(MK_OUTPUTS), ny, nx), np.float64)
    out[:] = 0.0  # touch the pages before timing
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c0 = _cpu()
    t0 = time.perf_counter()
    run_rows(mk_block, ny, x, t, 4, out=out, threads=args.threads)
    dt_kernel = time.perf_counter() - t0
    cpu_kernel = _cpu() - c0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"openldn kernel: wall {dt_kernel:.2f} s = {npix / dt_kernel / 1e6:.2f} Mpix/s; CPU {cpu_kernel:.2f} s = "
        f"{npix / cpu_kernel / 1e6:.2f} Mpix per CPU-second (x {args.threads} threads = "
        f"{args.threads * npix / cpu_kernel / 1e6:.2f} Mpix/s on idle cores); peak RSS growth "
        f"{max(rss1 - rss0, 0) / 1024:.0f} MB (kernel buffers are per strip)"
    )

    # public API on the same data (numpy-backed DataArray)
    import pandas as pd
    import xarray as xr

    da = xr.DataArray(
        x, dims=("time", "y", "x"), coords={"time": pd.to_datetime([f"{int(y)}-01-01" for y in t])}
    )
    t0 = time.perf_counter()
    mann_kendall(da, min_years=4)
    dt_api = time.perf_counter() - t0
    print(f"openldn.productivity.mann_kendall (DataArray): {dt_api:.2f} s, {npix / dt_api / 1e6:.2f} Mpix/s")

    rows = min(args.baseline_rows, ny)
    c0 = _cpu()
    t0 = time.perf_counter()
    base = numpy_baseline(x[:, :rows], t)
    dt_base = (time.perf_counter() - t0) * ny / rows
    cpu_base = (_cpu() - c0) * ny / rows
    print(
        f"numpy baseline (vectorised over year pairs, timed on {rows} rows, scaled): wall {dt_base:.1f} s = "
        f"{npix / dt_base / 1e6:.3f} Mpix/s; CPU {cpu_base:.1f} s = {npix / cpu_base / 1e6:.3f} Mpix per CPU-second"
    )
    diff = np.nanmax(np.abs(base - out[:5, :rows].astype(np.float64)), axis=(1, 2))
    print("max |kernel - baseline| (s, var_s, z, p, slope):", " ".join(f"{d:.2e}" for d in diff))
    print(
        f"RATIO kernel / numpy baseline: wall {dt_base / dt_kernel:.1f}x, CPU time {cpu_base / cpu_kernel:.1f}x"
    )


if __name__ == "__main__":
    main()
