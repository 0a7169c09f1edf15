"""The land cover stage on synthetic GeoTIFFs: a 45-class national legend kept in the tables, regional matrices
from polygons, closest-year substitutions, the T4-T7 tables."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from shapely.geometry import box

from openldn.config import load_assessment
from openldn.core.codes import WATER
from openldn.core.grid import pixel_area

KEYS = ["tree_covered", "grassland", "cropland", "wetland", "artificial", "other_land", "water_body"]
# standard.md §4.4 (b)
DEFAULT = np.array([
    [0, -1, -1, -1, -1, -1, 0],
    [1, 0, 1, -1, -1, -1, 0],
    [1, -1, 0, -1, -1, -1, 0],
    [-1, -1, -1, 0, -1, -1, 0],
    [1, 1, 1, 1, 0, 1, 0],
    [1, 1, 1, 1, -1, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
])
NY, NX, RES, X0, Y0 = 20, 30, 0.01, 10.0, 5.0


def _code(i: np.ndarray) -> np.ndarray:
    return 200 + 3 * i


def _parent(i: np.ndarray) -> np.ndarray:
    return i % 7 + 1


@pytest.fixture
def case(tmp_path: Path) -> dict[str, Any]:
    with (tmp_path / "national.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "label", "parent"])
        for i in range(45):
            w.writerow([_code(i), f"National class {i}", KEYS[_parent(i) - 1]])
    idx = (np.arange(NY * NX).reshape(NY, NX)) % 45
    idx19 = (idx + 1) % 45
    stack = np.stack([_code(idx), _code(idx), _code(idx19), _code(idx19)]).astype(np.int16)
    da = xr.DataArray(stack, dims=("band", "y", "x"),
                      coords={"band": [1, 2, 3, 4], "y": Y0 - RES * (np.arange(NY) + 0.5),
                              "x": X0 + RES * (np.arange(NX) + 0.5)})
    da = da.rio.write_crs("EPSG:4326").rio.write_nodata(-1)
    da.rio.to_raster(tmp_path / "lc.tif")
    gpd.GeoDataFrame({"id": ["A"], "name": ["Test"]},
                     geometry=[box(X0, Y0 - NY * RES, X0 + NX * RES, Y0)], crs="EPSG:4326").to_file(tmp_path / "aoi.gpkg")
    gpd.GeoDataFrame({"region": ["W", "E"]},
                     geometry=[box(X0 - 1, Y0 - 1, X0 + 0.15, Y0 + 1), box(X0 + 0.15, Y0 - 1, X0 + 1, Y0 + 1)],
                     crs="EPSG:4326").to_file(tmp_path / "regions.gpkg")
    (tmp_path / "stable.yaml").write_text(
        "legend: unccd\ncolumns: [" + ", ".join(KEYS) + "]\nmatrix:\n" + "".join(f"  {k}: [0, 0, 0, 0, 0, 0, 0]\n"
                                                                                for k in KEYS)
    )
    return {"dir": tmp_path, "idx": idx, "idx19": idx19}


def _run(case: dict[str, Any], fake_context: Any, land_cover: dict[str, Any]) -> Any:
    from openldn.land_cover import stage

    a = load_assessment(
        {"name": "t", "aoi": "aoi.gpkg",
         "inputs": {"land_cover": {"path": "lc.tif", "legend": "national.csv"}},
         "land_cover": land_cover},
        base_dir=case["dir"], check_files=False,
    )
    ctx = fake_context(a, {"land_cover": (case["dir"] / "lc.tif", [2001, 2015, 2019, 2022])})
    stage.run(ctx)
    return ctx


def _region_raster(case: dict[str, Any]) -> None:
    # codes 3 (west, 15 columns) and 8 (east), on a grid extending beyond the land cover (cropped on alignment)
    nx = NX + 10
    reg = np.where(np.arange(nx)[None, :] < 15, 3, 8).repeat(NY, axis=0).astype(np.int16)
    da = xr.DataArray(reg, dims=("y", "x"), coords={"y": Y0 - RES * (np.arange(NY) + 0.5),
                                                   "x": X0 + RES * (np.arange(nx) + 0.5)})
    da.rio.write_crs("EPSG:4326").rio.to_raster(case["dir"] / "regions.tif")


@pytest.mark.parametrize("regions", ["polygons", "raster"])
def test_stage__national_legend_regions_and_substitutions(case: dict[str, Any], fake_context: Any,
                                                          regions: str) -> None:
    if regions == "polygons":
        ropts = {"path": "regions.gpkg", "id_field": "region", "matrices": {"W": "unccd_default", "E": "stable.yaml"}}
    else:
        _region_raster(case)
        ropts = {"path": "regions.tif", "matrices": {"3": "unccd_default", "8": "stable.yaml"}}
    ctx = _run(case, fake_context, {"regions": ropts})
    # substitutions recorded (check C5): 2001 for 2000 and 2022 for 2023
    assert any("2001 used for 2000" in s for s in ctx.substitutions)
    assert any("2022 used for 2023" in s for s in ctx.substitutions)
    # UNCCD classes
    lc = ctx.layers["lc_unccd"].compute().values
    np.testing.assert_array_equal(lc[0], _parent(case["idx"]))
    # regional matrices: west (x < 10.15, 15 columns) default matrix, east all stable
    deg = ctx.layers["lc_degradation/2016-2023"].compute().values
    p0, p1 = _parent(case["idx"]), _parent(case["idx19"])
    expected = np.where(np.arange(NX)[None, :] < 15, DEFAULT[p0 - 1, p1 - 1], 0)
    np.testing.assert_array_equal(deg, expected)
    assert (ctx.layers["lc_degradation/2000-2015"].compute().values == 0).all()
    # T4 in the national legend keeps all 45 classes, with areas from the cell areas
    area = pixel_area(ctx.template).values / 1e6
    t4 = ctx.tables["lc_area"]
    nat = t4[(t4.variable == "land_cover_national") & (t4.period == "2019") & (t4.zone_id == "ALL")]
    assert sorted(nat.class_code[nat.class_code != -32768]) == sorted(_code(np.arange(45)).tolist())
    for i in range(45):
        row = nat[nat.class_code == _code(i)]
        assert row.area_km2.item() == pytest.approx(area[case["idx19"] == i].sum(), rel=1e-9)
    assert set(t4[t4.variable == "land_cover"].period) == {"2000", "2015", "2019", "2023"}
    # T5/T6 crosstab and T7 areas agree with the degradation layer
    t7 = ctx.tables["lc_degradation"]
    rep = t7[(t7.period == "2016-2023") & (t7.zone_id == "ALL")].set_index("class_code").area_km2
    in_table = np.where(p0 == 7, WATER, expected)  # the ledger's water (baseline's initial year) has its own row
    for code in (-1, 0, 1, WATER):
        assert rep[code] == pytest.approx(area[in_table == code].sum(), rel=1e-9)
    t6 = ctx.tables["lc_transitions"]
    t6 = t6[(t6.period == "2016-2023") & (t6.zone_id == "ALL")]
    assert t6.area_km2.sum() == pytest.approx(area.sum(), rel=1e-9)
    assert ctx.provenance["land_cover"]["years"]["2000-2015"] == {"initial": 2001, "final": 2015}


def test_stage__gap_too_large_is_an_error(case: dict[str, Any], fake_context: Any) -> None:
    from openldn.exceptions import MissingYearError

    with pytest.raises(MissingYearError, match="2000"):
        _run(case, fake_context, {"max_year_gap": 0})


def test_stage__national_n_by_n_matrix(case: dict[str, Any], fake_context: Any) -> None:
    # a 45 x 45 matrix on the national legend, rows and columns written as class codes: sign(final - initial)
    codes = _code(np.arange(45))
    lines = ["initial," + ",".join(str(c) for c in codes)]
    for i in range(45):
        lines.append(f"{codes[i]}," + ",".join(str(int(np.sign(j - i))) for j in range(45)))
    (case["dir"] / "national_matrix.csv").write_text("\n".join(lines) + "\n")
    ctx = _run(case, fake_context, {"transition_matrix": "national_matrix.csv"})
    deg = ctx.layers["lc_degradation/2016-2023"].compute().values
    np.testing.assert_array_equal(deg, np.sign(case["idx19"] - case["idx"]))
    t = ctx.tables["lc_transitions"]
    assert "land_cover_transition_national" in set(t.variable)
    assert ctx.provenance["land_cover"]["transition_matrix_legend"] == "national"
