"""The local cache of fetched datasets.

Layout (``cache_dir`` from ``OPENLDN_CACHE_DIR``, else ``~/.cache/openldn``)::

    <cache_dir>/datasets/<dataset id>/<key>/data.tif        # tiled COG, one band per year (or month)
    <cache_dir>/datasets/<dataset id>/<key>/manifest.json   # request, STAC items, sha256, licence, citation
    <cache_dir>/datasets/<dataset id>/<key>/.lock           # held while the entry is being fetched (flock)
    <cache_dir>/downloads/<dataset id>/<name>(.part)         # whole files of "download" datasets (resumable)

``key`` is a hash of the dataset definition (the fields that change values), the area (lon/lat bbox), the years,
the load grid and the parameters, so a changed request never reuses stale data. The manifest is written after the
data file; an entry is valid when both exist and the file's sha256 matches the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openldn.catalog.download import ChecksumMismatchError, sha256_file

__all__ = [
    "CacheEntry",
    "cache_key",
    "default_cache_dir",
    "find_cached",
    "list_cached",
    "read_entry",
    "write_manifest",
]

MANIFEST = "manifest.json"
DATA_FILE = "data.tif"


def default_cache_dir() -> Path:
    """The cache folder: ``$OPENLDN_CACHE_DIR``, else ``$XDG_CACHE_HOME/openldn``, else ``~/.cache/openldn``."""
    env = os.environ.get("OPENLDN_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "openldn"


def cache_key(request: Mapping[str, Any]) -> str:
    """A 20-character hash of a canonical JSON rendering of ``request``."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class CacheEntry:
    """A fetched dataset in the cache.

    Parameters
    ----------
    path : Path
        The data file (COG).
    manifest : dict
        Its manifest (request, items, checksum, metadata).
    """

    #: The data file (COG).
    path: Path
    #: The manifest (request, items, checksum, metadata).
    manifest: Mapping[str, Any]

    @property
    def folder(self) -> Path:
        """The entry's folder."""
        return self.path.parent


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` in ``folder`` atomically."""
    path = folder / MANIFEST
    tmp = folder / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_entry(folder: Path, *, verify: bool = True) -> CacheEntry | None:
    """The cache entry in ``folder``, or None when incomplete.

    Raises
    ------
    ChecksumMismatchError
        ``verify`` is true and the data file does not have the sha256 of its manifest.
    """
    mpath = folder / MANIFEST
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = folder / str(manifest.get("file", DATA_FILE))
    if not path.is_file():
        return None
    if verify:
        got = sha256_file(path)
        if got != manifest.get("sha256"):
            raise ChecksumMismatchError(
                f"dataset {manifest.get('dataset')}: cached file {path} is corrupt (sha256 {got[:12]}... differs from "
                f"its manifest): run `openldn fetch ASSESSMENT.yaml` again to download it afresh."
            )
    return CacheEntry(path=path, manifest=manifest)


def list_cached(cache_dir: Path | None = None, dataset: str | None = None) -> list[CacheEntry]:
    """Every complete cache entry (not verified), newest first, optionally for one dataset."""
    root = Path(cache_dir or default_cache_dir()) / "datasets"
    if not root.is_dir():
        return []
    folders = sorted((root / dataset).glob("*")) if dataset else sorted(root.glob("*/*"))
    out = [e for f in folders if f.is_dir() and (e := read_entry(f, verify=False)) is not None]
    out.sort(key=lambda e: str(e.manifest.get("created", "")), reverse=True)
    return out


def _bbox_covers(outer: Any, inner: Any, tol: float = 1e-9) -> bool:
    return (
        outer[0] <= inner[0] + tol and outer[1] <= inner[1] + tol
        and outer[2] >= inner[2] - tol and outer[3] >= inner[3] - tol
    )  # fmt: skip


def find_cached(
    dataset: str,
    *,
    cache_dir: Path | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    years: list[int] | None = None,
    params: Mapping[str, Any] | None = None,
) -> CacheEntry | None:
    """The newest cache entry of ``dataset`` that covers ``bbox`` and ``years`` with the same ``params``.

    Entries are verified (sha256) before being returned.
    """
    for entry in list_cached(cache_dir, dataset):
        req = entry.manifest.get("request", {})
        if bbox is not None and not _bbox_covers(req.get("bbox", (0, 0, 0, 0)), bbox):
            continue
        if years and not set(years) <= set(entry.manifest.get("years") or []):
            continue
        if params is not None and dict(req.get("params") or {}) != dict(params):
            continue
        checked = read_entry(entry.folder, verify=True)
        if checked is not None:
            return checked
    return None
