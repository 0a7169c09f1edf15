"""Country-scale benchmark of the whole SO1 run (issue: streamed runs with bounded memory, Dask, resumable).

Generates the synthetic country (``openldn.datasets.make_synthetic_country``), then runs the SO1 chain (land cover,
productivity, soil carbon, integration: baseline and two reporting periods, tables and COGs) in a child process per
configuration, and prints wall time, the time of each stage and the peak RSS of the whole process tree:

* threaded scheduler (the default engine);
* local Dask cluster with 1 and 2 worker processes, and the speed-up from 1 to 2;
* memory flatness: peak RSS at a quarter of the size against the full size.

Usage::

    python benchmarks/bench_country.py --size 10000 --years 24 --work /tmp/openldn-bench

Figures are printed, not asserted: this is a benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

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
        time.sleep(0.2)
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


def _run(run_file: Path, out: Path, workers: str, chunk: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(run_file), str(out), workers, chunk, json.dumps(SO1)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({workers}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


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
    print(f"{label:<28} wall {r['wall']:7.1f} s  peak RSS {r['peak_rss'] / 2**30:5.2f} GiB  "
          f"{npix / r['wall'] / 1e6:6.2f} Mpix/s  [{stages}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--years", type=int, default=24)
    ap.add_argument("--work", type=Path, default=Path("/tmp/openldn-bench"))
    ap.add_argument("--chunk", default="auto")
    ap.add_argument("--skip-workers", action="store_true", help="only the threaded run and the flatness check")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    run_file = _country(args.work, args.size, args.years)
    npix = args.size * args.size
    print(f"SO1 run on {args.size} x {args.size} pixels x {args.years} years (chunk {args.chunk}); 2 cores")
    threads = _run(run_file, args.work / "out_threads", "threads", args.chunk)
    _report("threaded scheduler", threads, npix)
    if not args.skip_workers:
        one = _run(run_file, args.work / "out_w1", "1", args.chunk)
        _report("local cluster, 1 worker", one, npix)
        two = _run(run_file, args.work / "out_w2", "2", args.chunk)
        _report("local cluster, 2 workers", two, npix)
        print(f"speed-up 1 -> 2 workers: {one['wall'] / two['wall']:.2f}x")
    small = max(args.size // 4, 256)
    small_file = _country(args.work, small, args.years)
    s = _run(small_file, args.work / "out_small", "threads", args.chunk)
    _report(f"threaded, {small} x {small}", s, small * small)
    print(f"memory flatness: peak RSS {small}^2 {s['peak_rss'] / 2**30:.2f} GiB vs {args.size}^2 "
          f"{threads['peak_rss'] / 2**30:.2f} GiB (ratio {threads['peak_rss'] / s['peak_rss']:.2f}) "
          f"for {npix / (small * small):.0f}x the pixels")


if __name__ == "__main__":
    main()
