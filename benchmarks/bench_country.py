"""Country-scale benchmark of the whole SO1 run: engines, memory flatness and overhead over the trend kernel.

Generates synthetic countries (``openldn.datasets.make_synthetic_country``), then runs the SO1 chain (land cover,
land area, productivity, soil carbon, integration: baseline and two reporting periods, tables and COGs) in a child
process per configuration and prints, in one run:

* wall time, time of each stage and peak RSS of the whole process tree, per engine: the threaded scheduler (the
  default engine) and a local Dask cluster with 1 and 2 worker processes, with the speed-up from 1 to 2 workers;
* memory flatness: peak RSS of the threaded run at three sizes (``--size`` / 4, / 2 and ``--size`` by default,
  or ``--sizes``; ``--large`` adds 10,000 x 10,000), with the ratio of peak RSS against the ratio of pixels;
* end-to-end throughput (Mpix/s of the grid) beside the trend kernel's own throughput on a stack of the same
  number of years (``openldn.productivity.mann_kendall`` on an in-memory stack, every CPU; as the run's default
  trajectory uses it, without the Theil-Sen slope, and with it), and their ratio (the overhead factor: how many
  times slower the whole run is than one trend computation over the grid).

The machine is shared: the load average is printed beside every figure. Defaults run in a few minutes on 2 cores;
the issue's sizes are options::

    python benchmarks/bench_country.py                       # 500^2 x 24 years; flatness 128^2, 256^2, 500^2
    python benchmarks/bench_country.py --size 2500 --sizes 625,1250,2500
    python benchmarks/bench_country.py --size 2500 --sizes 625,1250,2500 --large   # + 10,000^2 (threaded)
    python benchmarks/bench_country.py --size 10000 --skip-workers

Figures are printed, not asserted: this is a benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SO1 = ["land_cover", "land_area", "productivity", "soil_carbon", "integration"]

CHILD = r"""
import json, sys, time, threading, os
import psutil
from openldn.pipeline import run_assessment

peak = [0]
stop = threading.Event()
def sample():
    me = psutil.Process()
    while not stop.is_set():
        try:
            rss = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
        except psutil.Error:
            rss = 0
        peak[0] = max(peak[0], rss)
        time.sleep(0.1)
t = threading.Thread(target=sample, daemon=True); t.start()
run_file, out, workers, chunk = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
kw = {}
if workers != "threads":
    kw["workers"] = int(workers)
if chunk != "auto":
    kw["chunk_size"] = int(chunk)
