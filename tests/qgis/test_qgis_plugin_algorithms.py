"""The plugin's Processing algorithms in headless PyQGIS (validate, fetch, create run file, load-results errors).

Skipped without PyQGIS. The QGIS side runs in tests/qgis/qgis_driver.py under a Python that imports ``qgis``; the
plugin is the one unzipped from the built zip and calls openldn through its setting (the test Python).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

LAYERS = ("land_cover", "ndvi", "soc", "climate_zones", "precipitation", "population_total", "population_female",
          "population_male")


def _absolute_run_file(demo_run_file: Path, target: Path, **changes: Any) -> Path:
    """The demo run file with absolute paths (and ``changes`` to its inputs' paths) written to ``target``."""
    data = yaml.safe_load(demo_run_file.read_text())
    base = demo_run_file.parent
    data["aoi"] = str(base / data["aoi"])
    data["zones"]["path"] = str(base / data["zones"]["path"])
    for name, spec in data["inputs"].items():
        spec["path"] = str(changes.get(name, base / spec["path"]))
    data["drought"]["dvi_factors"] = str(base / data["drought"]["dvi_factors"])
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openldn", "validate", str(path)], capture_output=True, text=True,
                          timeout=600)


def test_algorithms_in_pyqgis(run_driver: Any, demo_run_file: Path, tmp_path: Path, openldn_error: Any) -> None:
    base = demo_run_file.parent
    bad = _absolute_run_file(demo_run_file, tmp_path / "bad.yaml", ndvi=tmp_path / "missing_ndvi.tif")
    expected_error = openldn_error("validate", str(bad))
    created = tmp_path / "created" / "run.yaml"
    layers = [{"name": "aoi", "path": str(base / "aoi.gpkg"), "kind": "vector"},
              {"name": "zones", "path": str(base / "zones.gpkg"), "kind": "vector"}]
    layers += [{"name": n, "path": str(base / f"{n}.tif"), "kind": "raster"} for n in LAYERS]
    create = {"NAME": "Created in QGIS", "AOI": "@aoi", "ZONES": "@zones", "ZONES_ID": "id", "ZONES_NAME": "name",
              "NDVI_SCALE": 0.0001, "BASELINE": "2000-2015", "REPORTING": "2016-2019, 2016-2023", "PRESET": 0,
              "LAND_COVER_LEGEND": 0, "DVI_FACTORS": str(base / "dvi_factors.csv"), "VALIDATE": True,
              "OUTPUT": str(created)}
    create.update({n.upper(): f"@{n}" for n in LAYERS})
    out = run_driver([
        {"alg": "openldn:validate_run_file", "params": {"RUN_FILE": str(demo_run_file), "STRICT": True}},
        {"alg": "openldn:validate_run_file", "params": {"RUN_FILE": str(bad)}},
        {"alg": "openldn:fetch_data", "params": {"RUN_FILE": str(demo_run_file), "OFFLINE": True}},
        {"alg": "openldn:create_run_file", "params": create},
        {"alg": "openldn:load_results", "params": {"FOLDER": str(tmp_path)}},
    ], layers=layers)
    assert out["algorithms"] == ["openldn:create_run_file", "openldn:fetch_data", "openldn:load_results",
                                 "openldn:run_assessment", "openldn:validate_run_file"]
    assert all(out["layers_added"].values()), out["layers_added"]
    assert out["unloaded"]  # unloading the plugin removes its provider
    good, invalid, fetch, make, load = out["calls"]

    # a valid run file: openldn's summary
    assert "error" not in good, good
    assert good["results"]["VALID"] is True
    assert next(t for k, t in good["log"] if k == "info" and t.startswith("Running: ")).endswith(" --strict")
    reference = _validate(demo_run_file).stdout
    assert good["results"]["MESSAGE"] == reference.strip()

    # a bad one: openldn's one-line message, in the feedback and as the algorithm's error
    assert invalid["error"] == expected_error
    assert invalid["error_type"] == "QgsProcessingException"
    assert ["error", expected_error] in invalid["log"]
    assert "missing_ndvi.tif" in expected_error

    assert "error" not in fetch, fetch
    assert "no input uses a catalogue dataset (nothing to fetch)" in fetch["results"]["MESSAGE"]

    # Create run file: a file openldn validate accepts, naming the same files as the demo's run file
    assert "error" not in make, make
    assert make["results"]["OUTPUT"] == str(created)
    assert ": valid." in make["results"]["MESSAGE"]
    check = _validate(created)
    assert check.returncode == 0, check.stderr
    mine = yaml.safe_load(created.read_text())
    demo = yaml.safe_load(demo_run_file.read_text())
    assert mine["name"] == "Created in QGIS"
    assert (mine["preset"], mine["baseline"], mine["reporting"]) == (demo["preset"], demo["baseline"],
                                                                    demo["reporting"])
    assert set(mine["inputs"]) == set(demo["inputs"])
    for name, spec in demo["inputs"].items():
        assert (created.parent / mine["inputs"][name]["path"]).resolve() == (base / spec["path"]).resolve()
    assert mine["inputs"]["ndvi"]["scale"] == demo["inputs"]["ndvi"]["scale"]
    assert mine["inputs"]["land_cover"]["legend"] == demo["inputs"]["land_cover"]["legend"]
    assert mine["zones"]["id_field"] == "id" and mine["zones"]["name_field"] == "name"
    assert (created.parent / mine["aoi"]).resolve() == (base / demo["aoi"]).resolve()
    # the same analysis grid and periods as the demo's own run file
    # (the summary's lines after the grid: input years and period windows, listed in each run file's input order)
    tail = reference.split("; grid ", 1)[1]
    assert sorted(check.stdout.split("; grid ", 1)[1].splitlines()) == sorted(tail.splitlines())

    # Load results on a folder without a run: a one-line message
    assert "no openldn results here" in load["error"]
