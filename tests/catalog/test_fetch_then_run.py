"""End to end: `openldn fetch` then `openldn run` against the local STAC catalogue; provenance in the run JSON."""

from __future__ import annotations

import json

import pytest
import yaml

RUN = """
name: Fetched test country
baseline: 2000-2001
reporting: [2002-2003]
aoi: aoi.geojson
grid: {reference: land_cover}
inputs:
  land_cover: {dataset: test_lc, legend: esa_cci}
  soc: {dataset: test_soc}
soil_carbon: {climate_factor: 0.69}
"""


@pytest.mark.slow
def test_openldn_fetch_then_run(stac_server, catalog_extra, cache_dir, tmp_path, monkeypatch, grid) -> None:
    typer_testing = pytest.importorskip("typer.testing")
    try:
        from openldn.cli.main import app
    except ImportError as err:  # pragma: no cover - CLI not assembled yet
        pytest.skip(f"openldn CLI unavailable: {err}")
    extra = tmp_path / "catalog.yaml"
    extra.write_text(yaml.safe_dump(catalog_extra))
    monkeypatch.setenv("OPENLDN_CATALOG", str(extra))
    w, s, e, n = grid.aoi_bbox
    aoi = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": 1, "name": "A"},
           "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}}]}
    (tmp_path / "aoi.geojson").write_text(json.dumps(aoi))
    run = tmp_path / "run.yaml"
    run.write_text(RUN)
    runner = typer_testing.CliRunner()
    fetched = runner.invoke(app, ["fetch", str(run)])
    assert fetched.exit_code == 0, fetched.output
    n_requests = len(stac_server.log)
    result = runner.invoke(app, ["run", str(run), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert len(stac_server.log) == n_requests  # the run itself is offline
    doc = json.loads((tmp_path / "out" / "report" / "openldn-run.json").read_text())
    inputs = {r["dataset"]: r for r in doc["provenance"]["inputs"] if r.get("dataset")}
    lc = inputs["test_lc"]
    assert lc["item_ids"] == ["lc-2000", "lc-2001", "lc-2002", "lc-2003"]
    assert lc["licence"] == "CC BY 4.0" and lc["citation"] == "Test land cover (2026)."
    assert lc["path"].startswith(str(cache_dir)) and len(lc["sha256"]) == 64
    assert inputs["test_soc"]["url"] == f"{stac_server.url}/data/soc.tif"
