"""The ``openldn fetch`` command, as a plain function the typer CLI (and the web app) call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openldn.exceptions import OpenLDNError

#: Top-level modules of the ``catalog`` extra (pyproject: pystac, pystac-client, odc-stac, requests).
CATALOG_EXTRA_MODULES = frozenset({"pystac", "pystac_client", "odc", "requests"})


def missing_extra_message(module: str) -> str:
    """One-line error for a missing module of the catalog extra, with the pip command that installs it."""
    return (f"error: openldn fetch needs the catalog extra ({module} is not installed); install it with: "
            "pip install 'openldn[catalog]'")

__all__ = ["catalog_command", "fetch_command"]


def fetch_command(
    assessment: Path,
    cache_dir: Path | None = None,
    offline: bool = False,
    *,
    catalog: Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    console: Any = None,
) -> int:
    """Fetch the catalogue inputs of a run file into the cache, showing a progress bar.

    Parameters
    ----------
    assessment : Path
        The run file.
    cache_dir : Path, optional
        Cache folder (default ``$OPENLDN_CACHE_DIR`` or ``~/.cache/openldn``).
    offline : bool
        Only check that every dataset is cached (no network).
    catalog : Path, optional
        A user catalogue file extending the package catalogue.
    force : bool
        Fetch again even when cached.
    dry_run : bool
        Only print what would be fetched (dataset, years, cached or not); with network access, also the number of
        STAC items found, which checks the catalogue entry against the live API.
    console : rich.console.Console, optional
        Where to print (default: stderr console).

    Returns
    -------
    int
        Exit code: 0 when every input is available, 1 on a user/data error (the one-line message is printed).
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from openldn.catalog.fetch import fetch_assessment

    con = console or Console(stderr=True)
    if dry_run:
        return _dry_run(assessment, cache_dir, offline, catalog, con)
    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"), TimeRemainingColumn(),
        console=con, transient=True,
    ) as bar:

        def progress(description: str, done: int, total: int | None) -> None:
            count = _bytes(done, total) if ": download " in description else (f"{done}/{total}" if total else "")
            if description not in tasks:
                tasks[description] = bar.add_task(description, total=total, count=count)
            bar.update(tasks[description], completed=done, total=total, count=count)

        try:
            paths = fetch_assessment(assessment, cache_dir=cache_dir, catalog=catalog, progress=progress,
                                     offline=offline, force=force)
        except OpenLDNError as err:
            con.print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)
            return 1
        except ModuleNotFoundError as err:
            if (err.name or "").split(".")[0] not in CATALOG_EXTRA_MODULES:
                raise
            con.print(missing_extra_message(err.name or ""), markup=False, highlight=False, soft_wrap=True)
            return 1
    if not paths:
        con.print(f"{assessment}: no input uses a catalogue dataset (nothing to fetch).", highlight=False)
    for name, path in paths.items():
        con.print(f"{name}: {path}", highlight=False, soft_wrap=True)
    return 0


def _bytes(done: int, total: int | None) -> str:
    def fmt(n: float) -> str:
        for unit in ("B", "kB", "MB", "GB"):
            if n < 1000 or unit == "GB":
                return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
            n /= 1000
        return f"{n:.1f} GB"  # pragma: no cover

    return f"{fmt(done)}/{fmt(total)}" if total else fmt(done)


def _dry_run(assessment: Path, cache_dir: Path | None, offline: bool, catalog: Path | None, con: Any) -> int:
    from openldn.catalog.fetch import plan_assessment

    try:
        rows = plan_assessment(assessment, cache_dir=cache_dir, catalog=catalog, search=not offline)
    except OpenLDNError as err:
        con.print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)
        return 1
    for row in rows:
        years = f"{row['years'][0]}-{row['years'][-1]}" if row["years"] else "static"
        state = "cached" if row["cached"] else "to fetch"
        items = f", {row['items']} STAC items" if row.get("items") is not None else ""
        con.print(f"{row['input']}: {row['dataset']} {years}, bbox {row['bbox']}: {state}{items}", highlight=False,
                  soft_wrap=True)
    if not rows:
        con.print(f"{assessment}: no input uses a catalogue dataset (nothing to fetch).", highlight=False)
    return 0


def catalog_command(catalog: Path | None = None, *, console: Any = None) -> int:
    """List the datasets of the catalogue (package entries plus a user file), for ``openldn catalog``.

    Parameters
    ----------
    catalog : Path, optional
        A user catalogue file extending the package catalogue.
    console : rich.console.Console, optional
        Where to print (default: stdout console).

    Returns
    -------
    int
        Exit code (1 when the user file is invalid).
    """
    from rich.console import Console
    from rich.table import Table

    from openldn.catalog._definitions import load_catalog

    con = console or Console()
    try:
        rows = load_catalog(catalog).describe()
    except OpenLDNError as err:
        con.print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)
        return 1
    table = Table("id", "variable", "years", "source", "licence", title="openldn datasets")
    for row in rows:
        table.add_row(row["id"], row["variable"], row["years"], row["source"], row["licence"])
    con.print(table)
    return 0
