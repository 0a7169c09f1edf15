"""The integration stage on a small real grid (zonal coverage, pixel areas), then the PRAIS tables built from it.

Invariants (property tests): every SO1 table of a run has the same land area, equal to an independent sum of
pixel areas; degraded + stable + improved + no data = total land area; a false-positive polygon changes exactly the
areas of the cells it covers.
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from odc.geo.geobox import GeoBox
from shapely.geometry import box

from openldn import pixel_area
from openldn.core.periods import year_coords
from openldn.integration import stage as integration_stage
from openldn.integration.options import IntegrationOptions
from openldn.pipeline import land_area as land_area_stage
from openldn.pipeline.run import grid_template
from openldn.reporting.prais import build_report
from openldn.zonal import build_coverage

ND = -32768
BASELINE = "2000-2015"
REPORTING = ["2016-2019", "2016-2023"]
NY, NX = 12, 16
GEOBOX = GeoBox.from_bbox((10.0, 40.0, 10.16, 40.12), "EPSG:4326", shape=(NY, NX))
AOI = gpd.GeoDataFrame({"name": ["Test"]}, geometry=[box(10.0, 40.0, 10.16, 40.12)], crs="EPSG:4326")
ZONES = gpd.GeoDataFrame({"id": ["W", "E"], "name": ["West", "East"]},
                         geometry=[box(10.0, 40.0, 10.08, 40.12), box(10.08, 40.0, 10.16, 40.12)], crs="EPSG:4326")
COVERAGE = build_coverage(GEOBOX, aoi=AOI, zones=ZONES, id_field="id", name_field="name")
TEMPLATE = grid_template(GEOBOX)
AREA = pixel_area(TEMPLATE)


class FakeContext:
    """The parts of openldn.pipeline.RunContext the integration stage uses."""

    def __init__(self, layers: dict[str, xr.DataArray], options: IntegrationOptions,
                 inputs: dict[str, xr.DataArray] | None = None, base_dir: Path | None = None) -> None:
        self.assessment = type("A", (), {})()
        self.assessment.baseline = BASELINE
        self.assessment.reporting = REPORTING
        self.assessment.integration = options
        self.assessment.resolve = lambda p: Path(p) if Path(p).is_absolute() else (base_dir or Path.cwd()) / p
        self.geobox, self.area, self.coverage = GEOBOX, AREA, COVERAGE
        self.layers = dict(layers)
        self.tables: dict[str, pd.DataFrame] = {}
        self.outputs: list[dict[str, Any]] = []
        self.substitutions: list[str] = []
        self._inputs = inputs or {}
        self.log = logging.getLogger("test")
        self.written: dict[str, xr.DataArray] = {}

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
        assert da.rio.crs is not None, key
        self.written[key] = da
        self.outputs.append({"key": key, "path": f"maps/{key}.tif", "title": kw.get("title")})
        return Path(key)

    def add_table(self, key: str, df: pd.DataFrame) -> None:
        self.tables[key] = pd.concat([self.tables[key], df], ignore_index=True) if key in self.tables else df

    def substitute(self, message: str) -> None:
        self.substitutions.append(message)

    def progress(self, *args: Any) -> None:
        pass


def _da(values: np.ndarray) -> xr.DataArray:
    da = TEMPLATE.copy(data=values.astype("int16"))
    da.attrs = {}
    return da


def _layers(rng: np.random.Generator, water: np.ndarray) -> dict[str, xr.DataArray]:
    out: dict[str, xr.DataArray] = {}
    lc = np.where(water, 7, rng.integers(1, 7, size=(NY, NX)))
    lc[0, :2] = ND  # land cover no data
    stack = np.stack([lc, lc, lc])
    out["lc_unccd"] = xr.DataArray(stack.astype("int16"), dims=("time", "y", "x"),
                                   coords={"time": year_coords([2000, 2015, 2023]), "y": TEMPLATE.y, "x": TEMPLATE.x})
    for p in [BASELINE, *REPORTING]:
        for key in ("lc_degradation", "prod_degradation", "soc_degradation"):
            v = rng.choice([-1, 0, 1, ND], p=[0.2, 0.55, 0.2, 0.05], size=(NY, NX))
            out[f"{key}/{p}"] = _da(v)
    return out


def _run(seed: int, water_frac: float, options: IntegrationOptions | None = None, **kw: Any) -> FakeContext:
    rng = np.random.default_rng(seed)
    water = rng.random((NY, NX)) < water_frac
    ctx = FakeContext(_layers(rng, water), options or IntegrationOptions(), **kw)
    land_area_stage.run(ctx)
    integration_stage.run(ctx)
    ctx.water = water  # type: ignore[attr-defined]
    return ctx


def _independent_land_km2(ctx: FakeContext, cols: slice = slice(None)) -> float:
    lc = ctx.layers["lc_unccd"].isel(time=0).values[:, cols]
    return float(AREA.values[:, cols][lc != 7].sum()) / 1e6


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), water_frac=st.floats(0.0, 0.4))
def test_every_table_has_the_same_land_area(seed: int, water_frac: float) -> None:
    ctx = _run(seed, water_frac)
    rep = build_report(ctx.tables, baseline=BASELINE, reporting=REPORTING)
    expected = {"ALL": _independent_land_km2(ctx), "W": _independent_land_km2(ctx, slice(0, 8)),
                "E": _independent_land_km2(ctx, slice(8, 16))}
    for zone, land in expected.items():
        assert rep.land_area[zone]["land_km2"] == pytest.approx(land, rel=1e-9)
    seen = 0
    for t in rep.tables:
        if t.code in ("SO1-1.T7", "SO1-2.T3", "SO1-3.T2", "SO1-4.T1"):
            for p in {r["period"] for r in t.rows}:
                rows = [r for r in t.rows if r["period"] == p]
                assert {r["class"] for r in rows} == {"Degraded", "Stable", "Improved", "No data"}
                assert sum(r["area_km2"] for r in rows) == pytest.approx(expected[t.zone_id], rel=1e-9)
                seen += 1
    assert seen == 3 * (3 + 3 + 2 + 2)  # zones x (LC 3 periods, prod 3, SOC 2, status 2)
    # SDG: degraded + stable + improved + no data + water = zone area, and the table says so
    sdg = ctx.tables["sdg_degradation"]
    for (zone, _p), g in sdg.groupby(["zone_id", "period"]):
        water_km2 = float(g.loc[g["class_code"] == -2, "area_km2"].sum())
        assert g["area_km2"].sum() - water_km2 == pytest.approx(expected[zone], rel=1e-9)


def test_subindicator_table_is_the_stages_own_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the sub-indicator stages' tables at hand, the integration's table of the three is their rows (SDG
    labels), not a second pass over the same layers; areas checked against sums of pixel areas."""
    from openldn.land_cover.stage import degradation_table_legend
    from openldn.pipeline.ledger import AreaLedger, ledger_of

    rng = np.random.default_rng(3)
    water = rng.random((NY, NX)) < 0.2
    ctx = FakeContext(_layers(rng, water), IntegrationOptions())
    land_area_stage.run(ctx)
    ledger = ledger_of(ctx)
    for key in ("lc_degradation", "prod_degradation", "soc_degradation"):  # what each stage adds
        for p in [BASELINE, *REPORTING]:
            ctx.add_table(key, ledger.class_table(ctx.layers[f"{key}/{p}"], variable=key, period=p,
                                                  legend=degradation_table_legend()))
    planned: list[str] = []
    plan = AreaLedger.plan_class_table

    def spy(self: AreaLedger, classes: xr.DataArray, **kw: Any) -> Any:
        planned.append(kw["variable"])
        return plan(self, classes, **kw)

    monkeypatch.setattr(AreaLedger, "plan_class_table", spy)
    integration_stage.run(ctx)
    assert planned and not {"lc_degradation", "prod_degradation", "soc_degradation"} & set(planned)
    sub = ctx.tables["subindicator_degradation"]
    assert len(sub) == 3 * 3 * 3 * 5  # sub-indicators x periods x zones x (3 classes, water, no data)
    lc0 = ctx.layers["lc_unccd"].isel(time=0).values
    for (var, p, zone), g in sub.groupby(["variable", "period", "zone_id"]):
        cols = {"ALL": slice(None), "W": slice(0, 8), "E": slice(8, 16)}[zone]
        v = ctx.layers[f"{var}/{p}"].values[:, cols]
        is_water = (lc0 == 7)[:, cols]
        area = AREA.values[:, cols]
        by_code = dict(zip(g["class_code"], g["area_km2"], strict=True))
        assert by_code[-2] == pytest.approx(area[is_water].sum() / 1e6, rel=1e-9)
        for code in (-1, 0, 1, ND):
            assert by_code[code] == pytest.approx(area[~is_water & (v == code)].sum() / 1e6, rel=1e-9, abs=1e-12)
        assert g.loc[g["class_code"] == -2, "class_label"].tolist() == ["Water body"]
    assert list(sub.index) == list(range(len(sub)))


