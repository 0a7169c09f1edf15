"""Provenance records of a run's inputs and the PRAIS data-source form rows."""

from __future__ import annotations

import hashlib
import json

import pytest

from openldn.catalog import fetch_assessment, metadata_forms, provenance_for_assessment, record_file
from openldn.exceptions import DataAccessError, InputFileError


def test_record_file__checksum_size_dates_and_metadata(tmp_path) -> None:
    path = tmp_path / "lc.tif"
    path.write_bytes(b"abc" * 100)
    rec = record_file(path, role="input", name="land_cover", dataset="x", url="https://e.org/lc.tif",
                      item_ids=["a", "b"], licence="CC BY 4.0", citation="Someone (2024).", years=[2000])
    assert rec["sha256"] == hashlib.sha256(b"abc" * 100).hexdigest()
    assert rec["size"] == 300 and rec["path"] == str(path.resolve())
    assert rec["modified"].endswith("+00:00")
    assert rec["item_ids"] == ["a", "b"] and rec["years"] == [2000]
    assert rec["title"] is None  # form keys are always present
    json.dumps(rec)  # serialisable for the run JSON
    with pytest.raises(InputFileError, match="does not exist"):
        record_file(tmp_path / "missing.tif", role="input")


def test_record_file__folder_hash_changes_with_content(tmp_path) -> None:
    store = tmp_path / "x.zarr"
    (store / "a").mkdir(parents=True)
    (store / "a" / "0").write_bytes(b"1")
    first = record_file(store, role="input")["sha256"]
    (store / "a" / "0").write_bytes(b"2")
    assert record_file(store, role="input")["sha256"] != first


def test_provenance_for_assessment__fetched_and_local_inputs(stac_server, catalog, cache_dir, assessment) -> None:
    with pytest.raises(DataAccessError, match="not cached"):
        provenance_for_assessment(assessment, catalog=catalog)
    paths = fetch_assessment(assessment, catalog=catalog)
    records = provenance_for_assessment(assessment, catalog=catalog)
    by_name = {r["name"]: r for r in records if r["role"] == "input"}
    assert set(by_name) == {"land_cover", "ndvi", "precipitation", "soc", "climate_zones"}
    lc = by_name["land_cover"]
    assert lc["path"] == str(paths["land_cover"].resolve())
    assert lc["sha256"] == hashlib.sha256(paths["land_cover"].read_bytes()).hexdigest() == lc["manifest_sha256"]
    assert lc["item_ids"] == ["lc-2000", "lc-2001", "lc-2002", "lc-2003"]
    assert lc["stac"] == {"api": stac_server.api, "collection": "test-lc", "asset": "lccs_class",
                          "item_ids": lc["item_ids"]}
    assert lc["url"][0] == f"{stac_server.url}/data/lc_2000.tif"
    assert (lc["licence"], lc["citation"], lc["doi"]) == ("CC BY 4.0", "Test land cover (2026).", "10.0000/test.lc")
    assert lc["years"] == [2000, 2001, 2002, 2003] and lc["fetched"]
    soc = by_name["soc"]
    assert soc["stac"] is None and soc["url"] == f"{stac_server.url}/data/soc.tif"
    national = by_name["climate_zones"]
    assert national["dataset"] is None and national["licence"] == "CC BY 4.0"
    assert national["title"] == "National climate zones" and national["source_link"] == "https://example.org/cz"
    assert [r["role"] for r in records][-1] == "aoi"
    json.dumps(records)


def test_metadata_forms__one_row_per_input(stac_server, catalog, cache_dir, assessment) -> None:
    fetch_assessment(assessment, catalog=catalog)
    rows = {r["input"]: r for r in metadata_forms(provenance_for_assessment(assessment, catalog=catalog))}
    lc = rows["land_cover"]
    assert lc["Title"] == "Test land cover"
    assert lc["Source link / identifier"] == "https://doi.org/10.0000/test.lc"
    assert lc["Author / Publisher"] == "openldn tests" and lc["Licence"] == "CC BY 4.0"
    assert lc["Years"] == "2000-2003" and lc["Files"] == 1
    assert rows["climate_zones"]["Citation"] == "Ministry (2024). Climate zones."
    assert rows["aoi"]["Title"] == "aoi.geojson"


def test_metadata_forms__merges_files_of_one_input() -> None:
    recs = [{"name": "ndvi", "role": "input", "path": f"/d/ndvi_{y}.tif", "sha256": str(y)} for y in (2001, 2002)]
    rows = metadata_forms(recs)
    assert len(rows) == 1 and rows[0]["Files"] == 2 and rows[0]["sha256"] == "2001"


def test_record_file__cached_file_gets_its_manifest_fields(stac_server, catalog, cache_dir, assessment) -> None:
    paths = fetch_assessment(assessment, catalog=catalog)
    rec = record_file(paths["ndvi"], role="ndvi")  # the form the pipeline uses
    assert rec["dataset"] == "test_ndvi" and rec["licence"] == "CC BY 4.0"
    assert rec["item_ids"] == [f"ndvi-terra-{y}-{m:02d}" for y in (2001, 2002) for m in (1, 4, 7, 10)]
    assert rec["stac"]["collection"] == "test-ndvi" and rec["citation"] == "Test NDVI (2026)."
    assert record_file(paths["ndvi"], role="ndvi", licence="mine")["licence"] == "mine"  # explicit wins
