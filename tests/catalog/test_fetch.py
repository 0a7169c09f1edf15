"""Fetching into the cache: window reads, annual compositing, cache hits, checksums, offline errors."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from openldn.catalog import (
    ChecksumMismatchError,
    fetch_assessment,
    fetch_dataset,
    fetched_input_spec,
    make_request,
    resolve_input,
)
from openldn.exceptions import ConfigError, DataAccessError

AOI_BBOX = (10.205, 0.305, 10.395, 0.495)  # as in conftest
WEST, NORTH, RES = 10.0, 1.0, 0.01


def _request(catalog, ds_id, bbox=AOI_BBOX, **spec):
    return make_request(catalog[ds_id], spec, bbox=bbox, run_years=None, where="test")


def _window(arr: np.ndarray, transform) -> np.ndarray:
    """The cells of a full test-grid array under a fetched file's grid."""
    col0 = round((transform.c - WEST) / RES)
    row0 = round((NORTH - transform.f) / RES)
    return arr[row0:, col0:]


def test_fetch_dataset__window_read_of_annual_land_cover(stac_server, catalog, cache_dir, grid) -> None:
    assert (grid.aoi_bbox, grid.west, grid.north, grid.res) == (AOI_BBOX, WEST, NORTH, RES)
    lc_array = grid.lc_array
    # an area no other test reads: GDAL caches the blocks it has read in the process
    bbox = (13.505, -0.895, 13.695, -0.705)
    req = _request(catalog, "test_lc", bbox=bbox, years=[2001, 2002])
    before = {n: stac_server.bytes_served(n) for n in ("lc_2001.tif", "lc_2003.tif")}
    entry = fetch_dataset(catalog["test_lc"], req, cache_dir=cache_dir)
    with rasterio.open(entry.path) as src:
        assert src.count == 2 and src.descriptions == ("2001", "2002")
        assert src.tags(1)["YEAR"] == "2001"
        assert src.nodata == 0 and src.dtypes[0] == "uint8"
        assert src.profile["tiled"] and src.tags()["legend"] == "esa_cci"
        # the area (19 cells) plus a 2-cell buffer each side, snapped to the dataset's grid
        assert abs(src.res[0] - RES) < 1e-12 and 23 <= src.width <= 24 and 23 <= src.height <= 24
        b = src.bounds
        assert b.left < bbox[0] and b.bottom < bbox[1] and b.right > bbox[2] and b.top > bbox[3]
        data = src.read()
        for band, year in zip(data, (2001, 2002), strict=True):
            np.testing.assert_array_equal(band, _window(lc_array(year), src.transform)[: src.height, : src.width])
    # only the years asked for were read, and only part of each file (COG window reads)
    assert stac_server.bytes_served("lc_2003.tif") == before["lc_2003.tif"]
    served = stac_server.bytes_served("lc_2001.tif") - before["lc_2001.tif"]
    assert 0 < served < (stac_server.root / "data" / "lc_2001.tif").stat().st_size
    man = entry.manifest
    assert man["years"] == [2001, 2002] and man["bands"] == ["2001", "2002"]
    assert [i["id"] for i in man["items"]] == ["lc-2001", "lc-2002"]
    assert man["metadata"]["licence"] == "CC BY 4.0"


def test_fetch_dataset__annual_ndvi_from_composites(stac_server, catalog, cache_dir) -> None:
    mean = fetch_dataset(catalog["test_ndvi"], _request(catalog, "test_ndvi"), cache_dir=cache_dir)
    integral = fetch_dataset(catalog["test_ndvi"], _request(catalog, "test_ndvi", composite="integral"),
                             cache_dir=cache_dir)
    assert mean.path != integral.path  # the composite method is part of the cache key
    with rasterio.open(mean.path) as src:
        assert src.descriptions == ("2001", "2002") and src.dtypes[0] == "float32"
        values = src.read()
    # Terra only (Aqua = 0.9 is filtered out by the catalogue query), scale 0.0001 applied
    np.testing.assert_allclose(values[:, 5, 5], [0.4, 0.5], rtol=1e-5)
    with rasterio.open(integral.path) as src:
        np.testing.assert_allclose(src.read(1)[5, 5], 27 + 45.5 + 46 + 36.8, rtol=1e-4)
        assert src.tags()["annual_composite"] == "integral"
    assert len(mean.manifest["items"]) == 8


