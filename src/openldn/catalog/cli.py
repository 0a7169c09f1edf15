"""The ``openldn fetch`` command, as a plain function the typer CLI (and the web app) call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openldn.exceptions import OpenLDNError

__all__ = ["fetch_command"]


def fetch_command(
    assessment: Path,
    cache_dir: Path | None = None,
    offline: bool = False,
    *,
    catalog: Path | None = None,
    force: bool = False,
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
    console : rich.console.Console, optional
        Where to print (default: stderr console).

    Returns
    -------
    int
        Exit code: 0 when every input is available, 1 on a user/data error (the one-line message is printed).
    """
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from openldn.catalog.fetch import fetch_assessment

    con = console or Console(stderr=True)
    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=con, transient=True,
    ) as bar:

        def progress(description: str, done: int, total: int | None) -> None:
            if description not in tasks:
                tasks[description] = bar.add_task(description, total=total)
            bar.update(tasks[description], completed=done, total=total)

        try:
            paths = fetch_assessment(assessment, cache_dir=cache_dir, catalog=catalog, progress=progress,
                                     offline=offline, force=force)
        except OpenLDNError as err:
            con.print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)
            return 1
    if not paths:
        con.print(f"{assessment}: no input uses a catalogue dataset (nothing to fetch).", highlight=False)
    for name, path in paths.items():
        con.print(f"{name}: {path}", highlight=False, soft_wrap=True)
    return 0
