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


def _write_raster(path: Path, data: np.ndarray, *, like: Path, nodata: float | None, scale: float | None = None) -> None:
    """Rewrite ``path`` with ``data`` on ``like``'s grid and band descriptions; ``nodata``/``scale`` as given."""
    import rasterio

    with rasterio.open(like) as src:
        profile = src.profile
        descriptions = src.descriptions
    profile.update(driver="GTiff", dtype=data.dtype.name, nodata=nodata, count=data.shape[0])
    tmp = path.with_suffix(".new.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions, start=1):
            if d:
                dst.set_band_description(i, d)
        if scale is not None:
            dst.scales = [scale] * data.shape[0]
    tmp.replace(path)


def _read(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        return src.read()


def _ndvi_x10000_without_scale(d: Path) -> None:
    _write_raster(d / "ndvi.tif", _read(d / "ndvi.tif"), like=d / "ndvi.tif", nodata=-32768)  # no scale tag
    _edit_yaml(d / "assessment.yaml", lambda y: y["inputs"]["ndvi"].pop("scale"))


def _ndvi_mixed_scaling(d: Path) -> None:
    a = _read(d / "ndvi.tif").astype(np.float32)
    ok = a != -32768
    a[:12][ok[:12]] *= 0.0001  # 2000-2011 stored as physical values, 2012-2023 as integers x 10000
    _write_raster(d / "ndvi.tif", a, like=d / "ndvi.tif", nodata=-32768)


def _ndvi_undeclared_nodata(d: Path) -> None:
    a = _read(d / "ndvi.tif")
    a[:, 10:40, 10:40] = -3000  # a fill value over many cells, not declared
    _write_raster(d / "ndvi.tif", a, like=d / "ndvi.tif", nodata=-32768, scale=0.0001)


def _ndvi_all_nodata(d: Path) -> None:
    a = np.full_like(_read(d / "ndvi.tif"), -32768)
    _write_raster(d / "ndvi.tif", a, like=d / "ndvi.tif", nodata=-32768, scale=0.0001)


def _lc_fractional_code(d: Path) -> None:
    a = _read(d / "land_cover.tif").astype(np.float32)
    a[:, 60:62, 60:62] = 10.5
    _write_raster(d / "land_cover.tif", a, like=d / "land_cover.tif", nodata=0)


def _precipitation_negative(d: Path) -> None:
    a = _read(d / "precipitation.tif")
    a[5, 5:7, 5:7] = -12.5
    _write_raster(d / "precipitation.tif", a, like=d / "precipitation.tif", nodata=-9999)


def _population_negative(d: Path) -> None:
    a = _read(d / "population_total.tif")
    a[3, 70:72, 70:72] = -4.0
    _write_raster(d / "population_total.tif", a, like=d / "population_total.tif", nodata=-99999)


def _zones_duplicate_ids(d: Path) -> None:
    import geopandas as gpd

    z = gpd.read_file(d / "zones.gpkg")
    z.loc[1, "id"] = z.loc[0, "id"]
    z.to_file(d / "zones.gpkg")


def _truncated_geotiff(d: Path) -> None:
    data = (d / "soc.tif").read_bytes()
    (d / "soc.tif").write_bytes(data[: len(data) // 2])


def _duplicate_yaml_key(d: Path) -> None:
    text = (d / "assessment.yaml").read_text()
    (d / "assessment.yaml").write_text(text.replace("baseline: 2000-2015", "baseline: 2000-2015\nbaseline: 2001-2015"))


def _matrix_bad_symbol(d: Path) -> None:
    keys = ["tree_covered", "grassland", "cropland", "wetland", "artificial", "other_land", "water_body"]
    rows = "".join(f"  {k}: [0, 0, 0, 0, 0, 0, 0]\n" for k in keys).replace("[0, 0, 0", "[0, X, 0", 1)
    (d / "matrix.yaml").write_text("legend: unccd\ncolumns: [" + ", ".join(keys) + "]\nmatrix:\n" + rows)
    _edit_yaml(d / "assessment.yaml", lambda y: y.setdefault("land_cover", {}).update(transition_matrix="matrix.yaml"))


def _rotated_grid(d: Path) -> None:
    import rasterio
    from affine import Affine

    with rasterio.open(d / "soc.tif") as src:
        data, profile = src.read(), src.profile
    t = profile["transform"]
    profile.update(driver="GTiff", transform=Affine(t.a, 0.0001, t.c, 0.0001, t.e, t.f))
    (d / "soc.tif").unlink()
    with rasterio.open(d / "soc.tif", "w", **profile) as dst:
        dst.write(data)


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
    # data faults: they used to run to wrong numbers with exit 0
    ("ndvi_x10000_without_scale", _ndvi_x10000_without_scale, ["ndvi.tif", "scale: 0.0001"]),
    ("ndvi_mixed_scaling", _ndvi_mixed_scaling, ["ndvi.tif", "different scalings"]),
    ("ndvi_undeclared_nodata", _ndvi_undeclared_nodata, ["ndvi.tif", "undeclared nodata", "nodata: -3000"]),
    ("ndvi_all_nodata", _ndvi_all_nodata, ["ndvi.tif", "no valid value"]),
    ("land_cover_fractional_code", _lc_fractional_code, ["land_cover.tif", "not whole numbers"]),
    ("negative_precipitation", _precipitation_negative, ["precipitation.tif", "negative", "-12.5"]),
    ("negative_population", _population_negative, ["population_total.tif", "negative"]),
    ("duplicate_unit_ids", _zones_duplicate_ids, ["zones.gpkg", "duplicate unit id", "Z1"]),
    ("truncated_geotiff", _truncated_geotiff, ["soc.tif"]),
    ("duplicate_yaml_key", _duplicate_yaml_key, ["baseline", "twice"]),
    ("soc_model_without_climate_zones",
     lambda d: _edit_yaml(d / "assessment.yaml", lambda y: y["inputs"].pop("climate_zones")),
     ["climate_factor", "climate_zones"]),
    ("transition_matrix_bad_symbol", _matrix_bad_symbol, ["matrix.yaml"]),
    ("rotated_grid", _rotated_grid, ["soc.tif", "rotated"]),
    ("chunk_size_zero", lambda d: _edit_yaml(d / "assessment.yaml", lambda y: y.update(engine={"chunk_size": 0})),
     ["chunk_size", "64"]),
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
    # validate refuses what run refuses, with the same line
    assert main(["validate", str(demo_copy / "assessment.yaml")]) == 2
    v_err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Error: ")]
    assert v_err == [err]


def test_land_cover_codes_judged_from_the_checks_scan_without_reading_again(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The land cover stage judges the codes the input checks listed while reading the series; it does not read the
    series a second time (and still names the unknown code)."""
    from openldn.land_cover import stage as lc_stage

    def read_again(da: object) -> None:
        raise AssertionError("the land cover series was read again for its legend check")

    monkeypatch.setattr(lc_stage, "_unique_values", read_again)
    assert main(["validate", str(demo_copy / "assessment.yaml")]) == 0
    _lc_unknown_code(demo_copy)
    assert main(["validate", str(demo_copy / "assessment.yaml")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Error: ")]
    assert len(err) == 1 and "77" in err[0] and "not in the legend" in err[0]


def test_validate__reports_a_valid_run_file(demo_run_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(demo_run_file)]) == 0
    assert "valid" in capsys.readouterr().out


def test_output_path_is_a_file(demo_run_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "taken"
    f.write_text("x")
    assert main(["run", str(demo_run_file), "--out", str(f)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert f.read_text() == "x"
