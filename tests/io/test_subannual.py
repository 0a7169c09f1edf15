"""Sub-annual vegetation inputs as providers ship them: dated bands, days of year, dates CSV, scale from metadata,
each annual aggregation checked against a hand computation (numpy trapezoids on the listed days)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin

from openldn.config import InputSpec
from openldn.exceptions import ConfigError, OpenLDNWarning
from openldn.io.read import parse_time_label
from openldn.io.subannual import open_input, partial_years, read_dates

T = from_origin(-70.0, 19.0, 0.01, 0.01)


def _write(path: Path, bands: np.ndarray, *, descriptions: list[str] | None = None, dtype: str = "float32",
           nodata: float | None = None, scale: float | None = None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                       dtype=dtype, crs="EPSG:4326", transform=T, nodata=nodata) as dst:
        dst.write(bands.astype(dtype))
        for i in range(bands.shape[0]):
            if descriptions is not None:
                dst.set_band_description(i + 1, descriptions[i])
        if scale is not None:
            dst.scales = [scale] * bands.shape[0]
            dst.offsets = [0.0] * bands.shape[0]
    return path


# Monthly series, 2001 and 2002: Jan 0.1, Feb 0.2 ... Dec 1.2 (same at every cell).
MONTHLY = np.round(np.arange(1, 13) * 0.1, 6)
MONTH_DAYS = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], dtype=float)  # 1st of each month, 2001


@pytest.fixture
def monthly_file(tmp_path: Path) -> Path:
    labels = [f"{y}-{m:02d}-01" for y in (2001, 2002) for m in range(1, 13)]
    vals = np.concatenate([MONTHLY, MONTHLY])[:, None, None] * np.ones((1, 2, 3))
    return _write(tmp_path / "ndvi_monthly.tif", vals, descriptions=labels)


def _open(path: Path | list[Path], **keys: object) -> object:
    spec = InputSpec(path=str(path) if isinstance(path, Path) else [str(p) for p in path], **keys)  # type: ignore[arg-type]
    paths = [path] if isinstance(path, Path) else list(path)
    return open_input("ndvi", spec, paths, time="annual")


def test_labels_dates_and_days_of_year() -> None:
    assert parse_time_label("2001-03-15") == ("dated", pd.Timestamp("2001-03-15"))
    assert parse_time_label("2001065") == ("dated", pd.Timestamp("2001-03-06"))  # 31 + 28 + 6
    assert parse_time_label("2004-065") == ("dated", pd.Timestamp("2004-03-05"))  # leap year
    assert parse_time_label("A2001353") == ("dated", pd.Timestamp("2001-12-19"))
    assert parse_time_label("2001-367") is None and parse_time_label("2001-02-30") is None


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({}, MONTHLY.mean()),
        ({"composite": "mean"}, MONTHLY.mean()),
        ({"composite": "max"}, 1.2),
        # trapezoids between month starts, Jan value held from 1 Jan (day 0: nothing), Dec value held 31 days
        ({"composite": "integral"}, np.trapezoid(MONTHLY, MONTH_DAYS) + 1.2 * 31),
        # May..Sep on days 0, 31, 61, 92, 123 of the window 1 May - 1 Oct (153 days); Sep held 30 days
        ({"composite": "season_months", "season_months": [5, 9]},
         np.trapezoid([0.5, 0.6, 0.7, 0.8, 0.9], [0, 31, 61, 92, 123]) + 0.9 * 30),
        # threshold 0.1 + 0.5 x (1.2 - 0.1) = 0.65: season from July (0.7) to December (1.2), trapezoids only
        ({"composite": "season_threshold", "season_threshold": 0.5},
         np.trapezoid(MONTHLY[6:], MONTH_DAYS[6:])),
    ],
)
def test_monthly_dated_bands_each_method(monthly_file: Path, keys: dict[str, object], expected: float) -> None:
    out = _open(monthly_file, **keys)
    assert out.attrs["time_kind"] == "annual"  # type: ignore[attr-defined]
    assert [str(t)[:10] for t in out["time"].values] == ["2001-01-01", "2002-01-01"]  # type: ignore[index]
    np.testing.assert_allclose(out.values[0], expected, rtol=1e-5)  # type: ignore[attr-defined]


def _modis_files(tmp_path: Path, years: dict[int, list[int]]) -> tuple[list[Path], dict[int, np.ndarray]]:
    """One int16 file per 16-day composite named like MOD13Q1 (A<year><doy>), NDVI x 10000, scale in metadata."""
    paths, series = [], {}
    for year, doys in years.items():
        vals = 0.2 + 0.6 * np.sin(np.pi * (np.array(doys) - 1) / 365.0)
        series[year] = np.round(vals, 4)
        for doy, v in zip(doys, series[year], strict=True):
            band = np.full((1, 2, 3), round(v * 10000), dtype="int16")
            band[0, 1, 2] = -3000  # nodata at one cell
            paths.append(_write(tmp_path / f"MOD13Q1.A{year}{doy:03d}.h10v07.061.tif", band, dtype="int16",
                                nodata=-3000, scale=0.0001))
    return paths, series


DOYS = list(range(1, 366, 16))  # 23 composites: 1, 17, ..., 353


def test_16day_file_names_scale_from_metadata_integral_and_partial_year(tmp_path: Path) -> None:
    paths, series = _modis_files(tmp_path, {2001: DOYS, 2002: [1, 17]})
    days = np.array(DOYS, dtype=float) - 1
    with pytest.warns(OpenLDNWarning, match="2002 are only partly covered.*dropped"):
        out = _open(paths, composite="integral")
    assert [str(t)[:4] for t in out["time"].values] == ["2001"]  # type: ignore[index]
    expected = np.trapezoid(series[2001], days) + series[2001][-1] * (365 - 352)
    np.testing.assert_allclose(out.values[0, 0, 0], expected, rtol=1e-4)  # type: ignore[attr-defined]
    assert np.isnan(out.values[0, 1, 2])  # type: ignore[attr-defined]
    with pytest.warns(OpenLDNWarning, match="2002 are only partly covered.*kept"):
        kept = _open(paths, composite="mean", partial_years="keep")
    np.testing.assert_allclose(kept.values[:, 0, 0], [series[2001].mean(), series[2002].mean()], rtol=1e-4)  # type: ignore[attr-defined]
    mx = _open(paths[:23], composite="max")
    np.testing.assert_allclose(mx.values[0, 0, 0], series[2001].max(), rtol=1e-4)  # type: ignore[attr-defined]


def test_min_count_and_mask(tmp_path: Path, monthly_file: Path) -> None:
    qa = np.zeros((24, 2, 3), dtype="uint8")  # MODIS pixel reliability: 0 good, 1 marginal, 3 cloudy
    qa[:, 0, 1] = 3
    qa[:6, 1, 0] = 3  # first half of 2001 cloudy at one cell
    mask = _write(tmp_path / "qa.tif", qa, dtype="uint8")
    out = _open(monthly_file, composite="mean", min_count=6, mask=str(mask), mask_valid=[0, 1])
    assert np.isnan(out.values[0, 0, 1])  # type: ignore[attr-defined]
    np.testing.assert_allclose(out.values[0, 1, 0], MONTHLY[6:].mean(), rtol=1e-5)  # type: ignore[attr-defined]
    strict = _open(monthly_file, composite="mean", min_count=7, mask=str(mask), mask_valid=[0, 1])
    assert np.isnan(strict.values[0, 1, 0]) and not np.isnan(strict.values[1, 1, 0])  # type: ignore[attr-defined]


def test_dates_csv(tmp_path: Path) -> None:
    vals = MONTHLY[:, None, None] * np.ones((1, 2, 2))
    f = _write(tmp_path / "noname.tif", vals)
    csv = tmp_path / "dates.csv"
    csv.write_text("date\n" + "\n".join(f"2001{int(d) + 1:03d}" for d in MONTH_DAYS) + "\n")
    assert read_dates(csv)[1] == "2001032"
    out = _open(f, dates=str(csv), composite="max")
    np.testing.assert_allclose(out.values[0], 1.2, rtol=1e-6)  # type: ignore[attr-defined]


def test_keys_that_cannot_act_are_errors(tmp_path: Path) -> None:
    annual = _write(tmp_path / "annual.tif", np.full((2, 2, 2), 0.5), descriptions=["2001", "2002"])
    with pytest.raises(ConfigError, match="'composite' apply to sub-annual composites"):
        _open(annual, composite="integral")
    with pytest.raises(ValueError, match="needs 'season_months"):
        InputSpec(path="x.tif", composite="season_months")
    with pytest.raises(ValueError, match="only apply to local files"):
        InputSpec(dataset="modis", mask="qa.tif")


def test_partial_years_rule() -> None:
    t = pd.DatetimeIndex([f"2001-{m:02d}-01" for m in range(1, 13)] + ["2002-01-01", "2002-02-01"]
                         + [f"2000-{m:02d}-01" for m in range(7, 13)])
    assert partial_years(t) == [2000, 2002]


def test_run_file_inputs_go_through_the_aggregation(tmp_path: Path, monthly_file: Path) -> None:
    """The pipeline opens local inputs with open_input: `composite` in the run file acts on a local file."""
    import geopandas as gpd
    import shapely

    from openldn.config import load_assessment
    from openldn.pipeline.run import _open_inputs

    gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.box(-70.0, 18.98, -69.97, 19.0)], crs="EPSG:4326").to_file(
        tmp_path / "aoi.gpkg")
    run = tmp_path / "run.yaml"
    run.write_text(f"aoi: aoi.gpkg\nbaseline: 2001-2002\nreporting: []\ngrid: {{reference: ndvi}}\n"
                   f"inputs:\n  ndvi:\n    path: {monthly_file.name}\n    composite: integral\n")
    raw, _ = _open_inputs(load_assessment(run))
    assert raw["ndvi"].attrs["time_kind"] == "annual" and raw["ndvi"].attrs["annual_composite"] == "integral"
    np.testing.assert_allclose(raw["ndvi"].values[0], np.trapezoid(MONTHLY, MONTH_DAYS) + 1.2 * 31, rtol=1e-5)


def test_one_dated_band_per_year_is_annual(tmp_path: Path) -> None:
    lc = _write(tmp_path / "lc.tif", np.array([10, 50])[:, None, None] * np.ones((1, 2, 2)), dtype="uint8",
                descriptions=["2015-07-01", "2016-07-01"])
    spec = InputSpec(path=str(lc))
    out = open_input("land_cover", spec, [lc], time="annual")
    assert out.attrs["time_kind"] == "annual" and out.dtype == np.uint8
    assert [str(t)[:10] for t in out["time"].values] == ["2015-01-01", "2016-01-01"]
