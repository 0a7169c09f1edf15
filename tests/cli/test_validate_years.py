"""``validate`` resolves the input years every stage will use, with the same rule as ``run``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from openldn.cli.main import main


def _copy_with(demo_run_file: Path, tmp_path: Path, **changes: object) -> Path:
    d = tmp_path / "demo"
    shutil.copytree(demo_run_file.parent, d)
    run_file = d / "assessment.yaml"
    data = yaml.safe_load(run_file.read_text())
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            data.setdefault(section, {})[name] = value
        else:
            data[section] = value
    run_file.write_text(yaml.safe_dump(data, sort_keys=False))
    return run_file


def test_validate__warns_about_each_substituted_year(demo_run_file: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # the demo's land cover and population end in 2023: a 2016-2024 period is served by 2023, with a warning
    run_file = _copy_with(demo_run_file, tmp_path, reporting=["2016-2019", "2016-2024"])
    assert main(["validate", str(run_file)]) == 0
    err = capsys.readouterr().err
    assert "land cover, end of 2016-2024: year 2024 is not in the input; year 2023 is used instead" in err
    for g in ("total", "female", "male"):
        assert f"population_{g} for SO2-3 (latest year): year 2024 is not in the input; year 2023" in err


def test_validate__refuses_a_year_run_would_refuse(demo_run_file: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    run_file = _copy_with(demo_run_file, tmp_path, reporting=["2016-2024"], land_cover__max_year_gap=0)
    assert main(["validate", str(run_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "year 2024 is missing" in err[0] and "max_year_gap" in err[0]


def test_validate_prints_epsg_years_and_windows(demo_run_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The summary names the EPSG code (not WKT), the years of each input and each period's windows."""
    assert main(["validate", str(demo_run_file), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "EPSG:4326" in out and "GEOGCS" not in out and "GEOGCRS" not in out
    # By hand for 2016-2023, 16-year trend and 3-year recent State: trend 2008-2023, State 2008-2020 vs 2021-2023.
    assert "period 2016-2023; productivity trend 2008-2023, state 2008-2020 vs 2021-2023, performance 2008-2023" in out
    assert "ndvi: years 2000-2023 (24 years)" in out
