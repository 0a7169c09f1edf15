"""Real cases end to end: Sierra de Neiba (CGLS-LC100 2015-2019 + WHRC SOC, Tier 1 model through both stages) and
Alaska (WHRC SOC 1990 and 2010 real stocks, degradation straight from the two stocks)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import rioxarray
import xarray as xr

from openldn.config import load_assessment
from openldn.core.grid import pixel_area
from openldn.core.periods import year_coords

pytestmark = pytest.mark.realdata


def _non_water_total(df: pd.DataFrame, period: str) -> float:
    d = df[(df.zone_id == "ALL") & (df.period == period) & (df.class_code != 7)]
    return float(d.area_km2.sum())


def test_sierra_de_neiba__land_cover_and_soc_stages(shared_data: Path, fake_context: Any) -> None:
    d = shared_data / "sierra_de_neiba"
    a = load_assessment(
        {
            "name": "Sierra de Neiba",
            "baseline": "2015-2017",
            "reporting": ["2017-2019"],
            "aoi": "study_area.gpkg",
            "inputs": {
                "land_cover": {"path": "cgls_lc100_landcover_2015_2019.tif", "legend": "cgls_lc100"},
                "soc": {"path": "soc_stock_0_30cm_2010.tif"},
                "climate_zones": {"path": "ipcc_climate_zones.tif"},
            },
            "land_cover": {"reporting_lc_start": None},
            "soil_carbon": {"stocks": "model", "reference_year": 2015},
        },
        base_dir=d,
        check_files=False,
    )
    ctx = fake_context(a, {
        "land_cover": (d / "cgls_lc100_landcover_2015_2019.tif", [2015, 2016, 2017, 2018, 2019]),
        "soc": (d / "soc_stock_0_30cm_2010.tif", None),
        "climate_zones": (d / "ipcc_climate_zones.tif", None),
    })
    from openldn.land_cover import stage as lc_stage
    from openldn.pipeline import land_area
    from openldn.soil_carbon import stage as soc_stage

    t0 = time.perf_counter()
    lc_stage.run(ctx)
    land_area.run(ctx)
    soc_stage.run(ctx)
    elapsed = time.perf_counter() - t0
    print(f"Sierra de Neiba land_cover + land_area + soil_carbon stages: {elapsed:.1f} s")

    # every CGLS pixel maps to a UNCCD class (no nodata inside the raster)
    lc = ctx.layers["lc_unccd"].compute()
    assert int((lc == -32768).sum()) == 0
    # class counts of 2019 against the product's class table (independent per-class pixel counts)
    table = pd.read_csv(d / "cgls_lc100_class_codes.csv")
    forest = table[table["code"].between(111, 126)]["n_pixels_2019"].sum()
    assert int((lc.isel(time=4) == 1).sum()) == forest
    assert int((lc.isel(time=4) == 7).sum()) == 1  # the one permanent-water pixel of 2019
    assert int((lc.isel(time=4) == 4).sum()) == 2  # the two herbaceous-wetland pixels

    # LC degradation: grassland -> wetland (2 px, 2015 -> 2017) is degradation; grassland -> water stable
    deg_b = ctx.layers["lc_degradation/2015-2017"].compute()
    deg_r = ctx.layers["lc_degradation/2017-2019"].compute()
    assert int((deg_b == -1).sum()) == 2 and int((deg_b == 1).sum()) == 0
    assert int((deg_r != 0).sum()) == 0

    # SOC: no transition with F != 1 happens (grass -> wetland and grass -> water have F = 1), so every stock
    # equals the reference stock and SOC is stable everywhere with data
    soc_in = ctx.input("soc").squeeze().compute()
    s2019 = ctx.layers["soc/2019"].compute()
    valid = np.isfinite(s2019.values)
    np.testing.assert_allclose(s2019.values[valid], soc_in.values[valid])
    for label in ("2015-2017", "2017-2019"):
        sd = ctx.layers[f"soc_degradation/{label}"].compute()
        assert sd.dtype == np.int16
        assert set(np.unique(sd.values).tolist()) <= {0, -32768}

    # one land area: the non-water rows of every degradation table sum to the same total, and equal the land
    # (plus no-data) area of the baseline's initial year in the land_area table
    la = ctx.tables["land_area"]
    la15 = la[(la.zone_id == "ALL") & (la.period == "2015") & (la.class_code != 2)].area_km2.sum()
    for label in ("2015-2017", "2017-2019"):
        lc_total = _non_water_total(ctx.tables["lc_degradation"], label)
        soc_total = _non_water_total(ctx.tables["soc_degradation"], label)
        assert lc_total == pytest.approx(soc_total, rel=1e-12)
        assert lc_total == pytest.approx(la15, rel=1e-12)
    # T1: mean stock per class for each year, T4 area per class per year
    t1 = ctx.tables["soc_by_lc"]
    assert set(t1.period) == {"2015", "2017", "2019"}
    t4 = ctx.tables["lc_area"]
    forest_km2 = t4[(t4.period == "2019") & (t4.class_code == 1) & (t4.zone_id == "ALL")].area_km2.item()
    lcd = ctx.tables["lc_degradation"]
    lc_deg_km2 = lcd[(lcd.period == "2015-2017") & (lcd.class_code == -1) & (lcd.zone_id == "ALL")].area_km2.sum()
    print(f"Sierra de Neiba tree-covered 2019: {forest_km2:.2f} km2; LC degraded 2015-2017: {lc_deg_km2:.4f} km2")
    assert 500 < forest_km2 < 650
    assert {"lc_unccd/2015", "lc_degradation/2015-2017", "soc/2019", "soc_degradation/2017-2019"} <= {o["key"] for o in ctx.outputs}


def _alaska_stocks(d: Path) -> xr.DataArray:
    parts = [rioxarray.open_rasterio(d / f"soc_stock_0_30cm_{y}.tif").squeeze("band", drop=True) for y in (1990, 2010)]
    st = xr.concat(parts, dim="time").assign_coords(time=year_coords([1990, 2010]))
    st.attrs["_FillValue"] = -32767
    return st


def test_alaska__soc_degradation_from_two_real_stocks(shared_data: Path, fake_context: Any) -> None:
    from openldn.soil_carbon import degradation

    d = shared_data / "alaska"
    stocks = _alaska_stocks(d)
    s0, s1 = stocks.isel(time=0), stocks.isel(time=1)
    t0 = time.perf_counter()
    deg = degradation(s0.chunk(100), s1.chunk(100)).compute()
    elapsed = time.perf_counter() - t0
    # independent expectation, straight from the two integer stocks
    a, b = s0.values.astype(float), s1.values.astype(float)
    ok = (a != -32767) & (b != -32767) & (a > 0)
    assert int(((a != b) & (a != -32767) & (b != -32767)).sum()) == 10  # README: 10 cells differ
    rel = np.where(ok, (b - a) / np.where(ok, a, 1), 0)
    expected = np.where(~ok, -32768, np.where(rel < -0.1, -1, np.where(rel > 0.1, 1, 0)))
    np.testing.assert_array_equal(deg.values, expected)
    area = pixel_area(s0).values / 1e6
    deg_km2 = area[deg.values == -1].sum()
    imp_km2 = area[deg.values == 1].sum()
    print(f"Alaska SOC 1990-2010: degraded {deg_km2:.1f} km2 ({int((deg.values == -1).sum())} cells), improved "
          f"{imp_km2:.1f} km2, stable {area[deg.values == 0].sum():.0f} km2, nodata cells with zero stock "
          f"{int(((a == 0) & (b != -32767)).sum())}; {elapsed:.2f} s")

    # the stage with the real stocks as input (stocks: input), on the state polygon
    asm = load_assessment(
        {"name": "Alaska", "baseline": "1990-2010", "reporting": [], "aoi": "alaska_boundary.gpkg",
         "grid": {"reference": "soc"}, "inputs": {"soc": {"path": "soc_stock_0_30cm_1990.tif"}}},
        base_dir=d, check_files=False,
    )
    ctx = fake_context(asm, {"soc": stocks}, reference="soc")
    from openldn.soil_carbon import stage as soc_stage

    soc_stage.run(ctx)
    np.testing.assert_array_equal(ctx.layers["soc_degradation/1990-2010"].compute().values, expected)
    t2 = ctx.tables["soc_degradation"]
    assert set(t2.class_code) >= {-1, 0, 1, -32768}
    total = t2[t2.zone_id == "ALL"].area_km2.sum()
    print(f"Alaska AOI area in the SOC table: {total:.0f} km2")
    assert 1.2e6 < total < 1.6e6
