"""One table from exceptions to HTTP status codes, and the JSON error handlers registered on the app."""

from __future__ import annotations

import logging
from typing import cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from openldn import exceptions as exc

__all__ = ["STATUS_CODES", "ErrorOut", "WebError", "register_error_handlers"]

log = logging.getLogger("openldn.web")


class ErrorOut(BaseModel):
    """Body of every error answer."""

    detail: str = Field(description="One-line message: what, the problem, the fix.")


class WebError(Exception):
    """An error of the web layer itself, carrying its HTTP status code.

    Parameters
    ----------
    status_code : int
        HTTP status code.
    message : str
        One-line message returned as ``{"detail": message}``.
    """

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


#: Library exceptions and the HTTP status they map to (most specific first; first match wins).
STATUS_CODES: dict[type[BaseException], int] = {
    exc.ConfigError: 422,
    exc.PeriodError: 422,
    exc.LegendError: 422,
    exc.MissingYearError: 422,
    exc.GridMismatchError: 422,
    exc.EmptyAOIError: 422,
    exc.PRAISValidationError: 422,
    exc.InputFileError: 422,
    exc.DataAccessError: 502,
    exc.OpenLDNError: 400,
    FileNotFoundError: 404,
    PermissionError: 403,
}


def status_for(error: BaseException) -> int:
    """Return the HTTP status code of an exception (500 when it is not in :data:`STATUS_CODES`)."""
    for cls, code in STATUS_CODES.items():
        if isinstance(error, cls):
            return code
    return 500


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        loc = ".".join(str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc}: {item.get('msg', 'invalid')}" if loc else str(item.get("msg", "invalid")))
    return _one_line("; ".join(parts) or "invalid request")


def _allowed_methods(request: Request) -> list[str]:
    """Every method of every route matching the request's path (Starlette lists only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _clean(request: Request, message: str) -> str:
    """The message without server paths (relative to the data folder) or tracebacks."""
    from openldn.web.security import scrub

    settings = getattr(request.app.state, "settings", None)
    roots = (settings.root,) if settings is not None else ()
    return _one_line(scrub(message, *roots))


def register_error_handlers(app: FastAPI) -> None:
    """Make every error answer JSON ``{"detail": message}``, never a stack trace nor a server path."""

    @app.exception_handler(WebError)
    async def _web_error(request: Request, error: WebError) -> JSONResponse:
        return JSONResponse({"detail": _clean(request, error.message)}, status_code=error.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else str(error.detail)
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse({"detail": _clean(request, detail)}, status_code=error.status_code, headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _clean(request, _validation_message(error))}, status_code=422)

    async def _mapped(request: Request, error: Exception) -> JSONResponse:
        code = status_for(error)
        if code == 500:
            log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
            message = f"internal error ({type(error).__name__}); see the server log"
        else:
            message = _clean(request, str(error)) or type(error).__name__
        return JSONResponse({"detail": message}, status_code=code)

    # library errors are answered by the exception middleware (no traceback in the log) ...
    for cls in STATUS_CODES:
        app.add_exception_handler(cast("type[Exception]", cls), _mapped)
    # ... anything else is a bug: logged with its traceback, answered without it
    app.add_exception_handler(Exception, _mapped)
