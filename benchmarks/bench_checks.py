"""Time the input value checks (``openldn.io.checks.check_inputs``) on a synthetic country-sized input.

A (years, size, size) int16 GeoTIFF of a vegetation index stored as integers x 10 000 (nodata -32768, scale
0.0001) is written once, opened with ``openldn.io.open_raster`` as a run would, and checked over an area of
interest covering the whole grid. Prints the wall time, the input's Mpix/s and the machine's load average.

Usage: ``python benchmarks/bench_checks.py --size 2500 --years 24 [--repeat 2]``
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np


def _write(path: Path, size: int, years: int) -> None:
    import rasterio
    from rasterio.transform import from_origin

    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    profile = {"driver": "GTiff", "dtype": "int16", "count": years, "width": size, "height": size,
               "crs": "EPSG:4326", "transform": from_origin(10.0, 10.0, 0.0025, 0.0025), "nodata": -32768,
               "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate"}
    with rasterio.open(path, "w", **profile) as dst:
        for b in range(1, years + 1):
            a = rng.integers(-2000, 9000, size=(size, size), dtype=np.int16)
            a[: size // 50, :] = -32768  # a strip of nodata
            dst.write(a, b)
            dst.set_band_description(b, str(2000 + b))
        dst.scales = [0.0001] * years


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=2500)
    ap.add_argument("--years", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("/tmp/openldn-bench-checks"))
    args = ap.parse_args()

    import geopandas as gpd
    from shapely.geometry import box

    from openldn.io import open_raster
    from openldn.io.checks import check_inputs

    path = args.work / f"ndvi_{args.size}_{args.years}.tif"
    _write(path, args.size, args.years)
    da = open_raster(path, years=list(range(2001, 2001 + args.years)), scale=0.0001, name="ndvi")
    w, s, e, n = (float(v) for v in da.rio.bounds())
    aoi = gpd.GeoDataFrame(geometry=[box(w, s, e, n)], crs=4326)
    spec = SimpleNamespace(scale=0.0001, offset=None, valid_range=None, nodata=None)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        findings = check_inputs({"ndvi": da}, aoi, specs={"ndvi": spec}, source="bench")
        times.append(time.perf_counter() - t0)
    best = min(times)
    mpix = args.size * args.size * args.years / 1e6
    print(f"check_inputs {args.size}^2 x {args.years}: best {best:.2f} s of {[round(t, 2) for t in times]} "
          f"({mpix / best:.1f} Mpix/s); chunks {da.data.chunksize}; findings {len(findings)}; "
          f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    for f in findings:
        print(" ", f.level, f.message)


if __name__ == "__main__":
    main()
