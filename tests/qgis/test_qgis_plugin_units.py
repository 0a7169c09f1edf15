"""The QGIS plugin's QGIS-free parts (subprocess runner, progress, run-file writer, results reader) and its zip.

These run in the test Python without PyQGIS: the modules they test import nothing from QGIS.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "qgis_plugin"))

from openldn_qgis import cli, results, runfile


class Recorder:
    """A stand-in for QgsProcessingFeedback that records every call."""

    def __init__(self, cancel_when: str | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.cancel_when = cancel_when
        self.cancelled = False

    def isCanceled(self) -> bool:
        return self.cancelled

    def setProgress(self, value: float) -> None:
        self.calls.append(("progress", value))

    def setProgressText(self, text: str) -> None:
        self.calls.append(("text", text))

    def pushInfo(self, text: str) -> None:
        self.calls.append(("info", text))
        if self.cancel_when and self.cancel_when in text:
            self.cancelled = True

    def reportError(self, text: str, fatal: bool = False) -> None:
        self.calls.append(("error", text))

    def of(self, kind: str) -> list[Any]:
        return [v for k, v in self.calls if k == kind]


def _event(stage: str, done: int, total: int, message: str) -> str:
    return json.dumps({"stage": stage, "done": done, "total": total, "message": message})


def test_progress_percent_from_stage_lines() -> None:
    # four stages; the second resumed from its checkpoint (no "stage i/N" message): expected by hand
    lines = [
        (_event("land_cover", 0, 1, "stage 1/4"), 0.0),
        (_event("land_cover", 0, 1, "computing lc_unccd"), 0.0),
        (_event("land_cover", 1, 1, "done in 1.2 s"), 25.0),
        (_event("productivity", 1, 1, "resumed from checkpoint"), 50.0),
        (_event("soil_carbon", 0, 1, "stage 3/4"), 50.0),
        (_event("soil_carbon", 1, 2, "half way"), 62.5),
        (_event("soil_carbon", 0, 1, "computing soc/2015"), 62.5),  # another counter: the bar does not go back
        (_event("reporting", 0, 1, "stage 4/4"), 75.0),
        (_event("reporting", 1, 1, "done"), 100.0),
    ]
    parser = cli.ProgressParser()
    for line, expected in lines:
        event = parser.parse(line)
        assert event is not None
        percent, text = parser.update(event)
        assert percent == pytest.approx(expected), line
        assert text.startswith(event["stage"] + ": ")


def test_progress_text_lines_of_an_older_openldn() -> None:
    parser = cli.ProgressParser()
    event = parser.parse("drought: stage 6/7")
    assert event == {"stage": "drought", "done": 0, "total": 0, "message": "stage 6/7"}
    assert parser.update(event)[0] == pytest.approx(100 * 5 / 7)
    assert parser.parse("Error: ndvi.tif: no such file") is None
    assert parser.parse("warning: ndvi.tif: 12 % of the values are outside -1..1") is None
    assert parser.parse("Demo inputs written to /tmp/x") is None
    assert parser.parse("{not json") is None


def test_error_message_is_the_error_line() -> None:
    assert cli.error_message(["land_cover: stage 1/7", "Error: a.tif: no such file; fix the path.", ""], 2) \
        == "a.tif: no such file; fix the path."
    assert cli.error_message(["error: dataset x: not in the cache; run without --offline."], 1) \
        == "dataset x: not in the cache; run without --offline."
    assert cli.error_message(["something odd"], 1) == "something odd"
    assert "exit code 5" in cli.error_message([], 5)


def test_locate_python_script_folder_and_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cli.ENV_VARIABLE, raising=False)
    assert cli.locate(sys.executable)[1:] == ["-m", "openldn"]
    env = tmp_path / "env"
    script = env / "bin" / "openldn"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    assert cli.locate(str(env)) == [str(script)]
    assert cli.locate(str(script)) == [str(script)]
    monkeypatch.setenv(cli.ENV_VARIABLE, str(script))
    assert cli.locate() == [str(script)]
    with pytest.raises(cli.OpenLDNCliError, match="Processing ▸ Options ▸ Providers ▸ openldn"):
        cli.locate(str(tmp_path / "nowhere" / "openldn"))
    with pytest.raises(cli.OpenLDNCliError, match="no openldn or python"):
        cli.locate(str(tmp_path))


def test_run_relays_openldns_one_line_error(tmp_path: Path, openldn_error: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\naoi: aoi.gpkg\ninputs: {}\nbogus_key: 1\n")
    expected = openldn_error("validate", str(bad))
    fb = Recorder()
    with pytest.raises(cli.OpenLDNCliError) as err:
        cli.run(["validate", str(bad)], fb, command=[sys.executable, "-m", "openldn"])
    assert str(err.value) == expected
    assert err.value.returncode == 2
    assert fb.of("error") == [expected]
    assert "\n" not in expected


def test_run_validates_the_demo(demo_run_file: Path) -> None:
    fb = Recorder()
    res = cli.run(["validate", str(demo_run_file)], fb, command=[sys.executable, "-m", "openldn"])
    assert res.returncode == 0
    assert any(": valid." in line for line in res.stdout)
    assert fb.of("progress")[-1] == 100.0


def test_run_streams_json_progress_and_passes_a_clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/qgis/python")
    monkeypatch.setenv("PROJ_LIB", "/qgis/proj")
    script = (
        "import json, os, sys\n"
        "assert os.environ['OPENLDN_PROGRESS'] == 'json'\n"
        "assert 'PYTHONPATH' not in os.environ and 'PROJ_LIB' not in os.environ\n"
        "for i, s in enumerate(['a', 'b']):\n"
        "    print(json.dumps({'stage': s, 'done': 0, 'total': 1, 'message': f'stage {i + 1}/2'}), file=sys.stderr)\n"
        "    print(json.dumps({'stage': s, 'done': 1, 'total': 1, 'message': 'done in 0.1 s'}), file=sys.stderr)\n"
        "print('finished')\n"
    )
    fb = Recorder()
    res = cli.run([], fb, command=[sys.executable, "-c", script])
    assert res.stdout == ["finished"]
    assert fb.of("progress") == [0.0, 50.0, 50.0, 100.0, 100.0]
    assert fb.of("text") == ["a: stage 1/2", "a: done in 0.1 s", "b: stage 2/2", "b: done in 0.1 s"]


def test_cancel_stops_the_process_and_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(marker)!r}, 'w').write(str(child.pid))\n"
        "print('child' + ' ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    fb = Recorder(cancel_when="child ready")  # not in the "Running: ..." line
    t0 = time.monotonic()
    with pytest.raises(cli.OpenLDNCliError, match="Cancelled"):
        cli.run([], fb, command=[sys.executable, "-c", script])
    assert time.monotonic() - t0 < 30
    child = int(marker.read_text())
    for _ in range(50):  # the child got the signal of its process group
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        if Path(f"/proc/{child}/stat").is_file() and Path(f"/proc/{child}/stat").read_text().split()[2] == "Z":
            break  # a zombie: dead, waiting for its reaped parent
        time.sleep(0.1)
    else:
        pytest.fail("the child process survived the cancel")


def test_run_file_writer_round_trips_and_validates(demo_run_file: Path, tmp_path: Path) -> None:
    folder = demo_run_file.parent
    target = tmp_path / "sub" / "run.yaml"
    target.parent.mkdir()
    base = str(target.parent)
    inputs = {
        "land_cover": {"path": runfile.relative(str(folder / "land_cover.tif"), base), "legend": "esa_cci"},
        "ndvi": {"path": runfile.relative(str(folder / "ndvi.tif"), base), "scale": 0.0001},
        "soc": {"path": runfile.relative(str(folder / "soc.tif"), base)},
        "climate_zones": {"path": runfile.relative(str(folder / "climate_zones.tif"), base)},  # the SOC model needs it
    }
    data = runfile.build(
        name='Kenya "demo": test', preset="prais_2026_te", baseline="2000-2015",
        reporting=runfile.parse_periods("2016-2019, 2016-2023"),
        aoi=runfile.relative(str(folder / "aoi.gpkg"), base), inputs=inputs,
        zones={"path": runfile.relative(str(folder / "zones.gpkg"), base), "id_field": "id", "name_field": "name",
               "layer": None},
    )
    target.write_text(runfile.dump(data))
    loaded = yaml.safe_load(target.read_text())
    assert loaded == data
    assert loaded["zones"] == {"path": data["zones"]["path"], "id_field": "id", "name_field": "name"}
    assert loaded["grid"] == {"reference": "land_cover"}
    assert loaded["aoi"] == str(folder / "aoi.gpkg")  # two folders up and down: absolute
    proc = subprocess.run([sys.executable, "-m", "openldn", "validate", str(target)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "inputs land_cover, ndvi, soc, climate_zones" in proc.stdout


def test_relative_paths_beside_below_or_one_up() -> None:
    assert runfile.relative("/a/b/c.tif", "/a/b") == "c.tif"
    assert runfile.relative("/a/b/d/c.tif", "/a/b") == "d/c.tif"
    assert runfile.relative("/a/c.tif", "/a/b") == "../c.tif"
    assert runfile.relative("/x/y/c.tif", "/a/b") == "/x/y/c.tif"


def test_run_file_option_parsers() -> None:
    assert runfile.parse_periods("2016-2019;2016-2023") == ["2016-2019", "2016-2023"]
    with pytest.raises(ValueError, match="YYYY-YYYY"):
        runfile.parse_periods("2016-19")
    assert runfile.parse_years("ndvi=2000-2023; land_cover=2000, 2015") == {"ndvi": "2000-2023",
                                                                           "land_cover": [2000, 2015]}
    with pytest.raises(ValueError, match="not an input name"):
        runfile.parse_years("nvdi=2000-2023")
    with pytest.raises(ValueError, match="at least one input"):
        runfile.build(name="x", preset="prais_2026_te", baseline="2000-2015", reporting=[], aoi="a.gpkg", inputs={})


def test_headline_figures_are_copied_from_the_run_report() -> None:
    run = {"tables": [
        {"code": "CP-1.T1", "zone_id": "Z1", "rows": [{"year": "2000", "land_km2": 100.0},
                                                      {"year": "2015", "land_km2": 99.0}]},
        {"code": "SO1-4.T2", "zone_id": "Z1", "rows": [
            {"assessment": "Baseline 2000-2015", "degraded_km2": 7.5, "percent": 7.5},
            {"assessment": "Status 2023 (2016-2023)", "degraded_km2": 9.0, "percent": 9.0}]},
        {"code": "SO2-3.T1", "zone_id": "ALL", "rows": [{"year": "2015", "n_total": 12.0, "pct_total": 1.5}]},
        {"code": "SO1-1.T4", "zone_id": "Z1", "rows": [{"x": 1}]},
    ]}
    fields, rows = results.headline(run)
    assert [f[0] for f in fields] == ["land_km2", "sdg_2000_2015_km2", "sdg_2000_2015_pct", "sdg_2016_2023_km2",
                                      "sdg_2016_2023_pct", "pop_2015_n", "pop_2015_pct"]
    assert rows == {"Z1": {"land_km2": 100.0, "sdg_2000_2015_km2": 7.5, "sdg_2000_2015_pct": 7.5,
                           "sdg_2016_2023_km2": 9.0, "sdg_2016_2023_pct": 9.0},
                    "ALL": {"pop_2015_n": 12.0, "pop_2015_pct": 1.5}}


def test_results_folder_without_a_run(tmp_path: Path) -> None:
    with pytest.raises(results.ResultsError, match="no openldn results here"):
        results.read_run(str(tmp_path))


def test_plugin_zip_builds(build_plugin: Any, plugin_zip: Path) -> None:
    with zipfile.ZipFile(plugin_zip) as zf:
        names = set(zf.namelist())
        metadata = zf.read("openldn_qgis/metadata.txt").decode()
    sources = {f"openldn_qgis/{p.name}" for p in (Path(__file__).parents[2] / "qgis_plugin" / "openldn_qgis")
               .glob("*.py")}
    assert sources <= names
    assert {"openldn_qgis/metadata.txt", "openldn_qgis/icon.svg", "openldn_qgis/__init__.py"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or not n.startswith("openldn_qgis/")]
    assert f"\nversion={build_plugin.version()}\n" in metadata
    assert "hasProcessingProvider=yes" in metadata
    assert "qgisMinimumVersion=3.22" in metadata
