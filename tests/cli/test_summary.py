"""Headline figures at the end of `openldn run`, from hand-written tables."""

from __future__ import annotations

from pathlib import Path

from openldn.cli.summary import headline_lines

SDG = """zone_id,zone_name,period,variable,class_code,class_label,area_km2,share_of_area,share_of_land,role
ALL,X,2000-2015,sdg_15_3_1,-1,Degraded,10.0,0.09,0.1,baseline
ALL,X,2000-2015,sdg_15_3_1,0,Stable,90.0,0.81,0.9,baseline
Z1,A,2000-2015,sdg_15_3_1,-1,Degraded,5.0,0.5,0.5,baseline
ALL,X,2016-2023,sdg_15_3_1,-1,Degraded,25.0,0.225,0.25,latest
"""
POP = """zone_id,zone_name,period,variable,class_code,class_label,value,role,assessment_period,classes
ALL,X,2015,population_total,-1,Degraded,300,baseline,2000-2015,period_sdg
ALL,X,2015,population_total,0,Stable,700,baseline,2000-2015,period_sdg
ALL,X,2015,population_total,-32768,No data,50,baseline,2000-2015,period_sdg
"""
DROUGHT = """zone_id,zone_name,period,variable,class_code,class_label,area_km2,share_of_area,share_of_land
ALL,X,2022,drought_class,0,Non-drought,50,0.5,0.5
ALL,X,2022,drought_class,1,Mild drought,30,0.3,0.3
ALL,X,2022,drought_class,3,Severe drought,20,0.2,0.2
ALL,X,2023,drought_class,0,Non-drought,90,0.9,0.9
ALL,X,2023,drought_class,2,Moderate drought,10,0.1,0.1
ALL,X,2024,drought_class,0,Non-drought,0,0,0
ALL,X,2024,drought_class,1,Mild drought,0,0,0
"""
DPOP = """zone_id,zone_name,period,variable,class_code,class_label,value
ALL,X,2023,population_total,0,Non-drought,900
ALL,X,2023,population_total,2,Moderate drought,123
ALL,X,2022,population_total,1,Mild drought,999
"""


def test_headline_lines(tmp_path: Path) -> None:
    t = tmp_path / "tables"
    t.mkdir()
    for name, text in (("sdg_degradation", SDG), ("population_degraded", POP), ("drought_area", DROUGHT),
                       ("drought_population", DPOP)):
        (t / f"{name}.csv").write_text(text)
    lines = headline_lines(tmp_path)
    assert lines[0] == "SDG 15.3.1, land degraded: 2000-2015 10.0% (10.0 km²); 2016-2023 25.0% (25.0 km²)"  # Babel, en
    assert lines[1] == "  change 2000-2015 -> 2016-2023: +15.0 percentage points"
    assert lines[2] == "People on degraded land: 2000-2015 300 (30.0%)"  # 300 of 1000 (no data left out)
    assert lines[3] == "Land in drought (mild to extreme): 2023 10.0%; most in 2022: 50.0%; people exposed in 2023: 123"
    assert headline_lines(tmp_path / "nothing") == []  # 2024 above: no data (all shares 0), not "0 % in drought"
