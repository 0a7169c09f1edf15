"""docs/tutorial-sierra-de-neiba.md, run as written: init -> validate (refused) -> edits -> validate -> run -> workbook.

For speed the drought input is left out and the coarse grid the tutorial offers for a first look is used."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from openldn.cli.main import main

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "tutorial-sierra-de-neiba.md"
DATA = REPO.parent / "shared" / "data" / "sierra_de_neiba"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_tutorial_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    if not DATA.is_dir():
        pytest.skip(f"the Sierra de Neiba data is not here ({DATA}); it lives in ../shared/data beside the repository")
    monkeypatch.chdir(tmp_path)
    init = shlex.split(_blocks("bash")[0].replace("\\\n", " ").replace("$DATA", str(DATA)))
    assert init[:2] == ["openldn", "init"]
    i = init.index(next(a for a in init if a.startswith("precipitation=")))
    args = init[1:i - 1] + init[i + 1:]  # drop --input precipitation=... (the SPI of 513 months is the slow part)
    assert main(args) == 0
    run_file = tmp_path / "neiba.yaml"
    capsys.readouterr()
    assert main(["validate", str(run_file)]) == 2
    assert "year 2000 is missing and the closest year 2015 is more than" in capsys.readouterr().err
    doc = yaml.safe_load(run_file.read_text())
    edits = [yaml.safe_load(b) for b in _blocks("yaml")]
    assert [sorted(e) for e in edits] == [["baseline", "reporting"], ["soil_carbon"], ["grid"]]
    for e in edits:
        doc.update(e)
    doc["outputs"] = {"png": False, "html": False, "maps": False}
    run_file.write_text(yaml.safe_dump(doc))
    assert main(["validate", str(run_file)]) == 0
    assert main(["run", str(run_file), "--out", "neiba-results"]) == 0
    out = capsys.readouterr().out
    assert "SDG 15.3.1, land degraded: 2015-2016" in out
    assert (tmp_path / "neiba-results" / "report" / "prais_tables.xlsx").is_file()
