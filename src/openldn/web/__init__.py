"""openldn.web: the web platform (FastAPI + uvicorn) to run, follow and explore assessments in a browser.

Start it with ``openldn serve`` or :func:`serve`; configure it with ``OPENLDN_*`` environment variables
(:class:`openldn.web.settings.Settings`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from openldn.web.settings import Settings

__all__ = ["create_app", "serve"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application (see :func:`openldn.web.app.create_app`)."""
    from openldn.web.app import create_app as _create_app

    return _create_app(settings)


def serve(
    host: str | None = None,
    port: int | None = None,
    *,
    data_dir: str | None = None,
    token: str | None = None,
    auth: bool | None = None,
) -> None:
    """Run the web platform with uvicorn until interrupted.

    Parameters
    ----------
    host : str, optional
        Interface to bind; default ``OPENLDN_HOST`` or 127.0.0.1.
    port : int, optional
        TCP port; default ``OPENLDN_PORT`` or 8000.
    data_dir : str, optional
        Data folder; default ``OPENLDN_DATA_DIR`` or ``./openldn-data``.
    token : str, optional
        Access token; default ``OPENLDN_TOKEN``, else one generated and printed at start.
    auth : bool, optional
        ``False`` runs without token (only allowed on a loopback interface); default ``OPENLDN_AUTH`` (true).
    """
    import uvicorn

    from openldn.web.settings import Settings

    overrides: dict[str, object] = {
        k: v for k, v in {"host": host, "port": port, "data_dir": data_dir, "token": token}.items() if v
    }
    if auth is not None:
        overrides["auth"] = auth
    from pydantic import ValidationError

    from openldn.exceptions import ConfigError

    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = "; ".join(str(e.get("msg", "invalid")).removeprefix("Value error, ") for e in error.errors())
        raise ConfigError(f"web settings (OPENLDN_* variables): {problems}") from None
    print(f"openldn web platform on http://{settings.host}:{settings.port}/ (data folder {settings.root})")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=5
    )
