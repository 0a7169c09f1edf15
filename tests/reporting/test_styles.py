"""One colour and label source: every legend is drawn with the same colours in the PNG maps, the QGIS styles, the
web layer records (``outputs.json``) and the charts; continuous layers use declared ramps with one range per
quantity across periods.

Expected colours are read straight from the YAML files of the package data (not through the code under test).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr
import yaml
from matplotlib.colors import to_hex

from openldn.drought.classes import drought_legend
from openldn.integration.stage import DEG_LEGEND, S7_LEGEND
from openldn.io import write_cog
from openldn.land_cover.stage import load_legend
from openldn.pipeline.context import _legend_record
from openldn.productivity import stage as prod_stage
from openldn.reporting import charts, styles
from openldn.reporting.maps import normalise_legend, render_map, write_qml
from openldn.reporting.stage import continuous_ranges

DATA = resources.files("openldn") / "data"

#: Every legend object a stage hands to write_raster (what becomes the web record), with its data file.
STAGE_LEGENDS = {
    "degradation": (DEG_LEGEND, "legends/degradation.yaml"),
    "status7": (S7_LEGEND, "legends/status7.yaml"),
    "lpd": (prod_stage.LPD_LEGEND, "legends/lpd.yaml"),
    "productivity_trend": (prod_stage._TRAJ_LEGEND, "legends/productivity_trend.yaml"),
    "productivity_performance": (prod_stage._PERF_LEGEND, "legends/productivity_performance.yaml"),
    "unccd": (load_legend("unccd"), "legends/unccd.yaml"),
    "drought": (drought_legend(), "drought/classes.yaml"),
}


def _yaml(rel: str) -> dict:
    return yaml.safe_load((DATA / rel).read_text(encoding="utf-8"))


def _expected(rel: str) -> dict[int, tuple[str, str]]:
    doc = _yaml(rel)
    return {int(c["code"]): (str(c["label"]), str(c["color"]).upper()) for c in doc["classes"]}


def _qml_palette(path: Path) -> dict[int, tuple[str, str]]:
    root = ET.parse(path).getroot()
    return {int(e.get("value")): (e.get("label"), e.get("color").upper()) for e in root.iter("paletteEntry")}


def _hex(c: object) -> str:
    return to_hex(c).upper()  # type: ignore[arg-type]


NODATA = _yaml("ramps/styles.yaml")["nodata"]["color"].upper()


@pytest.mark.parametrize("legend_id", sorted(STAGE_LEGENDS))
def test_legend_identical_in_png_qml_web(legend_id: str, tmp_path: Path) -> None:
    legend, rel = STAGE_LEGENDS[legend_id]
    expected = _expected(rel)
    web = _legend_record(legend)  # the record written to outputs.json, read by the web layers
    assert web is not None
    assert {int(k): (v[0], v[1].upper()) for k, v in web.items()} == expected
    spec = normalise_legend(web)
    qml = write_qml(tmp_path / "x.qml", legend=spec)
    assert _qml_palette(qml) == expected
    codes, cmap, _norm = styles.class_colormap(spec)
    assert {c: _hex(cmap(i)) for i, c in enumerate(codes)} == {c: col for c, (_l, col) in expected.items()}
    assert _hex(cmap.get_bad()) == NODATA


def test_png_pixels_use_the_legend_colours(tmp_path: Path) -> None:
    """The rendered map itself: each class colour of the degradation legend and the no-data colour are in the PNG."""
    import matplotlib.image as mpimg

    vals = np.repeat(np.array([[-1, 0, 1, -32768]], dtype="int16"), 40, axis=0).repeat(30, axis=1)
    da = xr.DataArray(vals, dims=("y", "x"), coords={"y": 19.0 - np.arange(40) * 0.01,
                                                   "x": -71.0 + np.arange(120) * 0.01}).rio.write_crs("EPSG:4326")
    png = render_map(da, tmp_path / "m.png", title="t", legend=_legend_record(DEG_LEGEND), max_pixels=200)
    img = (mpimg.imread(png)[..., :3] * 255).round().astype(int)
    present = {"#{:02X}{:02X}{:02X}".format(*px) for px in img.reshape(-1, 3)}
    for _label, color in _expected("legends/degradation.yaml").values():
        assert color in present, color
    assert NODATA in present


def test_chart_colours_are_the_legend_colours() -> None:
    lpd = _expected("legends/lpd.yaml")
    rows = [{"lc_class": "Cropland", "lpd1": 1.0, "lpd2": 2.0, "lpd3": 3.0, "lpd4": 4.0, "lpd5": 5.0, "lpd_nd": 1.0}]
    fig = charts.lpd_by_lc_figure(rows, title="t")
    handles, labels = fig.axes[0].get_legend_handles_labels()
    got = {lab: _hex(h.patches[0].get_facecolor()) for h, lab in zip(handles, labels, strict=True)}
    assert got == {**dict(lpd.values()), "No data": NODATA}
    deg = _expected("legends/degradation.yaml")
    fig = charts.degradation_figure({"2016-2019": {"Degraded": 1.0, "Stable": 2.0, "Improved": 3.0, "No data": 1}},
                                    title="t")
    handles, labels = fig.axes[0].get_legend_handles_labels()
    got = {lab: _hex(h.patches[0].get_facecolor()) for h, lab in zip(handles, labels, strict=True)}
    assert got == {**dict(deg.values()), "No data": NODATA}
    unccd = _expected("legends/unccd.yaml")
    flows = pd.DataFrame({"class_code_a": [1, 3], "class_label_a": ["Tree-covered areas", "Cropland"],
                          "class_code_b": [3, 5], "class_label_b": ["Cropland", "Artificial surfaces"],
                          "area_km2": [2.0, 1.0]})
    fig = charts.transition_figure(flows, title="t")
    from matplotlib.patches import Rectangle

    rects = {_hex(p.get_facecolor()) for p in fig.axes[0].patches if isinstance(p, Rectangle)}
    assert rects == {unccd[c][1] for c in (1, 3, 5)}


def test_the_listed_defects_are_gone() -> None:
    lpd = _expected("legends/lpd.yaml")
    r, g, b = (int(lpd[4][1][i:i + 2], 16) for i in (1, 3, 5))
    assert lpd[4][0] == "Stable" and r == g == b and r < 230  # LPD "Stable" is grey, not pale yellow
    classes = {col for _id, (_lg, rel) in STAGE_LEGENDS.items() for _l, col in _expected(rel).values()}
    assert NODATA not in classes  # "No data" is never coloured like a class
    for _id, (_lg, rel) in STAGE_LEGENDS.items():
        assert _yaml(rel)["nodata"]["color"].upper() == NODATA  # one no-data colour everywhere
    drought = _expected("drought/classes.yaml")
    assert drought[0][0] == "Non-drought" and drought[0][1] != NODATA
    soc = styles.ramp(styles.layer_style("soc_change/2016-2019").ramp)
    assert soc.kind == "diverging"
    lo_rgb, hi_rgb = (tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in (soc.colors[0], soc.colors[-1]))
    assert lo_rgb[0] > lo_rgb[1] and hi_rgb[1] > hi_rgb[0]  # decrease red, increase green
    lo, hi = styles.ramp_range(soc, np.array([-3.0, 1.0, 10.0, np.nan]))
    assert lo == -hi and hi > 0  # centred on 0
    stops = styles.ramp_stops(soc, lo, hi)
    assert stops[len(stops) // 2][0] == pytest.approx(0.0)
    assert styles.ramp(styles.layer_style("soc/2015").ramp).kind == "sequential"


def test_qml_of_a_continuous_layer_has_the_ramp_stops(tmp_path: Path) -> None:
    r = styles.ramp("change_red_green")
    qml = write_qml(tmp_path / "c.qml", vmin=-12.0, vmax=12.0, ramp=r)
    items = [(float(e.get("value")), e.get("color").upper()) for e in ET.parse(qml).getroot().iter("item")]
    n = len(r.colors)
    assert items == [(pytest.approx(-12.0 + 24.0 * i / (n - 1)), r.colors[i].upper()) for i in range(n)]


def test_population_maps_share_one_scale(tmp_path: Path) -> None:
    """Two periods of the same quantity with very different values get one range (2nd-98th percentile of both)."""
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 10, (30, 30)).astype("float32")
    b = rng.uniform(100, 1000, (30, 30)).astype("float32")
    outputs = []
    for key, vals in (("population_degraded/2015/total", a), ("population_degraded/2023/total", b),
                      ("population_degraded/2023/female", a / 2)):
        da = xr.DataArray(vals, dims=("y", "x"), coords={"y": 19.0 - np.arange(30) * 0.01,
                                                         "x": -71.0 + np.arange(30) * 0.01}).rio.write_crs(4326)
        path = tmp_path / (key.replace("/", "_") + ".tif")
        write_cog(da, path)
        outputs.append({"key": key, "path": path.name, "legend": None})
    ranges = continuous_ranges(SimpleNamespace(outputs=outputs, out_dir=tmp_path))
    both = np.concatenate([a.ravel(), b.ravel()]).astype("float64")
    expected = (np.percentile(both, 2), np.percentile(both, 98))
    r1, r2 = ranges["population_degraded/2015/total"], ranges["population_degraded/2023/total"]
    assert r1 == r2
    assert r1[1:] == pytest.approx(expected, rel=1e-6)
    assert r1[0].id == "people_affected" and r1[0].kind == "sequential"
    # another quantity (women only) has its own scale
    assert ranges["population_degraded/2023/female"][2] == pytest.approx(np.percentile(a / 2, 98), rel=1e-6)


def test_short_titles_have_no_internal_ids() -> None:
    assert styles.short_title("lpd/2016-2019") == "Land productivity dynamics 2016-2019"
    assert styles.short_title("population_degraded/2023/female") == "Population on degraded land 2023 (female)"
    assert "_" not in styles.short_title("drought_population_max/2020-2023")
