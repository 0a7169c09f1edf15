"""Words of the drought bulletin in one language (``openldn/data/drought/bulletin_text.yaml``).

The bulletin's layout is the same in every language; :class:`Texts` gives every visible word: headings, column
names, sentence templates, month names, alert-level and map-class labels. A key missing from a language falls back
to English.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from openldn.core.vocab import read_data_file
from openldn.exceptions import ConfigError

__all__ = ["Texts", "languages", "texts"]

TEXT_FILE = "drought/bulletin_text.yaml"


def _doc() -> dict[str, Any]:
    doc = read_data_file(TEXT_FILE)
    if not isinstance(doc, dict) or "en" not in doc:
        raise ConfigError(f"openldn data file {TEXT_FILE} has no 'en' section (package data is damaged).")
    return doc


def languages() -> list[str]:
    """Languages of the bulletin."""
    return sorted(_doc())


@dataclass(frozen=True)
class Texts:
    """The bulletin's words in ``language``."""

    language: str
    words: dict[str, Any]
    fallback: dict[str, Any]

    def __call__(self, key: str, **kw: Any) -> str:
        """The template ``key`` filled with ``kw``."""
        template = self.words.get(key, self.fallback.get(key))
        if template is None:
            raise KeyError(key)
        return str(template).format(**kw)

    def month(self, ts: pd.Timestamp) -> str:
        """``September 2023`` in the language."""
        names = self.words.get("months") or self.fallback["months"]
        return f"{names[ts.month - 1]} {ts.year}"

    def number(self, value: float) -> str:
        """A count rounded to a whole number, thousands separated as the language writes them."""
        sep = str(self.words.get("thousands", self.fallback.get("thousands", ",")))
        return f"{round(float(value)):,}".replace(",", sep)

    def level(self, key: str, default: str) -> str:
        """Label of an alert level by its key (``default``, the rule file's label, for keys not translated)."""
        return str((self.words.get("levels") or {}).get(key, default))

    def spi_class(self, code: int, default: str) -> str:
        """Label of a map class of the index by its code."""
        return str((self.words.get("classes") or {}).get(int(code), default))


def texts(language: str = "en") -> Texts:
    """The :class:`Texts` of a language.

    Raises
    ------
    ConfigError
        The language is not in ``bulletin_text.yaml``.
    """
    doc = _doc()
    lang = str(language).strip().lower()
    if lang not in doc:
        raise ConfigError(f"language {language!r} is not available for the bulletin: use one of {', '.join(sorted(doc))}.")
    return Texts(lang, dict(doc[lang]), dict(doc["en"]))
