"""Every key of the accuracy and pixel_confidence run-file sections acts or is an error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pydantic import ValidationError

from openldn.accuracy.pixel_stage import PixelConfidenceOptions
from openldn.accuracy.stage import AccuracyOptions, _check, _check_strata
from openldn.exceptions import ConfigError


def test_keys_without_design_are_errors() -> None:
    assert AccuracyOptions().design is None
    with pytest.raises(ValidationError, match=r"without accuracy\.design"):
        AccuracyOptions(confidence_rule="absolute")
    with pytest.raises(ValidationError, match="high <= medium"):
        AccuracyOptions(design="s", thresholds=(0.5, 0.25))
    with pytest.raises(ValidationError):
        AccuracyOptions(design="s", rule="relative")  # unknown key


def test_pixel_confidence_keys_need_enabled() -> None:
    with pytest.raises(ValidationError, match="enabled is false"):
        PixelConfidenceOptions(decades=2.0)
    assert PixelConfidenceOptions(enabled=True, decades=2.0).decades == 2.0


class _A:
    def __init__(self, tmp: Path, confidence: str | None) -> None:
        self.accuracy = AccuracyOptions(design=str(tmp))
        self.integration = type("I", (), {"confidence": confidence})()

    def resolve(self, p: str) -> Path:
        return Path(p)


def test_check_finds_missing_files_and_a_second_confidence(tmp_path: Path) -> None:
    errors = _check(_A(tmp_path, "high"), {})
    assert any("integration.confidence" in e for e in errors)
    assert sum("not found" in e for e in errors) == 3
    for name in ("design.json", "points.csv", "labels.csv"):
        (tmp_path / name).write_text("x")
    assert _check(_A(tmp_path, None), {}) == []


def test_a_sample_of_another_map_is_refused(tmp_path: Path) -> None:
    from openldn.accuracy.design import SampleDesign

    layer = xr.DataArray(np.array([[-1, 0, 0], [1, 0, -32768]], dtype=np.int16), dims=("y", "x"))
    d = SampleDesign(map_key="sdg/x", map_path="", legend_id="degradation", classes=[-1, 0, 1],
                     class_labels=["Degraded", "Stable", "Improved"], degraded_classes=[-1], pixels=[1, 3, 1],
                     mapped_area_m2=[1.0, 3.0, 1.0], allocation=[2, 2, 2], n=6, seed=0, target_se=None,
                     expected_users_accuracy=None, minimum=0)  # fmt: skip
    _check_strata(d, layer, "sdg/x", tmp_path / "design.json")  # 1, 3, 1 pixels: the same map
    bad = json.loads(json.dumps(d.__dict__))
    bad["pixels"] = [2, 2, 1]
    with pytest.raises(ConfigError, match="drawn on another map"):
        _check_strata(SampleDesign(**bad), layer, "sdg/x", tmp_path / "design.json")
