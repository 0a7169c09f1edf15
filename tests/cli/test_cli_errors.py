"""The bad-input corpus: user mistakes give one line, a non-zero exit code, no traceback and no output left."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from openldn.cli.main import main


def _edit_yaml(run_file: Path, change: Callable[[dict], None]) -> None:
    data = yaml.safe_load(run_file.read_text())
    change(data)
    run_file.write_text(yaml.safe_dump(data, sort_keys=False))


def _rewrite_raster(path: Path, change: Callable[[np.ndarray], np.ndarray], *, drop_descriptions: bool = False) -> None:
    import rasterio

    with rasterio.open(path) as src:
        data = src.read()
        profile = src.profile
        descriptions = src.descriptions
    profile.update(driver="GTiff")
    path.unlink()
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(change(data))
        if not drop_descriptions:
            for i, d in enumerate(descriptions, start=1):
                if d:
                    dst.set_band_description(i, d)


def _aoi_far_away(d: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    gpd.GeoDataFrame({"name": ["elsewhere"]}, geometry=[box(10.0, 45.0, 10.5, 45.5)], crs=4326).to_file(d / "aoi.gpkg")


def _aoi_empty(d: Path) -> None:
    import geopandas as gpd

    gpd.GeoDataFrame({"name": []}, geometry=[], crs=4326).to_file(d / "aoi.gpkg")


def _lc_unknown_code(d: Path) -> None:
    def change(a: np.ndarray) -> np.ndarray:
        a = a.copy()
        a[:, 50:53, 50:53] = 77  # not an ESA CCI code
        return a

    _rewrite_raster(d / "land_cover.tif", change)


def _soc_no_years_needed(d: Path) -> None:
    _rewrite_raster(d / "ndvi.tif", lambda a: a, drop_descriptions=True)


# (case id, how to break the demo inputs, expected words in the message)
CASES: list[tuple[str, Callable[[Path], None], list[str]]] = [
    ("missing_run_file", lambda d: (d / "assessment.yaml").unlink(), ["assessment.yaml", "does not exist"]),
    ("malformed_yaml", lambda d: (d / "assessment.yaml").write_text("name: [unclosed\ninputs: {"), ["not valid YAML", "line"]),
    ("unknown_key", lambda d: _edit_yaml(d / "assessment.yaml", lambda y: y.update(baselin="2000-2015")),
     ["'baselin'", "remove it"]),
    ("missing_input_file", lambda d: (d / "soc.tif").unlink(), ["inputs.soc.path", "soc.tif", "does not exist"]),
    ("reversed_period", lambda d: _edit_yaml(d / "assessment.yaml", lambda y: y.update(baseline="2015-2000")),
     ["baseline", "2015", "after"]),
    ("unknown_preset", lambda d: _edit_yaml(d / "assessment.yaml", lambda y: y.update(preset="prais_2030")),
     ["prais_2030", "prais_2026_te"]),
    ("grid_reference_not_an_input",
     lambda d: _edit_yaml(d / "assessment.yaml", lambda y: y["grid"].update(reference="dem")), ["grid.reference", "dem"]),
    ("aoi_outside_rasters", _aoi_far_away, ["does not overlap"]),
    ("aoi_empty", _aoi_empty, ["aoi.gpkg"]),
    ("zones_missing_field",
     lambda d: _edit_yaml(d / "assessment.yaml", lambda y: y["zones"].update(name_field="province")),
     ["province", "zones.gpkg"]),
    ("land_cover_code_not_in_legend", _lc_unknown_code, ["77", "land_cover"]),
    ("bands_without_years", _soc_no_years_needed, ["ndvi.tif", "years"]),
    ("unknown_input_name",
     lambda d: _edit_yaml(d / "assessment.yaml", lambda y: y["inputs"].update(evi={"path": "ndvi.tif"})), ["evi"]),
]


@pytest.fixture
def demo_copy(demo_run_file: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "inputs"
    shutil.copytree(demo_run_file.parent, dst)
    return dst


@pytest.mark.parametrize(("case", "breaker", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_input__one_line_error_and_nothing_left(
    case: str, breaker: Callable[[Path], None], words: list[str], demo_copy: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    breaker(demo_copy)
    out = tmp_path / "out"
    code = main(["run", str(demo_copy / "assessment.yaml"), "--out", str(out)])
    stderr = capsys.readouterr().err.strip()
    assert code == 2, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, stderr  # progress lines may precede it; the error itself is one line
    err = errors[0]
    for w in words:
        assert w in err, (w, err)
    assert not out.exists(), "a failed run left output behind"


def test_validate__reports_a_valid_run_file(demo_run_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(demo_run_file)]) == 0
    assert "valid" in capsys.readouterr().out


def test_output_path_is_a_file(demo_run_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "taken"
    f.write_text("x")
    assert main(["run", str(demo_run_file), "--out", str(f)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert f.read_text() == "x"
