"""The `openldn fetch` command function."""

from __future__ import annotations

import io

import yaml
from rich.console import Console

from openldn.catalog.cli import fetch_command


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=300, force_terminal=False), buf


def test_fetch_command__fetches_then_works_offline(stac_server, catalog_extra, cache_dir, assessment, tmp_path) -> None:
    extra = tmp_path / "catalog.yaml"
    extra.write_text(yaml.safe_dump(catalog_extra))
    con, buf = _console()
    assert fetch_command(assessment, cache_dir, False, catalog=extra, console=con) == 0
    out = buf.getvalue()
    assert "land_cover: " in out and str(cache_dir) in out
    n = len(stac_server.log)
    con, buf = _console()
    assert fetch_command(assessment, None, True, catalog=extra, console=con) == 0  # OPENLDN_CACHE_DIR is set
    assert len(stac_server.log) == n


def test_fetch_command__offline_missing_prints_one_line_error(catalog_extra, cache_dir, assessment, tmp_path,
                                                              monkeypatch) -> None:
    extra = tmp_path / "catalog.yaml"
    extra.write_text(yaml.safe_dump(catalog_extra))
    monkeypatch.setenv("OPENLDN_CATALOG", str(extra))
    con, buf = _console()
    assert fetch_command(assessment, cache_dir, True, console=con) == 1
    out = buf.getvalue().strip()
    assert out.startswith("error: dataset test_lc is not cached") and f"openldn fetch {assessment}" in out
    assert len(out.splitlines()) == 1


def test_fetch_command__nothing_to_fetch(cache_dir, tmp_path) -> None:
    run = tmp_path / "run.yaml"
    run.write_text("name: x\ninputs:\n  soc: {path: soc.tif}\n")
    con, buf = _console()
    assert fetch_command(run, cache_dir, False, console=con) == 0
    assert "nothing to fetch" in buf.getvalue()
