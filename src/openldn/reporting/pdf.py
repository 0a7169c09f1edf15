"""PDF export of the HTML report with headless Chromium (``chromium --headless --print-to-pdf``).

The report's print style sheet sets A4 pages, page numbers in the page margins ("Page n of N" in the report's
language, CSS margin boxes) and keeps maps and table rows whole. Chromium also writes a document outline (PDF
bookmarks) from the headings. When ``pypdf`` is installed the section page numbers are read from the first PDF (its
outline, else the text of its pages) and printed in the report's table of contents by a second pass; both work in
every language, right-to-left Arabic included.

No Chromium: :func:`find_chromium` returns None, the PDF is skipped with a logged warning and the HTML report is
still written.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path

from openldn.i18n import _
from openldn.io import atomic_path

__all__ = ["find_chromium", "html_to_pdf", "section_pages", "write_pdf"]

_log = logging.getLogger("openldn.reporting")
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    """Path of a Chromium (or Chrome) executable: ``$OPENLDN_CHROMIUM``, else the first on ``PATH``; or None."""
    env = os.environ.get("OPENLDN_CHROMIUM")
    if env:
        return env if Path(env).is_file() or shutil.which(env) else None
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, *, chromium: str, timeout: float = 180.0) -> Path:
    """Print an HTML file to PDF with headless Chromium (no browser header/footer: the style sheet numbers pages).

    Raises
    ------
    RuntimeError
        Chromium failed or wrote no PDF.
    """
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    with tempfile.TemporaryDirectory(prefix="openldn-chromium-") as profile, atomic_path(pdf_path) as tmp:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--no-first-run",
               f"--user-data-dir={profile}", "--no-pdf-header-footer", "--generate-pdf-document-outline",
               f"--print-to-pdf={tmp}", html_path.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if not Path(tmp).is_file() or Path(tmp).stat().st_size == 0:
            raise RuntimeError(f"chromium wrote no PDF (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
    return pdf_path


def _norm(text: str) -> str:
    # NFKC: the PDF's ligatures (U+FB01 "fi") and Arabic presentation forms back to letters
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _words(text: str) -> tuple[str, ...]:
    """The words of a heading in sorted order: Chromium writes right-to-left titles in visual order."""
    return tuple(sorted(re.findall(r"\w+", _norm(text))))


def _outline_pages(reader: object, markers: dict[str, str]) -> dict[str, int]:
    """Page (1-based) of each section from the PDF outline (bookmarks) Chromium writes from the headings."""
    found: dict[str, int] = {}
    wanted = {_words(m): k for k, m in markers.items()}

    def walk(items: list) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            key = wanted.get(_words(str(getattr(item, "title", "") or "")))
            if key is not None and key not in found:
                try:
                    found[key] = int(reader.get_destination_page_number(item)) + 1  # type: ignore[attr-defined]
                except Exception:  # a bookmark without a page
                    continue

    try:
        walk(list(reader.outline))  # type: ignore[attr-defined]
    except Exception:  # no or broken outline: the text search below
        return {}
    return found


def section_pages(pdf_path: str | Path, markers: dict[str, str]) -> dict[str, int]:
    """Page (1-based) of each section: from the PDF outline (bookmarks of the headings), else the page of the
    marker's second occurrence in the text (the first is in the table of contents); ``{}`` without ``pypdf``."""
    try:
        from pypdf import PdfReader
    except ImportError:
        return {}
    reader = PdfReader(str(pdf_path))
    out = _outline_pages(reader, markers)
    if len(out) == len(markers):
        return out
    texts = [_norm(p.extract_text() or "") for p in reader.pages]
    for key, marker in markers.items():
        if key in out:
            continue
        marker = _norm(marker)
        seen = 0
        for i, text in enumerate(texts):
            seen += text.count(marker)
            if seen >= 2:
                out[key] = i + 1
                break
    return out


def write_pdf(html_path: str | Path, pdf_path: str | Path, *, markers: dict[str, str] | None = None,
              rerender: Callable[[dict[str, int]], str] | None = None,
              log: logging.Logger | logging.LoggerAdapter | None = None) -> Path | None:  # type: ignore[type-arg]
    """Write the PDF of the report, or None (with a warning) when Chromium is absent or fails.

    Parameters
    ----------
    html_path, pdf_path : str or Path
        The report and the PDF to write.
    markers : dict of str to str, optional
        Section id -> text of its heading (English messages are translated into the current language), to find
        the sections' pages.
    rerender : callable, optional
        Given ``{section id: page}``, returns the report's HTML with those pages in its table of contents; the HTML
        file is rewritten and printed again.
    log : logging.Logger, optional
        Where the warning goes.
    """
    log = log or _log
    chromium = find_chromium()
    if chromium is None:
        log.warning(_("PDF report skipped: Chromium not found (install the 'chromium' package or set "
                      "OPENLDN_CHROMIUM); the HTML report is written."))
        return None
    try:
        out = html_to_pdf(html_path, pdf_path, chromium=chromium)
        if markers and rerender is not None:
            pages = section_pages(out, {k: _(v) for k, v in markers.items()})
            if pages:
                with atomic_path(Path(html_path)) as tmp:
                    tmp.write_text(rerender(pages), encoding="utf-8")
                out = html_to_pdf(html_path, pdf_path, chromium=chromium)
        return out
    except (OSError, RuntimeError, subprocess.SubprocessError) as err:
        log.warning(_("PDF report skipped: %(error)s; the HTML report is written.") % {"error": err})
        return None
