"""Real case-study data: open, align onto one grid, and compute per-zone area tables.

Independent references: exactextract (another exact polygon/cell coverage implementation) for coverage-weighted
class areas, equal-area projected polygon areas (EPSG:6933 / EPSG:3035) for zone areas, and plain numpy for the
rest. Skipped when ../shared/data is absent.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from openldn.core.codes import NODATA
from openldn.core.grid import pixel_area
from openldn.io import align, analysis_grid, geobox_of, open_raster, read_vector
from openldn.zonal import (
    build_coverage,
    class_area_table,
    crosstab_area_table,
    zonal_mean_table,
    zonal_sum_table,
)

pytestmark = pytest.mark.realdata


def _grid_template(gb):
    import xarray as xr

    from openldn.io import attach_grid

    return attach_grid(xr.DataArray(np.zeros((gb.shape.y, gb.shape.x), "uint8"), dims=("y", "x")), gb)


def _equal_area_km2(gdf: gpd.GeoDataFrame) -> float:
    g = gdf.to_crs("EPSG:4326").geometry.union_all()
    return float(gpd.GeoSeries([shapely.segmentize(g, 0.01)], crs="EPSG:4326").to_crs("EPSG:6933").area.iloc[0]) * 1e-6


def _exactextract_class_areas(classes: np.ndarray, gb, geom_gdf: gpd.GeoDataFrame, area: np.ndarray) -> pd.Series:
    """Coverage-weighted class areas (km²) from exactextract's coverage fractions."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    b = gb.extent.boundingbox
    src = NumPyRasterSource(np.zeros(classes.shape), b.left, b.bottom, b.right, b.top, srs_wkt=gb.crs.to_wkt())
    g = gpd.GeoDataFrame(geometry=[geom_gdf.to_crs(gb.crs.to_wkt()).geometry.union_all()], crs=gb.crs.to_wkt())
    out = exact_extract(src, g, ["cell_id", "coverage"], output="pandas").iloc[0]
    cells = np.asarray(out["cell_id"], dtype=np.int64)
    w = np.asarray(out["coverage"]) * area.reshape(-1)[cells] * 1e-6
    return pd.Series(w).groupby(classes.reshape(-1)[cells]).sum()


def test_alaska_land_class_per_state(shared_data):
    d = shared_data / "alaska"
    lc = open_raster(d / "land_class.tif")
    ndvi = open_raster(d / "ndvi_annual_1982_2013.tif")
    soc = open_raster([d / "soc_stock_0_30cm_1990.tif", d / "soc_stock_0_30cm_2010.tif"])
    zones_all = read_vector(shared_data / "boundaries" / "ne_50m_admin1_states_provinces.gpkg",
                            id_field="adm1_code", name_field="name")
    aoi = read_vector(d / "alaska_boundary.gpkg")
    gb = analysis_grid(lc, aoi)
    assert gb.crs == geobox_of(lc).crs and gb.resolution.x == pytest.approx(1 / 12)
    lc_a = align(lc, gb, kind="categorical")
    ndvi_a = align(ndvi, gb, kind="continuous")
    soc_a = align(soc, gb, kind="continuous")
    assert lc_a.shape == ndvi_a.shape[1:] == soc_a.shape[1:]
    zones = zones_all[zones_all["admin"].isin(["United States of America", "Canada"])]
    cov = build_coverage(gb, aoi=aoi, zones=zones, id_field="adm1_code", name_field="name")
    area = pixel_area(_grid_template(gb))
    t = class_area_table(lc_a, cov, area, variable="land_class")
    zone_area = t.groupby("zone_id", sort=False)["area_km2"].sum()
    # The AOI (incl. the panhandle beyond the raster, as nodata) matches its equal-area size
    assert zone_area["ALL"] == pytest.approx(_equal_area_km2(aoi), rel=2e-3)
    ak = zones.loc[zones["name"] == "Alaska", "adm1_code"].iloc[0]
    assert zone_area[ak] == pytest.approx(zone_area["ALL"], rel=1e-3)
    others = zone_area.drop(["ALL", ak])
    assert others.sum() < 1e-3 * zone_area["ALL"]  # neighbours clipped to the AOI: (almost) nothing left
    # Class areas agree with exactextract coverage fractions (independent implementation)
    ee = _exactextract_class_areas(np.asarray(lc_a.values), gb, aoi, area.values)
    ours = t[t.zone_id == "ALL"].set_index("class_code")["area_km2"]
    ee.index = [NODATA if c == 0 else int(c) for c in ee.index]
    ee = ee.groupby(level=0).sum()
    for code, val in ee.items():
        assert ours.loc[code] == pytest.approx(val, rel=1e-6), code
    # Shrubland (6), savanna (7), grassland (8) dominate, as the README says
    top = ours.drop(NODATA).sort_values(ascending=False).index[:3]
    assert set(top) == {6, 7, 8}
    # SOC mean per land class, 1990: t/ha in the README's range
    m = zonal_mean_table(soc_a.isel(time=0), cov, area, by=lc_a, variable="soc", period="1990")
    vals = m[(m.zone_id == "ALL") & m.class_code.isin([6, 7, 8])]["value"]
    assert ((vals > 0) & (vals < 386)).all()


