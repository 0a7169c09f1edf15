"""Benchmark: zonal class-pair areas (crosstab) on two 10,000 x 10,000 int8 rasters (7 classes).

Geographic grid (per-row ellipsoidal cell areas), an AOI and four admin zones with fractional boundary cells.
Compares :func:`openldn.zonal.crosstab_area_table` with a numpy baseline timed in the same run:
``np.bincount(zone * K * K + a * K + b, weights=area)`` evaluated strip by strip (1,000 rows at a time, so the
baseline's int64 temporaries stay bounded too) over the zone label raster (cells fully inside a zone; the baseline
ignores fractional boundary cells and the "ALL" zone, so it does less work than openldn).

Run: ``python benchmarks/bench_zonal.py [--size 10000]``. The machine is shared: figures are under load.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import geopandas as gpd
import numpy as np
import shapely
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox

from openldn.core.grid import pixel_area
from openldn.io import attach_grid
from openldn.zonal import build_coverage, crosstab_area_table

K = 7


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    n = args.size
    res = 1 / 360  # 10 arc-seconds: a 27.8° x 27.8° grid
    gb = GeoBox((n, n), Affine(res, 0, 0.0, 0, -res, 50.0), "EPSG:4326")
    x1, y0 = n * res, 50.0 - n * res
    rng = np.random.default_rng(0)
    a = rng.integers(1, K + 1, (n, n), dtype=np.int8)
    b = rng.integers(1, K + 1, (n, n), dtype=np.int8)
    da = attach_grid(xr.DataArray(a, dims=("y", "x")), gb)
    db = attach_grid(xr.DataArray(b, dims=("y", "x")), gb)
    area = pixel_area(da)
    aoi = gpd.GeoDataFrame(geometry=[shapely.Point(x1 / 2, (50 + y0) / 2).buffer(n * res * 0.49, 64)], crs="EPSG:4326")
    xm, ym = x1 * 0.47, (50 + y0) * 0.5 + 0.3
    zones = gpd.GeoDataFrame(
        {"id": ["nw", "ne", "sw", "se"], "name": ["NW", "NE", "SW", "SE"]},
        geometry=[shapely.box(-1, ym, xm, 51), shapely.box(xm, ym, x1 + 1, 51),
                  shapely.box(-1, y0 - 1, xm, ym), shapely.box(xm, y0 - 1, x1 + 1, ym)],
        crs="EPSG:4326",
    )
    print(f"grid {n} x {n} = {n * n / 1e6:.0f} Mpix, {K} classes, 4 zones + ALL; CPUs: {os.cpu_count()}")
    print(f"peak RSS after inputs: {_peak_rss_mb():.0f} MB")

    t0 = time.perf_counter()
    cov = build_coverage(gb, aoi=aoi, zones=zones)
    t_cov = time.perf_counter() - t0
    n_sparse = sum(lev.cells.size for lev in cov.levels)
    print(f"build_coverage: {t_cov:.2f} s ({n * n / t_cov / 1e6:.0f} Mpix/s), {n_sparse} boundary entries")

    # warm-up (numba compilation / cache load) on a small slice
    crosstab_area_table(da, db, cov, area, variable="warmup") if n <= 2000 else None
    times = []
    table = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        table = crosstab_area_table(da, db, cov, area, variable="lc_transitions")
        times.append(time.perf_counter() - t0)
    t_ours = min(times)
    rss_ours = _peak_rss_mb()
    assert table is not None
    print(f"openldn crosstab_area_table: {t_ours:.2f} s  ({n * n / t_ours / 1e6:.0f} Mpix/s), "
          f"{len(table)} rows, peak RSS so far {rss_ours:.0f} MB")

    # Same computation from dask-backed inputs (2048 x 2048 chunks): identical table, bit for bit
    import dask.array as dsa

    def lazy(x: xr.DataArray, name: str) -> xr.DataArray:  # named: no hashing of the (broadcast) arrays
        return x.copy(deep=False, data=dsa.from_array(np.asarray(x.data), chunks=2048, name=name))

    dka, dkb = lazy(da, "bench-a"), lazy(db, "bench-b")
    # per-row areas as a lazy broadcast of one column (from_array would materialise the broadcast grid)
    col = dsa.from_array(np.ascontiguousarray(np.asarray(area.data)[:, :1]), chunks=(2048, 1), name="bench-area-col")
    dkarea = area.copy(deep=False, data=dsa.broadcast_to(col, (n, n), chunks=(2048, 2048)))
    rss0 = _peak_rss_mb()
    t0 = time.perf_counter()
    table_dask = crosstab_area_table(dka, dkb, cov, dkarea, variable="lc_transitions")
    t_dask = time.perf_counter() - t0
    assert table_dask.equals(table)
    print(f"openldn crosstab_area_table (dask inputs, 2048^2 chunks): {t_dask:.2f} s ({n * n / t_dask / 1e6:.0f} Mpix/s), "
          f"identical table; peak RSS {rss0:.0f} -> {_peak_rss_mb():.0f} MB")

    # Baseline: bincount over the zone labels (admin unit holding the whole cell, 0 = none), strip by strip
    labels = (cov.codes >> 1).astype(np.int16)
    area_np = np.asarray(area.data)
    times_b = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        acc = np.zeros(5 * K * K)
        for r0 in range(0, n, 1000):
            r1 = min(n, r0 + 1000)
            z = labels[r0:r1].astype(np.int64)
            idx = z * K * K + (a[r0:r1].astype(np.int64) - 1) * K + (b[r0:r1].astype(np.int64) - 1)
            acc += np.bincount(idx.ravel(), weights=area_np[r0:r1].ravel(), minlength=5 * K * K)
        times_b.append(time.perf_counter() - t0)
    t_base = min(times_b)
    print(f"numpy bincount baseline, 1000-row strips: {t_base:.2f} s  ({n * n / t_base / 1e6:.0f} Mpix/s), "
          f"peak RSS {_peak_rss_mb():.0f} MB")
    # The literal one-shot baseline over whole arrays (int64 temporaries of the full grid)
    t0 = time.perf_counter()
    z = labels.astype(np.int64)
    acc_full = np.bincount((z * K * K + (a.astype(np.int64) - 1) * K + (b.astype(np.int64) - 1)).ravel(),
                           weights=np.broadcast_to(area_np, (n, n)).ravel(), minlength=5 * K * K)
    t_full = time.perf_counter() - t0
    del z
    print(f"numpy bincount baseline, whole arrays:    {t_full:.2f} s  ({n * n / t_full / 1e6:.0f} Mpix/s), "
          f"peak RSS {_peak_rss_mb():.0f} MB")
    print(f"speed-up openldn / strip baseline: {t_base / t_ours:.1f}x; / whole-array baseline: {t_full / t_ours:.1f}x")
    assert np.allclose(acc_full, acc)
    # consistency: full-cell areas of zone 1 agree
    ours_full = table[table.zone_id == "nw"]["area_km2"].sum()
    base_full = acc[K * K : 2 * K * K].sum() * 1e-6
    print(f"check: zone nw {ours_full:.1f} km2 (with boundary fractions) vs baseline full cells {base_full:.1f} km2")


if __name__ == "__main__":
    main()
