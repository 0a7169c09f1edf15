"""The FastAPI application: REST API under ``/api``, the single-page interface and its vendored assets."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

import openldn
from openldn.web.db import Database
from openldn.web.errors import ErrorOut, WebError, register_error_handlers
from openldn.web.routes import basemap, i18n, labels, monitor, projects, results, runs
from openldn.web.security import (
    COOKIE,
    GuardMiddleware,
    RedactTokenFilter,
    allowed_hosts,
    require_token,
    session_value,
)
from openldn.web.settings import Settings
from openldn.web.uploads import UploadLimitMiddleware
from openldn.web.worker import RunManager

__all__ = ["VENDOR", "create_app"]

log = logging.getLogger("openldn.web")

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
NODE_MODULES = HERE / "frontend" / "node_modules"
#: URL prefix -> folder (inside node_modules) of third-party browser assets installed by ``npm ci`` in ``web/frontend``.
VENDOR_PACKAGES = {
    "leaflet": "leaflet/dist",
    "world-atlas": "world-atlas",
    "topojson-client": "topojson-client/dist",
    "swagger-ui": "swagger-ui-dist",
}
#: The vendored folders in the default node_modules.
VENDOR = {name: NODE_MODULES / sub for name, sub in VENDOR_PACKAGES.items()}

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in {
        400: "Bad request",
        403: "Path outside the data folder, or a cross-origin request",
        401: "Missing or wrong token",
        404: "Not found",
        409: "Conflict with the current state",
        413: "Upload too large",
        415: "Unsupported upload type",
        422: "Invalid input",
        503: "Library component unavailable",
    }.items()
}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application.

    Parameters
    ----------
    settings : Settings, optional
        Configuration; read from ``OPENLDN_*`` environment variables when omitted.

    Returns
    -------
    fastapi.FastAPI
        The app; its lifespan opens the database, marks runs interrupted by a previous shutdown, and stops the
        workers at shutdown (their runs become resumable).
    """
    settings = settings or Settings()
    token_generated = False
    if settings.auth and not settings.token:
        settings.token = secrets.token_urlsafe(24)
        token_generated = True
    elif not settings.auth:
        settings.token = None
    _redact_access_log()
    node_modules = Path(settings.node_modules) if settings.node_modules else NODE_MODULES
    vendor = {name: node_modules / sub for name, sub in VENDOR_PACKAGES.items()}
    db = Database(settings.db_path)
    manager = RunManager(db, settings.pipeline)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Start the run manager with the server and stop its workers with it."""
        app.state.heavy = anyio.CapacityLimiter(settings.heavy_workers)
        if token_generated:
            # printed, never logged: the address to open, with the token in the fragment (not sent to the server)
            print(
                f"openldn web platform: open http://{settings.host}:{settings.port}/#token={settings.token}\n"
                f"  access token: {settings.token}  (set OPENLDN_TOKEN to choose it)",
                flush=True,
            )
        manager.startup()
        try:
            yield
        finally:
            manager.shutdown()

    app = FastAPI(
        title="openldn",
        version=openldn.__version__ if hasattr(openldn, "__version__") else "0",
        description="Compute, follow and explore UNCCD land degradation assessments (SDG 15.3.1, SO1-SO3).",
        lifespan=lifespan,
        responses=_ERRORS,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.runs = manager
    register_error_handlers(app)
    app.add_middleware(i18n.LanguageMiddleware)  # each request in the language the page asks for
    app.add_middleware(UploadLimitMiddleware, limit=settings.max_upload_bytes + 1024 * 1024)
    app.add_middleware(
        GuardMiddleware, hosts=allowed_hosts(settings.host, settings.allowed_hosts),
        img_sources=[settings.basemap_origin] if settings.basemap_origin else [],
    )

    api = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
    app.state.node_modules = node_modules
    for module in (projects, runs, results, basemap, labels):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(i18n.router)  # public: the catalogues of the interface (no secrets), needed before sign-in
    app.include_router(monitor.router)
    app.include_router(monitor.page_router)

    def signed_in(request: Request) -> bool:
        try:
            require_token(request)
        except WebError:
            return False
        return True

    @app.get("/api/health", tags=["meta"], summary="Liveness and configuration")
    def health(request: Request) -> dict[str, object]:
        """Return whether the server runs, whether a token is needed (and given), whether the map assets are
        installed, and the online basemap's tile address when one is set."""
        return {
            "status": "ok",
            "auth": bool(settings.token),
            "signed_in": signed_in(request),
            "max_upload_mb": settings.max_upload_mb,
            "vendor": all(p.is_dir() for p in vendor.values()),
            "basemap_url": settings.basemap_url,
            "basemap_attribution": settings.basemap_attribution,
        }

    @app.post("/api/session", tags=["meta"], status_code=204, summary="Sign in: keep the token in a cookie")
    def sign_in(request: Request, response: Response) -> None:
        """Check ``Authorization: Bearer <token>`` and set the session cookie (HTTP-only, ``SameSite=Strict``)
        with which the page's map tiles, downloads and event streams are authorised."""
        header = request.headers.get("authorization", "")
        if settings.token and not header.lower().startswith("bearer "):
            raise WebError(401, "send the token as 'Authorization: Bearer <token>' to sign in")
        require_token(request)
        if settings.token:
            response.set_cookie(
                COOKIE, session_value(settings.token), httponly=True, samesite="strict", path="/",
                secure=request.url.scheme == "https",
            )

    @app.delete("/api/session", tags=["meta"], status_code=204, summary="Sign out")
    def sign_out(response: Response) -> None:
        """Remove the session cookie."""
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        """Swagger UI of the API, with its assets served from ``/vendor`` (no CDN, no inline script)."""
        return FileResponse(STATIC / "docs.html", media_type="text/html")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        """The single-page interface."""
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for name, folder in vendor.items():
        if folder.is_dir():
            app.mount(f"/vendor/{name}", StaticFiles(directory=folder), name=f"vendor-{name}")
        else:
            log.warning("%s is missing: run 'npm ci' in %s to install the map assets", folder, HERE / "frontend")
    return app


def _redact_access_log() -> None:
    """Blank tokens in uvicorn's access log (a client may still put one in a URL)."""
    for name in ("uvicorn.access", "uvicorn.error", "openldn.web"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokenFilter) for f in logger.filters):
            logger.addFilter(RedactTokenFilter())
