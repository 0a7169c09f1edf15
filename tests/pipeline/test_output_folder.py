"""Output folders you can trust: one run at a time, a failed rerun keeps the previous result, no stale files,
exact manifest, one-line errors for unwritable outputs, and resumed runs that report what uninterrupted ones do."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from openldn.cli.main import main
from openldn.exceptions import OpenLDNError
from openldn.pipeline import run_assessment
from openldn.pipeline.publish import OutputBusyError, OutputLock

FAST = ["land_cover", "land_area", "reporting"]


def _files(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and ".openldn" not in p.relative_to(out).parts
            and p.name != ".openldn-lock"}


def _edit(run_file: Path, tmp: Path, **changes: Any) -> Path:
    d = tmp / "inputs"
    if not d.exists():
        shutil.copytree(run_file.parent, d)
    data = yaml.safe_load((d / "assessment.yaml").read_text())
    data.update(changes)
    (d / "assessment.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return d / "assessment.yaml"


def test_second_run_on_a_busy_folder_stops_with_one_line(demo_run_file: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with OutputLock(out):  # another run holds the folder
        code = main(["run", str(demo_run_file), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "another openldn run is writing to this folder" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]  # nothing touched
    with OutputLock(out), pytest.raises(OutputBusyError):
        OutputLock(out).__enter__()


def test_failed_rerun_keeps_the_previous_result_and_rerun_leaves_no_stale_file(
        demo_run_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    run_assessment(demo_run_file, out, stages=FAST)
    first = _files(out)
    assert any(k.startswith("maps/lc_degradation_2016-2023") for k in first)
    # the manifest lists exactly the files present (itself aside)
    listed = {r["path"] for r in json.loads((out / "manifest.json").read_text())["files"]}
    assert listed == set(first) - {"manifest.json"}
    for rec in json.loads((out / "manifest.json").read_text())["files"]:
        assert hashlib.sha256((out / rec["path"]).read_bytes()).hexdigest() == rec["sha256"]

    # a rerun that fails mid-way (after maps were written) leaves the published result exactly as it was
    from openldn.pipeline import run as run_module

    real = run_module.runnable_stages

    def failing(a: Any, only: Any = None) -> list[Any]:
        from dataclasses import replace

        stages = real(a, only)

        def boom(ctx: Any) -> None:
            raise OpenLDNError("planted failure in the reporting stage")

        return [replace(s, run=boom) if s.name == "reporting" else s for s in stages]

    monkeypatch.setattr(run_module, "runnable_stages", failing)
    changed = _edit(demo_run_file, tmp_path, name="Changed name")
    with pytest.raises(OpenLDNError, match="planted failure"):
        run_assessment(changed, out, stages=FAST)
    assert _files(out) == first
    assert not (out / ".openldn").exists()  # the failed attempt's staging area is gone
    monkeypatch.undo()

    # a rerun with fewer periods publishes exactly its own files: the dropped period's maps are gone
    fewer = _edit(demo_run_file, tmp_path, reporting=["2016-2019"])
    run_assessment(fewer, out, stages=FAST)
    now = _files(out)
    assert not any("2016-2023" in k for k in now)
    assert {r["path"] for r in json.loads((out / "manifest.json").read_text())["files"]} == set(now) - {"manifest.json"}


def test_unwritable_or_overlong_output_is_one_line(demo_run_file: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code = main(["run", str(demo_run_file), "--out", str(blocker / "sub")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot write the results" in err[0]
    code = main(["run", str(demo_run_file), "--out", str(tmp_path / ("x" * 300))])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "path is too long" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def _no_space(where: Path) -> OSError:
    import errno

    return OSError(errno.ENOSPC, "No space left on device", str(where))


def _full_disk_error(demo_run_file: Path, out: Path) -> str:
    """The error of a land cover run into ``out`` on a disk made full by the caller; nothing may be left."""
    from openldn.exceptions import OutputWriteError

    with pytest.raises(OutputWriteError) as info:
        run_assessment(demo_run_file, out, stages=["land_cover"])
    assert not out.exists()
    return str(info.value)


def test_full_disk_while_publishing_is_one_line_and_leaves_nothing(
        demo_run_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openldn.pipeline import run as run_module

    def full(out: Path) -> None:
        raise _no_space(out / "maps" / "x.tif")

    monkeypatch.setattr(run_module, "publish", full)
    message = _full_disk_error(demo_run_file, tmp_path / "out")
    assert "\n" not in message and "disk is full" in message and "x.tif" in message


def test_full_disk_while_storing_a_layer_is_one_line_and_leaves_nothing(
        demo_run_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint chunk that cannot be written (in a dask worker thread) stops the run as a full disk would."""
    from openldn.pipeline.chunk_files import ChunkFiles

    def full(self: ChunkFiles, index: tuple[int, ...], block: object, start: object = None) -> None:
        raise _no_space(self.path / ".".join(map(str, index)))

    monkeypatch.setattr(ChunkFiles, "write_chunk", full)
    message = _full_disk_error(demo_run_file, tmp_path / "out")
    assert "\n" not in message and "disk is full" in message and ".zarr" in message


def test_full_disk_while_gdal_writes_a_map_is_one_line_and_leaves_nothing(
        demo_run_file: Path, tmp_path: Path, gdal_write_fails: Any) -> None:
    """GDAL words a full disk as a failed write (a map is copied to its COG in a background thread): the run stops
    with the one-line full-disk error naming the map, not as an internal error."""
    gdal_write_fails(0)
    message = _full_disk_error(demo_run_file, tmp_path / "out")
    assert "\n" not in message and "disk is full" in message and ".tif" in message


def test_resumed_run_reports_what_an_uninterrupted_run_does(demo_run_file: Path, tmp_path: Path) -> None:
    """Provenance and substitution notes of restored stages survive a resume (the run JSON is equal)."""
    import threading

    # 2016-2024 makes the stages substitute 2023 for 2024 (land cover and population)
    run_file = _edit(demo_run_file, tmp_path, reporting=["2016-2019", "2016-2024"])
    stages = ["land_cover", "land_area", "integration", "reporting"]
    whole = run_assessment(run_file, tmp_path / "whole", stages=stages)
    stop = threading.Event()

    def progress(stage: str, done: int, total: int, message: str = "") -> None:
        if stage == "land_area" and done == total:
            stop.set()  # cancel once two stages are complete

    from openldn.pipeline.context import Cancelled

    with pytest.raises(Cancelled):
        run_assessment(run_file, tmp_path / "resumed", stages=stages, progress=progress, cancel=stop)
    resumed = run_assessment(run_file, tmp_path / "resumed", stages=stages)
    assert resumed.resumed == ["land_cover", "land_area"]

    def run_json(out: Path) -> dict[str, Any]:
        (path,) = (out / "report").glob("*.json")
        doc = json.loads(path.read_text())
        return _without(doc, {"timings", "generated", "created", "timestamp", "elapsed_s", "duration_s"})

    a, b = run_json(whole.out_dir), run_json(resumed.out_dir)
    assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
    assert "2024" in json.dumps(a)  # the substitution notes are there in both


def _without(obj: Any, keys: set[str]) -> Any:
    if isinstance(obj, dict):
        return {k: _without(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [_without(v, keys) for v in obj]
    return obj
