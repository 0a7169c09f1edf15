"""`openldn init` -> `validate` -> `run` for an area given by country name; fetch/catalog exit codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from rasterio.transform import from_origin

from openldn.cli.init import country_boundary, world_atlas_path
from openldn.cli.main import main
from openldn.exceptions import InputFileError


def _atlas() -> Path:
    try:
        return world_atlas_path()
    except InputFileError as err:
        pytest.skip(f"world-atlas (npm) not installed: {err}")


def _write(path: Path, bands: np.ndarray, labels: list[str], dtype: str, nodata: float) -> str:
    t = from_origin(-72.1, 20.0, 0.05, 0.05)
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                       dtype=dtype, crs="EPSG:4326", transform=t, nodata=nodata) as dst:
        dst.write(bands.astype(dtype))
        for i, lab in enumerate(labels):
            dst.set_band_description(i + 1, lab)
    return str(path)


def test_country_boundary_by_name_and_codes() -> None:
    atlas = _atlas()
    iso3, name, geom = country_boundary("dominican republic", atlas=atlas)
    assert (iso3, name) == ("DOM", "Dominican Republic")
    # the Dominican Republic spans about 68.3-72.0 W, 17.5-19.9 N (Natural Earth)
    w, s, e, n = geom.bounds
    assert -72.1 < w < -71.9 and -68.4 < e < -68.2 and 17.4 < s < 17.7 and 19.8 < n < 20.0
    assert country_boundary("DOM", atlas=atlas)[0] == country_boundary("214", atlas=atlas)[0] == "DOM"


def test_init_validate_run_by_country_name(tmp_path: Path) -> None:
    _atlas()
    rng = np.random.default_rng(0)
    shape = (50, 76)  # 0.05 degree cells over the Dominican Republic
    lc = np.where(rng.random((4, *shape)) < 0.7, 50, 10).astype("uint8")  # ESA CCI: 50 tree cover, 10 cropland
    lc[1:, :10, :10] = 10  # forest lost to cropland after 2000 in one corner
    lc_path = _write(tmp_path / "lc.tif", lc, ["2000", "2015", "2019", "2023"], "uint8", 0)
    soc_path = _write(tmp_path / "soc.tif", np.full((1, *shape), 60.0), [""], "float32", -9999)
    cz_path = _write(tmp_path / "cz.tif", np.full((1, *shape), 11), [""], "uint8", 0)  # IPCC 11 tropical moist
    run_file = tmp_path / "project" / "dr.yaml"
    assert main(["init", str(run_file), "--country", "Dominican Republic", "--input", f"land_cover={lc_path}",
                 "--input", f"soc={soc_path}", "--input", f"climate_zones={cz_path}"]) == 0
    doc = yaml.safe_load(run_file.read_text())
    assert doc["aoi"] == "aoi_DOM.gpkg" and doc["baseline"] == "2000-2015"
    assert doc["inputs"]["land_cover"]["path"] == lc_path
    assert "# Periods of the current reporting cycle" in run_file.read_text()
    assert main(["init", str(run_file), "--country", "DOM", "--input", f"soc={soc_path}"]) == 2  # exists
    assert main(["validate", str(run_file)]) == 0
    out = tmp_path / "out"
    assert main(["run", str(run_file), "--out", str(out)]) == 0
    assert list(out.rglob("*.xlsx"))


def test_init_refuses_unknown_input_and_missing_area(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "a.yaml"), "--input", "soc=x.tif"]) == 2
    _atlas()
    assert main(["init", str(tmp_path / "b.yaml"), "--country", "DOM", "--input", "sock=x.tif"]) == 2


def test_fetch_and_catalog_exit_non_zero_after_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text("datasets: {x: 1}\n")
    assert main(["catalog", "--catalog", str(bad)]) == 1
    assert main(["fetch", str(tmp_path / "missing.yaml"), "--offline"]) != 0

    import openldn.catalog.fetch as fetch_mod

    def no_pystac(*args: object, **kwargs: object) -> None:
        raise ModuleNotFoundError("No module named 'pystac_client'", name="pystac_client")

    monkeypatch.setattr(fetch_mod, "fetch_assessment", no_pystac)
    run_file = tmp_path / "r.yaml"
    run_file.write_text("aoi: a.gpkg\ninputs: {}\n")
    capsys.readouterr()
    assert main(["fetch", str(run_file)]) == 1
    assert "pip install 'openldn[catalog]'" in capsys.readouterr().err
