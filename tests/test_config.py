"""The run file: presets, validation messages, documentation."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import yaml

from openldn.config import load_assessment, run_file_reference
from openldn.exceptions import ConfigError, InputFileError

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, doc: dict) -> Path:
    (tmp_path / "aoi.gpkg").write_bytes(b"")
    (tmp_path / "lc.tif").write_bytes(b"")
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


BASE = {"aoi": "aoi.gpkg", "inputs": {"land_cover": {"path": "lc.tif"}}}


def test_defaults_come_from_the_preset(tmp_path: Path) -> None:
    a = load_assessment(_write(tmp_path, BASE))
    assert a.preset == "prais_2026_te"
    assert [p.label for p in a.periods] == ["2000-2015", "2016-2019", "2016-2023"]
    assert a.resolve("lc.tif") == tmp_path / "lc.tif"


def test_preset_sets_periods(tmp_path: Path) -> None:
    a = load_assessment(_write(tmp_path, {**BASE, "preset": "gpg_v1_2017"}))
    assert [p.label for p in a.periods] == ["2000-2015"]


def test_user_options_override_preset(tmp_path: Path) -> None:
    doc = {**BASE, "soil_carbon": {"threshold": 0.2}}
    a = load_assessment(_write(tmp_path, doc))
    assert a.soil_carbon.threshold == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({**BASE, "inputs": {"land_cover": {}}}, ["inputs.land_cover", "exactly one of 'path' or 'dataset'"]),
        ({**BASE, "reporting": ["2016-20x9"]}, ["reporting", "YYYY-YYYY"]),
        ({"inputs": BASE["inputs"]}, ["'aoi'", "add it"]),
        ({**BASE, "soil_carbon": {"threshhold": 0.1}}, ["soil_carbon.threshhold", "remove it"]),
    ],
)
def test_errors_name_the_key(tmp_path: Path, doc: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_assessment(_write(tmp_path, doc))
    msg = str(info.value)
    assert "\n" not in msg and str(tmp_path / "run.yaml") in msg
    for w in words:
        assert w in msg


def test_missing_file_named(tmp_path: Path) -> None:
    p = _write(tmp_path, {**BASE, "inputs": {"land_cover": {"path": "nope.tif"}}})
    with pytest.raises(InputFileError, match=r"inputs\.land_cover\.path.*nope\.tif"):
        load_assessment(p)


def test_run_file_reference_is_current() -> None:
    doc = (REPO / "docs" / "run-file.md").read_text(encoding="utf-8")
    assert doc.strip() == run_file_reference().strip(), (
        "docs/run-file.md is stale: regenerate it with "
        "python -c 'from openldn.config import run_file_reference as r; print(r())' > docs/run-file.md"
    )


def test_run_file_reference_speaks_to_users() -> None:
    """The type column says what a key accepts, not how the code declares it (no Literal, Optional, class paths)."""
    import re

    rows = [line.split(" | ")[1] for line in run_file_reference().splitlines() if line.startswith("| `")
            and line.count(" | ") >= 3]
    assert rows, "no key rows found"
    leaked = [r for r in rows if re.search(r"Literal|Optional|Union|openldn\.|\bstr\b|\bint\b|\bbool\b|NoneType", r)]
    assert leaked == []
    # An enumerated key lists its allowed values (checked against the model, independently of the renderer).
    from openldn.land_cover.options import LandCoverOptions

    allowed = typing.get_args(LandCoverOptions.model_fields["water_mask"].annotation)
    line = next(line for line in run_file_reference().splitlines() if line.startswith("| `water_mask`"))
    assert all(f"`{value}`" in line for value in allowed)
