"""Drought stage end to end: real CHIRPS + WorldPop (Sierra de Neiba), and the demo's planted drought."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from openldn.core.codes import NODATA
from openldn.drought import stage
from openldn.drought.options import DroughtOptions
from openldn.exceptions import ConfigError

os.environ.setdefault("CLIMATE_INDICES_LOG_LEVEL", "ERROR")

SN = "sierra_de_neiba"


def _context(stage_context, shared_data, **opts):
    from openldn.core.grid import pixel_area
    from openldn.io import geobox_of, open_raster, read_vector
    from openldn.zonal import build_coverage

    pr = open_raster(shared_data / SN / "chirps_precip_monthly_1981-01_2023-09.tif")
    pop = open_raster(shared_data / SN / "worldpop_population_2000_2020.tif")
    gb = geobox_of(pop)  # analysis grid: the WorldPop grid (30"), finer than CHIRPS (0.05°)
    aoi = read_vector(shared_data / SN / "study_area.gpkg")
    cov = build_coverage(gb, aoi=aoi)
    return stage_context(
        geobox=gb, area=pixel_area(pop.isel(time=0)), coverage=cov,
        inputs_raw={"precipitation": pr, "population_total": pop},
        drought=DroughtOptions(**opts), base_dir=Path(__file__).parent,
    )


def _reference_classes(shared_data) -> np.ndarray:
    """December SPI-12 of every CHIRPS cell from climate-indices, classified with Table 19 read directly."""
    import rioxarray
    from climate_indices import compute, indices

    da = rioxarray.open_rasterio(shared_data / SN / "chirps_precip_monthly_1981-01_2023-09.tif")
    v = da.values.astype(float)
    out = np.full((23, v.shape[1], v.shape[2]), NODATA)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(v.shape[1]):
            for i in range(v.shape[2]):
                s = indices.spi(np.concatenate([v[:, j, i], np.full(3, np.nan)]), 12, indices.Distribution.gamma,
                                1981, 1981, 2010, compute.Periodicity.monthly)
                dec = s[(2000 - 1981) * 12 + 11 :: 12][:23]
                out[:, j, i] = np.select([dec > 0, dec > -1, dec > -1.5, dec > -2], [0, 1, 2, 3], 4)
    return out


@pytest.mark.realdata
def test_stage__sierra_de_neiba_chirps_worldpop(shared_data, stage_context, tmp_path):
    pytest.importorskip("climate_indices")
    factors = tmp_path / "dvi.csv"
    factors.write_text(
        "year,factor,sex,value\n2000,literacy_rate,total,87\n2020,literacy_rate,total,94\n"
        "2000,poverty_rate,total,6.1\n2020,poverty_rate,total,0.9\n"
        "2000,safe_drinking_water,total,39\n2020,safe_drinking_water,total,46\n"
    )
    ctx = _context(stage_context, shared_data, dvi_factors=str(factors))
    stage.run(ctx)

    # the class layer at the CHIRPS cell centres equals classes of climate-indices' SPI (2000-2022)
    classes = ctx.layers["drought_class"]
    assert classes.dtype == np.int16 and classes.sizes["time"] == 24
    ref = _reference_classes(shared_data)
    xs = -71.80 + 0.05 * (np.arange(9) + 0.5)
    ys = 18.70 - 0.05 * (np.arange(2) + 0.5)
    got = classes.sel(x=xs, y=ys, method="nearest").isel(time=slice(0, 23)).values
    np.testing.assert_array_equal(got, ref)
    # December 2023 is missing: nodata, and recorded
    assert (classes.isel(time=-1).values == NODATA).all()
    assert any("of 2023 is not in the data" in s for s in ctx.substitutions)
    assert sum("population_total: 2020 used for" in s for s in ctx.substitutions) == 3

    from openldn.zonal import zonal_sum_table

    # SO3-1: every year's classes (nodata included) add up to the AOI area
    area = ctx.tables["drought_area"]
    tot = area[area.zone_id == "ALL"].groupby("period")["area_km2"].sum()
    from openldn.zonal import class_area_table

    ones = (classes.isel(time=0, drop=True) * 0 + 1).astype(np.int16)
    whole_area = class_area_table(ones, ctx.coverage, ctx.area, variable="aoi")
    aoi_km2 = float(whole_area[whole_area.zone_id == "ALL"]["area_km2"].sum())
    np.testing.assert_allclose(tot.to_numpy(), aoi_km2, rtol=1e-9)
    assert 600 < aoi_km2 < 700
    wide = area[area.zone_id == "ALL"].pivot_table(index="period", columns="class_code", values="area_km2")
    assert wide.loc["2019", 4] > 0.95 * wide.loc["2019"].drop(NODATA).sum()  # 2019: driest year, extreme

    # SO3-2: population by class adds up to the population of the AOI, every year

    popt = ctx.tables["drought_population"]
    by_year = popt[(popt.zone_id == "ALL") & (popt.variable == "population_total")].groupby("period")["value"].sum()
    pop = ctx.input("population_total").fillna(0.0)
    pop = pop.assign_coords(y=classes["y"].values, x=classes["x"].values)
    whole = zonal_sum_table(pop, ctx.coverage, variable="population_total")
    whole = whole[whole.zone_id == "ALL"].set_index("period")["value"]
    for y in range(2000, 2021):
        assert by_year[str(y)] == pytest.approx(whole[str(y)], rel=1e-9)
    assert by_year["2023"] == pytest.approx(whole["2020"], rel=1e-9)  # nearest year filled

    # maps: 24 annual class maps, 6 maximum-intensity windows over all 4 years, 6 exposure maps
    assert sum(k.startswith("drought_class/") for k in ctx.rasters) == 24
    maxima = [k for k in ctx.rasters if k.startswith("drought_max/")]
    assert maxima == [f"drought_max/{y}-{y + 3}" for y in range(2000, 2024, 4)]
    w = ctx.rasters["drought_max/2016-2019"].values
    expected = np.where((classes.isel(time=slice(16, 20)) == NODATA).all("time"), NODATA,
                        classes.isel(time=slice(16, 20)).where(classes.isel(time=slice(16, 20)) != NODATA).max("time"))
    np.testing.assert_array_equal(w, expected)

    # SO3-3
    dvi = ctx.tables["dvi"]
    assert dvi["value"].between(0, 1).all() and list(dvi["period"]) == ["2000", "2020"]
    assert ctx.tables["dvi_trend"].loc[0, "direction"] == "Decreasing vulnerability"


@pytest.mark.realdata
def test_stage__lower_inclusive_option(shared_data, stage_context):
    ctx = _context(stage_context, shared_data, class_boundaries="lower_inclusive", years="2012-2019",
                   window_start=2012)
    stage.run(ctx)
    assert ctx.layers["drought_class"].attrs["boundaries"] == "lower_inclusive"
    assert [k for k in ctx.rasters if k.startswith("drought_max/")] == ["drought_max/2012-2015",
                                                                         "drought_max/2016-2019"]
    assert set(ctx.tables["drought_area"]["period"]) == {str(y) for y in range(2012, 2020)}


def test_options__preset_keys_and_validation():
    from pydantic import ValidationError

    from openldn.core.vocab import load_preset

    preset = load_preset("prais_2026_te")["drought"]
    opts = DroughtOptions(**preset)
    assert (opts.scale, opts.calibration, opts.distribution, opts.class_boundaries) == (
        12, "1981-2010", "gamma", "upper_inclusive")
    with pytest.raises(ValidationError):
        DroughtOptions(unknown=1)
    with pytest.raises(ValidationError):
        DroughtOptions(calibration="1981 to 2010")


@pytest.mark.slow
def test_stage__demo_planted_drought_shows(tmp_path):
    from openldn.datasets import demo_truth, make_demo
    from openldn.pipeline import run_assessment

    run_file = make_demo(tmp_path / "inputs", size=120)
    res = run_assessment(run_file, tmp_path / "out", stages=["drought"])
    truth = demo_truth(Path(run_file).parent)["drought"]
    year = truth["years"][0]
    import rioxarray

    cog = rioxarray.open_rasterio(tmp_path / "out" / "maps" / f"drought_class_{year}.tif").isel(band=0)
    w, s_, e, n = truth["bbox"]
    inside = cog.sel(x=slice(w, e), y=slice(n, s_)).values
    inside = inside[inside != NODATA]
    assert inside.size > 0 and (inside == truth["expected"]["drought_class"][str(year)]).mean() >= 0.8
    area = res.tables["drought_area"]
    assert area[(area.period == str(year)) & (area.class_code == 4)]["area_km2"].max() > 0
    assert isinstance(res.tables["drought_population"], pd.DataFrame)


@pytest.mark.realdata
def test_stage__water_split_off_and_sex_groups(shared_data, stage_context):
    from openldn.core.periods import year_coords
    from openldn.zonal import class_area_table

    ctx = _context(stage_context, shared_data, years="2018-2019", window_start=2016)
    pop = ctx.inputs_raw.pop("population_total")
    ctx.inputs_raw["population_female"] = pop * 0.5
    ctx.inputs_raw["population_male"] = pop * 0.5
    lc = xr.zeros_like(pop.isel(time=slice(0, 1)), dtype=np.int16) + 1
    lc[:, :3, :4] = 7
    lc = lc.assign_coords(time=year_coords([2015]))
    ctx.layers["lc_unccd"] = lc
    stage.run(ctx)
    area = ctx.tables["drought_area"]
    water = area[(area.zone_id == "ALL") & (area.class_code == -2)]
    ref = class_area_table((lc.isel(time=0, drop=True) == 7).astype(np.int16), ctx.coverage, ctx.area, variable="w")
    ref_km2 = float(ref[(ref.zone_id == "ALL") & (ref.class_code == 1)]["area_km2"].iloc[0])
    assert len(water) == 2 and np.allclose(water["area_km2"], ref_km2) and ref_km2 > 0
    popt = ctx.tables["drought_population"]
    sums = popt[popt.zone_id == "ALL"].groupby(["period", "variable"])["value"].sum().unstack()
    np.testing.assert_allclose(sums["population_total"], sums["population_female"] + sums["population_male"])


@pytest.mark.realdata
def test_stage__tier3_gridded_dvi(shared_data, stage_context, tmp_path):
    ctx = _context(stage_context, shared_data, years="2019-2019", window_start=2019)
    base = ctx.inputs_raw["population_total"].isel(time=0, drop=True).astype("float32").compute()
    rng = np.random.default_rng(0)
    paths = {}
    for f in ("literacy_rate", "poverty_rate", "safe_drinking_water"):
        p = tmp_path / f"{f}.tif"
        base.copy(data=rng.uniform(10, 90, base.shape).astype("float32")).rio.to_raster(p)
        paths[f] = str(p)
    ctx.drought = DroughtOptions(years="2019-2019", window_start=2019, dvi_grids=paths)
    stage.run(ctx)
    dvi_map = ctx.rasters["dvi/static"]
    assert float(dvi_map.min()) >= 0.0 and float(dvi_map.max()) <= 1.0
    tab = ctx.tables["dvi"]
    value = float(tab[tab.zone_id == "ALL"]["value"].iloc[0])
    assert 0.3 < value < 0.7  # uniform random factors: about 0.5
    assert ctx.tables["dvi_trend"].loc[0, "direction"] == "Unknown"


@pytest.mark.realdata
def test_stage__spei_option(shared_data, stage_context):
    ctx = _context(stage_context, shared_data, index="spei", distribution="loglogistic", years="2018-2019",
                   window_start=2016)
    with pytest.raises(ConfigError, match="pet"):
        stage.run(ctx)
    pr = ctx.inputs_raw["precipitation"]
    ctx.inputs_raw["pet"] = (pr.astype("float32") * 0 + 90.0).assign_attrs(pr.attrs)
    stage.run(ctx)
    assert "SPEI-12" in ctx.layers["drought_class"].attrs["long_name"]
    assert set(ctx.tables["drought_area"]["period"]) == {"2018", "2019"}
