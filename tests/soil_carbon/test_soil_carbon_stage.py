"""The SOC stage on synthetic rasters: input stocks with the statistical test, Tier 2 coefficients, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from shapely.geometry import box

from openldn.config import load_assessment
from openldn.core.periods import year_coords
from openldn.exceptions import ConfigError

N, RES, X0, Y0 = 8, 0.01, 20.0, -3.0


def _grid(values: np.ndarray, years: list[int] | None = None) -> xr.DataArray:
    dims = ("time", "y", "x") if years else ("y", "x")
    coords: dict[str, Any] = {"y": Y0 - RES * (np.arange(N) + 0.5), "x": X0 + RES * (np.arange(N) + 0.5)}
    if years:
        coords["time"] = year_coords(years)
    return xr.DataArray(values, dims=dims, coords=coords).rio.write_crs("EPSG:4326")


def _assessment(tmp: Path, inputs: dict[str, Any], soil_carbon: dict[str, Any], reference: str) -> Any:
    gpd.GeoDataFrame({"name": ["t"]}, geometry=[box(X0, Y0 - N * RES, X0 + N * RES, Y0)],
                     crs="EPSG:4326").to_file(tmp / "aoi.gpkg")
    return load_assessment(
        {"name": "t", "aoi": "aoi.gpkg", "reporting": ["2016-2019"], "grid": {"reference": reference},
         "inputs": {k: {"path": f"{k}.tif"} for k in inputs}, "soil_carbon": soil_carbon},
        base_dir=tmp, check_files=False,
    )


def test_stage__input_stocks_statistical_test(tmp_path: Path, fake_context: Any) -> None:
    from openldn.soil_carbon import stage

    years = list(range(2000, 2020))
    # baseline 2000-2015 alternates 48 / 52 (mean 50, sample sd 2.066); reporting 2016-2019 constant per column
    base = np.where(np.arange(16) % 2 == 0, 48.0, 52.0)
    rep_levels = np.array([40, 45, 46, 50, 54, 55, 60, 50])  # per column
    stocks = np.empty((20, N, N))
    stocks[:16] = base[:, None, None]
    stocks[16:] = rep_levels[None, None, :]
    sd = np.std(base, ddof=1)
    lo, hi = 50 - 2 * sd, 50 + 2 * sd
    expected_cols = np.where(rep_levels < lo, -1, np.where(rep_levels > hi, 1, 0))
    a = _assessment(tmp_path, {"soc": 1}, {"method": "statistical"}, "soc")
    ctx = fake_context(a, {"soc": _grid(stocks.astype(np.float32), years)}, reference="soc")
    stage.run(ctx)
    deg = ctx.layers["soc_degradation/2016-2019"].compute().values
    np.testing.assert_array_equal(deg, np.broadcast_to(expected_cols, (N, N)))
    # the baseline has no earlier reference: the relative rule applies (48 -> 52 is +8.3 %: stable)
    assert (ctx.layers["soc_degradation/2000-2015"].compute().values == 0).all()
    assert set(ctx.tables["soc_by_lc"].period) == {"2000", "2015", "2019"}


def test_stage__tier2_coefficients_and_fixed_climate(tmp_path: Path, fake_context: Any) -> None:
    from openldn.soil_carbon import stage

    keys = ["tree_covered", "grassland", "cropland", "wetland", "artificial", "other_land", "water_body"]
    rows = [",".join(["from", *keys])] + [",".join([k] + ["1"] * 7) for k in keys]
    rows[1] = ",".join(["tree_covered", "1", "1", "0.5", "1", "1", "1", "1"])  # forest -> cropland: 0.5
    (tmp_path / "tier2.csv").write_text("\n".join(rows) + "\n")
    lc = np.ones((4, N, N), dtype=np.int16)
    lc[1:, :, :4] = 3  # forest -> cropland in 2001 on the west half
    lc_da = _grid(lc, [2000, 2001, 2015, 2019])
    lc_da.attrs["_FillValue"] = -32768
    soc = _grid(np.full((N, N), 60.0, dtype=np.float32))
    a = _assessment(tmp_path, {"soc": 1, "land_cover": 1},
                    {"coefficients": "tier2.csv", "climate_factor": "tropical_dry"}, "land_cover")
    ctx = fake_context(a, {"soc": soc}, reference="soc")
    ctx.layers["lc_unccd"] = lc_da
    stage.run(ctx)
    s2015 = ctx.layers["soc/2015"].compute().values
    # 2000 -> 2001 changes (1 year), 2001 -> 2015 (14 more years): 15 years of 60 * (1 - 0.5) / 20
    np.testing.assert_allclose(s2015[:, :4], 60 - 1.5 * 15, rtol=1e-6)
    np.testing.assert_allclose(s2015[:, 4:], 60)
    deg = ctx.layers["soc_degradation/2000-2015"].compute().values
    assert (deg[:, :4] == -1).all() and (deg[:, 4:] == 0).all()
    # reporting 2015 -> 2019: 4 more years of the same rate: 37.5 -> 31.5 is -16 %
    s2019 = ctx.layers["soc/2019"].compute().values
    np.testing.assert_allclose(s2019[:, :4], 60 - 1.5 * 19, rtol=1e-6)
    assert (ctx.layers["soc_degradation/2016-2019"].compute().values[:, :4] == -1).all()
    assert ctx.provenance["soil_carbon"]["tier"] == "Tier 2"


def test_stage__per_pixel_climate_needs_zones(tmp_path: Path, fake_context: Any) -> None:
    from openldn.soil_carbon import stage

    a = _assessment(tmp_path, {"soc": 1, "land_cover": 1}, {}, "land_cover")
    ctx = fake_context(a, {"soc": _grid(np.full((N, N), 60.0))}, reference="soc")
    ctx.layers["lc_unccd"] = _grid(np.ones((2, N, N), dtype=np.int16), [2000, 2015])
    with pytest.raises(ConfigError, match="climate_zones"):
        stage.run(ctx)
    ctx2 = fake_context(a, {"soc": _grid(np.full((N, N), 60.0))}, reference="soc")
    with pytest.raises(ConfigError, match="land cover"):
        stage.run(ctx2)
