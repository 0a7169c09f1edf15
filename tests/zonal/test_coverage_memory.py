"""Coverage rasters (AOI mask, zone fraction, zone labels) do not grow with the grid: peak RSS at two sizes.

Each size runs in a fresh Python process (peak RSS is per process). After the coverage is built, computing the
derived rasters to a scalar (sum / max) must not raise the peak RSS by more than a few strips, whatever the grid
size: an eager raster of the whole grid would add ``ny * nx * itemsize`` bytes (16 MB for the float32 fraction of a
2,000 x 2,000 grid).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = r"""
import json, resource, sys
import numpy as np
import dask, dask.array
import geopandas as gpd, shapely
from affine import Affine
from odc.geo.geobox import GeoBox
import openldn.zonal.coverage as covmod

covmod._STRIP_CELLS = 1 << 16  # small strips, so that the grid spans many of them
n = int(sys.argv[1])
gb = GeoBox((n, n), Affine(1.0, 0, 0.0, 0, -1.0, float(n)), "EPSG:3857")
aoi = gpd.GeoDataFrame(geometry=[shapely.Point(n / 2, n / 2).buffer(n * 0.45, 64)], crs="EPSG:3857")
zones = gpd.GeoDataFrame({"id": ["A", "B"], "name": ["A", "B"]},
                         geometry=[shapely.box(0, 0, n * 0.4, n), shapely.box(n * 0.4, 0, n, n)], crs="EPSG:3857")
cov = covmod.build_coverage(gb, aoi=aoi, zones=zones)
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
with dask.config.set(scheduler="synchronous"):
    cov.aoi_mask().sum().compute()  # warm-up (imports, first graph)
    before = rss()
    n_aoi = int(cov.aoi_mask().sum().compute())
    frac = float(cov.fraction("A").sum().compute())
    lab = int(cov.zone_labels().max().compute())
    after = rss()
print(json.dumps({"growth": after - before, "n_aoi": n_aoi, "frac": frac, "lab": lab,
                  "codes": cov.codes.nbytes}))
"""


def _run(n: int) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_coverage_rasters__peak_rss_flat_across_grid_sizes() -> None:
    small = _run(1000)
    large = _run(2000)
    # the rasters are right: the AOI disc covers about pi * 0.45^2 of the grid, zone A 40 % of the disc's width
    for res, n in ((small, 1000), (large, 2000)):
        assert res["n_aoi"] == pytest.approx(3.14159 * (0.45 * n) ** 2, rel=0.01)
        assert 0.0 < res["frac"] < res["n_aoi"]
        assert res["lab"] == 2
    mb = 2**20
    # whole-grid rasters would add 16 MB (float32) / 4 MB (bool) / 16 MB (int32) at 2,000 x 2,000
    assert large["growth"] < 6 * mb, large
    assert small["growth"] < 6 * mb, small
    assert large["growth"] - small["growth"] < 3 * mb, (small, large)
