"""Fuzz of the run-file model: whatever a user writes, loading it ends in a one-line openldn error or a valid
assessment, never a traceback of another kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openldn.config import load_assessment
from openldn.exceptions import OpenLDNError

KEYS = ["name", "preset", "baseline", "reporting", "aoi", "zones", "grid", "inputs", "outputs", "engine",
        "productivity", "land_cover", "soil_carbon", "integration", "drought", "bogus"]
INPUTS = ["ndvi", "land_cover", "soc", "precipitation", "population_total", "spi", "evi"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["2000-2015", "2016-2019", "auto", "esa_cci", "x.tif",
                                                           "trends_earth", "2015-2000", "-1", "1e9"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                      max_leaves=12)
input_spec = st.dictionaries(st.sampled_from(["path", "dataset", "years", "nodata", "scale", "legend", "composite",
                                              "min_count", "valid_range", "bbox", "variable", "junk"]),
                             values, max_size=5)
documents = st.fixed_dictionaries(
    {"aoi": st.one_of(st.just("aoi.gpkg"), values),
     "inputs": st.one_of(st.dictionaries(st.sampled_from(INPUTS), st.one_of(input_spec, values), max_size=3), values)},
    optional={k: values for k in KEYS if k not in ("aoi", "inputs")},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents)
def test_any_run_file_gives_a_clear_error_or_an_assessment(doc: dict[str, Any], tmp_path_factory: Any) -> None:
    folder = Path(tmp_path_factory.getbasetemp())
    try:
        load_assessment(doc, base_dir=folder, check_files=False)
    except OpenLDNError as err:
        text = str(err)
        assert text and "\n" not in text and "Traceback" not in text
