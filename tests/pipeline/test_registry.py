"""The stage registry and contract: one declaration per stage drives the pipeline, the run file and its checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openldn import registry
from openldn.config import Assessment, check_preset, load_assessment, option_sections
from openldn.core.stage import KeyPattern, Stage
from openldn.exceptions import ConfigError


def test_registry__every_stage_declares_itself_once() -> None:
    names = [s.name for s in registry.stages()]
    assert names == ["land_cover", "land_area", "productivity", "soil_carbon", "integration", "drought",
                     "pixel_confidence", "agreement", "accuracy", "reporting"]
    # the run-file model's option sections are exactly the stages' sections
    sections = {s.options_key for s in registry.stages() if s.options_key}
    assert sections == set(option_sections())
    assert sections <= set(Assessment.model_fields)
    # inputs and kinds come from the declarations (one list)
    kinds = registry.input_kinds()
    assert kinds["land_cover"] == "categorical" and kinds["population_total"] == "count"
    assert kinds["ndvi"] == "continuous"
    assert "climate" not in kinds  # accepted and never used before: now an unknown input


def test_registry__a_stage_that_cannot_load_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "STAGE_MODULES", (*registry.STAGE_MODULES, "openldn.no_such_stage"))
    registry.stages.cache_clear()
    try:
        with pytest.raises(registry.StageLoadError, match=r"openldn\.no_such_stage cannot be imported"):
            registry.stages()
    finally:
        monkeypatch.undo()
        registry.stages.cache_clear()
    assert len(registry.stages()) == 10


def test_key_pattern__matches_only_its_shape() -> None:
    p = KeyPattern("lpd/{period}")
    assert p.matches("lpd/2000-2015") and not p.matches("lpd/2000-2015/x") and not p.matches("lpdx/2000")
    assert KeyPattern("lc_area").matches("lc_area") and not KeyPattern("lc_area").matches("lc_area2")


def test_preset__a_misspelt_key_is_an_error_as_in_a_run_file() -> None:
    with pytest.raises(ConfigError, match=r"productivity.trend_yaers"):
        check_preset({"id": "x", "productivity": {"trend_yaers": 16}}, "x")
    with pytest.raises(ConfigError, match="unknown key"):
        check_preset({"id": "x", "productivty": {}}, "x")
    with pytest.raises(ConfigError, match=r"drought"):
        check_preset({"id": "x", "drought": "yes"}, "x")


@pytest.mark.parametrize("key, value", [("iso3", "KEN"), ("bbox", [0, 0, 1, 1]),
                                        ("variable", "ndvi")])  # composite/min_count act on local files
def test_run_file__catalogue_keys_on_a_local_file_are_errors(key: str, value: Any, tmp_path: Path) -> None:
    data = {"aoi": "aoi.gpkg", "inputs": {"ndvi": {"path": "ndvi.tif", key: value}}, "grid": {"reference": "ndvi"}}
    with pytest.raises(ConfigError, match=f"inputs.ndvi.*'{key}'"):
        load_assessment(data, base_dir=tmp_path, check_files=False)


def test_run_file__every_shipped_preset_validates() -> None:
    from openldn.core.vocab import list_data_files, load_preset

    for name in list_data_files("presets"):
        check_preset(load_preset(name), name)


@pytest.mark.slow
def test_make_context__real_context_enforces_declared_keys(demo_run_file: Path, tmp_path: Path) -> None:
    import pandas as pd

    from openldn.pipeline.context import RunContext
    from openldn.testing import make_context, run_stage

    ctx = make_context(load_assessment(demo_run_file), out_dir=tmp_path / "out")
    assert isinstance(ctx, RunContext)
    run_stage(ctx, "land_cover")
    assert {"lc_area", "lc_transitions", "lc_degradation"} <= set(ctx.tables)
    assert "lc_unccd" in ctx.layers

    def rogue(c: Any) -> None:
        c.add_table("not_declared", pd.DataFrame({"a": [1]}))

    ctx.begin_stage(Stage(name="rogue", run=rogue, title="rogue", tables=(KeyPattern("declared"),)))
    with pytest.raises(RuntimeError, match="not_declared"):
        rogue(ctx)


def test_run__unknown_stage_name_is_an_error(demo_run_file: Path) -> None:
    from openldn.pipeline.run import runnable_stages

    a = load_assessment(demo_run_file)
    with pytest.raises(ConfigError, match="unknown stage"):
        runnable_stages(a, ["land_cover", "productivty"])
    assert [s.name for s in runnable_stages(a, ["land_cover", "reporting"])] == ["land_cover", "reporting"]
