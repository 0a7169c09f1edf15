"""No file of the package, docstrings and comments included, cites a document that is not shipped."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"standard\.md|reference-implementation\.md|shared/docs|\.\./shared/bench")


def test_package_and_docs_cite_only_shipped_or_public_sources() -> None:
    hits = [f"{p.relative_to(ROOT)}:{i}" for base in ("src", "docs", "qgis_plugin")
            for p in (ROOT / base).rglob("*") if p.is_file() and "node_modules" not in p.parts
            and p.suffix in (".py", ".md", ".yaml", ".html", ".js")
            for i, line in enumerate(p.read_text(encoding="utf-8", errors="ignore").splitlines(), start=1)
            if OUTSIDE.search(line)]
    assert hits == []
