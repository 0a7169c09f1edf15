"""Access token check and safe resolution of paths inside the data folder."""

from __future__ import annotations

import hmac
from pathlib import Path

from fastapi import Request

from openldn.web.errors import WebError

__all__ = ["require_token", "safe_join"]


def require_token(request: Request) -> None:
    """FastAPI dependency: refuse the request unless it carries the configured token.

    The token is read from ``Authorization: Bearer <token>`` or, for map tiles, downloads and event streams
    which a browser loads without custom headers, from the ``token`` query parameter. Nothing is checked
    when no token is configured.
    """
    expected = request.app.state.settings.token
    if not expected:
        return
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else request.query_params.get("token", "")
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise WebError(401, "missing or wrong access token: send 'Authorization: Bearer <token>'")


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


def inside(root: Path, path: Path) -> bool:
    """Return whether ``path`` (resolved) is ``root`` or below it."""
    root, path = Path(root).resolve(), Path(path).resolve()
    return path == root or root in path.parents
