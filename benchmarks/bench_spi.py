"""Benchmark: SPI-12 on 43 years of monthly data for 100,000 pixels (openldn) vs climate-indices.

Run ``python benchmarks/bench_spi.py [--pixels N] [--subset M]``. openldn's SPI is timed on the whole array
(processed strip by strip); climate-indices' own ``indices.spi`` is timed in the same run on a subset of pixels
(its spatial, time-major path, all pixels in one call), and the values are compared on that subset.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings

import numpy as np
import pandas as pd
import xarray as xr

os.environ.setdefault("CLIMATE_INDICES_LOG_LEVEL", "ERROR")


def synthetic_precipitation(n_pixels: int, n_years: int = 43, seed: int = 0) -> xr.DataArray:
    """Monthly gamma-distributed precipitation with a seasonal cycle, a few dry months and a dry year."""
    rng = np.random.default_rng(seed)
    months = np.arange(n_years * 12) % 12
    mean = 80.0 + 60.0 * np.sin(2 * np.pi * (months - 3) / 12.0)
    shape = rng.uniform(1.0, 4.0, size=n_pixels).astype(np.float32)
    pr = rng.gamma(shape[None, :], (mean[:, None] / shape[None, :])).astype(np.float32)
    pr[rng.random(pr.shape) < 0.02] = 0.0
    width = int(np.sqrt(n_pixels))
    height = n_pixels // width
    n = width * height
    time_index = pd.date_range("1981-01-01", periods=n_years * 12, freq="MS")
    return xr.DataArray(pr[:, :n].reshape(-1, height, width), dims=("time", "y", "x"), coords={"time": time_index})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pixels", type=int, default=100_000)
    parser.add_argument("--subset", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from climate_indices import compute, indices

    from openldn.drought import spi

    logging.getLogger("climate_indices").setLevel(logging.ERROR)
    pr = synthetic_precipitation(args.pixels)
    nt, ny, nx = pr.shape
    cells = nt * ny * nx
    print(f"input: {nt} months x {ny * nx} pixels = {cells:,} cells ({pr.nbytes / 1e6:.0f} MB float32)")

    _ = spi(pr.isel(y=slice(0, 1), x=slice(0, 2)), 12).values  # JIT warm-up (cached after the first run)
    t0 = time.perf_counter()
    ours = spi(pr, 12, "1981-2010", "gamma").values
    t_ours = time.perf_counter() - t0
    rate_ours = cells / t_ours
    print(f"openldn.drought.spi     : {t_ours:8.2f} s  {rate_ours:14,.0f} cells/s  (numpy input, strips on threads)")

    # the same on a dask array with the synchronous scheduler: one core, one block (strip of rows) at a time
    import dask

    lazy = pr.chunk({"time": -1, "y": max(1, ny // 16), "x": -1})
    with dask.config.set(scheduler="synchronous"):
        t0 = time.perf_counter()
        ours_1 = spi(lazy, 12, "1981-2010", "gamma").values
        t_one = time.perf_counter() - t0
    rate_one = cells / t_one
    assert np.array_equal(np.isnan(ours_1), np.isnan(ours)) and np.nanmax(np.abs(ours_1 - ours)) == 0.0
    print(f"openldn.drought.spi     : {t_one:8.2f} s  {rate_one:14,.0f} cells/s  (dask, 1 core, 16 blocks)")

    # climate-indices on a subset, its time-major spatial path (one call for all subset pixels); to be robust to
    # other load on the machine, the subset is timed for both packages alternately, best of ``--repeat`` runs
    sub = min(args.subset, ny * nx)
    flat = pr.values.reshape(nt, -1)[:, :sub].astype(np.float64)
    sub_da = xr.DataArray(flat.reshape(nt, 1, sub).astype(np.float32), dims=("time", "y", "x"),
                          coords={"time": pr["time"]})
    t_ref, t_sub = [], []
    for _ in range(args.repeat):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            ref = indices.spi(
                flat[:, :, None], 12, indices.Distribution.gamma, 1981, 1981, 2010, compute.Periodicity.monthly,
                spatial_time_major=True,
            )[:, :, 0]
            t_ref.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        mine_sub = spi(sub_da, 12, "1981-2010", "gamma").values[:, 0, :]
        t_sub.append(time.perf_counter() - t0)
    rate_ref = nt * sub / min(t_ref)
    rate_sub = nt * sub / min(t_sub)
    print(f"climate_indices.spi     : {min(t_ref):8.2f} s  {rate_ref:14,.0f} cells/s  ({sub:,} pixels, best of "
          f"{args.repeat})")
    print(f"openldn.drought.spi     : {min(t_sub):8.2f} s  {rate_sub:14,.0f} cells/s  (same {sub:,} pixels, best of "
          f"{args.repeat})")
    # for context: the classic per-series call (one 1-D series per pixel), on 200 pixels
    n1 = min(200, sub)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        for k in range(n1):
            indices.spi(flat[:, k], 12, indices.Distribution.gamma, 1981, 1981, 2010, compute.Periodicity.monthly)
        t_1d = time.perf_counter() - t0
    print(f"climate_indices.spi 1-D : {t_1d:8.2f} s  {nt * n1 / t_1d:14,.0f} cells/s  ({n1} pixels, one call each)")
    mine = ours.reshape(nt, -1)[:, :sub]
    diff = np.nanmax(np.abs(mine - ref))
    same_nan = bool(np.array_equal(np.isnan(mine), np.isnan(ref))) and bool(np.array_equal(mine, mine_sub, equal_nan=True))
    print(f"max |openldn - climate_indices| = {diff:.2e}; same missing cells: {same_nan}")
    print(f"speed ratio openldn / climate_indices = {rate_sub / rate_ref:.1f}x (same subset, threads), "
          f"{rate_ours / rate_ref:.1f}x (full run, threads), {rate_one / rate_ref:.1f}x (full run, one core)")


if __name__ == "__main__":
    main()