def test_sierra_de_neiba_land_cover_and_population(shared_data):
    d = shared_data / "sierra_de_neiba"
    lc = open_raster(d / "cgls_lc100_landcover_2015_2019.tif")
    assert list(pd.DatetimeIndex(lc.time.values).year) == [2015, 2016, 2017, 2018, 2019]
    pop = open_raster(d / "worldpop_population_2000_2020.tif")
    pr = open_raster(d / "chirps_precip_monthly_1981-01_2023-09.tif", time="monthly")
    assert pr.sizes["time"] == 513
    tree = open_raster(d / "hansen_gfc_v1.11_treecover2000.tif")
    soc = open_raster(d / "soc_stock_0_30cm_1990.tif")
    study = read_vector(d / "study_area.gpkg", id_field="id", name_field="name")
    gb = analysis_grid(lc, study)
    lc_a = align(lc, gb, kind="categorical")
    cov = build_coverage(gb, aoi=study, zones=study, id_field="id", name_field="name")
    area = pixel_area(_grid_template(gb))
    t = class_area_table(lc_a, cov, area, variable="land_cover")
    assert set(t.period) == {"2015", "2016", "2017", "2018", "2019"}
    tot = t.groupby(["period", "zone_id"])["area_km2"].sum()
    study_km2 = _equal_area_km2(study)
    assert np.allclose(tot.to_numpy(), study_km2, rtol=2e-4)
    # 2017 and 2018 are identical files: identical tables
    a17 = t[t.period == "2017"].drop(columns="period").reset_index(drop=True)
    a18 = t[t.period == "2018"].drop(columns="period").reset_index(drop=True)
    pd.testing.assert_frame_equal(a17, a18)
    # transitions 2015 -> 2019: almost everything on the diagonal (very few changes)
    x = crosstab_area_table(lc_a.isel(time=0), lc_a.isel(time=4), cov, area, variable="lc_transitions")
    xa = x[x.zone_id == "ALL"]
    diag = xa[xa.class_code_a == xa.class_code_b]["area_km2"].sum()
    assert diag / xa["area_km2"].sum() > 0.999
    # Population: sum-conserving alignment of the 30" WorldPop grid onto the 100 m grid
    wp_box = gpd.GeoDataFrame(geometry=[shapely.box(*pop.rio.bounds())], crs="EPSG:4326")
    gb_wide = analysis_grid(lc, wp_box)
    pop_a = align(pop.isel(time=[0, 20]), gb_wide, kind="count")
    np.testing.assert_allclose(np.nansum(pop_a.values, axis=(1, 2)), pop.isel(time=[0, 20]).sum(("y", "x")).values,
                               rtol=1e-6)
    assert float(pop.isel(time=0).sum()) == pytest.approx(24_899, abs=1)
    # Population inside the study area by land cover class
    pop_s = align(pop.isel(time=20), gb, kind="count")
    s = zonal_sum_table(pop_s, cov, by=lc_a.isel(time=4), variable="population_total", period="2020")
    assert 0 < s[s.zone_id == "ALL"]["value"].sum() < 26_257 + 1
    # Precipitation (coarser, continuous), tree cover (finer, mode/average) and SOC land on the grid
    pr_a = align(pr.isel(time=slice(0, 12)), gb, kind="continuous")
    vals = pr_a.values
    assert np.nanmin(vals) >= 1 and np.nanmax(vals) <= 603
    tree_a = align(tree, gb, kind="continuous")
    assert np.nanmax(tree_a.values) <= 100
    soc_a = align(soc, gb, kind="continuous")
    v = soc_a.values[np.isfinite(soc_a.values)]
    assert v.size and v.min() >= 57 - 1e-3 and v.max() <= 109 + 1e-3


