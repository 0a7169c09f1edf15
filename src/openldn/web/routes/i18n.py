"""Languages of the web interface: the ``web`` message catalogue as JSON, and the language of each request.

The browser loads the catalogue of the language the user picks (``GET /api/i18n/{lang}``) and translates its strings
itself (``static/i18n.js``); the server answers every API call, errors included, in the language the page sends
(:class:`LanguageMiddleware`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter
from starlette.types import ASGIApp, Receive, Scope, Send

from openldn.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    _,
    direction,
    normalize_language,
    read_catalogue,
    use_language,
)
from openldn.web.errors import WebError

__all__ = ["COOKIE", "HEADER", "LanguageMiddleware", "catalogue_json", "request_language", "router"]

router = APIRouter(prefix="/api", tags=["meta"])

#: Header with which the page names its language (it wins over the cookie and ``Accept-Language``).
HEADER = "x-openldn-language"
#: Cookie naming the language, for clients that cannot send a header (the page itself sends the header).
COOKIE = "openldn_lang"


@cache
def catalogue_json(lang: str) -> dict[str, Any]:
    """The ``web`` catalogue of ``lang`` as the page uses it.

    Returns
    -------
    dict
        ``lang``, ``name`` (the language named in itself), ``dir`` (``ltr``/``rtl``) and ``messages``: each
        message id mapped to its translation, or to the list of its plural forms for a message with a count
        (keyed by its singular, as in gettext). Fuzzy and untranslated entries are left out (English is shown).
    """
    messages: dict[str, str | list[str]] = {}
    if lang != "en":
        for message in read_catalogue(lang, "web"):
            if not message.id or message.fuzzy or message.context:
                continue
            if isinstance(message.id, (tuple, list)):
                forms = [str(f) for f in message.string] if isinstance(message.string, (tuple, list)) else []
                if forms and all(forms):
                    messages[str(message.id[0])] = forms
            elif message.string:
                messages[str(message.id)] = str(message.string)
    return {"lang": lang, "name": LANGUAGE_NAMES[lang], "dir": direction(lang), "messages": messages}


@router.get("/i18n", summary="Languages of the interface")
def languages() -> list[dict[str, str]]:
    """The six official languages of the United Nations, each named in itself, with its writing direction."""
    return [{"lang": code, "name": LANGUAGE_NAMES[code], "dir": direction(code)} for code in LANGUAGES]


@router.get("/i18n/{lang}", summary="Messages of the interface in a language")
def catalogue(lang: str) -> dict[str, Any]:
    """The ``web`` catalogue of ``lang`` (``ar``, ``en``, ``es``, ``fr``, ``ru``, ``zh``) as JSON."""
    code = normalize_language(lang)
    if code is None or code != lang.lower():
        raise WebError(404, _("language %(lang)s is not offered; use one of %(known)s") % {
            "lang": repr(lang), "known": ", ".join(LANGUAGES)})
    return catalogue_json(code)


def _accept_language(value: str) -> str | None:
    """The first of the six languages in an ``Accept-Language`` header, by quality."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(value.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = normalize_language(tag)
        if code and quality > 0:
            ranked.append((-quality, index, code))
    return min(ranked)[2] if ranked else None


def request_language(headers: dict[str, str], cookies: dict[str, str]) -> str | None:
    """The language of a request: ``X-OpenLDN-Language``, else the ``openldn_lang`` cookie, else ``Accept-Language``."""
    return (
        normalize_language(headers.get(HEADER))
        or normalize_language(cookies.get(COOKIE))
        or _accept_language(headers.get("accept-language", ""))
    )


def _cookies(header: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            found[name] = value
    return found


class LanguageMiddleware:
    """Run each HTTP request inside :func:`openldn.i18n.use_language` with the language the client asks for.

    A pure ASGI middleware (not ``BaseHTTPMiddleware``), so that the context variable set here is the one the
    route, its error handlers and its streamed answer see.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        lang = request_language(headers, _cookies(headers.get("cookie", "")))
        with use_language(lang):
            await self.app(scope, receive, send)
