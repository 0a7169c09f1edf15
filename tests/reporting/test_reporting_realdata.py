"""Real case studies (../shared/data): Alaska and Sierra de Neiba produce a complete, valid PRAIS workbook and JSON.

The run files below adapt the periods to the data (Alaska: NDVI 1982-2013 and one land cover map; Sierra de
Neiba: land cover 2015-2019, WorldPop 2000-2020, no NDVI, so SDG 15.3.1 uses land cover and SOC only).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import jsonschema
import pytest

from openldn.reporting.export import load_schema

pytestmark = pytest.mark.realdata

ALASKA_LEGEND = """code,key,label,color,parent
1,evergreen_needleleaf,Evergreen needleleaf forest,#05450A,tree_covered
2,evergreen_broadleaf,Evergreen broadleaf forest,#086A10,tree_covered
3,deciduous_needleleaf,Deciduous needleleaf forest,#54A708,tree_covered
4,deciduous_broadleaf,Deciduous broadleaf forest,#78D203,tree_covered
5,mixed_forest,Mixed forest,#009900,tree_covered
6,shrubland,Shrubland,#C6B044,grassland
7,savanna,Savanna,#DCD159,grassland
8,grassland,Grassland,#B6FF05,grassland
9,cropland,Cropland,#FFFF00,cropland
10,cropland_mosaic,Cropland mosaic,#DDDD00,cropland
"""

NEIBA_LEGEND = """code,key,label,color,parent
20,shrubs,Shrubs,#FFBB22,grassland
30,herbaceous,Herbaceous vegetation,#FFFF4C,grassland
40,cropland,Cultivated and managed vegetation,#F096FF,cropland
50,urban,Urban / built up,#FA0000,artificial
60,bare,Bare / sparse vegetation,#B4B4B4,other_land
70,snow,Snow and ice,#F0F0F0,other_land
80,water,Permanent water bodies,#0032C8,water_body
90,herbaceous_wetland,Herbaceous wetland,#0096A0,wetland
100,moss,Moss and lichen,#FAE6A0,grassland
111,cf_en,Closed forest evergreen needle leaf,#58481F,tree_covered
112,cf_eb,Closed forest evergreen broad leaf,#009900,tree_covered
113,cf_dn,Closed forest deciduous needle leaf,#70663E,tree_covered
114,cf_db,Closed forest deciduous broad leaf,#00CC00,tree_covered
115,cf_mixed,Closed forest mixed,#4E751F,tree_covered
116,cf_unknown,Closed forest unknown,#007800,tree_covered
121,of_en,Open forest evergreen needle leaf,#666000,tree_covered
122,of_eb,Open forest evergreen broad leaf,#8DB400,tree_covered
123,of_dn,Open forest deciduous needle leaf,#8D7400,tree_covered
124,of_db,Open forest deciduous broad leaf,#A0DC00,tree_covered
125,of_mixed,Open forest mixed,#929900,tree_covered
126,of_unknown,Open forest unknown,#648C00,tree_covered
200,sea,Open sea,#000080,water_body
"""


def _alaska(d: Path) -> str:
    return f"""name: Alaska (real data)
baseline: 1982-1997
reporting: [1998-2013]
aoi: {d}/alaska_boundary.gpkg
grid: {{reference: ndvi}}
inputs:
  ndvi: {{path: {d}/ndvi_annual_1982_2013.tif, valid_range: [0, 24]}}  # time-integrated NDVI (README)
  land_cover: {{path: {d}/land_class.tif, legend: legend.csv, years: [2000]}}
  soc: {{path: [{d}/soc_stock_0_30cm_1990.tif, {d}/soc_stock_0_30cm_2010.tif], years: [1990, 2010]}}
  climate_zones: {{path: {d}/ipcc_climate_zones.tif}}
land_cover: {{max_year_gap: 40}}
soil_carbon: {{max_year_gap: 40}}
outputs: {{maps: false, png: false, html: false}}
"""


def _neiba(d: Path) -> str:
    return f"""name: Sierra de Neiba (real data)
baseline: 2015-2017
reporting: [2018-2019]
aoi: {d}/study_area.gpkg
grid: {{reference: land_cover}}
inputs:
  land_cover: {{path: {d}/cgls_lc100_landcover_2015_2019.tif, legend: legend.csv, nodata: 0}}
  soc: {{path: [{d}/soc_stock_0_30cm_1990.tif, {d}/soc_stock_0_30cm_2010.tif], years: [1990, 2010]}}
  climate_zones: {{path: {d}/ipcc_climate_zones.tif}}
  population_total: {{path: {d}/worldpop_population_2000_2020.tif}}
land_cover: {{max_year_gap: 40, reporting_lc_start: 2017}}
soil_carbon: {{max_year_gap: 40}}
outputs: {{maps: false, png: false, html: false}}
"""


CASES = {
    "alaska": (_alaska, ALASKA_LEGEND, {"CP-1.T1", "SO1-1.T4", "SO1-1.T5", "SO1-1.T6", "SO1-1.T7", "SO1-2.T1",
                                        "SO1-2.T2", "SO1-2.T3", "SO1-3.T1", "SO1-3.T2", "SO1-4.T1", "SO1-4.T2"}),
    "sierra_de_neiba": (_neiba, NEIBA_LEGEND, {"CP-1.T1", "CP-1.T2", "SO1-1.T4", "SO1-1.T5", "SO1-1.T6",
                                               "SO1-1.T7", "SO1-3.T1", "SO1-3.T2", "SO1-4.T1", "SO1-4.T2",
                                               "SO2-3.T1"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_produces_a_complete_valid_workbook(case: str, shared_data: Path, tmp_path: Path) -> None:
    from openldn.config import load_assessment
    from openldn.pipeline.run import run_assessment

    make, legend, codes = CASES[case]
    (tmp_path / "legend.csv").write_text(legend)
    (tmp_path / "run.yaml").write_text(make(shared_data / case))
    out = tmp_path / "out"
    run_assessment(load_assessment(tmp_path / "run.yaml"), out)

    doc = json.loads((out / "report" / "openldn-run.json").read_text())
    jsonschema.validate(doc, load_schema())
    present = {t["code"] for t in doc["tables"]}
    assert codes <= present, sorted(codes - present)
    assert {"V1", "V2", "V3", "C1", "C2"} <= set(doc["checks"])
    assert doc["provenance"]["inputs"] and all(len(r["sha256"]) == 64 for r in doc["provenance"]["inputs"])

    # one land area: every SO1 -1/0/1 table sums to the CP-1.T1 land area of the baseline's first year
    land = doc["land_area"]["ALL"]["land_km2"]
    assert land > 0
    for t in doc["tables"]:
        if t["code"] in ("SO1-1.T7", "SO1-2.T3", "SO1-3.T2", "SO1-4.T1") and t["zone_id"] == "ALL":
            for p in {r["period"] for r in t["rows"]}:
                assert sum(r["area_km2"] for r in t["rows"] if r["period"] == p) == pytest.approx(land, rel=1e-9)

    with zipfile.ZipFile(out / "report" / "prais_tables.xlsx") as z:
        wb = z.read("xl/workbook.xml").decode()
        assert all(f'name="{c}"' in wb for c in codes)
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
