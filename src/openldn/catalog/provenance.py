"""Provenance records of the inputs of a run (PRAIS 2026 reporting manual, Annex II metadata form).

Every input of a run, fetched or local, gets one record (a JSON-ready dict)::

    {
      "role": "input",                 # input | aoi | zones | catalogue
      "name": "land_cover",            # input name in the run file (None for aoi/zones)
      "path": "/abs/path/data.tif",    # local file read by the run
      "url": "https://..." | null,     # source URL(s) (tokens removed)
      "dataset": "esa_cci_lc" | null,  # catalogue id
      "stac": {"api": ..., "collection": ..., "item_ids": [...]} | null,
      "sha256": "...", "size": 12345,  # bytes
      "modified": "2026-...Z",         # file mtime (UTC)
      "fetched": "2026-...Z" | null,   # when the cache entry was made
      "years": [2000, ...] | null,
      "title": ..., "source_link": ..., "publisher": ..., "citation": ..., "licence": ..., "doi": ...,
    }

The pipeline embeds the list in the run JSON under ``"provenance"`` and the report's data section renders it with
:func:`metadata_forms` (the PRAIS Annex II data-source form: Title, Source link / identifier, Author / Publisher,
Citation, plus licence and checksum).
"""

from __future__ import annotations

import datetime as dt
import glob
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openldn.catalog._definitions import Catalog, load_catalog
from openldn.catalog.download import sha256_file
from openldn.exceptions import InputFileError

__all__ = ["metadata_forms", "provenance_for_assessment", "record_file"]

_FORM_KEYS = ("title", "source_link", "publisher", "citation", "licence", "doi")


def record_file(
    path: str | Path,
    *,
    role: str,
    name: str | None = None,
    dataset: str | None = None,
    url: str | Sequence[str] | None = None,
    item_ids: Sequence[str] | None = None,
    licence: str | None = None,
    citation: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Provenance record of one file: checksum, size and dates, plus where it came from and how to cite it.

    Parameters
    ----------
    path : path
        The local file (a folder, e.g. a Zarr store, is hashed file by file in sorted order). A file fetched into
        the cache gets the fields of its cache manifest (dataset, URLs, STAC items, licence, citation...) that
        are not given explicitly.
    role : str
        ``input``, ``aoi``, ``zones`` or another label.
    name : str, optional
        Input name in the run file.
    dataset : str, optional
        Catalogue id.
    url : str or list of str, optional
        Source URL(s).
    item_ids : list of str, optional
        STAC item ids.
    licence, citation : str, optional
        Licence and full citation.
    **extra
        More fields (title, source_link, publisher, doi, years, stac, fetched...).

    Returns
    -------
    dict
        The record (JSON-serialisable).

    Raises
    ------
    InputFileError
        The file does not exist.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InputFileError(f"{role} file {p} does not exist: check the path in the run file.")
    if p.is_dir():
        import hashlib

        h = hashlib.sha256()
        size = 0
        for f in sorted(q for q in p.rglob("*") if q.is_file()):
            h.update(str(f.relative_to(p)).encode())
            h.update(bytes.fromhex(sha256_file(f)))
            size += f.stat().st_size
        digest = h.hexdigest()
    else:
        digest = sha256_file(p)
        size = p.stat().st_size
    mtime = dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC).replace(microsecond=0).isoformat()
    rec: dict[str, Any] = {
        "role": role,
        "name": name,
        "path": str(p.resolve()),
        "url": url if url is None or isinstance(url, str) else list(url),
        "dataset": dataset,
        "item_ids": list(item_ids) if item_ids is not None else None,
        "sha256": digest,
        "size": size,
        "modified": mtime,
        "licence": licence,
        "citation": citation,
    }
    for key, value in extra.items():
        rec[key] = value
    if p.is_file():
        _enrich_from_manifest(rec, p)
    for key in _FORM_KEYS:
        rec.setdefault(key, None)
    return rec


