"""Shared lookups used by the routers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request

from openldn.web.db import Database
from openldn.web.errors import WebError
from openldn.web.settings import Settings
from openldn.web.worker import RunManager

__all__ = ["database", "get_project", "get_run", "heavy", "manager", "project_dir", "run_dir", "run_out", "settings"]

T = TypeVar("T")


async def heavy(request: Request, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` in the threads reserved for heavy requests (tiles, pixel values, tables, boundaries,
    validation), so that light requests, served by the other threads, never wait behind them."""
    limiter = getattr(request.app.state, "heavy", None)
    return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs), limiter=limiter)


def settings(request: Request) -> Settings:
    """The app's settings."""
    value: Settings = request.app.state.settings
    return value


def database(request: Request) -> Database:
    """The app's database."""
    value: Database = request.app.state.db
    return value


def manager(request: Request) -> RunManager:
    """The app's run manager."""
    value: RunManager = request.app.state.runs
    return value


def get_project(request: Request, project_id: str) -> dict[str, Any]:
    """Return a project or raise 404."""
    project = database(request).get_project(project_id)
    if project is None:
        raise WebError(404, f"project {project_id!r} does not exist")
    return project


def get_run(request: Request, run_id: str) -> dict[str, Any]:
    """Return a run or raise 404."""
    run = database(request).get_run(run_id)
    if run is None:
        raise WebError(404, f"run {run_id!r} does not exist")
    return run


def project_dir(request: Request, project_id: str) -> Path:
    """Folder of a project's files (created if needed)."""
    path = settings(request).root / "projects" / project_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_dir(request: Request, run: dict[str, Any]) -> Path:
    """Output folder of a run."""
    return settings(request).root / str(run["out_dir"])


def run_out(run: dict[str, Any], root: Path | None = None) -> dict[str, Any]:
    """Add the whole-run progress fraction to a run row; its error and message without server paths (relative to ``root``)."""
    from openldn.web.security import scrub

    fraction = 1.0 if run["status"] == "succeeded" else min(1.0, max(0.0, float(run.get("progress") or 0.0)))
    roots = (root,) if root is not None else ()
    clean = {k: " ".join(scrub(run[k], *roots).split()) for k in ("error", "message") if isinstance(run.get(k), str)}
    return {**run, **clean, "fraction": fraction}