def test_sdg_layer_matches_one_out_all_out_and_status_written() -> None:
    ctx = _run(11, 0.1)
    assert {f"sdg/{p}" for p in [BASELINE, *REPORTING]} <= set(ctx.written)
    assert {f"status/{p}" for p in REPORTING} | {f"status7/{p}" for p in REPORTING} <= set(ctx.written)
    lc = ctx.layers[f"lc_degradation/{BASELINE}"].values
    lp = ctx.layers[f"prod_degradation/{BASELINE}"].values
    soc = ctx.layers[f"soc_degradation/{BASELINE}"].values
    sdg = ctx.written[f"sdg/{BASELINE}"].values
    any_nd = (lc == ND) | (lp == ND) | (soc == ND)
    assert (sdg[any_nd] == ND).all()
    assert (sdg[~any_nd & ((lc == -1) | (lp == -1) | (soc == -1))] == -1).all()


def test_false_positive_polygon_changes_exactly_the_expected_areas(tmp_path: Path) -> None:
    before = _run(5, 0.0)
    # polygon over columns 2..5 and rows 3..8 (cell centres inside); recode to degraded
    x0, y1 = 10.0 + 2 * 0.01, 40.12 - 3 * 0.01
    poly = box(x0, y1 - 6 * 0.01, x0 + 4 * 0.01, y1)
    gpd.GeoDataFrame({"reason": ["false_positive"], "target": ["degraded"], "name": ["encroachment"]},
                     geometry=[poly], crs="EPSG:4326").to_file(tmp_path / "fp.gpkg")
    after = _run(5, 0.0, IntegrationOptions(false_positives="fp.gpkg"), base_dir=tmp_path)
    inside = np.zeros((NY, NX), bool)
    inside[3:9, 2:6] = True
    for p in [BASELINE, *REPORTING]:
        old = before.written[f"sdg/{p}"].values
        new = after.written[f"sdg/{p}"].values
        assert ((old != new) == (inside & (old != -1) & (old != ND))).all()
        # the table moves exactly the area of the recoded cells into "degraded"
        moved = float(AREA.values[inside & (old != -1) & (old != ND)].sum()) / 1e6
        t0 = before.tables["sdg_degradation"]
        t1 = after.tables["sdg_degradation"]

        def degraded(t: pd.DataFrame, p: str = p) -> float:
            m = (t["zone_id"] == "ALL") & (t["period"] == p) & (t["class_code"] == -1) & (
                t["variable"] == "sdg_15_3_1")
            return float(t.loc[m, "area_km2"].sum())

        assert degraded(t1) - degraded(t0) == pytest.approx(moved, rel=1e-9, abs=1e-9)
    sites = after.tables["sites"]
    assert sites.loc[0, "location"] == "encroachment" and sites.loc[0, "process"] == "false_positive"
    rep = build_report(after.tables, baseline=BASELINE, reporting=REPORTING)
    assert rep.get("SO1-4.T3") is not None
    # status recomputed from the recoded layer
    last = REPORTING[-1]
    hit = inside & (after.written[f"sdg/{last}"].values == -1) & (after.written[f"sdg/{BASELINE}"].values != ND)
    assert hit.any() and (after.written[f"status/{last}"].values[hit] == -1).all()


