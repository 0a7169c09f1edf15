"""Languages of openldn: message catalogues, the current language and locale formatting.

openldn speaks the six official languages of the United Nations: Arabic, Chinese, English, French, Russian and
Spanish. Every user-facing string of the Python side (report, workbook, maps, charts, CLI messages, data legend
labels) goes through :func:`gettext` (imported as ``_``) of the ``openldn`` catalogue; the web app's strings live in
the ``web`` catalogue. Catalogues are GNU gettext ``.po`` files under ``openldn/locale/<lang>/LC_MESSAGES/``,
extracted and updated with Babel (``pybabel extract -F babel.cfg``; see ``docs/translating.md``), and compiled in memory
when first used, so the repository holds no binary ``.mo`` files.

The current language is a context variable: :func:`use_language` sets it for a block (a run, a request), and
:func:`set_language` for the rest of the process (the CLI). English is the source language; a message without a
translation falls back to it.

Examples
--------
>>> from openldn.i18n import _, use_language
>>> with use_language("fr"):
...     title = _("Land productivity dynamics")
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
import io
import locale as _locale
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from importlib import resources

from babel import Locale
from babel import dates as _dates
from babel import numbers as _numbers
from babel.messages.catalog import Catalog

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAINS",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "N_",
    "_",
    "catalogue_paths",
    "current_language",
    "direction",
    "format_area",
    "format_date",
    "format_decimal",
    "format_integer",
    "format_percent",
    "gettext",
    "ngettext",
    "normalize_language",
    "pgettext",
    "read_catalogue",
    "set_language",
    "system_language",
    "translations",
    "use_language",
]

#: The six official languages of the United Nations, by their ISO 639-1 codes.
LANGUAGES: tuple[str, ...] = ("ar", "en", "es", "fr", "ru", "zh")
#: Each language named in itself (for menus).
LANGUAGE_NAMES: dict[str, str] = {
    "ar": "العربية",
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "ru": "Русский",
    "zh": "中文",
}
DEFAULT_LANGUAGE = "en"
#: Catalogue domains: ``openldn`` for the Python side, ``web`` for the browser app.
DOMAINS: tuple[str, ...] = ("openldn", "web")
_RTL = frozenset({"ar"})
# Babel locale used for number and date formatting of each language.
_BABEL_LOCALE = {"ar": "ar", "en": "en", "es": "es", "fr": "fr", "ru": "ru", "zh": "zh_Hans"}

_current: contextvars.ContextVar[str] = contextvars.ContextVar("openldn_language", default=DEFAULT_LANGUAGE)


def normalize_language(value: str | None) -> str | None:
    """Map a language tag or POSIX locale name to one of :data:`LANGUAGES`.

    Parameters
    ----------
    value
        ``"fr"``, ``"fr-CA"``, ``"fr_FR.UTF-8"``, ``"zh-Hans"``, ``"ar_EG"``, ...

    Returns
    -------
    str or None
        The two-letter code, or None when the language is not one of the six (or ``value`` is empty, ``C`` or
        ``POSIX``).
    """
    if not value:
        return None
    code = value.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    return code if code in LANGUAGES else None


def system_language() -> str:
    """The language of the system locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), English when it is not one of the six."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        found = normalize_language(os.environ.get(var, "").split(":")[0])
        if found:
            return found
    try:
        found = normalize_language(_locale.getlocale()[0])
    except ValueError:  # pragma: no cover - malformed locale settings
        found = None
    return found or DEFAULT_LANGUAGE


def _check(lang: str) -> str:
    code = normalize_language(lang)
    if code is None:
        raise ValueError(f"language {lang!r} is not supported; use one of {', '.join(LANGUAGES)}")
    return code


def current_language() -> str:
    """The language of the current context (a run, a request, the CLI)."""
    return _current.get()


def set_language(lang: str) -> None:
    """Set the language for the rest of this context (the CLI sets it once from ``--lang`` or the locale)."""
    _current.set(_check(lang))


@contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Use ``lang`` inside a ``with`` block; ``None`` keeps the current language.

    Yields
    ------
    str
        The language in force inside the block.
    """
    if lang is None:
        yield current_language()
        return
    token = _current.set(_check(lang))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def direction(lang: str | None = None) -> str:
    """Writing direction of ``lang`` (default: the current language): ``"rtl"`` for Arabic, else ``"ltr"``."""
    return "rtl" if (lang or current_language()) in _RTL else "ltr"


def catalogue_paths(lang: str, domain: str = "openldn") -> list[resources.abc.Traversable]:
    """The ``.po`` catalogues of ``lang`` and ``domain`` shipped inside the package.

    A domain may be split into several files, ``<domain>.po`` and ``<domain>-<part>.po`` (one per part of the
    application, so that translators and developers of different parts do not edit the same file); they are read
    ``<domain>.po`` first (its header, plural forms included, is the catalogue's), then the parts in name order, the
    first translation of a message winning.
    """
    folder = resources.files("openldn") / "locale" / lang / "LC_MESSAGES"
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir() if p.name == f"{domain}.po" or (p.name.startswith(f"{domain}-") and p.name.endswith(".po"))),
        key=lambda p: (p.name != f"{domain}.po", p.name),
    )


def read_catalogue(lang: str, domain: str = "openldn") -> Catalog:
    """All messages of ``lang`` in ``domain``, merged from its ``.po`` files (see :func:`catalogue_paths`)."""
    from babel.messages.pofile import read_po

    merged: Catalog | None = None
    for path in catalogue_paths(lang, domain):
        with path.open("rb") as handle:
            part = read_po(handle, locale=_BABEL_LOCALE.get(lang, lang), domain=domain)
        if merged is None:  # the first file's header (plural forms included) is the catalogue's
            merged = part
            continue
        for message in part:
            if message.id and message.id not in merged:
                merged[message.id] = message
    return merged if merged is not None else Catalog(locale=_BABEL_LOCALE.get(lang, lang), domain=domain)


@cache
def translations(lang: str, domain: str = "openldn") -> _gettext.NullTranslations:
    """The compiled catalogue of ``lang`` in ``domain`` (English and missing catalogues: no translation).

    The ``.po`` files are read with Babel and compiled to a ``.mo`` image in memory; fuzzy entries are left out,
    as ``msgfmt`` does.
    """
    from babel.messages.mofile import write_mo

    if lang == DEFAULT_LANGUAGE or not catalogue_paths(lang, domain):
        return _gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, read_catalogue(lang, domain), use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def gettext(message: str) -> str:
    """Translate ``message`` into the current language (the ``openldn`` catalogue)."""
    if not message:
        return message
    return translations(current_language()).gettext(message)


#: The conventional short name of :func:`gettext`.
_ = gettext


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (module-level constants translated at use)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a count, choosing the plural form the current language needs for ``n``."""
    return translations(current_language()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """Translate ``message`` in ``context`` (the same English word with two meanings, e.g. a class and a verb)."""
    return translations(current_language()).pgettext(context, message)


def _babel_locale(lang: str | None = None) -> Locale:
    return Locale.parse(_BABEL_LOCALE[lang or current_language()])


def format_decimal(value: float, digits: int = 2, lang: str | None = None) -> str:
    """``value`` with ``digits`` decimals, grouped and punctuated as the language writes numbers."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return _numbers.format_decimal(value, format=pattern, locale=_babel_locale(lang))


def format_integer(value: float, lang: str | None = None) -> str:
    """``value`` rounded to a whole number, grouped as the language writes numbers."""
    return format_decimal(round(value), 0, lang)


def format_percent(value: float, digits: int = 1, lang: str | None = None) -> str:
    """A percentage given in percent (``12.5`` means 12.5 %), written as the language writes percentages."""
    locale = _babel_locale(lang)
    pattern = _numbers.parse_pattern(locale.percent_formats[None].pattern)  # the language's spacing and sign
    pattern.frac_prec = (digits, digits)
    return str(pattern.apply(value / 100.0, locale))


def format_area(value_km2: float, digits: int = 2, lang: str | None = None) -> str:
    """An area in square kilometres with its unit, as the language writes it."""
    unit = gettext("km²")
    return f"{format_decimal(value_km2, digits, lang)} {unit}"


def format_date(value: date | datetime, lang: str | None = None) -> str:
    """A date in the language's medium format (``3 déc. 2026``, ``2026年12月3日``)."""
    return _dates.format_date(value, format="medium", locale=_babel_locale(lang))
