"""The example files of docs/examples load with the loaders a run uses, and say what their documentation says.

Expected values are written out by hand here (the nesting, the coefficients, a DVI worked from the CSV numbers) or
read from the Markdown tables of docs/examples/README.md, never from the code under test.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from openldn.config import load_assessment
from openldn.exceptions import InputFileError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples"
RUN_FILE = EXAMPLES / "national.yaml"
UNCCD_KEYS = ["tree_covered", "grassland", "cropland", "wetland", "artificial", "other_land", "water_body"]

#: The data files national.yaml names that a user replaces (they are not shipped).
PLACEHOLDERS = {
    "national_boundary.gpkg",
    "admin_units.gpkg",
    "land_cover_national_2000_2023.tif",
    "mod13q1_ndvi_250m_2000_2023.tif",
    "mod13q1_pixel_reliability_2000_2023.tif",
    "soc_stock_0_30cm.tif",
    "ipcc_climate_zones.tif",
    "population_total_2000_2023.tif",
    "population_female_2000_2023.tif",
    "population_male_2000_2023.tif",
    "precipitation_monthly_1981_2023.tif",
}


def _markdown_table(text: str, header_start: str) -> list[list[str]]:
    """Rows (cells stripped) of the Markdown table whose header line starts with ``header_start``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def _assessment():
    return load_assessment(RUN_FILE, check_files=False)


# -- the folder -------------------------------------------------------------------------------------------------


def test_every_example_file_is_small_and_documented() -> None:
    files = sorted(p.name for p in EXAMPLES.iterdir() if p.is_file())
    assert {"national.yaml", "national_legend.yaml", "transition_matrix.yaml", "soc_coefficients_tier2.yaml",
            "dvi_factors_national.csv", "dvi_factors_tier3.csv", "false_positives.geojson"} <= set(files)
    big = [f for f in files if (EXAMPLES / f).stat().st_size > 50_000]
    assert big == []
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    reference = (REPO / "docs" / "run-file.md").read_text(encoding="utf-8")
    section = reference.split("## Example files", 1)[1]
    for f in files:
        if f == "README.md":
            continue
        assert f"]({f})" in readme, f"{f} is not listed in docs/examples/README.md"
        assert f"(examples/{f})" in section, f"{f} is not listed in the Example files section of docs/run-file.md"
    # no placeholder is shipped (the user supplies them)
    assert not PLACEHOLDERS & set(files)


# -- legend and nesting -------------------------------------------------------------------------------------------


def test_national_legend_nests_every_class_into_a_unccd_class() -> None:
    from openldn.core.vocab import load_legend
    from openldn.land_cover.reclassify import check_nesting

    nesting = check_nesting(EXAMPLES / "national_legend.yaml")  # the loader of the land cover stage
    # hand-written: national code -> UNCCD code (1 tree-covered ... 7 water bodies), as the README table says
    expected = {11: 1, 12: 1, 13: 1, 14: 4, 21: 2, 22: 2, 31: 3, 32: 3, 33: 3, 41: 4, 51: 5, 52: 5, 61: 6, 71: 7}
    assert nesting.mapping == expected
    assert nesting.parent.id == "unccd"
    legend = load_legend(EXAMPLES / "national_legend.yaml")
    assert legend.codes == sorted(expected)
    assert legend.nodata == 0 and legend.extra_nodata == (255,)
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c.color) for c in legend.classes)
    # every UNCCD class receives at least one national class
    assert sorted(set(expected.values())) == [1, 2, 3, 4, 5, 6, 7]
    # lookup table of the reclassification: every national code maps, other codes are flagged unknown
    lut, offset = nesting.lookup()
    assert all(lut[c - offset] == p for c, p in expected.items())
    assert lut[15 - offset] == -32767


def test_readme_nesting_table_matches_the_legend() -> None:
    from openldn.core.vocab import load_nesting

    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    rows = _markdown_table(readme, "| national classes | UNCCD class |")
    documented = {}
    for classes, parent in rows:
        code = int(re.search(r"\((\d)\)", parent).group(1))
        for c in re.findall(r"(?:^|, )(\d+) ", classes):
            documented[int(c)] = code
    assert documented == load_nesting(EXAMPLES / "national_legend.yaml").mapping


# -- transition matrix --------------------------------------------------------------------------------------------


def _readme_matrix() -> tuple[np.ndarray, set[tuple[str, str]]]:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    rows = _markdown_table(readme, "| initial \\ final |")
    assert [r[0] for r in rows] == UNCCD_KEYS
    values = np.array([[int(c.rstrip("*")) for c in r[1:]] for r in rows])
    starred = {(r[0], UNCCD_KEYS[j]) for r in rows for j, c in enumerate(r[1:]) if c.endswith("*")}
    return values, starred


