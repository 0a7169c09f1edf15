"""The productivity stage on a small synthetic grid with a stand-in run context (computed and imported LPD)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_zeros
from shapely.geometry import box

from openldn.core.codes import WATER
from openldn.core.grid import pixel_area
from openldn.core.periods import Period, year_coords
from openldn.productivity import stage
from openldn.productivity.options import ProductivityOptions
from openldn.zonal import build_coverage

N = 20
YEARS = list(range(2000, 2024))


@dataclass
class _Assessment:
    productivity: ProductivityOptions
    baseline_period: Period = field(default_factory=lambda: Period("baseline", 2000, 2015))
    reporting_periods: list[Period] = field(default_factory=lambda: [Period("reporting_1", 2016, 2023)])
    source: str = "test.yaml"

    @property
    def periods(self) -> list[Period]:
        return [self.baseline_period, *self.reporting_periods]

    def resolve(self, p: str) -> str:
        return p


class _Ctx:
    def __init__(
        self, inputs: dict[str, xr.DataArray], layers: dict[str, xr.DataArray], opts: ProductivityOptions
    ):
        gb = GeoBox.from_bbox(
            (4000000, 3000000, 4000000 + N * 1000, 3000000 + N * 1000), "EPSG:3035", resolution=1000
        )
        self.geobox = gb
        self.assessment = _Assessment(opts)
        self._inputs = {k: v.chunk({"y": 10, "x": 10}) for k, v in inputs.items()}
        self.layers = dict(layers)
        aoi = gpd.GeoDataFrame(
            geometry=[box(4000000, 3000000, 4000000 + N * 1000, 3000000 + N * 1000)], crs=3035
        )
        self.coverage = build_coverage(gb, aoi=aoi)
        self.area = pixel_area(xr_zeros(gb, dtype="float32"))
        self.rasters: dict[str, xr.DataArray] = {}
        self.tables: dict[str, pd.DataFrame] = {}
        self.provenance: dict[str, Any] = {}
        self.substitutions: list[str] = []

    def has_input(self, name: str) -> bool:
        return name in self._inputs

    def input(self, name: str) -> xr.DataArray:
        return self._inputs[name]

    def as_stored(self, da: xr.DataArray) -> xr.DataArray:
        return da

    def write_raster(self, key: str, da: xr.DataArray, **kw: Any) -> None:
        self.rasters[key] = da.compute()

    def add_table(self, key: str, df: pd.DataFrame) -> None:
        self.tables[key] = df

    def progress(self, *a: Any) -> None:
        pass

    def substitute(self, msg: str) -> None:
        self.substitutions.append(msg)


def _grid(values: np.ndarray, gb: GeoBox, years: list[int] | None = None) -> xr.DataArray:
    base = xr_zeros(gb, dtype=values.dtype)
    if years is None:
        return base.copy(data=values)
    return xr.DataArray(
        values, dims=("time", "y", "x"), coords={"time": year_coords(years), "y": base.y, "x": base.x}
    )


def _inputs(rng: np.random.Generator) -> tuple[dict[str, xr.DataArray], dict[str, xr.DataArray], GeoBox]:
    gb = GeoBox.from_bbox(
        (4000000, 3000000, 4000000 + N * 1000, 3000000 + N * 1000), "EPSG:3035", resolution=1000
    )
    ndvi = 0.5 + rng.normal(0, 0.02, size=(len(YEARS), N, N))
    t = np.arange(len(YEARS))[:, None, None]
    ndvi[:, :5, :5] -= 0.02 * t  # declining block
    ndvi[:, 15:, 15:] += 0.02 * t  # improving block
    ndvi[:, 10, 10] = np.nan  # no data
    lc = np.full((len(YEARS), N, N), 2, np.int16)
    lc[:, 8:10, :4] = 7  # water
    return (
        {"ndvi": _grid(ndvi.astype(np.float32), gb, YEARS)},
        {"lc_unccd": _grid(lc, gb, YEARS)},
        gb,
    )


def test_stage__computed_lpd_layers_rasters_and_tables(rng: np.random.Generator) -> None:
    inputs, layers, _ = _inputs(rng)
    ctx = _Ctx(inputs, layers, ProductivityOptions())
    stage.run(ctx)
    for label in ("2000-2015", "2016-2023"):
        lpd = ctx.layers[f"lpd/{label}"].values
        deg = ctx.layers[f"prod_degradation/{label}"].values
        assert (lpd[:5, :5] == 1).all() and (deg[:5, :5] == -1).all()
        assert (lpd[15:, 15:] == 5).all() and (deg[15:, 15:] == 1).all()
        assert lpd[10, 10] == -32768
        for kind in ("trajectory", "state", "performance"):
            assert f"productivity_{kind}/{label}" in ctx.rasters
        attrs = ctx.rasters[f"lpd/{label}"].attrs
        assert attrs["assessment_period"] == label and attrs["lpd_table"] == "prais_2026_table13"
        assert attrs["trend_window"] == {"2000-2015": "2000-2015", "2016-2023": "2008-2023"}[label]
    assert ctx.rasters["lpd/2016-2023"].attrs["state_baseline_window"] == "2008-2020"
    t3 = ctx.tables["prod_degradation"]
    allz = t3[(t3.zone_id == "ALL") & (t3.period == "2000-2015")]
    assert allz.area_km2.sum() == pytest.approx(N * N, rel=1e-9)  # 1 km cells, equal-area grid
    assert allz.set_index("class_code").area_km2[WATER] == pytest.approx(8.0)  # water row
    t1 = ctx.tables["lpd_by_lc"]
    assert set(t1.period) == {"2000-2015", "2016-2023"}
    assert t1[t1.zone_id == "ALL"].groupby("period").area_km2.sum().tolist() == pytest.approx([400.0, 400.0])
    assert ctx.provenance["productivity"]["windows"]["2016-2023"]["trend_window"] == "2008-2023"


def test_stage__imported_lpd_is_used_instead(rng: np.random.Generator) -> None:
    inputs, layers, gb = _inputs(rng)
    imported = np.full((N, N), 4, np.uint8)
    imported[0, 0] = 1
    imported[1, 1] = 15  # no data in JRC maps
    inputs = {"lpd": _grid(imported, gb)}
    ctx = _Ctx(inputs, layers, ProductivityOptions(lpd_source="jrc"))
    stage.run(ctx)
    lpd = ctx.layers["lpd/2000-2015"].values
    assert lpd[0, 0] == 1 and lpd[1, 1] == -32768 and lpd[5, 5] == 4
    assert ctx.layers["prod_degradation/2016-2023"].values[0, 0] == -1
    assert not any(k.startswith("productivity_trajectory") for k in ctx.rasters)


def test_stage__binary_baseline_table_and_annual_aggregation(rng: np.random.Generator) -> None:
    inputs, layers, _ = _inputs(rng)
    # two values per year: the stage aggregates them to annual means first
    nd = inputs["ndvi"]
    half = np.repeat(nd.values, 2, axis=0)
    times = pd.DatetimeIndex([f"{y}-{m:02d}-01" for y in YEARS for m in (3, 9)])
    inputs["ndvi"] = xr.DataArray(half, dims=("time", "y", "x"), coords={"time": times, "y": nd.y, "x": nd.x})
    opts = ProductivityOptions(lpd_table_baseline="prais_2022_table12", lpd_table="prais_2022_table13")
    ctx = _Ctx(inputs, layers, opts)
    stage.run(ctx)
    assert "lpd/2000-2015" not in ctx.layers  # the binary table gives degradation only
    deg = ctx.layers["prod_degradation/2000-2015"].values
    assert (deg[:5, :5] == -1).all() and set(np.unique(deg)) <= {-1, 0, -32768}
    assert "lpd/2016-2023" in ctx.layers
    annual = stage.annual(inputs["ndvi"])
    np.testing.assert_allclose(annual.values, nd.values, rtol=1e-6)


def test_stage__too_few_years_is_a_clear_error(rng: np.random.Generator) -> None:
    inputs, layers, _ = _inputs(rng)
    inputs["ndvi"] = inputs["ndvi"].isel(time=slice(10, None))  # 2010-2023 only
    ctx = _Ctx(inputs, layers, ProductivityOptions())
    from openldn.exceptions import MissingYearError

    with pytest.raises(MissingYearError, match="2000-2015"):
        stage.run(ctx)
    inputs["ndvi"] = inputs["ndvi"].isel(time=0, drop=True)
    with pytest.raises(MissingYearError, match="no years"):
        stage.run(_Ctx(inputs, layers, ProductivityOptions()))
