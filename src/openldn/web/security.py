"""Security of the web platform: access token, Host/Origin checks, response headers, paths, scrubbed messages.

- Every ``/api`` call needs the access token (generated at start unless explicitly disabled on a loopback
  server), sent as ``Authorization: Bearer <token>`` or as the same-site, HTTP-only session cookie that
  ``POST /api/session`` sets; a token in a query string is refused (URLs end up in logs and browser history).
- :class:`GuardMiddleware` refuses requests whose ``Host`` is not a name of this server (DNS rebinding), and
  cross-origin or cross-site browser requests (``Origin``, ``Sec-Fetch-Site``); it adds a Content-Security-Policy
  without inline script, ``X-Content-Type-Options: nosniff`` and ``frame-ancestors 'none'`` to every answer.
- :func:`resolve_inside` and :func:`check_run_paths` resolve paths (globs expanded, symbolic links followed) and
  refuse any outside the data folder.
- :func:`scrub` takes server paths and tracebacks out of every text sent to a client.
"""

from __future__ import annotations

import glob
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

from openldn.web.errors import WebError
from openldn.web.settings import _LOOPBACK_NAMES, is_loopback

__all__ = [
    "COOKIE",
    "CSP",
    "GuardMiddleware",
    "RedactTokenFilter",
    "check_run_paths",
    "inside",
    "is_loopback",
    "require_token",
    "resolve_inside",
    "safe_join",
    "scrub",
    "session_value",
]

#: Name of the session cookie set by ``POST /api/session``.
COOKIE = "openldn_session"
#: Content-Security-Policy of every answer: scripts, styles and connections from this server only, no inline
#: script, no plugin, no framing by another page.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Policy of the run's output files opened in the browser (the HTML report may show user-supplied names): a
#: sandbox without script, its own inline styles and embedded images only.
FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
#: Extra policy of the Swagger UI page (its components set inline styles).
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

def session_value(token: str) -> str:
    """Value of the session cookie for ``token`` (derived from it, so the cookie is not the token itself)."""
    return hmac.new(token.encode(), b"openldn-session-v1", hashlib.sha256).hexdigest()


def require_token(request: Request) -> None:
    """FastAPI dependency: refuse the request unless it carries the access token.

    The token is read from ``Authorization: Bearer <token>`` or from the session cookie (which browsers send
    with map tiles, downloads and event streams). A ``token`` query parameter is refused, whatever its value.
    Nothing is checked when the server runs without a token (explicit opt-out on a loopback interface).
    """
    if "token" in request.query_params:
        raise WebError(400, "a token in the URL is not accepted: send 'Authorization: Bearer <token>' or sign in on the page")
    expected = request.app.state.settings.token
    if not expected:
        return
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        given = header[7:].strip()
        if given and hmac.compare_digest(given.encode(), expected.encode()):
            return
    cookie = request.cookies.get(COOKIE, "")
    if cookie and hmac.compare_digest(cookie.encode(), session_value(expected).encode()):
        return
    raise WebError(401, "missing or wrong access token: send 'Authorization: Bearer <token>' or sign in on the page")


