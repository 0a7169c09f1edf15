"""No shipped text names a document outside the repository (the founders' working notes are not shipped).

Scanned: every file under docs/, the text data files under src/openldn/data, web pages and scripts, and every string
literal of the package's Python code that is not a docstring (messages, run-file descriptions, report text)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "openldn"

OUTSIDE = re.compile(
    r"standard\.md|reference-implementation\.md|style\.md|shared/docs|\bambiguit(?:y|ies) A\d+|\bA\d+ ambiguity|"
    r"\bAddendum\b|\bchecks? (?:V\d+|C\d+)\b|§\s?16 A\d+",
    flags=re.I,
)
TEXT_SUFFIXES = {".md", ".yaml", ".yml", ".csv", ".txt", ".html", ".js", ".css", ".json", ".j2"}


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _python_hits(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstring_nodes(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            m = OUTSIDE.search(node.value)
            if m:
                hits.append(f"{path.relative_to(REPO)}:{node.lineno}: {m.group(0)!r}")
    return hits


def _text_files() -> list[Path]:
    files = [p for p in (REPO / "docs").rglob("*") if p.is_file()]
    for folder in (SRC / "data", SRC / "web" / "static", SRC / "reporting"):
        files += [p for p in folder.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES]
    return [p for p in files if "node_modules" not in p.parts]


def test_no_shipped_text_names_a_file_outside_the_repository() -> None:
    hits: list[str] = []
    for p in _text_files():
        for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            m = OUTSIDE.search(line)
            if m:
                hits.append(f"{p.relative_to(REPO)}:{n}: {m.group(0)!r}")
    for p in SRC.rglob("*.py"):
        if "node_modules" not in p.parts:
            hits += _python_hits(p)
    assert not hits, "shipped text cites documents that are not in the repository:\n" + "\n".join(hits)


def test_the_pattern_catches_what_it_must() -> None:
    for text in ("see standard.md §5.2", "reference-implementation.md §7", "ambiguity A7", "Addendum §2.1",
                 "checks V2, V3", "standard.md §16 A13"):
        assert OUTSIDE.search(text), text
    assert not OUTSIDE.search("PRAIS 2026 manual, Table 13; GPG v2 §4.2.5")
