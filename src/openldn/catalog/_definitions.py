"""Dataset definitions: the catalogue of default global datasets, extended by user files.

The package catalogue lives in ``openldn/data/catalog/datasets.yaml``. A user file with the same layout (a
``datasets:`` mapping of id -> entry) adds new entries or overrides fields of existing ones (nested mappings such as
``source`` are merged key by key, so ``{esa_cci_lc: {source: {api: https://mirror/stac}}}`` only changes the URL).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from openldn.exceptions import ConfigError

__all__ = [
    "Catalog",
    "DatasetDef",
    "SourceDef",
    "load_catalog",
]

Temporal = Literal["annual", "composites", "monthly", "static"]
Access = Literal["window", "download"]
Kind = Literal["categorical", "continuous", "count"]

_TEMPORAL = ("annual", "composites", "monthly", "static")
_ACCESS = ("window", "download")
_KIND = ("categorical", "continuous", "count")
_SOURCE_TYPES = ("stac", "url")
_COMPOSITES = ("mean", "integral", "max")
_RESAMPLING = ("nearest", "bilinear", "average", "mode", "sum", "cubic")
_PACKAGE_FILE = "openldn:data/catalog/datasets.yaml"


@dataclass(frozen=True)
class SourceDef:
    """Where a dataset comes from: a STAC API collection, or a templated file URL.

    Parameters
    ----------
    type : {"stac", "url"}
        ``stac``: items are searched in ``collection`` of the STAC API (or static catalogue) at ``api``.
        ``url``: ``href`` is a file URL (or local path) template with ``{year}``, ``{iso3}``, ``{ISO3}`` and the
        names of ``parts`` as placeholders.
    """

    #: "stac" or "url".
    type: str
    #: STAC API root (or a static catalog.json) for type "stac".
    api: str | None = None
    #: STAC collection id for type "stac".
    collection: str | None = None
    #: Asset key of the data in each STAC item.
    asset: str | None = None
    #: Extra STAC query (query extension), e.g. {"platform": {"eq": "terra"}}.
    query: Mapping[str, Any] | None = None
    #: Asset signing: None, or "planetary_computer" (SAS token appended to the hrefs).
    sign: str | None = None
    #: URL template for type "url".
    href: str | None = None
    #: Placeholders summed over for type "url", e.g. {"age": [0, 1, 5]}: the layer is the sum of the parts.
    parts: Mapping[str, tuple[Any, ...]] | None = None


@dataclass(frozen=True)
class DatasetDef:
    """One catalogue entry: how to find, load and cite a dataset.

    Parameters
    ----------
    id : str
        Catalogue identifier used in run files (``inputs: {land_cover: {dataset: esa_cci_lc}}``).
    """

    #: Catalogue identifier.
    id: str
    #: Human title (PRAIS metadata form "Title").
    title: str
    #: Input variable the dataset provides (ndvi, land_cover, soc, precipitation, population_female, ...).
    variable: str
    #: Categorical, continuous or count data (drives nodata handling and resampling).
    kind: str
    #: Where the data comes from.
    source: SourceDef
    #: "annual", "composites" (sub-annual, aggregated to one value per year), "monthly" or "static".
    temporal: str
    #: First and last year available (None for static data).
    years: tuple[int, int] | None
    #: Units of the physical values (after scale and offset).
    units: str
    #: Scale factor applied to the stored values.
    scale: float = 1.0
    #: Offset added after scaling.
    offset: float = 0.0
    #: Nodata value of the stored values (None: the asset's own).
    nodata: float | None = None
    #: Stored data type (informative; the written files are float32 for scaled data).
    dtype: str | None = None
    #: Legend id for categorical data (openldn/data/legends).
    legend: str | None = None
    #: CRS of the grid the data is loaded on.
    crs: str = "EPSG:4326"
    #: Cell size of the load grid, in units of ``crs``.
    resolution: float | None = None
    #: Resampling used to load onto that grid.
    resampling: str = "nearest"
    #: "window": read only the area of interest over HTTP; "download": fetch whole files (resumable) first.
    access: str = "window"
    #: Annual aggregation of sub-annual composites: "mean", "integral" (days x value) or "max".
    composite: str = "mean"
    #: Years always included when the run does not list years (e.g. the 1981-2010 SPI reference period).
    reference_years: tuple[int, int] | None = None
    #: Licence (short name or URL).
    licence: str = "unknown"
    #: Full bibliographic citation.
    citation: str = ""
    #: Author / publisher.
    publisher: str = ""
    #: DOI or source link (identifier).
    doi: str | None = None
    #: Landing page of the dataset.
    source_link: str | None = None
    #: Free-text notes (caveats, coverage).
    notes: str = ""
    #: Label of the file the entry was read from.
    origin: str = _PACKAGE_FILE
    #: The entry as a plain mapping (used for hashing and provenance).
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def content_hash(self) -> str:
        """sha256 of the fields that change the fetched values (part of the cache key)."""
        keys = ("source", "temporal", "scale", "offset", "nodata", "crs", "resolution", "resampling", "variable")
        doc = {k: self.raw.get(k) for k in keys}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()

    def metadata(self) -> dict[str, Any]:
        """The PRAIS metadata form fields of this dataset (PRAIS 2026 reporting manual, Annex II metadata form)."""
        return {
            "dataset": self.id,
            "title": self.title,
            "source_link": self.doi or self.source_link or self.source.api or self.source.href,
            "doi": self.doi,
            "publisher": self.publisher,
            "citation": self.citation,
            "licence": self.licence,
        }


def _years(value: Any, where: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, str) and "-" in value:
        value = value.split("-")
    if isinstance(value, list | tuple) and len(value) == 2:
        try:
            a, b = int(value[0]), int(value[1])
        except (TypeError, ValueError):
            pass
        else:
            if a <= b:
                return a, b
    raise ConfigError(f"{where}: years must be [first, last] or 'first-last', got {value!r}.")


def _choice(doc: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str | None, where: str) -> str:
    value = doc.get(key, default)
    if value not in allowed:
        raise ConfigError(f"{where}: {key} must be one of {', '.join(allowed)}, got {value!r}.")
    return str(value)


def _source(doc: Any, where: str) -> SourceDef:
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{where}: 'source' must be a mapping with a 'type' (stac or url).")
    stype = _choice(doc, "type", _SOURCE_TYPES, None, f"{where} source")
    unknown = set(doc) - {"type", "api", "collection", "asset", "query", "sign", "href", "parts"}
    if unknown:
        raise ConfigError(f"{where}: unknown source field(s) {', '.join(sorted(unknown))}.")
    if stype == "stac":
        for key in ("api", "collection", "asset"):
            if not doc.get(key):
                raise ConfigError(f"{where}: a STAC source needs '{key}'.")
    elif not doc.get("href"):
        raise ConfigError(f"{where}: a url source needs 'href' (a file URL template).")
    parts = doc.get("parts")
    if parts is not None:
        if not isinstance(parts, Mapping) or not all(isinstance(v, list) and v for v in parts.values()):
            raise ConfigError(f"{where}: source parts must map a placeholder to a non-empty list.")
        parts = {str(k): tuple(v) for k, v in parts.items()}
    if doc.get("sign") not in (None, "planetary_computer"):
        raise ConfigError(f"{where}: source sign must be 'planetary_computer' or absent.")
    return SourceDef(
        type=stype,
        api=doc.get("api"),
        collection=doc.get("collection"),
        asset=doc.get("asset"),
        query=dict(doc["query"]) if doc.get("query") else None,
        sign=doc.get("sign"),
        href=doc.get("href"),
        parts=parts,
    )


_FIELDS = {
    "title", "variable", "kind", "source", "temporal", "years", "units", "scale", "offset", "nodata", "dtype",
    "legend", "crs", "resolution", "resampling", "access", "composite", "reference_years", "licence", "citation",
    "publisher", "doi", "source_link", "notes",
}  # fmt: skip


def _entry(ds_id: str, doc: Any, origin: str) -> DatasetDef:
    where = f"dataset {ds_id!r} ({origin})"
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{where}: the entry must be a mapping of fields.")
    unknown = set(doc) - _FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_FIELDS))}.")
    for key in ("title", "variable", "units", "licence", "citation"):
        if not doc.get(key):
            raise ConfigError(f"{where}: missing '{key}'.")
    temporal = _choice(doc, "temporal", _TEMPORAL, None, where)
    years = _years(doc.get("years"), where)
    if temporal != "static" and years is None:
        raise ConfigError(f"{where}: 'years' is required for {temporal} data.")
    try:
        scale = float(doc.get("scale", 1.0))
        offset = float(doc.get("offset", 0.0))
        nodata = None if doc.get("nodata") is None else float(doc["nodata"])
        resolution = None if doc.get("resolution") is None else float(doc["resolution"])
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: scale, offset, nodata and resolution must be numbers ({err}).") from err
    if doc.get("kind") == "categorical" and not doc.get("dtype"):
        raise ConfigError(f"{where}: a categorical dataset needs 'dtype' (e.g. uint8) so classes stay integers.")
    if resolution is not None and resolution <= 0:
        raise ConfigError(f"{where}: resolution must be positive.")
    return DatasetDef(
        id=ds_id,
        title=str(doc["title"]),
        variable=str(doc["variable"]),
        kind=_choice(doc, "kind", _KIND, "continuous", where),
        source=_source(doc.get("source"), where),
        temporal=temporal,
        years=years,
        units=str(doc["units"]),
        scale=scale,
        offset=offset,
        nodata=nodata,
        dtype=doc.get("dtype"),
        legend=doc.get("legend"),
        crs=str(doc.get("crs", "EPSG:4326")),
        resolution=resolution,
        resampling=_choice(doc, "resampling", _RESAMPLING, "nearest", where),
        access=_choice(doc, "access", _ACCESS, "window", where),
        composite=_choice(doc, "composite", _COMPOSITES, "mean", where),
        reference_years=_years(doc.get("reference_years"), where),
        licence=str(doc["licence"]),
        citation=" ".join(str(doc["citation"]).split()),
        publisher=str(doc.get("publisher", "")),
        doi=doc.get("doi"),
        source_link=doc.get("source_link"),
        notes=" ".join(str(doc.get("notes", "")).split()),
        origin=origin,
        raw=copy.deepcopy(dict(doc)),
    )


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key != "query":
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Catalog:
    """A validated set of dataset definitions, looked up by id.

    Parameters
    ----------
    datasets : Mapping[str, DatasetDef]
        The entries by id.
    sources : tuple[str, ...]
        Labels of the files the catalogue was read from.
    """

    #: The entries by id.
    datasets: Mapping[str, DatasetDef]
    #: Labels of the files the catalogue was read from.
    sources: tuple[str, ...] = ()

    def __getitem__(self, ds_id: str) -> DatasetDef:
        try:
            return self.datasets[ds_id]
        except KeyError:
            raise ConfigError(
                f"Unknown dataset {ds_id!r}: use one of {', '.join(sorted(self.datasets))}, or add it to a catalogue "
                "file passed with --catalog."
            ) from None

    def __contains__(self, ds_id: object) -> bool:
        return ds_id in self.datasets

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.datasets))

    def __len__(self) -> int:
        return len(self.datasets)

    def describe(self) -> list[dict[str, Any]]:
        """One row per entry (id, title, variable, years, source, licence, origin), for listings in the CLI and web."""
        rows = []
        for ds_id in self:
            d = self.datasets[ds_id]
            src = d.source
            where = f"{src.api} {src.collection}/{src.asset}" if src.type == "stac" else str(src.href)
            rows.append({
                "id": d.id, "title": d.title, "variable": d.variable, "temporal": d.temporal,
                "years": f"{d.years[0]}-{d.years[1]}" if d.years else "static", "units": d.units,
                "source": where, "access": d.access, "licence": d.licence, "origin": d.origin,
            })
        return rows

    def for_variable(self, variable: str) -> list[DatasetDef]:
        """The entries providing ``variable`` (e.g. ``"land_cover"``)."""
        return [d for _, d in sorted(self.datasets.items()) if d.variable == variable]


def _read_doc(text: str, origin: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"Catalogue file {origin} is not valid YAML: fix the syntax ({err}).".replace("\n", " ")) from err
    if not isinstance(doc, Mapping) or not isinstance(doc.get("datasets"), Mapping):
        raise ConfigError(f"Catalogue file {origin} must have a 'datasets:' mapping of id -> entry.")
    return dict(doc["datasets"])


def load_catalog(extra: str | Path | Mapping[str, Any] | list[str | Path] | None = None) -> Catalog:
    """Load the package catalogue, extended or overridden by user catalogue files.

    Parameters
    ----------
    extra : str, Path, mapping, list of them, or None
        A YAML file (or an already parsed ``{"datasets": {...}}`` mapping) whose entries add to or override the
        package entries; nested mappings (``source``) are merged key by key. The environment variable
        ``OPENLDN_CATALOG`` may name one more file (applied before ``extra``).

    Returns
    -------
    Catalog
        The validated catalogue.

    Raises
    ------
    ConfigError
        A file is missing or malformed, or an entry lacks a required field.
    """
    import os

    text = resources.files("openldn").joinpath("data", "catalog", "datasets.yaml").read_text(encoding="utf-8")
    docs: dict[str, dict[str, Any]] = {k: dict(v) for k, v in _read_doc(text, _PACKAGE_FILE).items()}
    origins = dict.fromkeys(docs, _PACKAGE_FILE)
    sources = [_PACKAGE_FILE]
    extras: list[Any] = []
    if os.environ.get("OPENLDN_CATALOG"):
        extras.append(Path(os.environ["OPENLDN_CATALOG"]))
    if extra is not None:
        extras.extend(extra if isinstance(extra, list) else [extra])
    for item in extras:
        if isinstance(item, Mapping):
            origin = "<mapping>"
            over = dict(item.get("datasets", {})) if "datasets" in item else dict(item)
        else:
            path = Path(item).expanduser()
            origin = str(path)
            if not path.is_file():
                raise ConfigError(f"Catalogue file {path} does not exist: check the path.")
            over = _read_doc(path.read_text(encoding="utf-8"), origin)
        for ds_id, entry in over.items():
            if not isinstance(entry, Mapping):
                raise ConfigError(f"dataset {ds_id!r} ({origin}): the entry must be a mapping of fields.")
            docs[str(ds_id)] = _merge(docs.get(str(ds_id), {}), entry)
            origins[str(ds_id)] = origin
        sources.append(origin)
    datasets = {ds_id: _entry(ds_id, doc, origins[ds_id]) for ds_id, doc in docs.items()}
    return Catalog(datasets=datasets, sources=tuple(sources))
