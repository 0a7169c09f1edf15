"""The dataset catalogue: package defaults, user overrides, validation."""

from __future__ import annotations

import pytest

from openldn.catalog import load_catalog
from openldn.exceptions import ConfigError


def test_load_catalog__covers_the_defaults_of_the_standard() -> None:
    cat = load_catalog()
    variables = {cat[d].variable for d in cat}
    assert {"land_cover", "ndvi", "soc", "precipitation", "population_female", "population_male"} <= variables
    for ds_id in cat:
        entry = cat[ds_id]
        assert entry.licence and entry.citation and entry.title, ds_id
        assert entry.source.type in ("stac", "url")
    assert cat["esa_cci_lc"].source.collection == "esa-cci-lc"
    assert cat["esa_cci_lc"].legend == "esa_cci"
    ndvi = cat["modis_mod13q1_ndvi"]
    assert (ndvi.source.collection, ndvi.scale, ndvi.nodata, ndvi.temporal) == ("modis-13Q1-061", 0.0001, -3000, "composites")
    assert cat["chirps_monthly"].reference_years == (1981, 2010)


def test_load_catalog__user_file_overrides_one_field_and_adds_entries(tmp_path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "datasets:\n"
        "  esa_cci_lc: {source: {api: https://mirror.example/stac}}\n"
        "  national_lc: {title: National LC, variable: land_cover, kind: categorical, temporal: annual, dtype: uint8,\n"
        "                years: [2000, 2020], units: '1', licence: CC BY 4.0, citation: Ministry (2024).,\n"
        "                source: {type: url, href: 'lc_{year}.tif'}, resolution: 0.001}\n"
    )
    base = load_catalog()
    cat = load_catalog(extra)
    lc = cat["esa_cci_lc"]
    assert lc.source.api == "https://mirror.example/stac"
    assert lc.source.collection == "esa-cci-lc"  # merged, not replaced
    assert lc.content_hash != base["esa_cci_lc"].content_hash
    assert lc.origin == str(extra)
    assert "national_lc" in cat and len(cat) == len(base) + 1
    assert [d.id for d in cat.for_variable("land_cover")] == ["esa_cci_lc", "national_lc"]


def test_load_catalog__env_variable_names_a_file(tmp_path, monkeypatch) -> None:
    extra = tmp_path / "env.yaml"
    extra.write_text("datasets:\n  chirps_monthly: {years: [1981, 2020]}\n")
    monkeypatch.setenv("OPENLDN_CATALOG", str(extra))
    assert load_catalog()["chirps_monthly"].years == (1981, 2020)


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"temporal": "weekly"}, "temporal must be one of"),
        ({"citation": ""}, "missing 'citation'"),
        ({"source": {"type": "stac", "api": "x"}}, "needs 'collection'"),
        ({"colour": "red"}, "unknown field"),
        ({"years": [2020, 2000]}, "years must be"),
    ],
)
def test_load_catalog__bad_entry_raises_config_error(entry, match) -> None:
    good = {"title": "T", "variable": "soc", "temporal": "static", "units": "t ha-1", "licence": "CC BY 4.0",
            "citation": "C.", "source": {"type": "stac", "api": "https://x/stac", "collection": "c", "asset": "a"}}
    load_catalog({"datasets": {"new": good}})  # the unmodified entry is valid
    with pytest.raises(ConfigError, match=match):
        load_catalog({"datasets": {"new": {**good, **entry}}})


def test_catalog__unknown_id_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"Unknown dataset 'nope'.*esa_cci_lc"):
        load_catalog()["nope"]


def test_load_catalog__missing_file() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_catalog("/nonexistent/catalog.yaml")


def test_import_catalog__loads_no_network_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, openldn.catalog; "
        "bad = [m for m in ('pystac_client', 'odc.stac', 'requests', 'urllib3', 'rasterio') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
