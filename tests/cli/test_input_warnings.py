"""Warnings about the inputs: printed by validate and run, fatal with --strict (same line)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from openldn.cli.main import main


@pytest.fixture
def half_ndvi(demo_run_file: Path, tmp_path: Path) -> Path:
    import rasterio

    d = tmp_path / "inputs"
    shutil.copytree(demo_run_file.parent, d)
    with rasterio.open(d / "ndvi.tif") as src:
        a = src.read()
        profile = src.profile
        desc = src.descriptions
    a[:, :, 60:] = -32768  # the eastern half of the area has no vegetation index
    with rasterio.open(d / "ndvi2.tif", "w", **profile) as dst:
        dst.write(a)
        for i, t in enumerate(desc, start=1):
            dst.set_band_description(i, t)
        dst.scales = [0.0001] * a.shape[0]
    (d / "ndvi2.tif").replace(d / "ndvi.tif")
    return d / "assessment.yaml"


def test_partial_coverage_warns_and_strict_refuses(half_ndvi: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(half_ndvi)]) == 0
    err = capsys.readouterr().err
    (line,) = [ln for ln in err.splitlines() if "covers only" in ln]
    share = float(line.split("covers only ")[1].split(" %")[0])
    assert 40 < share < 60 and "ndvi.tif" in line
    assert main(["validate", "--strict", str(half_ndvi)]) == 2
    strict = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("Error: ")]
    assert len(strict) == 1 and "covers only" in strict[0] and "--strict" in strict[0]


def test_overlapping_units_warn(demo_run_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import geopandas as gpd

    d = tmp_path / "inputs"
    shutil.copytree(demo_run_file.parent, d)
    z = gpd.read_file(d / "zones.gpkg")
    z.loc[0, "geometry"] = z.geometry.iloc[0].union(z.geometry.iloc[1].buffer(-0.005))  # unit 1 swallows part of 2
    z.to_file(d / "zones.gpkg")
    assert main(["validate", str(d / "assessment.yaml")]) == 0
    assert "admin units overlap" in capsys.readouterr().err
    assert main(["validate", "--strict", str(d / "assessment.yaml")]) == 2


def test_checks_judge_hand_built_arrays() -> None:
    """The rules on tiny arrays whose verdicts are worked by hand."""
    import geopandas as gpd
    import xarray as xr
    from shapely.geometry import box

    from openldn.io.checks import check_inputs

    def grid(values: np.ndarray, years: list[int]) -> xr.DataArray:
        n = values.shape[-1]
        da = xr.DataArray(values, dims=("time", "y", "x"),
                          coords={"time": [np.datetime64(f"{y}-01-01") for y in years],
                                  "y": 10 - (np.arange(n) + 0.5), "x": np.arange(n) + 0.5})
        return da.rio.write_crs("EPSG:4326")

    aoi = gpd.GeoDataFrame(geometry=[box(0, 6, 4, 10)], crs=4326)
    ok = grid(np.full((2, 4, 4), 0.5, np.float32), [2000, 2001])
    assert check_inputs({"ndvi": ok}, aoi, specs={}, source="t") == []
    big = grid(np.full((2, 4, 4), 5000, np.int16), [2000, 2001])
    (f,) = check_inputs({"ndvi": big}, aoi, specs={}, source="t")
    assert f.level == "error" and "scale: 0.0001" in f.message
    neg = grid(np.array([[[1.0, 2, 3, -0.5]] * 4] * 2, np.float32), [2000, 2001])
    (f,) = check_inputs({"precipitation": neg}, aoi, specs={}, source="t")
    assert "negative values (down to -0.5)" in f.message
    frac = grid(np.array([[[10, 20, 30, 10.5]] * 4] * 2, np.float32), [2000, 2001])
    (f,) = check_inputs({"land_cover": frac}, aoi, specs={}, source="t")
    assert "not whole numbers" in f.message
