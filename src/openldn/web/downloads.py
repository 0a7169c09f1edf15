"""A run's downloads: the published files grouped for people, and all of them as one streamed zip.

The list comes from ``manifest.json`` (every published file, written when a run publishes its result) plus the run
log; without a manifest (an older run), the run folder is walked. Internal files are never listed: the
``.openldn`` folder (checkpoints, staging), ``.checkpoint`` folders, lock files, dot files and the worker's own
output.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openldn.web.security import inside, safe_join

__all__ = ["GROUPS", "run_files", "zip_stream"]

#: Download groups, in the order shown.
GROUPS = ("report", "maps", "tables", "run")
#: Files of the report group shown first, in this order (by suffix).
_REPORT_ORDER = (".xlsx", ".pdf", ".html", ".json")
_LOG = "run.log"
_INTERNAL_NAMES = {"worker.out", "executed_steps.txt"}
#: Already-compressed formats, stored as they are in the zip.
_STORED = {".tif", ".tiff", ".png", ".jpg", ".xlsx", ".zip", ".gz", ".pdf", ".zarr"}


def _internal(rel: str) -> bool:
    parts = rel.split("/")
    return any(p.startswith(".") for p in parts) or parts[0] in _INTERNAL_NAMES


def _group(rel: str) -> str:
    top = rel.split("/")[0] if "/" in rel else ""
    suffix = Path(rel).suffix.lower()
    if top == "report" or suffix in (".xlsx", ".pdf", ".html"):
        return "report"
    if top == "maps" or suffix in (".tif", ".tiff", ".qml", ".png"):
        return "maps"
    if top == "tables" or suffix == ".csv":
        return "tables"
    return "run"


def _order(item: dict[str, Any]) -> tuple[int, int, str]:
    group = GROUPS.index(item["group"])
    suffix = Path(item["path"]).suffix.lower()
    first = _REPORT_ORDER.index(suffix) if item["group"] == "report" and suffix in _REPORT_ORDER else 9
    return group, first, item["path"]


def run_files(out_dir: Path) -> list[dict[str, Any]]:
    """The downloadable files of a run folder.

    Parameters
    ----------
    out_dir : pathlib.Path
        The run's output folder.

    Returns
    -------
    list of dict
        ``path`` (relative, POSIX), ``size`` (bytes), ``group`` (one of :data:`GROUPS`) and ``sha256`` when the
        manifest gives it; sorted by group, the workbook and report first.
    """
    out_dir = out_dir.resolve()
    if not out_dir.is_dir():
        return []
    rels: dict[str, str | None] = {}
    manifest = out_dir / "manifest.json"
    listed = None
    if manifest.is_file():
        try:
            listed = [(str(r["path"]), r.get("sha256")) for r in json.loads(manifest.read_text())["files"]]
        except (ValueError, KeyError, TypeError):
            listed = None
    if listed is not None:
        rels.update(listed)
        rels.setdefault("manifest.json", None)
        rels.setdefault(_LOG, None)
    else:
        for path in sorted(out_dir.rglob("*")):
            if path.is_file():
                rels[path.relative_to(out_dir).as_posix()] = None
    files = []
    for rel, sha in rels.items():
        if _internal(rel):
            continue
        path = out_dir / rel
        if not path.is_file() or not inside(out_dir, path):
            continue
        item: dict[str, Any] = {"path": rel, "size": path.stat().st_size, "group": _group(rel),
                                "folder": rel.split("/")[0] if "/" in rel else ""}
        if sha:
            item["sha256"] = sha
        files.append(item)
    return sorted(files, key=_order)


class _Sink:
    """A write-only, non-seekable byte sink the zip writer fills and the response drains."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: chunks are taken by :meth:`drain`."""

    def drain(self) -> Iterator[bytes]:
        chunks, self.chunks = self.chunks, []
        yield from chunks


def zip_stream(out_dir: Path, files: list[dict[str, Any]], folder: str, chunk: int = 1 << 20) -> Iterator[bytes]:
    """Yield a zip archive of ``files`` (paths relative to ``out_dir``) as it is built, in pieces of about
    ``chunk`` bytes, each member under ``folder/``; every path is resolved inside ``out_dir`` first.

    Memory stays bounded by one piece: the archive is written to a non-seekable sink (sizes in data descriptors,
    ZIP64 for large members) and drained after every piece.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:  # type: ignore[call-overload]
        for item in files:
            target = safe_join(out_dir, item["path"])
            info = zipfile.ZipInfo.from_file(target, f"{folder}/{item['path']}")
            info.compress_type = zipfile.ZIP_STORED if target.suffix.lower() in _STORED else zipfile.ZIP_DEFLATED
            with open(target, "rb") as source, archive.open(info, "w", force_zip64=True) as member:
                while block := source.read(chunk):
                    member.write(block)
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()
