"""The FastAPI application: REST API under ``/api``, the single-page interface and its vendored assets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

import openldn
from openldn.web.db import Database
from openldn.web.errors import ErrorOut, register_error_handlers
from openldn.web.routes import monitor, projects, results, runs
from openldn.web.security import require_token
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

_ERRORS = {
    code: {"model": ErrorOut, "description": text}
    for code, text in {
        400: "Bad request",
        401: "Missing or wrong token",
        403: "Path outside the data folder",
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
    node_modules = Path(settings.node_modules) if settings.node_modules else NODE_MODULES
    vendor = {name: node_modules / sub for name, sub in VENDOR_PACKAGES.items()}
    db = Database(settings.db_path)
    manager = RunManager(db, settings.pipeline)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Start the run manager with the server and stop its workers with it."""
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
    app.add_middleware(UploadLimitMiddleware, limit=settings.max_upload_bytes + 1024 * 1024)

    api = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
    for module in (projects, runs, results):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(monitor.router)
    app.include_router(monitor.page_router)

    @app.get("/api/health", tags=["meta"], summary="Liveness and configuration")
    def health() -> dict[str, object]:
        """Return whether the server runs, whether a token is needed and whether the map assets are installed."""
        return {
            "status": "ok",
            "auth": bool(settings.token),
            "max_upload_mb": settings.max_upload_mb,
            "vendor": all(p.is_dir() for p in vendor.values()),
        }

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI of the API, with its assets served from ``/vendor`` (no CDN)."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="openldn API",
            swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/vendor/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

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