def _enrich_from_manifest(rec: dict[str, Any], path: Path) -> None:
    """Fill the empty fields of a record of a cached file from the cache manifest next to it."""
    import json

    from openldn.catalog.cache import MANIFEST

    try:
        man = json.loads((path.parent / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if man.get("file") != path.name or man.get("openldn_cache") is None:
        return
    meta = dict(man.get("metadata") or {})
    items = man.get("items") or []
    src = man.get("source") or {}
    urls = [i["href"] for i in items if i.get("href")]
    stac = None
    if src.get("type") == "stac":
        stac = {"api": src.get("api"), "collection": src.get("collection"), "asset": src.get("asset"),
                "item_ids": [i["id"] for i in items]}
    found = {
        "dataset": man.get("dataset"),
        "url": urls if len(urls) != 1 else urls[0],
        "item_ids": [i["id"] for i in items],
        "licence": meta.get("licence"),
        "citation": meta.get("citation"),
        "title": meta.get("title"),
        "source_link": meta.get("source_link"),
        "publisher": meta.get("publisher"),
        "doi": meta.get("doi"),
        "stac": stac,
        "fetched": man.get("created"),
        "years": man.get("years"),
        "missing_years": man.get("missing_years") or [],
        "request": man.get("request"),
        "manifest_sha256": man.get("sha256"),
    }
    for key, value in found.items():
        if rec.get(key) is None:
            rec[key] = value


def _local_paths(value: Any, base: Path) -> list[Path]:
    values = value if isinstance(value, list | tuple) else [value]
    out: list[Path] = []
    for v in values:
        p = Path(str(v)).expanduser()
        p = p if p.is_absolute() else base / p
        if any(c in str(v) for c in "*?["):
            out.extend(Path(m) for m in sorted(glob.glob(str(p))))
        else:
            out.append(p)
    return out


def _cached_record(name: str, entry: Any) -> dict[str, Any]:
    return record_file(entry.path, role="input", name=name)


def provenance_for_assessment(
    assessment_path: str | Path,
    *,
    cache_dir: str | Path | None = None,
    catalog: Catalog | str | Path | None = None,
) -> list[dict[str, Any]]:
    """Provenance records of every input of a run file: local files, cached datasets, the AOI and the zones.

    Offline: a ``{dataset: ...}`` input must have been fetched (else :class:`~openldn.exceptions.DataAccessError`
    names the `openldn fetch` command). Local inputs may carry ``title``, ``licence``, ``citation``, ``source``
    and ``doi`` keys, which are copied into their records (national data, PRAIS 2026 reporting manual, Annex II metadata form).

    Returns
    -------
    list of dict
        One record per file, in run-file order: inputs, then aoi, then zones.
    """
    from openldn.catalog.fetch import cached_entries, read_assessment_request

    req = read_assessment_request(assessment_path)
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    cached = cached_entries(assessment_path, cache_dir=cache_dir, catalog=cat)
    records: list[dict[str, Any]] = []
    for name, spec in req.inputs.items():
        if not isinstance(spec, Mapping):
            continue
        if name in cached:
            records.append(_cached_record(name, cached[name]))
            continue
        if spec.get("path") is None:
            continue
        for p in _local_paths(spec["path"], req.base_dir):
            records.append(
                record_file(
                    p, role="input", name=name, licence=spec.get("licence"), citation=spec.get("citation"),
                    title=spec.get("title"), source_link=spec.get("source"), doi=spec.get("doi"),
                )
            )
    if req.doc.get("aoi"):
        records.append(record_file(req.base_dir / str(req.doc["aoi"]), role="aoi"))
    zones = req.doc.get("zones")
    if isinstance(zones, Mapping) and zones.get("path"):
        records.append(record_file(req.base_dir / str(zones["path"]), role="zones"))
    elif isinstance(zones, str):
        records.append(record_file(req.base_dir / zones, role="zones"))
    return records


def metadata_forms(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the PRAIS data-source form (PRAIS 2026 reporting manual, Annex II metadata form) for a report's data section, one per input.

    Files of the same input (one file per year) are merged into one row.

    Returns
    -------
    list of dict
        Keys: ``input``, ``Title``, ``Source link / identifier``, ``Author / Publisher``, ``Citation``,
        ``Licence``, ``Years``, ``Files``, ``sha256`` (of the first file; all are in the run JSON).
    """
    rows: dict[str, dict[str, Any]] = {}
    for rec in records:
        key = str(rec.get("name") or rec.get("role"))
        if key in rows:
            rows[key]["Files"] += 1
            continue
        url = rec.get("url")
        link = rec.get("doi") or rec.get("source_link") or (url if isinstance(url, str) else None)
        if link and str(link).startswith("10."):
            link = f"https://doi.org/{link}"
        years = rec.get("years")
        rows[key] = {
            "input": key,
            "Title": rec.get("title") or Path(str(rec.get("path"))).name,
            "Source link / identifier": link or rec.get("path"),
            "Author / Publisher": rec.get("publisher") or "",
            "Citation": rec.get("citation") or "",
            "Licence": rec.get("licence") or "",
            "Years": f"{min(years)}-{max(years)}" if years else "",
            "Files": 1,
            "sha256": rec.get("sha256"),
        }
    return list(rows.values())