def test_catalonia_equal_area_cells(shared_data):
    d = shared_data / "catalonia"
    sb = open_raster(d / "standing_biomass_2000_2016.tif")
    assert sb.rio.crs.to_epsg() == 3035
    assert sb.sizes == {"time": 17, "y": 120, "x": 120}
    aoi = gpd.GeoDataFrame({"name": ["Catalonia window"]}, geometry=[shapely.box(*sb.rio.bounds())],
                           crs=sb.rio.crs)
    gb = analysis_grid(sb, aoi)
    sb_a = align(sb, gb, kind="continuous")
    area = pixel_area(_grid_template(gb))
    # EPSG:3035 is equal-area: every cell is 500 m x 500 m of true ground area
    np.testing.assert_allclose(area.values, 250_000.0, rtol=1e-6)
    cov = build_coverage(gb, aoi=aoi)
    classes = (sb_a.isel(time=5) > 15).astype("int16").where(np.isfinite(sb_a.isel(time=5)), NODATA).astype("int16")
    t = class_area_table(classes, cov, area, variable="biomass_above_15", period="2005")
    assert t["area_km2"].sum() == pytest.approx(120 * 120 * 0.25, rel=1e-9)
    n_nan = int(np.isnan(sb.isel(time=5).values).sum())
    assert n_nan == 877
    assert t.set_index("class_code").loc[NODATA, "area_km2"] == pytest.approx(n_nan * 0.25, rel=1e-9)
    m = zonal_mean_table(sb_a, cov, area, variable="standing_biomass")
    expected = np.nanmean(sb.values, axis=(1, 2))  # equal areas: the plain mean
    np.testing.assert_allclose(m["value"].to_numpy(), expected, rtol=1e-6)
    assert m["value"].min() == pytest.approx(11.1, abs=0.05) and m["value"].max() == pytest.approx(17.6, abs=0.05)


def test_boundaries_country_areas(shared_data):
    d = shared_data / "boundaries"
    countries = read_vector(d / "ne_50m_admin0_countries.gpkg", id_field="adm0_a3", name_field="name")
    states = read_vector(d / "ne_50m_admin1_states_provinces.gpkg", id_field="adm1_code", name_field="name")
    sel = countries[countries["adm0_a3"].isin(["BRA", "ARG", "URY", "PRY", "BOL"])]
    gb = analysis_grid(None, sel, crs="EPSG:4326", resolution=0.25)
    cov = build_coverage(gb, aoi=sel, zones=sel, id_field="adm0_a3", name_field="name")
    area = pixel_area(_grid_template(gb))
    ones = _grid_template(gb).astype("int16") + 1
    t = class_area_table(ones, cov, area, variable="land")
    zone_area = t.groupby("zone_id")["area_km2"].sum()
    for code in ["BRA", "ARG", "URY", "PRY", "BOL"]:
        ref = _equal_area_km2(sel[sel.adm0_a3 == code])
        assert zone_area[code] == pytest.approx(ref, rel=1e-3), code
    # Brazil is about 8.5 M km²
    assert zone_area["BRA"] == pytest.approx(8.5e6, rel=0.01)
    # Brazil's states cover Brazil (1:50m shared borders): state areas add up to the country
    bra_states = states[states["adm0_a3"] == "BRA"]
    cov_s = build_coverage(gb, aoi=sel[sel.adm0_a3 == "BRA"], zones=bra_states, id_field="adm1_code")
    ts = class_area_table(ones, cov_s, area, variable="land")
    za = ts.groupby("zone_id")["area_km2"].sum()
    assert za.drop("ALL").sum() == pytest.approx(za["ALL"], rel=5e-3)
    assert CRS.from_user_input(states.crs).to_epsg() == 4326