def test_fetch_dataset__nodata_gap_in_composites(stac_server, catalog, cache_dir) -> None:
    # the July composites have nodata in the 10 x 10 top-left block of the grid
    req = _request(catalog, "test_ndvi", bbox=(10.0, 0.9, 10.05, 1.0), years=[2001])
    with rasterio.open(fetch_dataset(catalog["test_ndvi"], req, cache_dir=cache_dir).path) as src:
        band = src.read(1)
        row, col = src.index(10.025, 0.955)
    np.testing.assert_allclose(band[row, col], (0.2 + 0.4 + 0.4) / 3, rtol=1e-5)


def test_fetch_dataset__monthly_bands(stac_server, catalog, cache_dir) -> None:
    entry = fetch_dataset(catalog["test_precip"], _request(catalog, "test_precip"), cache_dir=cache_dir)
    with rasterio.open(entry.path) as src:
        assert src.descriptions == tuple(f"2001-{m:02d}" for m in range(1, 13))
        assert src.tags(3)["MONTH"] == "2001-03"
        np.testing.assert_allclose(src.read()[:, 0, 0], np.arange(1, 13))


def test_fetch_dataset__url_source_static_and_summed_parts(stac_server, catalog, cache_dir) -> None:
    soc = fetch_dataset(catalog["test_soc"], _request(catalog, "test_soc"), cache_dir=cache_dir)
    with rasterio.open(soc.path) as src:
        assert src.count == 1 and src.descriptions == (None,)
        row0 = round((NORTH - src.transform.f) / RES)
        np.testing.assert_allclose(src.read(1)[:, 0], 40 + row0 + np.arange(src.height))
    parts = fetch_dataset(catalog["test_parts"], _request(catalog, "test_parts"), cache_dir=cache_dir)
    with rasterio.open(parts.path) as src:
        col0 = round((src.transform.c - WEST) / RES)
        np.testing.assert_allclose(src.read(1)[0], 2 * (1 + (col0 + np.arange(src.width)) / 100), rtol=1e-6)
    assert len(parts.manifest["items"]) == 2


def test_fetch_dataset__cache_hit_makes_no_request(stac_server, catalog, cache_dir) -> None:
    req = _request(catalog, "test_lc", years=[2000])
    first = fetch_dataset(catalog["test_lc"], req, cache_dir=cache_dir)
    n = len(stac_server.log)
    again = fetch_dataset(catalog["test_lc"], req, cache_dir=cache_dir)
    offline = fetch_dataset(catalog["test_lc"], req, cache_dir=cache_dir, offline=True)
    assert again.path == first.path == offline.path
    assert len(stac_server.log) == n


def test_fetch_dataset__corrupt_cache_is_detected(stac_server, catalog, cache_dir) -> None:
    req = _request(catalog, "test_lc", years=[2003])
    entry = fetch_dataset(catalog["test_lc"], req, cache_dir=cache_dir)
    good = entry.manifest["sha256"]
    with open(entry.path, "r+b") as fh:
        fh.seek(-10, 2)
        fh.write(b"0123456789")
    with pytest.raises(ChecksumMismatchError, match=r"test_lc: cached file .* is corrupt.*openldn fetch"):
        fetch_dataset(catalog["test_lc"], req, cache_dir=cache_dir, offline=True)
    repaired = fetch_dataset(catalog["test_lc"], req, cache_dir=cache_dir)  # online: fetched afresh
    assert repaired.manifest["sha256"] == good


def test_fetch_dataset__download_access_verifies_stac_checksum(stac_server, catalog, cache_dir) -> None:
    ok = fetch_dataset(catalog["test_pop"], _request(catalog, "test_pop", years=[2000]), cache_dir=cache_dir)
    assert any((cache_dir / "downloads" / "test_pop").glob("*_pop_2000.tif"))
    with rasterio.open(ok.path) as src:
        col0 = round((src.transform.c - WEST) / RES)
        np.testing.assert_allclose(src.read(1)[0], 1 + (col0 + np.arange(src.width)) / 100, rtol=1e-6)
    with pytest.raises(ChecksumMismatchError, match="test_pop: checksum mismatch"):
        fetch_dataset(catalog["test_pop"], _request(catalog, "test_pop", years=[2001]), cache_dir=cache_dir)
    left = {p.name.split("_", 1)[1] for p in (cache_dir / "downloads" / "test_pop").glob("*_pop_2001.tif*")}
    assert left <= {"pop_2001.tif.lock"}  # neither the bad file nor its .part is kept


