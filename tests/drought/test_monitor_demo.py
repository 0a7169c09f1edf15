"""The demo's planted 2021 drought raises alerts in the right cells, units and months; `openldn monitor` end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from openldn.cli.main import main
from openldn.io import open_raster
from openldn.monitoring import MonitorOptions, monitor_indices


@pytest.fixture(scope="module")
def demo(demo_run_file: Path) -> tuple[Path, dict]:
    truth = json.loads((demo_run_file.parent / "truth.json").read_text())
    return demo_run_file, truth


def test_demo__planted_drought_raises_alerts_in_2021(demo):
    run_file, truth = demo
    pr = open_raster(run_file.parent / "precipitation.tif", time="monthly").load()
    ind = monitor_indices(pr, MonitorOptions(month="2022-12", history=36))
    win = truth["drought"]["precip_window"]
    rs = slice(win["row_off"], win["row_off"] + win["height"])
    cs = slice(win["col_off"], win["col_off"] + win["width"])
    lev = ind.levels.values
    inside = lev[:, rs, cs].reshape(lev.shape[0], -1)
    outside = np.ones(lev.shape[1:], dtype=bool)
    outside[rs, cs] = False
    months = [f"{m:%Y-%m}" for m in ind.months]
    at = {m: i for i, m in enumerate(months)}
    # every cell of the drought window is at the highest level at the end of the dry year
    assert (inside[at["2021-12"]] == 3).all()
    # warning or alert in the whole window through the drought year's second half
    for m in ("2021-06", "2021-09", "2021-12", "2022-02"):
        assert (inside[at[m]] >= 2).all(), m
    # the event starts in 2021 (not before) and ends in 2022: the months when 75 % of the window reach warning
    share = (inside >= 2).mean(axis=1)
    start = months[int(np.flatnonzero(share >= 0.75)[0])]
    assert "2021-02" <= start <= "2021-06"
    after = [m for m, s in zip(months, share, strict=True) if m > "2021-12" and s < 0.25]
    assert after and "2022-01" <= after[0] <= "2022-09"
    # outside the window, 2021 is wetter than normal: almost no cell is on alert in December
    assert (lev[at["2021-12"]][outside] == 0).mean() >= 0.9


@pytest.mark.slow
def test_demo__monitor_command_bulletin_units_and_people(demo, tmp_path):
    run_file, truth = demo
    out = tmp_path / "monitor"
    assert main(["-q", "monitor", str(run_file), "--month", "2021-12", "--out", str(out)]) == 0
    folder = out / "2021-12"
    for name in ("bulletin.html", "bulletin.json", "units.csv", "series.csv", "maps/alert_level.png",
                 "maps/spi_03.png", "maps/spi_12.png", "rasters/alert_level.tif", "charts/Z5.png"):
        assert (folder / name).is_file(), name
    if shutil.which("chromium"):
        assert (folder / "bulletin.pdf").read_bytes()[:5] == b"%PDF-"
    units = pd.read_csv(folder / "units.csv")
    doc = json.loads((folder / "bulletin.json").read_text())
    assert doc["month"] == "2021-12" and doc["reference_period"] == "1991-2020" and doc["missing_months"] == []
    assert doc["fit_cache"] == {"reused": 0, "fitted": 5}
    # the unit holding most of the planted drought is on alert; the units away from it are not
    zones = gpd.read_file(run_file.parent / "zones.gpkg")
    patch = box(*truth["drought"]["bbox"])
    overlap = {r.id: r.geometry.intersection(patch).area for r in zones.itertuples()}
    main_unit = max(overlap, key=lambda k: overlap[k])
    level = dict(zip(units["zone_id"], units["level"], strict=True))
    assert level[main_unit] == 3
    assert all(level[z] < 3 for z, a in overlap.items() if a == 0)
    assert str(units.set_index("zone_id").loc[main_unit, "since"]) <= "2021-12"
    # shares of each unit add up to 1; women + men = total in every level (the demo splits every cell exactly)
    share_cols = [c for c in units.columns if c.startswith("share_") and not c.endswith("_previous")]
    np.testing.assert_allclose(units[share_cols].sum(axis=1), 1.0, atol=1e-9)
    for key in ("watch", "warning", "alert"):
        np.testing.assert_allclose(units[f"people_female_{key}"] + units[f"people_male_{key}"],
                                   units[f"people_total_{key}"], rtol=1e-5, atol=1e-3)
    assert units.set_index("zone_id").loc[main_unit, "people_total_alert"] > 0
    # the next month reuses the stored fits and becomes the latest bulletin
    assert main(["-q", "monitor", str(run_file), "--month", "2022-01", "--out", str(out), "--language", "es"]) == 0
    doc = json.loads((out / "2022-01" / "bulletin.json").read_text())
    assert doc["fit_cache"] == {"reused": 5, "fitted": 0}
    # in Spanish: the same layout, every word from data/drought/bulletin_text.yaml
    assert doc["language"] == "es" and doc["text"][0].startswith("enero 2022: de 5 unidad(es)")
    page = (out / "2022-01" / "bulletin.html").read_text()
    assert '<html lang="es">' in page and "Boletín de sequía" in page and "Unidades administrativas" in page
    assert json.loads((out / "latest.json").read_text())["month"] == "2022-01"


def test_demo__monitor_command_month_beyond_the_data(demo, tmp_path, capsys):
    run_file, _ = demo
    assert main(["monitor", str(run_file), "--month", "2030-01", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "latest month in the input is 2023-12" in err and "Traceback" not in err
