"""Searching the local STAC API (pystac-client, /search) and the static catalogue (pystac traversal)."""

from __future__ import annotations

import pystac
import pytest

from openldn.catalog.stac import search_items, sign_planetary_computer
from openldn.exceptions import DataAccessError


def test_search_items__api_filters_collection_years_bbox_and_query(stac_server, catalog, cache_dir) -> None:
    before = len(stac_server.requests_to("/stac/search"))
    items = search_items(catalog["test_ndvi"], bbox=(10.2, 0.3, 10.4, 0.5), years=[2002])
    assert [it.id for it in items] == [f"ndvi-terra-2002-{m:02d}" for m in (1, 4, 7, 10)]  # aqua filtered out
    assert len(stac_server.requests_to("/stac/search")) > before  # the API endpoint was used


def test_search_items__follows_next_links(stac_server, catalog, cache_dir) -> None:
    items = search_items(catalog["test_precip"], bbox=(10.2, 0.3, 10.4, 0.5), years=[2001])
    assert len(items) == 12  # more than one page would be needed with a small limit
    assert items[0].id == "precip-2001-01" and items[-1].id == "precip-2001-12"


def test_search_items__empty_outside_bbox_and_years(stac_server, catalog, cache_dir) -> None:
    assert search_items(catalog["test_lc"], bbox=(50.0, 10.0, 51.0, 11.0), years=[2000]) == []
    assert search_items(catalog["test_lc"], bbox=(10.2, 0.3, 10.4, 0.5), years=[1990]) == []


def test_search_items__static_catalogue_fallback(stac_server, catalog, cache_dir) -> None:
    before = len(stac_server.requests_to("/stac/search"))
    items = search_items(catalog["test_lc_static"], bbox=(10.2, 0.3, 10.4, 0.5), years=[2001, 2002])
    assert [it.id for it in items] == ["lc-2001", "lc-2002"]
    assert len(stac_server.requests_to("/stac/search")) == before
    assert stac_server.requests_to("/static/test-lc/lc-2001.json")


def test_search_items__unreachable_api_raises_data_access_error(catalog_extra, cache_dir) -> None:
    from openldn.catalog import load_catalog

    cat = load_catalog([catalog_extra, {"test_lc": {"source": {"api": "http://127.0.0.1:9/stac"}}}])
    with pytest.raises(DataAccessError, match=r"dataset test_lc: STAC .* cannot be searched") as err:
        search_items(cat["test_lc"], bbox=(10, 0, 11, 1), years=[2000])
    assert "\n" not in str(err.value)


def test_sign_planetary_computer__appends_token_to_blob_hrefs(stac_server, tmp_path) -> None:
    (stac_server.root / "token").mkdir(exist_ok=True)
    (stac_server.root / "token" / "esa-cci-lc").write_text('{"token": "sv=1&sig=abc"}')
    item = pystac.Item("a", None, None, pystac.utils.str_to_datetime("2000-01-01T00:00:00Z"), {})
    item.add_asset("blob", pystac.Asset("https://x.blob.core.windows.net/c/a.tif"))
    item.add_asset("other", pystac.Asset("https://example.org/a.tif"))
    out = sign_planetary_computer([item], collection="esa-cci-lc", token_url=f"{stac_server.url}/token/{{collection}}")
    assert out[0].assets["blob"].href == "https://x.blob.core.windows.net/c/a.tif?sv=1&sig=abc"
    assert out[0].assets["other"].href == "https://example.org/a.tif"