@pytest.mark.parametrize("name", ["transition_matrix.yaml", "transition_matrix.csv"])
def test_transition_matrix_equals_the_documented_table(name: str) -> None:
    from openldn.core.vocab import load_transition_matrix
    from openldn.land_cover.stage import load_matrix

    documented, _ = _readme_matrix()
    m = load_transition_matrix(EXAMPLES / name)
    assert m.legend.keys == UNCCD_KEYS
    np.testing.assert_array_equal(m.values, documented)
    # as the land cover stage loads it from the run file (a 7 x 7 UNCCD matrix, not one on the national legend)
    ctx = SimpleNamespace(assessment=_assessment())
    staged, national = load_matrix(ctx, name, None)
    assert national is False
    np.testing.assert_array_equal(staged.values, documented)


def test_transition_matrix_changes_exactly_the_starred_cells_of_the_default() -> None:
    from openldn.core.vocab import load_transition_matrix

    documented, starred = _readme_matrix()
    # the UNCCD default matrix (UNCCD reporting manual), written out by hand
    default = np.array([
        [0, -1, -1, -1, -1, -1, 0],
        [1, 0, 1, -1, -1, -1, 0],
        [1, -1, 0, -1, -1, -1, 0],
        [-1, -1, -1, 0, -1, -1, 0],
        [1, 1, 1, 1, 0, 1, 0],
        [1, 1, 1, 1, -1, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ])
    np.testing.assert_array_equal(load_transition_matrix("unccd_default").values, default)
    changed = {(UNCCD_KEYS[i], UNCCD_KEYS[j]) for i, j in zip(*np.nonzero(documented != default), strict=True)}
    assert changed == starred == {("grassland", "tree_covered"), ("grassland", "cropland"), ("cropland", "grassland")}
    labels = load_transition_matrix(EXAMPLES / "transition_matrix.yaml").labels
    assert labels is not None and labels[2][1] == "Fallow"


# -- SOC coefficients ---------------------------------------------------------------------------------------------


def test_soc_coefficients_load_with_their_documented_values() -> None:
    import xarray as xr

    from openldn.soil_carbon.factors import load_soc_factors, stock_change_factor

    fac = load_soc_factors(EXAMPLES / "soc_coefficients_tier2.yaml")
    assert fac.tier == 2 and fac.period_years == 20 and fac.legend.id == "unccd"
    assert fac.regimes == {"temperate_dry": 0.80, "temperate_moist": 0.69, "tropical_dry": 0.60,
                           "tropical_moist": 0.52, "tropical_montane": 0.66}
    f = 0.52
    cases = {  # (initial, final) UNCCD codes -> coefficient, from the file's matrix by hand
        (1, 3): f, (3, 1): 1 / f, (2, 3): 0.75, (3, 2): 1 / 0.75, (4, 3): 0.65, (3, 4): 1 / 0.65,
        (1, 5): 0.1, (6, 2): 2.0, (7, 1): 1.0, (2, 2): 1.0,
    }
    for (a, b), want in cases.items():
        assert math.isclose(fac.value(a, b, f), want, rel_tol=1e-12), (a, b)
    # IPCC zone 10 (tropical wet) takes the tropical moist regime, 12 tropical dry
    assert fac.zone_factor(10) == 0.52 and fac.zone_factor(12) == 0.60
    # per pixel, through the function the SOC stage uses
    initial = xr.DataArray(np.array([[1, 2, 3]], dtype=np.int16), dims=("y", "x"))
    final = xr.DataArray(np.array([[3, 3, 2]], dtype=np.int16), dims=("y", "x"))
    out = stock_change_factor(initial, final, f, factors=EXAMPLES / "soc_coefficients_tier2.yaml")
    np.testing.assert_allclose(out.values, [[f, 0.75, 1 / 0.75]], rtol=1e-6)


# -- DVI factors --------------------------------------------------------------------------------------------------


def test_national_dvi_table_loads_and_gives_the_hand_computed_dvi() -> None:
    from openldn.drought.dvi import dvi_table, read_factor_table

    t = read_factor_table(EXAMPLES / "dvi_factors_national.csv")
    assert set(t["zone_id"]) == {"ALL"}
    assert sorted(set(t["year"])) == [2000, 2005, 2010, 2015, 2020, 2023]
    assert {"literacy_rate", "poverty_rate", "safe_drinking_water"} <= set(t["factor"])
    assert set(t.loc[t["factor"] == "literacy_rate", "sex"]) == {"total", "female", "male"}
    dvi = dvi_table(t)
    total = dvi[dvi["variable"] == "dvi_total"].set_index("period")
    assert total["value"].notna().all() and len(total) == 6
    # 2005 by hand from the CSV values: min-max over 2000-2023; 'negative' factors are 1 - normalised.
    lit = 1 - (74.0 - 71.2) / (84.6 - 71.2)          # literacy rate (lower = more vulnerable)
    rural = (60.1 - 50.9) / (62.4 - 50.9)             # rural population (higher = more vulnerable)
    poverty = (24.9 - 13.6) / (28.5 - 13.6)
    agri = (22.6 - 17.2) / (24.1 - 17.2)
    water = 1 - (41.5 - 38.0) / (57.9 - 38.0)
    irrig = 1 - (6.8 - 6.2) / (9.3 - 6.2)
    social, economic, infra = (lit + rural) / 2, (poverty + agri) / 2, (water + irrig) / 2
    row = total.loc[total.index.astype(str) == "2005"].iloc[0]
    assert math.isclose(row["social"], social, rel_tol=1e-9)
    assert math.isclose(row["economic"], economic, rel_tol=1e-9)
    assert math.isclose(row["infrastructure"], infra, rel_tol=1e-9)
    assert math.isclose(row["value"], (social + economic + infra) / 3, rel_tol=1e-9)
    assert {"dvi_female", "dvi_male"} <= set(dvi["variable"])


def test_tier3_dvi_table_has_one_series_per_unit() -> None:
    from openldn.drought.dvi import dvi_table, read_factor_table

    t = read_factor_table(EXAMPLES / "dvi_factors_tier3.csv")
    assert sorted(set(t["zone_id"])) == ["KO-C", "KO-N", "KO-S"]
    assert set(t["zone_name"]) == {"Northern Province", "Central Province", "Southern Province"}
    dvi = dvi_table(t)
    assert dvi["value"].notna().all()
    assert sorted(dvi.groupby("zone_id").size().tolist()) == [3, 3, 3]


# -- polygons -----------------------------------------------------------------------------------------------------


def test_false_positive_polygons_have_the_documented_fields() -> None:
    from openldn.integration.fp import TARGETS, read_polygons

    a = _assessment()
    labels = {p.label for p in a.periods}
    gdf = read_polygons(str(EXAMPLES / "false_positives.geojson"), required=("reason", "target"))
    assert len(gdf) >= 3
    assert gdf.crs.to_epsg() == 4326 and gdf.is_valid.all()
    assert set(gdf["reason"]) == {"false_positive", "false_negative"}
    assert set(gdf["target"]) <= set(TARGETS)
    for value in gdf["periods"]:
        items = [s.strip() for s in value.split(",")]
        assert items == ["all"] or set(items) <= labels, value
    assert set(gdf["start"]) <= labels
    assert gdf["name"].str.len().min() > 0 and gdf["basis"].str.len().min() > 20
    # made up, in the open Atlantic (as the README says), and small
    w, s, e, n = gdf.total_bounds
    assert -30 < w < e < -24 and 0 < s < n < 6


@pytest.mark.parametrize("name", ["hotspots.geojson", "brightspots.geojson"])
def test_site_polygons_have_the_documented_fields(name: str) -> None:
    from openldn.integration.fp import read_polygons, site_records

    gdf = read_polygons(str(EXAMPLES / name))
    for field in ("name", "process", "drivers", "actions"):
        assert gdf[field].str.len().min() > 0, field
    rec = site_records(gdf, kind=name.removesuffix("s.geojson"))
    assert (rec["area_km2"] > 1).all() and (rec["area_km2"] < 500).all()


def test_false_positive_polygons_recode_the_sdg_map_by_period() -> None:
    import rioxarray  # noqa: F401
    import xarray as xr

    from openldn.integration.fp import read_polygons, recode_from_polygons

    gdf = read_polygons(str(EXAMPLES / "false_positives.geojson"), required=("reason", "target"))
    res = 0.002
    xs = np.arange(-27.8 + res / 2, -26.7, res)
    ys = np.arange(3.6 - res / 2, 2.4, -res)
    sdg = xr.DataArray(np.full((ys.size, xs.size), -1, dtype=np.int16), dims=("y", "x"),
                       coords={"y": ys, "x": xs}).rio.write_crs("EPSG:4326")
    want = {"stable": 0, "degraded": -1, "improved": 1}
    for period in ("2016-2019", "2016-2023"):
        out = recode_from_polygons(sdg, gdf, period=period)
        for _, row in gdf.iterrows():
            c = row.geometry.representative_point()
            got = int(out.sel(x=c.x, y=c.y, method="nearest"))
            applies = row["periods"] == "all" or period in row["periods"].split(",")
            assert got == (want[row["target"]] if applies else -1), (row["name"], period)
        assert int(out.sel(x=-26.75, y=3.55, method="nearest")) == -1  # outside every polygon


# -- the run file -------------------------------------------------------------------------------------------------


def test_run_file_keys_are_valid_and_name_the_example_files() -> None:
    from openldn.drought.dvi import read_factor_table
    from openldn.integration.fp import read_polygons
    from openldn.land_cover.reclassify import check_nesting
    from openldn.soil_carbon.factors import load_soc_factors

    a = _assessment()
    assert a.inputs["land_cover"].legend == "national_legend.yaml"
    check_nesting(a.resolve(a.land_cover.nesting))
    assert a.resolve(a.land_cover.transition_matrix).is_file()
    load_soc_factors(a.resolve(a.soil_carbon.coefficients))
    read_factor_table(a.resolve(a.drought.dvi_factors))
    read_polygons(str(a.resolve(a.integration.false_positives)), required=("reason", "target"))
    read_polygons(str(a.resolve(a.integration.hotspots)))
    read_polygons(str(a.resolve(a.integration.brightspots)))
    assert a.inputs["ndvi"].composite == "mean" and a.inputs["ndvi"].scale == 0.0001


def test_run_file_fails_only_on_the_placeholder_files(tmp_path: Path) -> None:
    """Every check of the run file passes once the placeholders exist; until then each error names one of them."""
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work)
    created: set[str] = set()
    for _ in range(len(PLACEHOLDERS) + 1):
        try:
            a = load_assessment(work / "national.yaml")
            break
        except InputFileError as err:
            msg = str(err)
            assert "\n" not in msg
            missing = re.search(r"(?:file|matches) (\S+) does not exist|no file matches (\S+)", msg)
            assert missing, msg
            path = Path(missing.group(1) or missing.group(2))
            assert path.name in PLACEHOLDERS, msg
            path.write_bytes(b"")
            created.add(path.name)
    else:  # pragma: no cover
        pytest.fail("the run file keeps failing")
    # the mask is read by the input stage, not by the file check: it is the one placeholder left
    assert created | {Path(a.inputs["ndvi"].mask).name} == PLACEHOLDERS


