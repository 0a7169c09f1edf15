"""No file of the package, docstrings and comments included, cites a document that is not shipped."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"standard\.md|reference-implementation\.md|shared/docs|\.\./shared/bench")


def _lines_matching(pattern: re.Pattern[str]) -> list[str]:
    """``file:line`` of every line of the package, its docs and the QGIS plugin that ``pattern`` finds."""
    return [f"{p.relative_to(ROOT)}:{i}" for base in ("src", "docs", "qgis_plugin")
            for p in (ROOT / base).rglob("*") if p.is_file() and "node_modules" not in p.parts
            and p.suffix in (".py", ".md", ".yaml", ".html", ".js")
            for i, line in enumerate(p.read_text(encoding="utf-8", errors="ignore").splitlines(), start=1)
            if pattern.search(line)]


def test_package_and_docs_cite_only_shipped_or_public_sources() -> None:
    assert _lines_matching(OUTSIDE) == []


#: Codes of a private list of open questions ("ambiguity A7", "(A13)", "§16 A12-A14") mean nothing to a reader; cite
#: the public source or the difference register's D-codes (docs/differences.md) instead. "A4" (the paper size) is fine.
PRIVATE_CODES = re.compile(r"ambiguit(?:y|ies)\s+A\d|§16\s+A\d|\((?:A\d{1,2}(?:[-, ]+A?\d{1,2})*)\)|differences\.md,?\s+A\d")


def test_no_private_ambiguity_codes() -> None:
    assert _lines_matching(PRIVATE_CODES) == []