t0 = time.perf_counter()
res = run_assessment(run_file, out, stages=json.loads(sys.argv[5]), force=True, **kw)
wall = time.perf_counter() - t0
stop.set(); t.join()
print(json.dumps({"wall": wall, "timings": res.timings, "peak_rss": peak[0]}))
"""


def _load() -> str:
    return "load " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def _run(run_file: Path, out: Path, workers: str, chunk: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(run_file), str(out), workers, chunk, json.dumps(SO1)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({workers}):\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["load"] = _load()
    return res


def _country(work: Path, size: int, years: int) -> Path:
    from openldn.datasets import make_synthetic_country

    folder = work / f"country_{size}_{years}"
    run_file = folder / "assessment.yaml"
    if not run_file.is_file():
        t0 = time.perf_counter()
        make_synthetic_country(folder, width=size, height=size, years=range(2000, 2000 + years))
        print(f"generated {size} x {size} x {years} years in {time.perf_counter() - t0:.1f} s -> {folder}")
    return run_file


def _report(label: str, r: dict, npix: int) -> None:
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in r["timings"].items() if k != "total")
    print(f"{label:<30} wall {r['wall']:7.1f} s  peak RSS {r['peak_rss'] / 2**30:5.2f} GiB  "
          f"{npix / r['wall'] / 1e6:6.3f} Mpix/s  ({r['load']})  [{stages}]")


def _kernel_mpix(years: int, size: int, *, theil_sen: bool = True) -> float:
    """Throughput of the trend computation alone (S, ties, z, p, OLS, and the Theil-Sen slope unless ``theil_sen``
    is False) on a (years, size, size) stack.

    Through the public ``mann_kendall`` on an in-memory (numpy-backed) stack, which runs the kernel on every CPU.
    The run's default trajectory (direction from the OLS slope) uses the kernel without the Theil-Sen slope.
    """
    import pandas as pd
    import xarray as xr

    from openldn.productivity import mann_kendall

    rng = np.random.default_rng(0)
    t = np.arange(2000, 2000 + years, dtype=np.float64)
    x = (rng.normal(0.5, 0.1, (years, size, size)) + 0.002 * (t - t[0])[:, None, None]).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    da = xr.DataArray(x, dims=("time", "y", "x"),
                      coords={"time": pd.to_datetime([f"{int(y)}-01-01" for y in t])})
    mann_kendall(da.isel(y=slice(0, 2)), theil_sen=theil_sen)  # compile / load the cache
    best = np.inf
    for _ in range(2):
        t0 = time.perf_counter()
        mann_kendall(da, theil_sen=theil_sen)
        best = min(best, time.perf_counter() - t0)
    return size * size / best / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=500, help="grid side of the engine comparison")
    ap.add_argument("--sizes", "--flat-sizes", dest="sizes", default=None,
                    help="three grid sides for the memory flatness, e.g. 625,1250,2500")
    ap.add_argument("--large", action="store_true",
                    help="add a 10,000 x 10,000 threaded run to the flatness (generates a ~10 GB country once)")
    ap.add_argument("--years", type=int, default=24)
    ap.add_argument("--work", type=Path, default=Path("/tmp/openldn-bench"))
    ap.add_argument("--chunk", default="auto")
    ap.add_argument("--skip-workers", action="store_true", help="no local cluster runs (threaded and flatness only)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    flat = ([int(v) for v in args.sizes.split(",")] if args.sizes
            else [max(args.size // 4, 128), max(args.size // 2, 256), args.size])
    if args.large and 10000 not in flat:
        flat.append(10000)
    cpus = os.cpu_count() or 1

    run_file = _country(args.work, args.size, args.years)
    npix = args.size * args.size
    from openldn.pipeline.engine import auto_chunk_size

    chunk = args.chunk if args.chunk != "auto" else f"auto, about {auto_chunk_size(args.years)}"
    print(f"SO1 run on {args.size} x {args.size} pixels x {args.years} years (chunk {chunk}); {cpus} CPUs; "
          f"{_load()}")
    threads = _run(run_file, args.work / "out_threads", "threads", args.chunk)
    _report("threaded scheduler", threads, npix)
    if not args.skip_workers:
        one = _run(run_file, args.work / "out_w1", "1", args.chunk)
        _report("local cluster, 1 worker", one, npix)
        two = _run(run_file, args.work / "out_w2", "2", args.chunk)
        _report("local cluster, 2 workers", two, npix)
        print(f"speed-up 1 -> 2 workers: {one['wall'] / two['wall']:.2f}x; 2 workers vs threaded: "
              f"{two['wall'] / threads['wall']:.2f}x the threaded wall time")

    peaks = []
    for n in flat:
        r = threads if n == args.size else _run(_country(args.work, n, args.years), args.work / f"out_flat_{n}",
                                                  "threads", args.chunk)
        if n != args.size:
            _report(f"threaded, {n} x {n}", r, n * n)
        peaks.append((n, r["peak_rss"]))
    n0, p0 = peaks[0]
    print("memory flatness (threaded): " + "; ".join(
        f"{n}^2 {p / 2**30:.2f} GiB (x{p / p0:.2f} RSS for x{(n / n0) ** 2:.0f} pixels)" for n, p in peaks))

    side = min(args.size, 1000)
    k_sen = _kernel_mpix(args.years, side)
    k = _kernel_mpix(args.years, side, theil_sen=False)
    e2e = npix / threads["wall"] / 1e6
    print(f"trend kernel alone ({args.years}, {side}, {side}), {cpus} threads: {k:.2f} Mpix/s as the run uses it "
          f"(test and OLS slope), {k_sen:.2f} Mpix/s with the Theil-Sen slope; SO1 end to end (threaded): "
          f"{e2e:.3f} Mpix/s; overhead factor {k / e2e:.1f}x ({k_sen / e2e:.1f}x over the Theil-Sen kernel)  "
          f"({_load()})")


if __name__ == "__main__":
    main()