def test_fetch_dataset__offline_and_missing_names_dataset_and_command(catalog, cache_dir) -> None:
    with pytest.raises(DataAccessError, match=r"dataset test_lc is not cached .*run `openldn fetch run.yaml`") as err:
        fetch_dataset(catalog["test_lc"], _request(catalog, "test_lc"), cache_dir=cache_dir, offline=True,
                      command="openldn fetch run.yaml")
    assert "\n" not in str(err.value)


def test_fetch_dataset__server_down_raises_data_access_error(stac_server, catalog, cache_dir) -> None:
    stac_server.down = True
    try:
        with pytest.raises(DataAccessError, match="test_lc"):
            fetch_dataset(catalog["test_lc"], _request(catalog, "test_lc", years=[2000, 2001]), cache_dir=cache_dir)
    finally:
        stac_server.down = False


def test_make_request__years_and_validation(catalog) -> None:
    entry = catalog["chirps_monthly"]
    req = make_request(entry, {"dataset": "chirps_monthly"}, bbox=(10, 0, 11, 1), run_years=range(2000, 2024),
                       where="t")
    assert req.years is not None and req.years[0] == 1981 and req.years[-1] == 2023  # SPI reference years added
    with pytest.raises(ConfigError, match="has years 1992-2020, none of"):
        make_request(catalog["esa_cci_lc"], {"years": "2021-2023"}, bbox=(10, 0, 11, 1), run_years=None, where="t")
    with pytest.raises(ConfigError, match=r"needs 'iso3'|add 'iso3"):
        make_request(catalog["worldpop_female"], {}, bbox=(10, 0, 11, 1), run_years=[2015], where="t")
    with pytest.raises(ConfigError, match="unknown key"):
        make_request(catalog["esa_cci_lc"], {"colour": 1}, bbox=(10, 0, 11, 1), run_years=None, where="t")
    a = make_request(catalog["esa_cci_lc"], {}, bbox=(10, 0, 11, 1), run_years=[2015], where="t")
    b = make_request(catalog["esa_cci_lc"], {}, bbox=(10, 0, 11.5, 1), run_years=[2015], where="t")
    assert a.key(catalog["esa_cci_lc"]) != b.key(catalog["esa_cci_lc"])


def test_fetch_assessment__then_offline_and_resolve_input(stac_server, catalog, cache_dir, assessment) -> None:
    seen = []
    paths = fetch_assessment(assessment, catalog=catalog, progress=lambda d, n, t: seen.append(d))
    assert set(paths) == {"land_cover", "ndvi", "precipitation", "soc"}
    assert all(p.is_file() and p.is_relative_to(cache_dir) for p in paths.values())
    assert seen  # progress was reported
    with rasterio.open(paths["land_cover"]) as src:
        assert src.descriptions == ("2000", "2001", "2002", "2003")  # the run's years, baseline to reporting end
    with rasterio.open(paths["ndvi"]) as src:
        assert src.tags()["annual_composite"] == "integral"
    n = len(stac_server.log)
    assert fetch_assessment(assessment, catalog=catalog, offline=True) == paths
    assert len(stac_server.log) == n
    # resolve_input: exact entry with the AOI, newest matching entry without it, local paths unchanged
    base = assessment.parent
    spec = {"dataset": "test_lc"}
    assert resolve_input(spec, base_dir=base, aoi="aoi.geojson", run_years=range(2000, 2004), catalog=catalog) == \
        paths["land_cover"]
    assert resolve_input(spec, base_dir=base, catalog=catalog) == paths["land_cover"]
    assert resolve_input({"path": "climate.tif"}, base_dir=base) == base / "climate.tif"
    assert fetched_input_spec(spec, paths["land_cover"], catalog=catalog) == {
        "path": str(paths["land_cover"]), "legend": "esa_cci"}


def test_resolve_input__not_cached_error(catalog, cache_dir, tmp_path) -> None:
    with pytest.raises(DataAccessError, match=r"dataset test_pop is not cached: run `openldn fetch run.yaml`"):
        resolve_input({"dataset": "test_pop", "years": [2000]}, base_dir=tmp_path, catalog=catalog,
                      assessment="run.yaml")


def test_fetch_assessment__offline_missing_dataset(catalog, cache_dir, assessment) -> None:
    with pytest.raises(DataAccessError, match=rf"dataset test_lc is not cached .*`openldn fetch {assessment}`"):
        fetch_assessment(assessment, catalog=catalog, offline=True)


