"""SO2-3 rule (integration.population_classes) on a hand-built 3 x 3 case.

Trends.Earth counts the population of a period on that period's own one-out-all-out (SDG) map, with water as no
data (reference-implementation.md §10); openldn's default does the same (docs/design/architecture.md: "by the
period's one-out-all-out class"); ``population_classes: status`` counts the latest year on the 3-class status map
instead. Land cover and SOC are stable everywhere, so each period's SDG map equals its productivity map.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox
from shapely.geometry import box

from openldn import pixel_area
from openldn.core.periods import year_coords
from openldn.integration import stage as integration_stage
from openldn.integration.options import IntegrationOptions
from openldn.pipeline import land_area as land_area_stage
from openldn.pipeline.run import grid_template
from openldn.zonal import build_coverage

BASELINE = "2000-2015"
REPORTING = ["2016-2023"]
GEOBOX = GeoBox.from_bbox((10.0, 40.0, 10.03, 40.03), "EPSG:4326", shape=(3, 3))
COVERAGE = build_coverage(GEOBOX, aoi=gpd.GeoDataFrame(geometry=[box(10.0, 40.0, 10.03, 40.03)], crs="EPSG:4326"))
TEMPLATE = grid_template(GEOBOX)

# baseline and 2016-2023 productivity (= SDG) maps; the centre cell is water
BASE = np.array([[-1, -1, 0],
                 [0, 0, 1],
                 [1, 0, -1]])
LATEST = np.array([[0, -1, -1],
                   [0, 0, 0],
                   [-1, 1, 1]])
WATER = np.zeros((3, 3), bool)
WATER[1, 1] = True
POP_2015 = np.array([[10.0, 20.0, 30.0],
                     [40.0, 1000.0, 60.0],
                     [70.0, 80.0, 90.0]])
POP_2023 = POP_2015 * 2 + 1


class _Ctx:
    """The run-context surface the land-area and integration stages use (cf. tests/integration/test_integration_stage.py)."""

    def __init__(self, options: IntegrationOptions) -> None:
        self.assessment = type("A", (), {})()
        self.assessment.baseline = BASELINE
        self.assessment.reporting = REPORTING
        self.assessment.integration = options
        self.assessment.resolve = lambda p: Path(p)
        self.geobox, self.area, self.coverage = GEOBOX, pixel_area(TEMPLATE), COVERAGE
        lc = np.where(WATER, 7, 3).astype("int16")
        self.layers: dict[str, xr.DataArray] = {
            "lc_unccd": xr.DataArray(np.stack([lc, lc, lc]), dims=("time", "y", "x"),
                                     coords={"time": year_coords([2000, 2015, 2023]), "y": TEMPLATE.y,
                                             "x": TEMPLATE.x}),
        }
        for p, prod in ((BASELINE, BASE), (REPORTING[0], LATEST)):
            self.layers[f"prod_degradation/{p}"] = self._da(prod)
            self.layers[f"lc_degradation/{p}"] = self._da(np.zeros((3, 3)))
            self.layers[f"soc_degradation/{p}"] = self._da(np.zeros((3, 3)))
        pop = np.stack([POP_2015, POP_2023])
        self._inputs = {"population_total": xr.DataArray(
            pop, dims=("time", "y", "x"), coords={"time": year_coords([2015, 2023]), "y": TEMPLATE.y, "x": TEMPLATE.x})}
        self.tables: dict[str, pd.DataFrame] = {}
        self.substitutions: list[str] = []
        self.written: dict[str, xr.DataArray] = {}
        self.log = logging.getLogger("test")

    @staticmethod
    def _da(values: np.ndarray) -> xr.DataArray:
        da = TEMPLATE.copy(data=values.astype("int16"))
        da.attrs = {}
        return da

    def has_input(self, name: str) -> bool:
        return name in self._inputs

    def input(self, name: str) -> xr.DataArray:
        return self._inputs[name]

    def materialize(self, key: str, da: xr.DataArray) -> xr.DataArray:
        return da.compute()

    def as_stored(self, da: xr.DataArray) -> xr.DataArray:
        return da

    def materialize_many(self, arrays: dict[str, xr.DataArray], tables: Any = ()) -> dict[str, xr.DataArray]:
        from openldn.zonal import compute_tables

        compute_tables(tables)
        return {key: da.compute() for key, da in arrays.items()}

    def write_raster(self, key: str, da: xr.DataArray, **kw: Any) -> Path:
        self.written[key] = da
        return Path(key)

    def add_table(self, key: str, df: pd.DataFrame) -> None:
        self.tables[key] = pd.concat([self.tables[key], df], ignore_index=True) if key in self.tables else df

    def substitute(self, message: str) -> None:
        self.substitutions.append(message)

    def progress(self, *args: Any) -> None:
        pass


def _run(options: IntegrationOptions) -> pd.DataFrame:
    ctx = _Ctx(options)
    land_area_stage.run(ctx)
    integration_stage.run(ctx)
    t = ctx.tables["population_degraded"]
    return t[(t["zone_id"] == "ALL") & (t["variable"] == "population_total")]


def _people(t: pd.DataFrame, year: str, code: int) -> float:
    sel = t[(t["period"] == year) & (t["class_code"] == code)]
    return float(sel["value"].sum())


def test_default_counts_the_latest_year_on_the_period_sdg_map() -> None:
    assert IntegrationOptions().population_classes == "period_sdg"
    t = _run(IntegrationOptions())
    # by hand: 2015 on the baseline map, degraded cells (0,0), (0,1), (2,2): 10 + 20 + 90
    assert _people(t, "2015", -1) == pytest.approx(120.0)
    # 2023 on the 2016-2023 SDG map, degraded cells (0,1), (0,2), (2,0): 41 + 61 + 141 (water cell excluded)
    assert _people(t, "2023", -1) == pytest.approx(243.0)
    assert _people(t, "2023", 1) == pytest.approx(161.0 + 181.0)
    assert _people(t, "2023", 0) == pytest.approx(21.0 + 81.0 + 121.0)
    assert set(t.loc[t["period"] == "2023", "classes"]) == {"period_sdg"}


def test_status_rule_counts_the_latest_year_on_the_status_map() -> None:
    t = _run(IntegrationOptions(population_classes="status"))
    # status matrix (baseline, period): (-1, 0) -> -1; (-1, -1) -> -1; (0, -1) -> -1; (0, 0) -> 0; (1, 0) -> 1;
    # (1, -1) -> -1; (0, 1) -> 1; (-1, 1) -> 1; the water cell is excluded
    # degraded: (0,0) 21, (0,1) 41, (0,2) 61, (2,0) 141
    assert _people(t, "2023", -1) == pytest.approx(21.0 + 41.0 + 61.0 + 141.0)
    # improved: (1,2) baseline 1 / period 0 -> 1: 121; (2,1) 0 / 1 -> 1: 161; (2,2) -1 / 1 -> 1: 181
    assert _people(t, "2023", 1) == pytest.approx(121.0 + 161.0 + 181.0)
    assert _people(t, "2023", 0) == pytest.approx(81.0)
    assert _people(t, "2015", -1) == pytest.approx(120.0)  # the baseline is the same under both rules
    assert set(t.loc[t["period"] == "2023", "classes"]) == {"status"}


def test_water_population_is_never_counted_as_exposed() -> None:
    for rule in ("period_sdg", "status"):
        t = _run(IntegrationOptions(population_classes=rule))  # type: ignore[arg-type]
        for year, pop in (("2015", POP_2015), ("2023", POP_2023)):
            land = float(pop[~WATER].sum())
            counted = sum(_people(t, year, c) for c in (-1, 0, 1))
            assert counted == pytest.approx(land)