# ------------------------------------------------------------------------------------------------- host and origin
def _host_name(value: str) -> str:
    """Host name of a ``Host`` header value (``[::1]:8000`` -> ``::1``), lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def allowed_hosts(bind_host: str, extra: Iterable[str] = ()) -> set[str] | None:
    """Host names a request may address on a server bound to ``bind_host`` (None: any, a wildcard bind).

    A loopback server answers only to loopback names (so a DNS-rebound name is refused); a server bound to one
    address answers to that address, the loopback names and ``extra``; a server bound to every interface
    (``0.0.0.0``, ``::``) answers to ``extra`` when given, else to any name (its token then protects it).
    """
    names = {_host_name(h) for h in extra if h}
    bind = bind_host.strip().strip("[]").lower()
    if bind in ("0.0.0.0", "::", ""):
        return (names | _LOOPBACK_NAMES | {"127.0.0.1", "::1"}) if names else None
    return names | _LOOPBACK_NAMES | {"127.0.0.1", "::1", bind}


class GuardMiddleware:
    """ASGI middleware: Host and Origin checks, then the security headers on every answer.

    Parameters
    ----------
    app : ASGI application
        The wrapped application.
    hosts : set of str or None
        Accepted host names (:func:`allowed_hosts`); None accepts any.
    img_sources : iterable of str, optional
        Extra origins the page may load images from (the online basemap's tile server, when one is set).
    """

    def __init__(self, app: Any, hosts: set[str] | None, img_sources: Iterable[str] = ()) -> None:
        self.app = app
        self.hosts = hosts
        extra = " ".join(sorted(set(img_sources)))
        self.csp = CSP.replace("img-src 'self' data: blob:", f"img-src 'self' data: blob: {extra}") if extra else CSP

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any, status: int, message: str) -> None:
        from starlette.responses import JSONResponse

        response = JSONResponse({"detail": message}, status_code=status)
        await self._with_headers(response, scope, receive, send)

    async def _with_headers(self, app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        policy = (
            DOCS_CSP if path == "/docs"
            else FILE_CSP if "/files/" in path and path.startswith("/api/runs/") else self.csp
        )

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                headers += [
                    (b"content-security-policy", policy.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"cross-origin-resource-policy", b"same-origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers") or []}
        host = headers.get(b"host", b"").decode("latin-1")
        if self.hosts is not None and _host_name(host) not in self.hosts:
            await self._refuse(scope, receive, send, 421, "unknown host name: open the address printed by 'openldn serve' (or add the name to OPENLDN_ALLOWED_HOSTS)")
            return
        origin = headers.get(b"origin")
        if origin is not None and origin != b"null":
            parts = urlsplit(origin.decode("latin-1"))
            if parts.netloc.lower() != host.lower():
                await self._refuse(scope, receive, send, 403, "cross-origin request refused")
                return
        elif origin == b"null" and scope.get("method") not in ("GET", "HEAD"):
            await self._refuse(scope, receive, send, 403, "cross-origin request refused")
            return
        fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
        if fetch_site in ("cross-site", "same-site") and scope.get("path", "").startswith("/api"):
            await self._refuse(scope, receive, send, 403, "cross-site request refused")
            return
        await self._with_headers(self.app, scope, receive, send)


class RedactTokenFilter(logging.Filter):
    """Logging filter that blanks ``token=...`` query values and bearer tokens in log records (access logs)."""

    _PATTERN = re.compile(r"((?:[?&]|\b)token=)[^&\s\"']*|(Bearer\s+)\S+", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self._redact(a) if isinstance(a, str) else a for a in record.args) if isinstance(
                record.args, tuple
            ) else record.args
        if isinstance(record.msg, str):
            record.msg = self._redact(record.msg)
        return True

    def _redact(self, text: str) -> str:
        return self._PATTERN.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


# ------------------------------------------------------------------------------------------------------- paths
def inside(root: Path, path: Path) -> bool:
    """Return whether ``path`` (resolved, symbolic links followed) is ``root`` or below it."""
    root, path = Path(root).resolve(), Path(path).resolve()
    return path == root or root in path.parents


def safe_join(root: Path, relative: str | Path) -> Path:
    """Join ``relative`` to ``root`` and refuse any result outside ``root``.

    Parameters
    ----------
    root : pathlib.Path
        Folder the result must stay in.
    relative : str or pathlib.Path
        Relative path requested by a client.

    Returns
    -------
    pathlib.Path
        Resolved absolute path inside ``root``.

    Raises
    ------
    WebError
        403 when the path is absolute, contains a NUL byte, or resolves (following symbolic links) outside
        ``root``.
    """
    text = str(relative)
    if "\x00" in text or Path(text).is_absolute() or text.startswith(("/", "\\")) or ":" in Path(text).drive:
        raise WebError(403, f"path {text!r} is outside the data folder")
    root = Path(root).resolve()
    target = (root / text).resolve()
    if target != root and root not in target.parents:
        raise WebError(403, f"path {text!r} is outside the data folder")
    return target


_GLOB = re.compile(r"[*?\[]")


def resolve_inside(value: str, base: Path, root: Path, *, what: str = "path") -> list[Path]:
    """Resolve a run-file path (relative to ``base``; ``~`` expanded; a glob expanded) and check it.

    Every match of a glob, and the pattern itself with ``..`` collapsed, must resolve (symbolic links followed)
    inside ``root``; so must a plain path, whether it exists or not.

    Parameters
    ----------
    value : str
        Path or glob pattern as written in the run file.
    base : pathlib.Path
        Folder relative paths start from (the run file's folder).
    root : pathlib.Path
        The data folder.
    what : str
        Name of the run-file key, for the message.

    Returns
    -------
    list of pathlib.Path
        The resolved matches (one path for a plain path, possibly none for a glob).

    Raises
    ------
    WebError
        403 when a path leaves the data folder.
    """
    refused = WebError(403, f"{what} {value!r} is outside the data folder")
    if "\x00" in value:
        raise refused
    path = Path(value).expanduser()
    full = path if path.is_absolute() else Path(base) / path
    if not inside(root, Path(os.path.normpath(full))):
        raise refused
    if not _GLOB.search(value):
        if not inside(root, full):
            raise refused
        return [full.resolve()]
    matches = [Path(m) for m in glob.glob(str(full), recursive=True)]
    for match in matches:
        if not inside(root, match):
            raise refused
    return [m.resolve() for m in matches]


def check_run_paths(value: Any, base: Path, root: Path, is_path: Any, key: str = "") -> None:
    """Check every path of a run file's content with :func:`resolve_inside` (raises 403 on the first outside).

    ``is_path(key, text)`` tells which strings are paths.
    """
    if isinstance(value, dict):
        for k, v in value.items():
            check_run_paths(v, base, root, is_path, str(k))
    elif isinstance(value, list):
        for v in value:
            check_run_paths(v, base, root, is_path, key)
    elif isinstance(value, str) and is_path(key, value):
        resolve_inside(value, base, root, what=key or "path")


# ---------------------------------------------------------------------------------------------------- messages
_ABS_PATH = re.compile(r"(?<![\w.~/:-])(/(?:[^\s'\"(),;:\]]+/)*[^\s'\"(),;:\]]*)")
_TRACE_FILE = re.compile(r'^\s*File "[^"]*", line \d+')


def _shorten(path: str, roots: tuple[Path, ...]) -> str:
    for root in roots:
        prefix = str(root).rstrip("/") + "/"
        if path.startswith(prefix):
            return path[len(prefix) :]
        if path == str(root):
            return "."
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name or "/"


def scrub(text: str, *roots: Path) -> str:
    """Remove server paths and tracebacks from a text sent to a client.

    Absolute paths below one of ``roots`` become relative to it; any other absolute path is cut to its file name.
    Traceback blocks (``Traceback (most recent call last):`` and their ``File ...`` frames and source lines) are
    dropped; the final exception line is kept.

    Parameters
    ----------
    text : str
        Message or log text.
    *roots : pathlib.Path
        Folders whose paths are shown relative (the data folder, a run folder ...), most specific first.

    Returns
    -------
    str
        The cleaned text.
    """
    resolved = tuple(Path(r) for r in roots) + tuple(Path(r).resolve() for r in roots)
    resolved = tuple(sorted(set(resolved), key=lambda p: -len(str(p))))
    out: list[str] = []
    in_trace = False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("Traceback (most recent call last)"):
            in_trace = True
            continue
        if in_trace:
            if _TRACE_FILE.match(line) or line.startswith((" ", "\t")) or not stripped:
                continue
            in_trace = False
        out.append(_ABS_PATH.sub(lambda m: _shorten(m.group(1), resolved), line))
    return "".join(out)