def test_population_on_degraded_land() -> None:
    rng = np.random.default_rng(2)
    pop = rng.gamma(2.0, 50.0, size=(2, NY, NX))
    stack = xr.DataArray(pop, dims=("time", "y", "x"),
                         coords={"time": year_coords([2015, 2020]), "y": TEMPLATE.y, "x": TEMPLATE.x})
    ctx = FakeContext(_layers(rng, np.zeros((NY, NX), bool)), IntegrationOptions(te_population_band=True),
                      inputs={"population_female": stack * 0.5, "population_male": stack * 0.5})
    land_area_stage.run(ctx)
    integration_stage.run(ctx)
    t = ctx.tables["population_degraded"]
    assert set(t["period"]) == {"2015", "2023"}
    assert any("2020 used for 2023" in s for s in ctx.substitutions)
    sdg = ctx.written[f"sdg/{BASELINE}"].values
    tot = t[(t["zone_id"] == "ALL") & (t["period"] == "2015") & (t["variable"] == "population_total")]
    # independent: people on degraded cells in 2015 (every cell fully inside the AOI)
    assert float(tot.loc[tot["class_code"] == -1, "value"].sum()) == pytest.approx(pop[0][sdg == -1].sum(), rel=1e-9)
    assert float(tot["value"].sum()) == pytest.approx(pop[0].sum(), rel=1e-9)
    signed = ctx.written["population_te_signed/2015/female"].values
    assert (signed[sdg == -1] < 0).all() and (signed[(sdg == 0) | (sdg == 1)] >= 0).all()
    assert np.isnan(signed[sdg == ND]).all()
    rep = build_report(ctx.tables, baseline=BASELINE, reporting=REPORTING)
    row = rep.get("SO2-3.T1").rows[0]
    assert row["pct_female"] == pytest.approx(100 * pop[0][sdg == -1].sum() / pop[0].sum(), rel=1e-9)


def test_sites_table_carries_shares_per_sub_indicator(tmp_path: Path) -> None:
    gpd.GeoDataFrame({"name": ["Mine A"], "process": ["mining"], "drivers": ["gold"], "actions": ["none"]},
                     geometry=[box(10.0, 40.0, 10.04, 40.04)], crs="EPSG:4326").to_file(tmp_path / "hot.gpkg")
    ctx = _run(3, 0.0, IntegrationOptions(hotspots="hot.gpkg"), base_dir=tmp_path)
    rep = build_report(ctx.tables, baseline=BASELINE, reporting=REPORTING)
    row = rep.get("SO1-4.T4").rows[0]
    assert row["location"] == "Mine A" and row["drivers"] == "gold"
    # 4 x 4 cells of 0.01 degree at 40 N
    assert row["area_km2"] == pytest.approx(float(AREA.values[-4:, :4].sum()) / 1e6, rel=1e-3)
    sdg = ctx.written[f"sdg/{REPORTING[-1]}"].values[-4:, :4]
    cell = AREA.values[-4:, :4]
    assert row["deg_sdg_15_3_1"] == pytest.approx(100 * cell[sdg == -1].sum() / cell.sum(), rel=1e-9)