def test_openldn_validate_names_the_first_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    from openldn.cli.main import main

    assert main(["validate", str(RUN_FILE), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "national_boundary.gpkg" in lines[0] and "does not exist" in lines[0]


# -- the run file on synthetic stand-ins for the placeholders -----------------------------------------------------


def _write_raster(path: Path, data: np.ndarray, labels: list | range, dtype: str, nodata: float | None) -> None:
    import rasterio
    from rasterio.transform import from_origin

    n, h, w = data.shape
    profile = {"driver": "GTiff", "height": h, "width": w, "count": n, "dtype": dtype, "crs": "EPSG:4326",
               "transform": from_origin(-27.7, 3.5, 0.05, 0.05), "nodata": nodata}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(dtype))
        for i, label in enumerate(labels, start=1):
            if label is not None:
                dst.set_band_description(i, str(label))


@pytest.fixture(scope="module")
def filled_examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/examples with small synthetic files in place of the placeholders, shaped as national.yaml describes them.

    A 20 x 18 grid of 0.05° cells around the made-up polygons: national legend codes per year, MODIS-like 16-day
    NDVI x 10000 labelled with dates (first composite 2000-02-18) with a pixel reliability band, monthly
    precipitation labelled YYYY-MM, population per year.
    """
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    d = tmp_path_factory.mktemp("filled") / "examples"
    shutil.copytree(EXAMPLES, d)
    rng = np.random.default_rng(20261203)
    h, w = 20, 18
    gpd.GeoDataFrame({"name": ["Koralia"]}, geometry=[box(-27.7, 2.5, -26.8, 3.5)], crs=4326).to_file(
        d / "national_boundary.gpkg")
    gpd.GeoDataFrame({"ADM1_CODE": ["KO-N", "KO-C", "KO-S"],
                      "ADM1_NAME": ["Northern Province", "Central Province", "Southern Province"]},
                     geometry=[box(-27.7, 3.2, -26.8, 3.5), box(-27.7, 2.8, -26.8, 3.2), box(-27.7, 2.5, -26.8, 2.8)],
                     crs=4326).to_file(d / "admin_units.gpkg")
    codes = np.array([11, 12, 13, 14, 21, 22, 31, 32, 33, 41, 51, 52, 61, 71])
    lc = np.repeat(rng.choice(codes, size=(h, w))[None], 24, axis=0)
    change = rng.random((24, h, w)) < 0.02
    lc = np.where(change, rng.choice(codes, size=(24, h, w)), lc)
    _write_raster(d / "land_cover_national_2000_2023.tif", lc, range(2000, 2024), "uint8", 0)
    dates = [pd.Timestamp(y, 1, 1) + pd.Timedelta(days=k) for y in range(2000, 2024) for k in range(0, 365, 16)]
    dates = [t for t in dates if t >= pd.Timestamp(2000, 2, 18)]
    doy = np.array([t.day_of_year for t in dates])
    ndvi = rng.uniform(3000, 6000, (h, w))[None] + 1500 * np.sin(2 * np.pi * doy / 365.0)[:, None, None]
    ndvi = ndvi + rng.normal(0, 200, ndvi.shape)
    labels = [t.strftime("%Y-%m-%d") for t in dates]
    _write_raster(d / "mod13q1_ndvi_250m_2000_2023.tif", ndvi, labels, "int16", None)
    _write_raster(d / "mod13q1_pixel_reliability_2000_2023.tif", rng.choice([0, 0, 0, 1, 3], size=ndvi.shape),
                  labels, "int8", -1)
    _write_raster(d / "soc_stock_0_30cm.tif", rng.uniform(30, 80, (1, h, w)), [None], "float32", -9999)
    _write_raster(d / "ipcc_climate_zones.tif", rng.choice([11, 12], size=(1, h, w)), [None], "uint8", 0)
    for g in ("total", "female", "male"):
        _write_raster(d / f"population_{g}_2000_2023.tif", rng.uniform(0, 500, (24, h, w)), range(2000, 2024),
                      "float32", -1)
    months = pd.date_range("1981-01-01", "2023-12-01", freq="MS")
    _write_raster(d / "precipitation_monthly_1981_2023.tif", rng.gamma(2.0, 50.0, (months.size, h, w)),
                  [m.strftime("%Y-%m") for m in months], "float32", -9999)
    return d


def test_openldn_validate_accepts_the_run_file_once_the_data_is_there(
        filled_examples: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    from openldn.cli.main import main

    assert main(["validate", str(filled_examples / "national.yaml"), "--lang", "en"]) == 0
    out = capsys.readouterr()
    assert "valid" in out.out, out.err
    # the run file's comment says it: the MODIS year 2000 starts on 18 February and is dropped
    said = out.err + caplog.text
    assert "2000" in said and "partly covered" in said


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*only partly covered by the composites")
def test_openldn_run_uses_every_example_file(filled_examples: Path, tmp_path: Path) -> None:
    import json

    import pandas as pd
    import yaml

    from openldn.cli.main import main

    run_file = filled_examples / "national.yaml"
    doc = yaml.safe_load(run_file.read_text(encoding="utf-8"))
    doc["outputs"] = {"maps": False, "png": False, "xlsx": False, "html": False, "pdf": False, "language": "en"}
    fast = filled_examples / "national_fast.yaml"
    fast.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(fast), "--out", str(out), "--lang", "en"]) == 0
    params = json.loads((out / "report" / "openldn-run.json").read_text())["provenance"]["parameters"]
    assert params["land_cover"]["transition_matrix"] == "transition_matrix.yaml"
    assert params["soil_carbon"]["coefficients"] == "soc_coefficients_tier2.yaml"
    sites = pd.read_csv(out / "tables" / "sites.csv")
    assert sites.groupby("kind").size().to_dict() == {"recode": 4, "hotspot": 2, "brightspot": 1}
    # the two large false-positive polygons (target stable, all their periods) are stable after the recode
    shares = pd.read_csv(out / "tables" / "site_shares.csv")
    rec = shares[(shares["kind"] == "recode") & (shares["variable"] == "sdg_15_3_1") & (shares["class_code"] == 0)]
    for site in ("1", "2"):
        got = rec[rec["site_id"].astype(str) == site]
        assert len(got) and (got["share"] == 1.0).all(), got
    dvi = pd.read_csv(out / "tables" / "dvi.csv")
    assert set(dvi["period"]) == {2000, 2005, 2010, 2015, 2020, 2023}
