"""Drought maximum and exposure rules on hand-built 2 x 3 grids, expected values worked out from the written rules.

Rules (docs/differences.md; Trends.Earth te_algorithms ``gdal/drought.py``):

* the highest intensity of a window is the class of the minimum SPI over the window's years (missing years skipped);
* windows: fixed from ``window_start`` (PRAIS 2000-2003 ... 2020-2023), or every 4 years from the first year
  (``window_anchor: first_year``, Trends.Earth);
* population at maximum drought: each cell's population in the year of its minimum SPI in the window (first year
  on a tie; ``population_year: min_index``), or the window's last year (``window_end``); zero outside drought;
* water excluded from exposure: no data on the exposure maps, population of water cells as code -2 in the table.

The SPI comes in as a precomputed annual ``spi`` input, so every class is known by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from openldn.core.codes import NODATA, WATER
from openldn.drought import stage
from openldn.drought.options import DroughtOptions
from openldn.exceptions import ConfigError

NAN = np.nan
# cells (row-major on the 2 x 3 grid): A B C / D E F; D is water
# window 2000-2003                 A      B     C     D      E    F
SPI_2000_2003 = np.array([[0.5, -1.2, 0.4, -1.6, NAN, -0.5],
                          [-2.1, -1.2, 0.2, -0.2, NAN, NAN],
                          [-0.3, 0.3, 1.0, -0.1, NAN, -0.7],
                          [-1.2, NAN, 0.3, 0.2, NAN, 0.1]])
# window 2004-2007
SPI_2004_2007 = np.array([[-0.4, 0.1, -1.0, 0.3, NAN, -1.4],
                          [-0.9, 0.2, 0.5, -2.5, NAN, -1.4],
                          [0.1, -0.2, 0.2, 0.1, NAN, 0.2],
                          [-0.5, 0.9, -1.5, 0.0, NAN, 0.1]])
YEARS = list(range(2000, 2008))
CELL = ("A", "B", "C", "D", "E", "F")


def _population(year: int) -> np.ndarray:
    """1000 per year since 1999 plus 10 per cell index: every (cell, year) value is distinct."""
    return 1000.0 * (year - 1999) + 10.0 * np.arange(6)


def _context(stage_context, spi_years=YEARS, spi_values=None, **opts):
    import geopandas as gpd
    from odc.geo.geobox import GeoBox
    from shapely.geometry import box

    from openldn.core.grid import pixel_area
    from openldn.io import attach_grid
    from openldn.zonal import build_coverage

    gb = GeoBox.from_bbox((-72.0, 18.0, -71.7, 18.2), crs="EPSG:4326", resolution=0.1)
    assert gb.shape == (2, 3)
    values = np.concatenate([SPI_2000_2003, SPI_2004_2007]) if spi_values is None else spi_values
    t = pd.DatetimeIndex([pd.Timestamp(y, 1, 1) for y in spi_years])
    spi = attach_grid(xr.DataArray(values.reshape(-1, 2, 3), dims=("time", "y", "x"), coords={"time": t}), gb)
    spi.attrs["time_kind"] = "annual"
    pop_years = sorted(set(spi_years))
    pop = np.stack([_population(y).reshape(2, 3) for y in pop_years])
    tp = pd.DatetimeIndex([pd.Timestamp(y, 1, 1) for y in pop_years])
    pop_da = attach_grid(xr.DataArray(pop, dims=("time", "y", "x"), coords={"time": tp}), gb)
    pop_da.attrs["time_kind"] = "annual"
    aoi = gpd.GeoDataFrame(geometry=[box(-72.0, 18.0, -71.7, 18.2)], crs="EPSG:4326")
    lc = attach_grid(xr.DataArray(np.array([[1, 2, 3], [7, 4, 5]], dtype=np.int16), dims=("y", "x")), gb)
    ctx = stage_context(
        geobox=gb, area=pixel_area(lc), coverage=build_coverage(gb, aoi=aoi, rule="centre"),
        inputs_raw={"spi": spi, "population_total": pop_da},
        drought=DroughtOptions(index="spi", years=f"{spi_years[0]}-{spi_years[-1]}", **opts),
    )
    ctx.layers["lc_unccd"] = lc  # UNCCD class 7 = water: cell D
    return ctx


def _cells(da: xr.DataArray) -> dict[str, float]:
    return dict(zip(CELL, np.asarray(da.values, dtype=float).ravel(), strict=True))


def test_maximum_intensity_and_population_at_min_spi_year(stage_context):
    ctx = _context(stage_context)  # defaults: fixed windows, population of the min-SPI year, water excluded
    stage.run(ctx)
    # classes (PRAIS Table 19, upper-inclusive) of each window's minimum SPI:
    # A: min -2.1 (2001) extreme 4; B: -1.2 tie 2000/2001 -> moderate 2 from 2000; C: 0.2 non-drought 0;
    # D: water (its class is still mapped: -1.6 severe 3); E: no data; F: -0.7 (2002, 2001 missing) mild 1
    assert _cells(ctx.rasters["drought_max/2000-2003"]) == pytest.approx(
        {"A": 4, "B": 2, "C": 0, "D": 3, "E": NODATA, "F": 1})
    got = _cells(ctx.rasters["drought_population_max/2000-2003"])
    expected = {"A": _population(2001)[0], "B": _population(2000)[1], "C": 0.0, "D": NAN, "E": NAN,
                "F": _population(2002)[5]}
    assert got == pytest.approx(expected, nan_ok=True)
    # 2004-2007: A -0.9 (2005) mild; B -0.2 (2006) mild; C -1.5 (2007) severe; F -1.4 tie 2004/2005 -> 2004
    assert _cells(ctx.rasters["drought_max/2004-2007"]) == pytest.approx(
        {"A": 1, "B": 1, "C": 3, "D": 4, "E": NODATA, "F": 2})
    got = _cells(ctx.rasters["drought_population_max/2004-2007"])
    expected = {"A": _population(2005)[0], "B": _population(2006)[1], "C": _population(2007)[2], "D": NAN,
                "E": NAN, "F": _population(2004)[5]}
    assert got == pytest.approx(expected, nan_ok=True)


def test_population_of_the_window_end(stage_context):
    ctx = _context(stage_context, population_year="window_end")
    stage.run(ctx)
    got = _cells(ctx.rasters["drought_population_max/2000-2003"])
    p = _population(2003)
    assert got == pytest.approx({"A": p[0], "B": p[1], "C": 0.0, "D": NAN, "E": NAN, "F": p[5]}, nan_ok=True)


def test_water_excluded_from_exposure_table(stage_context):
    ctx = _context(stage_context)
    stage.run(ctx)
    t = ctx.tables["drought_population"]
    t = t[t["variable"] == "population_total"]
    y2000 = t[t["period"].astype(str) == "2000"].groupby("class_code")["value"].sum()
    y2000 = y2000[y2000 != 0]  # classes nobody is in
    p = _population(2000)
    # 2000: A 0.5 non-drought, B -1.2 moderate, C 0.4 non-drought, D water, E no data, F -0.5 mild
    assert y2000.to_dict() == pytest.approx({0: p[0] + p[2], 1: p[5], 2: p[1], WATER: p[3], NODATA: p[4]})
    assert y2000.sum() == pytest.approx(p.sum())  # nobody lost: water is a row of its own


def test_water_included_on_request(stage_context):
    ctx = _context(stage_context, exclude_water=False)
    stage.run(ctx)
    t = ctx.tables["drought_population"]
    t = t[t["variable"] == "population_total"]
    y2000 = t[t["period"].astype(str) == "2000"].groupby("class_code")["value"].sum()
    y2000 = y2000[y2000 != 0]
    p = _population(2000)
    # D (-1.6) counts as severe drought
    assert y2000.to_dict() == pytest.approx({0: p[0] + p[2], 1: p[5], 2: p[1], 3: p[3], NODATA: p[4]})
    assert _cells(ctx.rasters["drought_population_max/2000-2003"])["D"] == pytest.approx(_population(2000)[3])


def test_windows_from_the_first_year(stage_context):
    # years 2001-2007: fixed windows give 2000-2003 (2001-2003 used) and 2004-2007; Trends.Earth's rule gives
    # 2001-2004 and 2005-2007
    values = np.concatenate([SPI_2000_2003, SPI_2004_2007])[1:]
    years = YEARS[1:]
    fixed = _context(stage_context, spi_years=years, spi_values=values)
    stage.run(fixed)
    assert sorted(k for k in fixed.rasters if k.startswith("drought_max/")) == [
        "drought_max/2000-2003", "drought_max/2004-2007"]
    te = _context(stage_context, spi_years=years, spi_values=values, window_anchor="first_year")
    stage.run(te)
    assert sorted(k for k in te.rasters if k.startswith("drought_max/")) == [
        "drought_max/2001-2004", "drought_max/2005-2007"]
    # 2001-2004: A min(-2.1, -0.3, -1.2, -0.4) = -2.1 extreme; B min(-1.2, 0.3, 0.1) moderate;
    # C min(0.2, 1.0, 0.3, -1.0) = -1.0 moderate (upper-inclusive); D -0.2 mild; F min(-0.7, 0.1, -1.4) moderate
    assert _cells(te.rasters["drought_max/2001-2004"]) == pytest.approx(
        {"A": 4, "B": 2, "C": 2, "D": 1, "E": NODATA, "F": 2})
    got = _cells(te.rasters["drought_population_max/2001-2004"])
    assert got == pytest.approx({"A": _population(2001)[0], "B": _population(2001)[1], "C": _population(2004)[2],
                                 "D": NAN, "E": NAN, "F": _population(2004)[5]}, nan_ok=True)


def test_precomputed_monthly_spi_takes_the_month(stage_context):
    # a monthly stack: December carries the SPI of the hand-built case, other months are -3 (would be extreme)
    values = np.concatenate([SPI_2000_2003, SPI_2004_2007])
    ctx = _context(stage_context)
    annual = ctx.inputs_raw["spi"]
    months = pd.date_range("2000-01-01", "2007-12-01", freq="MS")
    monthly = np.full((months.size, 2, 3), -3.0)
    monthly[11::12] = values.reshape(-1, 2, 3)
    ctx.inputs_raw["spi"] = annual.isel(time=0, drop=True).expand_dims(time=months).copy(data=monthly)
    ctx.inputs_raw["spi"].attrs["time_kind"] = "monthly"
    stage.run(ctx)
    assert _cells(ctx.rasters["drought_max/2000-2003"]) == pytest.approx(
        {"A": 4, "B": 2, "C": 0, "D": 3, "E": NODATA, "F": 1})


def test_precomputed_input_errors(stage_context):
    ctx = _context(stage_context, spi_values=1000.0 * np.concatenate([SPI_2000_2003, SPI_2004_2007]))
    with pytest.raises(ConfigError, match=r"scale: 0\.001"):
        stage.run(ctx)
    ctx = _context(stage_context)
    ctx.inputs_raw["precipitation"] = ctx.inputs_raw["spi"]
    with pytest.raises(ConfigError, match="keep one"):
        stage.run(ctx)
    ctx = _context(stage_context)
    ctx.inputs_raw["spei"] = ctx.inputs_raw.pop("spi")
    with pytest.raises(ConfigError, match=r"drought\.index: spei"):
        stage.run(ctx)


def test_precomputed_spi_x1000_keeps_its_class_bounds(stage_context):
    # Trends.Earth assets: SPI x 1000 as int16, read with scale 0.001 in float32 (-1500 -> -1.5000001); under
    # lower_inclusive (Trends.Earth) -1500 is moderate, -1000 mild, 0 non-drought, -2000 severe
    stored = np.array([[0, -1000, -1500, -2000, -999, -2001]] * 8, dtype=np.int16)
    values = stored.astype(np.float32) * np.float32(0.001)
    assert values[0, 2] != -1.5  # the float32 product is off the bound
    ctx = _context(stage_context, spi_values=values.astype(np.float64), class_boundaries="lower_inclusive")
    stage.run(ctx)
    assert _cells(ctx.layers["drought_class"].isel(time=0)) == pytest.approx(
        {"A": 0, "B": 1, "C": 2, "D": 3, "E": 1, "F": 4})


def _write_tif(path, data: np.ndarray, bands: list[str], dtype: str, nodata: float | None = None) -> None:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", height=data.shape[1], width=data.shape[2], count=data.shape[0],
                       dtype=dtype, crs="EPSG:4326", transform=from_origin(-72.0, 18.2, 0.1, 0.1),
                       nodata=nodata) as ds:
        for i, b in enumerate(bands):
            ds.write(data[i].astype(dtype), i + 1)
            ds.set_band_description(i + 1, b)


@pytest.mark.slow
def test_run__precomputed_spi_input_x1000(tmp_path):
    """``openldn run`` with ``inputs.spi`` (Trends.Earth-style SPI x 1000 int16 bands) and no precipitation."""
    from openldn.registry import input_decls

    if "spi" not in input_decls():
        pytest.skip("input 'spi' is not declared by the drought STAGE yet")
    import geopandas as gpd
    import yaml
    from shapely.geometry import box

    from openldn.cli.main import main

    years = list(range(2000, 2024))
    spi = np.zeros((len(years), 2, 3))
    spi[:8] = np.concatenate([SPI_2000_2003, SPI_2004_2007]).reshape(8, 2, 3)
    stored = np.where(np.isnan(spi), -32768, np.round(spi * 1000.0)).astype(np.int16)
    _write_tif(tmp_path / "spi.tif", stored, [str(y) for y in years], "int16", nodata=-32768)
    pop = np.stack([_population(y).reshape(2, 3) for y in years])
    _write_tif(tmp_path / "pop.tif", pop, [str(y) for y in years], "float32")
    gpd.GeoDataFrame({"id": ["X"], "name": ["X"]}, geometry=[box(-72.0, 18.0, -71.7, 18.2)],
                     crs="EPSG:4326").to_file(tmp_path / "aoi.gpkg")
    run_file = tmp_path / "run.yaml"
    run_file.write_text(yaml.safe_dump({
        "name": "precomputed SPI", "aoi": "aoi.gpkg", "grid": {"reference": "spi"},
        "inputs": {"spi": {"path": "spi.tif", "scale": 0.001}, "population_total": {"path": "pop.tif"}},
    }))
    assert main(["-q", "run", str(run_file), "--out", str(tmp_path / "out")]) == 0
    area = pd.read_csv(tmp_path / "out" / "tables" / "drought_area.csv")
    y2001 = area[area["period"].astype(str) == "2001"].groupby("class_code")["area_km2"].sum()
    # 2001: A -2.1 extreme, B -1.2 moderate, C 0.2 non-drought, D -0.2 mild, E no data, F no data
    assert {int(k) for k, v in y2001.items() if v > 0} == {4, 2, 0, 1, NODATA}
    popt = pd.read_csv(tmp_path / "out" / "tables" / "drought_population.csv")
    popt = popt[(popt["variable"] == "population_total") & (popt["period"].astype(str) == "2001")]
    by = popt.groupby("class_code")["value"].sum()
    p = _population(2001)
    assert by[4] == pytest.approx(p[0]) and by[2] == pytest.approx(p[1]) and by[1] == pytest.approx(p[3])
