"""Checks on uploaded files: size, extension and content signature; stored under generated names."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from openldn.web.errors import WebError

__all__ = ["EXTENSIONS", "UploadLimitMiddleware", "check_content", "kind_of", "save_stream"]

#: Accepted extensions and the dataset kind they give.
EXTENSIONS: dict[str, str] = {
    ".tif": "raster",
    ".tiff": "raster",
    ".nc": "raster",
    ".gpkg": "vector",
    ".geojson": "vector",
    ".json": "vector",
    ".zip": "vector",
}
_CHUNK = 1 << 20


def kind_of(filename: str) -> tuple[str, str]:
    """Return ``(extension, kind)`` of an accepted file name, or raise 415."""
    ext = Path(filename).suffix.lower()
    if ext not in EXTENSIONS:
        allowed = ", ".join(sorted(EXTENSIONS))
        raise WebError(415, f"file {Path(filename).name!r} has an unsupported type; accepted: {allowed}")
    return ext, EXTENSIONS[ext]


def save_stream(stream: BinaryIO, target: Path, limit: int) -> int:
    """Copy an upload to ``target`` (written under a temporary name first), refusing more than ``limit`` bytes.

    Returns
    -------
    int
        Number of bytes written.
    """
    tmp = target.with_name(target.name + ".part")
    size = 0
    try:
        with open(tmp, "xb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise WebError(413, f"upload is larger than the limit of {limit / 2**20:.0f} MiB (OPENLDN_MAX_UPLOAD_MB)")
                out.write(chunk)
        os.link(tmp, target)  # fails rather than overwrite an existing file
    finally:
        tmp.unlink(missing_ok=True)
    return size


def check_content(path: Path, ext: str) -> None:
    """Verify that a stored file's content matches its extension; raise 415 otherwise."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    ok = True
    if ext in (".tif", ".tiff"):
        ok = head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
    elif ext == ".nc":
        ok = head[:3] == b"CDF" or head[:8] == b"\x89HDF\r\n\x1a\n"
    elif ext == ".gpkg":
        ok = head == b"SQLite format 3\x00"
    elif ext in (".geojson", ".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            ok = isinstance(data, dict) and data.get("type") in (
                "FeatureCollection", "Feature", "Polygon", "MultiPolygon", "GeometryCollection",
            )
        except (UnicodeDecodeError, ValueError):
            ok = False
    elif ext == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
            ok = any(n.lower().endswith(".shp") for n in names) and not any(
                n.startswith(("/", "\\")) or ".." in Path(n).parts for n in names
            )
        except zipfile.BadZipFile:
            ok = False
    if not ok:
        raise WebError(415, f"content of the upload does not match its {ext} extension")


class UploadLimitMiddleware:
    """Refuse a request body larger than the upload limit, counting its bytes as they arrive (ASGI middleware).

    A body announced larger (``Content-Length``) is refused before it is read; a body without length
    (``Transfer-Encoding: chunked``) is cut off as soon as the bytes received pass the limit, so it is never
    spooled to disk whole. The upload route also counts the bytes of the file it stores.

    Parameters
    ----------
    app : ASGI application
        The wrapped application.
    limit : int
        Largest accepted body in bytes (the upload limit plus room for the multipart envelope).
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _message(self) -> str:
        return f"request body is larger than the upload limit of {self.limit / 2**20:.1f} MiB (OPENLDN_MAX_UPLOAD_MB)"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        from starlette.responses import JSONResponse

        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await JSONResponse({"detail": self._message()}, status_code=413)(scope, receive, send)
            return
        received = 0
        over = False
        started = False

        async def counted_receive() -> dict[str, Any]:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True  # stop reading: the app sees a disconnected client
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to the cut body is replaced by the 413 below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await JSONResponse({"detail": self._message()}, status_code=413)(scope, receive, send)
