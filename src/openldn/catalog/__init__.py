"""Global default datasets through STAC, the local cache, and provenance records of a run's inputs.

Nothing here touches the network at import; heavy libraries (pystac-client, odc-stac, rasterio) are imported inside
the functions that need them.
"""

from __future__ import annotations

from openldn.catalog._definitions import Catalog, DatasetDef, SourceDef, load_catalog
from openldn.catalog.cache import CacheEntry, default_cache_dir, find_cached, list_cached
from openldn.catalog.composite import annual_composite
from openldn.catalog.download import ChecksumMismatchError, download_file, sha256_file
from openldn.catalog.fetch import (
    AssessmentRequest,
    FetchRequest,
    cached_entries,
    fetch_assessment,
    fetch_dataset,
    fetched_input_spec,
    make_request,
    plan_assessment,
    read_assessment_request,
    resolve_input,
)
from openldn.catalog.provenance import metadata_forms, provenance_for_assessment, record_file

__all__ = [
    "AssessmentRequest",
    "CacheEntry",
    "Catalog",
    "ChecksumMismatchError",
    "DatasetDef",
    "FetchRequest",
    "SourceDef",
    "annual_composite",
    "cached_entries",
    "default_cache_dir",
    "download_file",
    "fetch_assessment",
    "fetch_dataset",
    "fetched_input_spec",
    "find_cached",
    "list_cached",
    "load_catalog",
    "make_request",
    "metadata_forms",
    "plan_assessment",
    "provenance_for_assessment",
    "read_assessment_request",
    "record_file",
    "resolve_input",
    "sha256_file",
]
