"""Resumable HTTP downloads with retries, exponential backoff and checksum verification.

A download goes to ``<target>.part``; a sidecar ``<target>.part.json`` keeps the URL and the server's validator
(ETag / Last-Modified). When a transfer breaks (connection dropped, timeout, 5xx), the next attempt, in the same call
or in a later run, asks for the remaining bytes with an HTTP ``Range`` header (``If-Range`` guards against a file that
changed meanwhile) and appends them. The finished file is checked against the expected sha256 (from the STAC ``file``
extension, when known) and renamed into place atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from openldn.exceptions import DataAccessError
from openldn.io._atomic import sha256_file  # re-exported: callers import it from here too

__all__ = [
    "ChecksumMismatchError",
    "ProgressCallback",
    "download_file",
    "file_lock",
    "http_retry_settings",
    "multihash_to_sha256",
    "sha256_file",
]

#: progress(description, bytes_or_steps_done, total_or_None)
ProgressCallback = Callable[[str, int, int | None], None]

_CHUNK = 1 << 16
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


class ChecksumMismatchError(DataAccessError):
    """A downloaded or cached file does not have the expected sha256."""


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock held on ``path`` across processes (POSIX ``flock``; no lock where unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def multihash_to_sha256(value: str | None) -> str | None:
    """The sha256 hex digest inside a STAC ``file:checksum`` multihash (``1220`` + digest), or None.

    A bare 64-character hex digest is accepted as sha256 too; other hash functions give None (not checked).
    """
    if not value:
        return None
    value = value.strip().lower()
    if value.startswith("1220") and len(value) == 68:
        return value[4:]
    if len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value
    return None


def http_retry_settings() -> tuple[int, float]:
    """(retries, backoff seconds) from ``$OPENLDN_HTTP_RETRIES`` (default 4) and ``$OPENLDN_HTTP_BACKOFF`` (0.5)."""
    try:
        retries = max(int(os.environ.get("OPENLDN_HTTP_RETRIES", "4")), 0)
        backoff = max(float(os.environ.get("OPENLDN_HTTP_BACKOFF", "0.5")), 0.0)
    except ValueError:
        retries, backoff = 4, 0.5
    return retries, backoff


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def download_file(
    url: str,
    target: str | Path,
    *,
    sha256: str | None = None,
    dataset: str = "dataset",
    retries: int | None = None,
    backoff: float | None = None,
    timeout: float = 60.0,
    progress: ProgressCallback | None = None,
    session: Any = None,
) -> Path:
    """Download ``url`` to ``target``, resuming a previous partial download and retrying with backoff.

    Parameters
    ----------
    url : str
        HTTP(S) URL (``file://`` and plain paths are copied).
    target : str or Path
        Final file path; its folder is created.
    sha256 : str, optional
        Expected hex digest; a mismatch deletes the partial file and raises :class:`ChecksumMismatchError`.
    dataset : str
        Dataset id used in error messages.
    retries : int, optional
        Attempts after the first one (default ``$OPENLDN_HTTP_RETRIES`` or 4); waits ``backoff * 2**attempt``
        seconds between attempts.
    backoff : float, optional
        Base wait in seconds (default ``$OPENLDN_HTTP_BACKOFF`` or 0.5).
    timeout : float
        Connect/read timeout of each request, in seconds.
    progress : callable, optional
        ``progress(description, bytes_done, total_bytes_or_None)``.
    session : requests.Session, optional
        Session to reuse.

    Returns
    -------
    Path
        ``target``, complete and verified.

    Raises
    ------
    DataAccessError
        The server could not be reached or kept failing after all retries.
    ChecksumMismatchError
        The complete file does not have the expected sha256.
    """
    env_retries, env_backoff = http_retry_settings()
    retries = env_retries if retries is None else retries
    backoff = env_backoff if backoff is None else backoff
    target = Path(target)
    with file_lock(target.with_name(target.name + ".lock")):
        return _download(url, target, sha256=sha256, dataset=dataset, retries=retries, backoff=backoff,
                         timeout=timeout, progress=progress, session=session)


def _download(url: str, target: Path, *, sha256: str | None, dataset: str, retries: int, backoff: float,
              timeout: float, progress: ProgressCallback | None, session: Any) -> Path:
    import requests
    import urllib3

    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_file() and (sha256 is None or sha256_file(target) == sha256):
        return target
    part = target.with_name(target.name + ".part")
    meta_path = target.with_name(target.name + ".part.json")
    meta = _read_meta(meta_path)
    if part.exists() and meta.get("url") != url:
        part.unlink()
        meta = {}
    if not url.startswith(("http://", "https://")):
        return _copy_local(url, target, sha256=sha256, dataset=dataset)

    sess = session or requests.Session()
    last_error = "no attempt made"
    try:
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            offset = part.stat().st_size if part.exists() else 0
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
                validator = meta.get("etag") or meta.get("last_modified")
                if validator:
                    headers["If-Range"] = validator
            try:
                with sess.get(url, headers=headers, stream=True, timeout=timeout) as resp:
                    if resp.status_code == 416 and offset:
                        # the part file already holds every byte (or more): restart from scratch
                        part.unlink()
                        last_error = "HTTP 416 on resume"
                        continue
                    if resp.status_code in _RETRY_STATUS:
                        last_error = f"HTTP {resp.status_code}"
                        continue
                    if resp.status_code >= 400:
                        raise DataAccessError(
                            f"dataset {dataset}: {url} answered HTTP {resp.status_code}: check the URL in the catalogue."
                        )
                    if resp.status_code == 206 and offset:
                        mode = "ab"
                        done = offset
                    else:  # 200: the server ignored the range (or a fresh start)
                        mode = "wb"
                        done = 0
                    length = resp.headers.get("Content-Length")
                    total = done + int(length) if length is not None else None
                    meta = {
                        "url": url,
                        "etag": resp.headers.get("ETag"),
                        "last_modified": resp.headers.get("Last-Modified"),
                        "total": total,
                    }
                    _write_json(meta_path, meta)
                    with open(part, mode) as fh:
                        while block := resp.raw.read1(_CHUNK):  # keeps every byte received before a cut
                            fh.write(block)
                            done += len(block)
                            if progress is not None:
                                progress(f"{dataset}: download {target.name}", done, total)
                    if total is not None and done < total:
                        last_error = f"connection closed after {done} of {total} bytes"
                        continue
            except DataAccessError:
                raise
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    urllib3.exceptions.HTTPError, OSError) as err:
                last_error = f"{type(err).__name__}: {err}".splitlines()[0][:200]
                continue
            break
        else:
            raise DataAccessError(
                f"dataset {dataset}: download of {url} failed after {retries + 1} attempts ({last_error}); "
                "the partial file is kept: run `openldn fetch` again to resume."
            )
    finally:
        if session is None:
            sess.close()
    return _finish(part, meta_path, target, sha256=sha256, dataset=dataset, url=url)


def _finish(part: Path, meta_path: Path, target: Path, *, sha256: str | None, dataset: str, url: str) -> Path:
    if sha256 is not None:
        got = sha256_file(part)
        if got != sha256:
            part.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
            raise ChecksumMismatchError(
                f"dataset {dataset}: checksum mismatch for {url} (expected sha256 {sha256[:12]}..., got {got[:12]}...): "
                "the file was deleted; run `openldn fetch` again, or report a changed source."
            )
    os.replace(part, target)
    meta_path.unlink(missing_ok=True)
    return target


def _copy_local(url: str, target: Path, *, sha256: str | None, dataset: str) -> Path:
    import shutil
    from urllib.parse import unquote, urlparse

    src = Path(unquote(urlparse(url).path)) if url.startswith("file://") else Path(url)
    if not src.is_file():
        raise DataAccessError(f"dataset {dataset}: source file {src} does not exist: check the catalogue entry.")
    part = target.with_name(target.name + ".part")
    shutil.copyfile(src, part)
    return _finish(part, target.with_name(target.name + ".part.json"), target, sha256=sha256, dataset=dataset, url=url)
