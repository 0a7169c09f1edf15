"""End-to-end runs of the pipeline on the small demo: outputs, one land area, resume, engines, chunking."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from openldn.pipeline import run_assessment

SO1 = ["land_cover", "land_area", "productivity", "soil_carbon", "integration"]


def _digest(out: Path) -> dict[str, str]:
    """sha256 of every map and table of a run (the run JSON/HTML carry timings and are left out)."""
    files = sorted([*out.glob("maps/*.tif"), *out.glob("tables/*.csv")])
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def so1_run(demo_run_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("so1_threads")
    result = run_assessment(demo_run_file, out, stages=SO1)
    return out, result


def test_run__writes_maps_tables_and_manifest(so1_run: tuple[Path, object]) -> None:
    out, result = so1_run
    manifest = json.loads((out / "outputs.json").read_text())
    assert manifest and all((out / rec["path"]).is_file() for rec in manifest)
    assert {"lc_area", "lc_degradation", "land_area", "sdg_degradation"} <= set(result.tables)  # type: ignore[attr-defined]
    for key in result.tables:  # type: ignore[attr-defined]
        assert (out / "tables" / f"{key}.csv").is_file()


def test_run__every_area_table_shares_the_aoi_area(so1_run: tuple[Path, object], demo_run_file: Path) -> None:
    """Class areas (nodata included) of every table and period sum to the same AOI area, computed independently."""
    import geopandas as gpd
    import shapely

    _, result = so1_run
    aoi = gpd.read_file(demo_run_file.parent / "aoi.gpkg").to_crs(4326)
    geom = shapely.segmentize(aoi.geometry.union_all(), 0.0005)
    laea = gpd.GeoSeries([geom], crs=4326).to_crs("+proj=laea +lat_0=-1.15 +lon_0=37.65 +datum=WGS84")
    expected_km2 = float(laea.area.iloc[0]) / 1e6
    for key, df in result.tables.items():  # type: ignore[attr-defined]
        if "share_of_area" not in df.columns or "zone_id" not in df.columns:  # class tables (mean tables carry area too)
            continue
        allz = df[df["zone_id"] == "ALL"]
        group_cols = [c for c in ("variable", "period") if c in allz.columns]
        for _, g in allz.groupby(group_cols):
            assert g["area_km2"].sum() == pytest.approx(expected_km2, rel=1e-6), key


def test_run__finished_run_is_a_noop_unless_forced(so1_run: tuple[Path, object], demo_run_file: Path) -> None:
    out, _ = so1_run
    before = _digest(out)
    again = run_assessment(demo_run_file, out, stages=SO1)
    assert again.noop
    assert _digest(out) == before


@pytest.mark.slow
def test_run__identical_on_two_worker_cluster_and_odd_chunks(so1_run: tuple[Path, object], demo_run_file: Path,
                                                            tmp_path: Path) -> None:
    out, _ = so1_run
    reference = _digest(out)
    cluster = run_assessment(demo_run_file, tmp_path / "cluster", stages=SO1, workers=2)
    assert not cluster.noop
    assert _digest(tmp_path / "cluster") == reference
    run_assessment(demo_run_file, tmp_path / "odd", stages=SO1, chunk_size=37)
    assert _digest(tmp_path / "odd") == reference


@pytest.mark.slow
def test_run__killed_run_resumes_to_identical_files(so1_run: tuple[Path, object], demo_run_file: Path,
                                                     tmp_path: Path) -> None:
    out, _ = so1_run
    reference = _digest(out)
    target = tmp_path / "killed"
    code = (
        "import sys; from openldn.pipeline import run_assessment; "
        f"run_assessment(sys.argv[1], sys.argv[2], stages={SO1!r})"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(demo_run_file), str(target)])
    state = target / ".openldn" / "state.json"
    deadline = time.time() + 300
    while time.time() < deadline:
        if state.is_file():
            try:
                done = [k for k, v in json.loads(state.read_text())["stages"].items() if v.get("done")]
            except (json.JSONDecodeError, KeyError):
                done = []
            if len(done) >= 2:
                break
        if proc.poll() is not None:
            pytest.fail("the run finished before it could be killed")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # no partial final file is left: every map present is a complete, readable COG
    import rasterio

    for p in target.glob("maps/*.tif"):
        with rasterio.open(p) as ds:
            ds.read(1)
    assert not list(target.glob("maps/*.tmp*")) and not list(target.glob("maps/.*"))
    resumed = run_assessment(demo_run_file, target, stages=SO1)
    assert len(resumed.resumed) >= 2
    assert _digest(target) == reference


def test_run__tables_have_no_negative_or_nan_areas(so1_run: tuple[Path, object]) -> None:
    _, result = so1_run
    for key, df in result.tables.items():  # type: ignore[attr-defined]
        if "area_km2" in df.columns:
            a = pd.to_numeric(df["area_km2"])
            assert np.isfinite(a).all() and (a >= 0).all(), key


def test_prepare__input_checksums_computed_beside_the_checks(demo_run_file: Path) -> None:
    """The inputs' checksums (hashed in a thread while the data checks run) are the files' sha256."""
    from openldn.config import load_assessment
    from openldn.pipeline.run import _prepare

    prep = _prepare(load_assessment(demo_run_file), None)
    records = prep["records"]
    assert records and all(isinstance(r, dict) for r in records)
    for rec in records:
        assert rec["sha256"] == hashlib.sha256(Path(rec["path"]).read_bytes()).hexdigest(), rec["path"]
    assert {r["role"] for r in records} >= {"ndvi", "land_cover"}
