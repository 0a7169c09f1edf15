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


def test_fetch_command__dry_run_plans_without_downloading(stac_server, catalog_extra, cache_dir, assessment,
                                                           tmp_path) -> None:
    extra = tmp_path / "catalog.yaml"
    extra.write_text(yaml.safe_dump(catalog_extra))
    data_requests = len(stac_server.requests_to("/data/"))
    con, buf = _console()
    assert fetch_command(assessment, cache_dir, False, catalog=extra, dry_run=True, console=con) == 0
    out = buf.getvalue()
    assert "land_cover: test_lc 2000-2003" in out and "to fetch, 4 STAC items" in out
    assert "soc: test_soc static" in out
    assert not (cache_dir / "datasets").exists()
    assert len(stac_server.requests_to("/data/")) == data_requests  # searched, nothing downloaded
    con, buf = _console()
    assert fetch_command(assessment, cache_dir, False, catalog=extra, console=con) == 0
    con, buf = _console()
    assert fetch_command(assessment, cache_dir, True, catalog=extra, dry_run=True, console=con) == 0
    assert "land_cover: test_lc 2000-2003" in buf.getvalue() and ": cached" in buf.getvalue()
    assert "STAC items" not in buf.getvalue()  # offline: no search


def test_progress_bytes_format() -> None:
    from openldn.catalog.cli import _bytes

    assert _bytes(500, None) == "500 B"
    assert _bytes(1_500_000, 3_000_000) == "1.5 MB/3.0 MB"


def test_catalog_command__lists_entries_and_reports_bad_files(tmp_path) -> None:
    from openldn.catalog.cli import catalog_command

    con, buf = _console()
    assert catalog_command(console=con) == 0
    out = buf.getvalue()
    assert "esa_cci_lc" in out and "modis_mod13q1_ndvi" in out and "CC BY 4.0" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: [1, 2]\n")
    con, buf = _console()
    assert catalog_command(bad, console=con) == 1
    assert "must have a 'datasets:' mapping" in buf.getvalue()
