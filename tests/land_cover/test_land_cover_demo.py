"""The demo's planted land cover changes are found by the land_cover and soil_carbon stages (full pipeline)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import rioxarray

from openldn.core.codes import WATER

datasets = pytest.importorskip("openldn.datasets")
if not hasattr(datasets, "make_demo"):  # pragma: no cover - generator not there yet
    pytest.skip("openldn.datasets.make_demo is not available", allow_module_level=True)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from openldn.pipeline.run import run_assessment

    root = tmp_path_factory.mktemp("demo")
    run_file = datasets.make_demo(root / "data", size=120)
    t0 = time.perf_counter()
    run_assessment(run_file, root / "out", stages=["land_cover", "land_area", "soil_carbon"])
    print(f"demo land_cover + land_area + soil_carbon: {time.perf_counter() - t0:.1f} s")
    return root / "out", datasets.demo_truth(root / "data")


def _patch_values(path: Path, bbox: list[float]) -> np.ndarray:
    da = rioxarray.open_rasterio(path).squeeze("band", drop=True)
    x0, y0, x1, y1 = bbox
    sub = da.where((da.x > x0) & (da.x < x1) & (da.y > y0) & (da.y < y1), drop=True)
    return sub.values.astype(np.int64).ravel()


@pytest.mark.parametrize("name", ["deforestation", "cropland_expansion", "urban_expansion"])
def test_demo__planted_changes_are_found(demo_run: tuple[Path, dict], name: str) -> None:
    out, truth = demo_run
    patch = next(p for p in truth["patches"] if p["name"] == name)
    for layer in ("lc_degradation", "soc_degradation"):
        for period, expected in patch["expected"][layer].items():
            if expected is None:
                continue
            values = _patch_values(out / "maps" / f"{layer}_{period}.tif", patch["bbox"])
            assert values.size > 50
            assert (values == expected).all(), (layer, period, np.unique(values))


def test_demo__one_land_area_in_every_degradation_table(demo_run: tuple[Path, dict]) -> None:
    import pandas as pd

    out, _ = demo_run
    lc = pd.read_csv(out / "tables" / "lc_degradation.csv")
    soc = pd.read_csv(out / "tables" / "soc_degradation.csv")
    land = pd.read_csv(out / "tables" / "land_area.csv")
    land2000 = land[(land.period == 2000) & (land.class_code != 2)].groupby("zone_id").area_km2.sum()
    for df in (lc, soc):
        totals = df[df.class_code != WATER].groupby(["period", "zone_id"]).area_km2.sum()
        for (_, zone), total in totals.items():
            assert total == pytest.approx(land2000[zone], rel=1e-12)
    # deforestation and urban expansion (12 x 12 cells each) are degraded land cover in the reporting periods
    rep = lc[(lc.zone_id == "ALL") & (lc.period == "2016-2019")].set_index("class_code").area_km2
    assert rep[-1] > 0 and rep[1] > 0
