"""Runs: start in a worker process, follow live (server-sent events), cancel, resume, read the log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from openldn.web.db import ACTIVE, FINISHED, new_id
from openldn.web.errors import WebError
from openldn.web.models import RunOut
from openldn.web.routes.deps import database, get_project, get_run, manager, run_dir, settings
from openldn.web.routes.deps import run_out as _run_out
from openldn.web.routes.projects import check_saved_run_file
from openldn.web.security import safe_join, scrub
from openldn.web.worker import LOG_NAME

router = APIRouter(tags=["runs"])


def run_out(request: Request, run: dict[str, Any]) -> dict[str, Any]:
    """A run row for the client: progress fraction, error and message without server paths."""
    return _run_out(run, settings(request).root)


@router.post("/projects/{project_id}/runs", response_model=RunOut, status_code=202, summary="Start a run")
def start_run(request: Request, project_id: str) -> dict[str, Any]:
    """Start the project's run file in a background worker; follow it with ``GET /api/runs/{id}/events``."""
    project = get_project(request, project_id)
    if not project["assessment"]:
        raise WebError(409, "the project has no run file: save the method options first")
    check_saved_run_file(request, project)
    db = database(request)
    run_id = new_id()
    db.create_run(project_id, f"projects/{project_id}/runs/{run_id}", run_id=run_id)
    manager(request).start(run_id)
    return run_out(request, get_run(request, run_id))


@router.get("/projects/{project_id}/runs", response_model=list[RunOut], summary="List a project's runs")
def list_runs(request: Request, project_id: str) -> list[dict[str, Any]]:
    """Return the project's runs, newest first."""
    get_project(request, project_id)
    return [run_out(request, r) for r in database(request).list_runs(project_id)]


@router.get("/runs/{run_id}", response_model=RunOut, summary="Get a run")
def read_run(request: Request, run_id: str) -> dict[str, Any]:
    """Return a run's status and progress."""
    return run_out(request, get_run(request, run_id))


@router.post("/runs/{run_id}/cancel", response_model=RunOut, summary="Cancel a run")
def cancel_run(request: Request, run_id: str) -> dict[str, Any]:
    """Stop an active run (its worker process is terminated)."""
    run = get_run(request, run_id)
    if run["status"] not in ACTIVE:
        raise WebError(409, f"run {run_id!r} is {run['status']}, not active")
    manager(request).cancel(run_id)
    return run_out(request, get_run(request, run_id))


@router.post("/runs/{run_id}/resume", response_model=RunOut, status_code=202, summary="Resume a run")
def resume_run(request: Request, run_id: str) -> dict[str, Any]:
    """Restart an interrupted, failed or cancelled run in the same folder; finished steps are not redone."""
    run = get_run(request, run_id)
    if run["status"] not in ("interrupted", "failed", "cancelled"):
        raise WebError(409, f"run {run_id!r} is {run['status']}; only interrupted, failed or cancelled runs resume")
    check_saved_run_file(request, get_project(request, run["project_id"]))
    try:
        manager(request).resume(run_id)
    except RuntimeError as error:
        raise WebError(409, str(error)) from None
    return run_out(request, get_run(request, run_id))


@router.get(
    "/runs/{run_id}/log",
    summary="Read a run's log",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Log text"}},
)
def read_log(
    request: Request, run_id: str, tail: Annotated[int, Query(ge=1, le=100000, description="Last lines")] = 500
) -> PlainTextResponse:
    """Return the last lines of the run's log (progress, warnings and the message of a failure), without
    tracebacks or server paths (the full log stays in the run folder for the administrator)."""
    out_dir = run_dir(request, get_run(request, run_id))
    if not (out_dir / LOG_NAME).is_file():
        return PlainTextResponse("")
    path = safe_join(out_dir, LOG_NAME)
    text = scrub(path.read_text(encoding="utf-8", errors="replace"), out_dir, settings(request).root)
    lines = text.splitlines()
    return PlainTextResponse("\n".join(lines[-tail:]) + "\n")


@router.get(
    "/runs/{run_id}/events",
    summary="Follow a run live (server-sent events)",
    responses={200: {"content": {"text/event-stream": {}}, "description": "One 'run' event per change"}},
)
async def run_events(request: Request, run_id: str) -> StreamingResponse:
    """Stream the run as JSON ``run`` events each time it changes, until it finishes."""
    get_run(request, run_id)
    db = database(request)

    async def events() -> AsyncIterator[str]:
        """Yield one event per change of the run, a keep-alive comment every 15 s, until the run ends."""
        version, beat = -1, time.monotonic()
        while True:
            run = await asyncio.to_thread(db.get_run, run_id)
            if run is None:
                return
            if run["version"] != version:
                version = run["version"]
                yield f"event: run\ndata: {RunOut.model_validate(run_out(request, run)).model_dump_json()}\n\n"
                if run["status"] in FINISHED:
                    return
            elif time.monotonic() - beat > 15:
                beat = time.monotonic()
                yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.3)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
