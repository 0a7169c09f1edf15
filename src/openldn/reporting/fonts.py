"""Fonts of the PNG maps and charts and of the HTML/PDF report, per language.

Latin and Cyrillic text is drawn with Noto Sans (DejaVu Sans, shipped with matplotlib, as fallback), Arabic with
Noto Sans Arabic and Chinese with Noto Sans CJK SC. On Debian and Ubuntu they come with the packages
``fonts-noto-core`` (Noto Sans, Noto Sans Arabic, Noto Naskh Arabic) and ``fonts-noto-cjk`` (Noto Sans CJK).

Arabic needs shaping (joined letter forms) and right-to-left ordering. matplotlib 3.11 and later shape text with
libraqm; with an older matplotlib the text is shaped with ``arabic-reshaper`` and ordered with ``python-bidi``
(the ``report`` extra) before drawing, and without them an Arabic map cannot be drawn (a clear error says what to
install).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from openldn.exceptions import OpenLDNError
from openldn.i18n import _, current_language

__all__ = ["CSS_FONT_STACK", "FONT_FAMILIES", "FontsMissingError", "font_families", "needs_shaping", "plot_text",
           "use_report_fonts"]

#: matplotlib font families of each language, first choice first; the Debian package of the first family.
FONT_FAMILIES: dict[str, tuple[tuple[str, ...], str]] = {
    "ar": (("Noto Sans Arabic", "Noto Naskh Arabic", "Noto Sans", "DejaVu Sans"), "fonts-noto-core"),
    "zh": (("Noto Sans CJK SC", "Noto Sans", "DejaVu Sans"), "fonts-noto-cjk"),
    "en": (("Noto Sans", "DejaVu Sans"), "fonts-noto-core"),
    "es": (("Noto Sans", "DejaVu Sans"), "fonts-noto-core"),
    "fr": (("Noto Sans", "DejaVu Sans"), "fonts-noto-core"),
    "ru": (("Noto Sans", "DejaVu Sans"), "fonts-noto-core"),
}
#: Languages whose script the fallback (DejaVu Sans) cannot draw: their first family is required.
_REQUIRED = frozenset({"ar", "zh"})

#: CSS font stack of the report: every script of the six languages is covered by a Noto font.
CSS_FONT_STACK = ('"Noto Sans","Noto Sans Arabic","Noto Naskh Arabic","Noto Sans CJK SC","DejaVu Sans",'
                  "system-ui,sans-serif")

# file name stems of the Noto fonts, to register them with matplotlib when its font cache predates their install
_FILE_STEMS = ("NotoSans-", "NotoSansArabic-", "NotoNaskhArabic-", "NotoSansCJK-")


class FontsMissingError(OpenLDNError):
    """The fonts that draw a language's script are not installed."""


def _manager() -> Any:
    from matplotlib import font_manager

    return font_manager


def _has_family(name: str) -> bool:
    fm = _manager()
    try:
        fm.fontManager.findfont(fm.FontProperties(family=name), fallback_to_default=False)
        return True
    except ValueError:
        return False


@cache
def _register_system_fonts() -> None:
    """Add the installed Noto fonts that matplotlib's font cache does not know yet (cache older than the fonts)."""
    fm = _manager()
    for path in fm.findSystemFonts():
        name = path.rsplit("/", 1)[-1]
        if name.startswith(_FILE_STEMS):
            try:
                fm.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # an unreadable font file: skipped
                continue


def font_families(lang: str | None = None) -> list[str]:
    """The matplotlib font families to draw text of ``lang`` (default: the current language) with, installed ones.

    Raises
    ------
    FontsMissingError
        Arabic or Chinese is asked and its Noto font is not installed (the message names the Debian package).
    """
    lang = lang or current_language()
    families, package = FONT_FAMILIES.get(lang, FONT_FAMILIES["en"])
    found = [f for f in families if _has_family(f)]
    if lang in _REQUIRED and families[0] not in found:
        _register_system_fonts()
        found = [f for f in families if _has_family(f)]
    if lang in _REQUIRED and not any(f in found for f in families[:-2]):
        raise FontsMissingError(
            _("Maps and charts in %(language)s: the font %(font)s is not installed; install it (Debian/Ubuntu: "
              "apt-get install %(package)s) or choose another language.")
            % {"language": lang, "font": families[0], "package": package})
    return found or ["DejaVu Sans"]


def needs_shaping(lang: str | None = None) -> bool:
    """True when Arabic text must be shaped before matplotlib draws it (matplotlib without libraqm)."""
    if (lang or current_language()) != "ar":
        return False
    from matplotlib import ft2font

    return not getattr(ft2font, "__libraqm_version__", None)


def plot_text(text: str, lang: str | None = None) -> str:
    """``text`` ready for matplotlib: unchanged, or shaped and visually ordered (Arabic without libraqm).

    Raises
    ------
    FontsMissingError
        Arabic must be shaped and ``arabic-reshaper`` or ``python-bidi`` is missing.
    """
    if not text or not needs_shaping(lang):
        return text
    try:
        import arabic_reshaper
        from bidi.algorithm import get_display
    except ImportError as err:
        raise FontsMissingError(
            _("Arabic maps and charts need matplotlib 3.11 or later, or the packages arabic-reshaper and "
              "python-bidi (pip install 'openldn[report]').")) from err
    return str(get_display(arabic_reshaper.reshape(text)))


@contextmanager
def use_report_fonts(lang: str | None = None) -> Iterator[list[str]]:
    """matplotlib settings of the current language for a block: its fonts and text language (shaping)."""
    import matplotlib

    families = font_families(lang)
    settings: dict[str, Any] = {"font.family": families, "font.sans-serif": families}
    if "text.language" in matplotlib.rcParams:
        settings["text.language"] = lang or current_language()
    with matplotlib.rc_context(settings):  # type: ignore[arg-type]
        yield families