def test_utc_date_groupby__year_is_not_shifted_west_of_greenwich() -> None:
    import datetime as dt
    from types import SimpleNamespace

    from openldn.catalog.fetch import _utc_date

    parsed = SimpleNamespace(nominal_datetime=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert _utc_date(None, parsed, 0) == dt.date(2000, 1, 1)
    later = SimpleNamespace(nominal_datetime=dt.datetime(2000, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=3))))
    assert _utc_date(None, later, 0) == dt.date(1999, 12, 31)  # compared in UTC


def test_make_request__warns_about_years_the_dataset_lacks(catalog) -> None:
    from openldn.exceptions import OpenLDNWarning

    with pytest.warns(OpenLDNWarning, match="esa_cci_lc has years 1992-2020; 2021-2023 not fetched"):
        req = make_request(catalog["esa_cci_lc"], {}, bbox=(10, 0, 11, 1), run_years=range(2015, 2024), where="t")
    assert req.years == tuple(range(2015, 2021))


def test_fetch_dataset__concurrent_fetches_share_one_entry(stac_server, catalog, cache_dir) -> None:
    from concurrent.futures import ThreadPoolExecutor

    req = _request(catalog, "test_precip", bbox=(12.105, 0.105, 12.195, 0.195))
    searches = len(stac_server.requests_to("/stac/search"))
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda _: fetch_dataset(catalog["test_precip"], req, cache_dir=cache_dir), range(2))
    assert a.path == b.path and a.manifest["created"] == b.manifest["created"]
    assert len(stac_server.requests_to("/stac/search")) == searches + 1  # fetched once, the other waited


def test_fetch_dataset__interrupted_fetch_resumes_from_finished_bands(stac_server, catalog, cache_dir,
                                                                      monkeypatch) -> None:
    import openldn.catalog.fetch as fetch_mod

    class Stop(Exception):
        pass

    req = _request(catalog, "test_precip", bbox=(11.105, -0.395, 11.195, -0.305))

    def stop_after_five(description, done, total):
        if description.endswith("reading") and done == 5:
            raise Stop

    with pytest.raises(Stop):
        fetch_dataset(catalog["test_precip"], req, cache_dir=cache_dir, progress=stop_after_five)
    folder = cache_dir / "datasets" / "test_precip" / req.key(catalog["test_precip"])
    assert sorted(p.name for p in (folder / ".parts").glob("*.npy")) == [f"2001-{m:02d}.npy" for m in range(1, 6)]
    assert not (folder / "manifest.json").exists()
    calls = []
    real = fetch_mod._compute
    monkeypatch.setattr(fetch_mod, "_compute", lambda da, entry: calls.append(1) or real(da, entry))
    entry = fetch_dataset(catalog["test_precip"], req, cache_dir=cache_dir)
    assert len(calls) == 7  # only the months not finished before the interruption were read
    assert not (folder / ".parts").exists()
    with rasterio.open(entry.path) as src:
        np.testing.assert_allclose(src.read()[:, 0, 0], np.arange(1, 13))


def test_fetch_dataset__projected_load_grid(stac_server, catalog, cache_dir) -> None:
    req = _request(catalog, "test_soc", crs="EPSG:3857", resolution=2000)
    with rasterio.open(fetch_dataset(catalog["test_soc"], req, cache_dir=cache_dir).path) as src:
        assert src.crs.to_epsg() == 3857 and src.res == (2000.0, 2000.0)
        band = src.read(1)
    # rows of the source grid run 40 + row; the AOI spans source rows 50-70 (plus buffer)
    assert np.nanmin(band) >= 40 + 45 and np.nanmax(band) <= 40 + 75


def test_resolve_input__covering_entry_and_area_check(stac_server, catalog, cache_dir, assessment) -> None:
    paths = fetch_assessment(assessment, catalog=catalog)
    base = assessment.parent
    # AOI given but not the run's years: the entry covering the AOI is found
    assert resolve_input({"dataset": "test_lc"}, base_dir=base, aoi="aoi.geojson", catalog=catalog) == \
        paths["land_cover"]
    # a smaller area inside the fetched one is covered too
    inner = (10.25, 0.35, 10.30, 0.40)
    assert resolve_input({"dataset": "test_lc", "years": [2001]}, base_dir=base, aoi=inner, catalog=catalog) == \
        paths["land_cover"]
    # an area outside it is not
    with pytest.raises(DataAccessError, match="test_lc is not cached"):
        resolve_input({"dataset": "test_lc"}, base_dir=base, aoi=(12.0, 0.0, 12.5, 0.5), run_years=[2000],
                      catalog=catalog)
