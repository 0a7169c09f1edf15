"""Background runs: one worker process per run, progress and status written to the database.

The server starts ``python -m openldn.web.worker <db> <run_id> <pipeline>`` for each run (see :class:`RunManager`),
so the page never blocks, a cancel is a signal to the process, and the pipeline's checkpoints let an interrupted
run resume in the same output folder.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openldn.i18n import current_language, normalize_language, set_language
from openldn.web.db import ACTIVE, Database
from openldn.web.progress import RunProgress, finished_stage_files, stage_timings

__all__ = ["RunManager", "load_callable", "main", "pid_alive"]

LOG_NAME = "run.log"
_KILL_AFTER_S = 10.0


#: Environment variable carrying the language of the request that started a run to its worker process.
LANGUAGE_ENV = "OPENLDN_RUN_LANGUAGE"


def load_callable(spec: str) -> Callable[..., Any]:
    """Import ``"module:function"`` and return the function."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"pipeline {spec!r} must look like 'module:function'")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def pid_alive(pid: int | None, run_id: str | None = None) -> bool:
    """Return whether process ``pid`` runs (and, on Linux, is the worker of ``run_id``)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            if (proc / "stat").read_text().split(") ")[-1].startswith("Z"):
                return False
            if run_id is not None and run_id not in (proc / "cmdline").read_bytes().decode(errors="replace"):
                return False
        except OSError:
            return False
    return True


class _Stop(BaseException):
    """Raised in the worker by SIGTERM/SIGINT."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def plan_stages(pipeline: str, assessment: Path) -> list[str]:
    """The stages a run will execute, in order, for the whole-run progress bar; empty when they cannot be told.

    A pipeline module may offer ``plan_stages(assessment_path) -> list[str]``; for openldn's own pipeline the run
    file is read and :func:`openldn.pipeline.run.runnable_stages` answers.
    """
    try:
        module = importlib.import_module(pipeline.partition(":")[0])
        planner = getattr(module, "plan_stages", None)
        if callable(planner):
            return [str(s) for s in planner(assessment)]
        if module.__name__.startswith("openldn.pipeline"):
            from openldn.config import load_assessment
            from openldn.pipeline.run import runnable_stages

            return [s.name for s in runnable_stages(load_assessment(assessment, check_files=False))]
    except Exception as error:  # the run itself reports a bad run file; the bar then learns the stages
        logging.getLogger("openldn.web.worker").debug("no stage plan: %s", error)
    return []


def earlier_timings(db: Database, run: dict[str, Any], root: Path) -> dict[str, float]:
    """Seconds per stage of the project's latest succeeded run (the weights of the progress bar)."""
    for other in db.list_runs(run["project_id"], status=("succeeded",)):
        if other["id"] != run["id"]:
            timings = stage_timings(root / other["out_dir"])
            if timings:
                return timings
    return {}


def run_worker(db_path: Path, run_id: str, pipeline: str) -> int:
    """Execute one run in this process and record its progress and outcome.

    Parameters
    ----------
    db_path : pathlib.Path
        The platform database.
    run_id : str
        Run to execute (its project must have a run file).
    pipeline : str
        ``"module:function"`` of the run function, called as
        ``function(assessment_path, out_dir, progress=..., cancel=..., resume=True)``.

    Returns
    -------
    int
        Process exit code: 0 when the run succeeded.
    """
    db = Database(db_path)
    run = db.get_run(run_id)
    if run is None:
        return 2
    project = db.get_project(run["project_id"])
    root = db_path.parent
    out_dir = root / run["out_dir"]
    out_dir.mkdir(parents=True, exist_ok=True)

    logger = logging.getLogger("openldn")
    handler = logging.FileHandler(out_dir / LOG_NAME, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s  %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    log = logging.getLogger("openldn.web.worker")

    def _stop(signum: int, frame: Any) -> None:
        raise _Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    db.update_run(
        run_id, status="running", pid=os.getpid(), started=time.time(), attempts=run["attempts"] + 1, error=None,
        progress=0.0, eta=None, stage_index=0, stage_count=0,
    )
    last: dict[str, Any] = {"t": 0.0, "c": 0.0, "cancel": False, "stage": None, "written": (-1.0, None),
                            "reported": set()}
    assessment_path = (
        root / "projects" / project["id"] / project["assessment"] if project and project["assessment"] else None
    )
    tracker = RunProgress(
        plan_stages(pipeline, assessment_path) if assessment_path else [], earlier_timings(db, run, root)
    )
    lock = threading.Lock()

    def record(**fields: Any) -> None:
        index, count = tracker.stage_index()
        eta = tracker.eta()
        last["written"] = (tracker.fraction, eta)
        db.update_run(
            run_id, only_if=ACTIVE, progress=round(tracker.fraction, 4), eta=None if eta is None else round(eta, 1),
            stage_index=index, stage_count=count, **fields,
        )

    def report_staged(stage: str) -> None:
        """Log the maps and tables a finished stage left in the staging area: the page reads them (partial
        results, marked in progress) until the run publishes its whole result."""
        files = finished_stage_files(out_dir).get(stage)
        if files is None:
            return
        last["reported"].add(stage)
        staged = files["maps"] + files["tables"]
        if staged:
            log.info("stage %s: readable while the run goes on (in progress): %s", stage, ", ".join(staged))

    def progress(stage: str, done: int = 0, total: int = 0, message: str = "") -> None:
        """Record a progress step (the database at most every 0.2 s); log the start and end of each stage."""
        now = time.monotonic()
        with lock:
            tracker.update(str(stage), int(done), int(total), message)
            if stage != last["stage"]:
                last["stage"] = stage
                log.info("stage %s: %s", stage, _one_line(message) or "started")
            elif total and done >= total:
                log.info("stage %s: %s", stage, _one_line(message) or "finished")
            if total and done >= total and str(stage) not in last["reported"]:
                report_staged(str(stage))
            if now - last["t"] > 0.2 or (total and done >= total):
                last["t"] = now
                record(stage=str(stage), done=int(done), total=int(total), message=_one_line(message))

    stop_ticker = threading.Event()

    def ticker() -> None:
        """Every second, move the bar within a long stage and refresh the time left."""
        while not stop_ticker.wait(1.0):
            with lock:
                before = last["written"]
                tracker.tick()
                eta = tracker.eta()
                moved = tracker.fraction - before[0] >= 0.002
                if moved or (eta is not None and (before[1] is None or abs(eta - before[1]) >= 1.0)):
                    record()

    threading.Thread(target=ticker, name="openldn-progress", daemon=True).start()

    def cancel() -> bool:
        """Return whether a cancel was requested (the database is read at most every 0.5 s)."""
        now = time.monotonic()
        if now - last["c"] > 0.5:
            last["c"] = now
            current = db.get_run(run_id)
            last["cancel"] = bool(current and current["cancel_requested"])
        return bool(last["cancel"])

    try:
        if project is None or not project["assessment"]:
            raise FileNotFoundError("the project has no run file: save the method options or create a demo project")
        assessment = root / "projects" / project["id"] / project["assessment"]
        if tracker.stages:
            log.info("stages: %s", ", ".join(tracker.stages))
        log.info("run %s: %s -> %s (attempt %d)", run_id, assessment, out_dir, run["attempts"] + 1)
        function = load_callable(pipeline)
        language = normalize_language(os.environ.get(LANGUAGE_ENV))
        if language is not None:
            set_language(language)
        function(assessment, out_dir, progress=progress, cancel=cancel, resume=True)
        if cancel():
            raise _Stop("cancelled")
        log.info("run %s succeeded", run_id)
    except _Stop as stop:
        cancelled = bool((db.get_run(run_id) or {}).get("cancel_requested"))
        status = "cancelled" if cancelled else "interrupted"
        log.warning("run %s %s (%s)", run_id, status, stop)
        db.update_run(run_id, status=status, finished=time.time(), message=status, pid=None)
        return 3
    except Exception as error:
        cancelled = bool((db.get_run(run_id) or {}).get("cancel_requested"))
        log.error("run %s failed: %s\n%s", run_id, error, traceback.format_exc())
        db.update_run(
            run_id,
            status="cancelled" if cancelled else "failed",
            finished=time.time(),
            error=None if cancelled else _one_line(f"{type(error).__name__}: {error}"),
            pid=None,
        )
        return 1
    finally:
        stop_ticker.set()
        handler.close()
        logger.removeHandler(handler)
    db.update_run(
        run_id, status="succeeded", finished=time.time(), message="done", pid=None, progress=1.0, eta=0.0,
        stage_index=len(tracker.stages), stage_count=len(tracker.stages),
    )
    return 0


class RunManager:
    """Start, watch, cancel and resume worker processes on behalf of the server.

    Parameters
    ----------
    db : Database
        The platform database.
    pipeline : str
        ``"module:function"`` passed to each worker.
    """

    def __init__(self, db: Database, pipeline: str) -> None:
        self.db = db
        self.pipeline = pipeline
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._cancel_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # lifecycle ----------------------------------------------------------------------------------------------------
    def startup(self) -> None:
        """Mark runs left active by a previous server as interrupted and start the watcher thread."""
        self.reconcile()
        self._thread = threading.Thread(target=self._watch, name="openldn-run-watcher", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        """Stop every worker (their runs become ``interrupted``, resumable) and the watcher."""
        self._stop.set()
        with self._lock:
            procs = dict(self._procs)
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + _KILL_AFTER_S
        for run_id, proc in procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self.db.update_run(run_id, only_if=ACTIVE, status="interrupted", finished=time.time(), pid=None)
        if self._thread is not None:
            self._thread.join(timeout=2)

    def reconcile(self) -> None:
        """Mark active runs whose worker process is gone as ``interrupted``."""
        with self._lock:
            mine = set(self._procs)
        for run in self.db.list_runs(status=ACTIVE):
            if run["id"] in mine:
                continue
            if not pid_alive(run["pid"], run["id"]):
                self.db.update_run(
                    run["id"],
                    only_if=ACTIVE,
                    status="interrupted",
                    finished=time.time(),
                    pid=None,
                    message="interrupted by a server restart; resume it to continue",
                )

    # operations ---------------------------------------------------------------------------------------------------
    def start(self, run_id: str) -> None:
        """Launch the worker process of a queued run.

        Raises
        ------
        RuntimeError
            When the run's previous worker process is still running (e.g. still stopping after a cancel).
        """
        with self._lock:
            old = self._procs.get(run_id)
            if old is not None and old.poll() is None:
                raise RuntimeError(f"the previous worker of run {run_id!r} is still stopping; retry in a moment")
            self._procs.pop(run_id, None)
            self._cancel_at.pop(run_id, None)
        # The run writes its report, workbook and maps in the language of the page that started it (the request's
        # language), unless the run file sets outputs.language.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", LANGUAGE_ENV: current_language()}
        cmd = [sys.executable, "-m", "openldn.web.worker", str(self.db.path), run_id, self.pipeline]
        run = self.db.get_run(run_id)
        assert run is not None
        out_dir = self.db.path.parent / run["out_dir"]
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "worker.out", "ab") as sink:
            proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        with self._lock:
            self._procs[run_id] = proc
        self.db.update_run(run_id, only_if=ACTIVE, pid=proc.pid)

    def cancel(self, run_id: str) -> None:
        """Ask a run to stop: flag it, signal its worker, and mark it cancelled."""
        self.db.update_run(run_id, cancel_requested=1)
        with self._lock:
            proc = self._procs.get(run_id)
        run = self.db.get_run(run_id)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            self._cancel_at[run_id] = time.monotonic()
        elif run is not None and pid_alive(run["pid"], run_id):
            os.kill(run["pid"], signal.SIGTERM)
        else:
            self.db.update_run(run_id, only_if=ACTIVE, status="cancelled", finished=time.time(), pid=None)

    def resume(self, run_id: str) -> None:
        """Queue a stopped run again in the same output folder (the pipeline resumes from its checkpoints)."""
        with self._lock:
            old = self._procs.get(run_id)
        run = self.db.get_run(run_id)
        deadline = time.monotonic() + _KILL_AFTER_S
        # a cancelled worker may still be exiting: give it a moment
        while time.monotonic() < deadline and (
            (old is not None and old.poll() is None)
            or (run is not None and old is None and pid_alive(run["pid"], run_id))
        ):
            time.sleep(0.1)
        if old is not None and old.poll() is None:
            raise RuntimeError(f"the previous worker of run {run_id!r} is still stopping; retry in a moment")
        self.db.update_run(run_id, status="queued", cancel_requested=0, error=None, finished=None, message="resuming")
        self.start(run_id)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                items = list(self._procs.items())
            for run_id, proc in items:
                code = proc.poll()
                if code is None:
                    since = self._cancel_at.get(run_id)
                    if since is not None and time.monotonic() - since > _KILL_AFTER_S:
                        proc.kill()
                    continue
                with self._lock:
                    self._procs.pop(run_id, None)
                self._cancel_at.pop(run_id, None)
                run = self.db.get_run(run_id)
                if run is None or run["status"] not in ACTIVE:
                    continue
                if run["cancel_requested"]:
                    self.db.update_run(run_id, only_if=ACTIVE, status="cancelled", finished=time.time(), pid=None)
                else:
                    self.db.update_run(
                        run_id,
                        only_if=ACTIVE,
                        status="failed",
                        finished=time.time(),
                        pid=None,
                        error=f"worker process exited with code {code}; see the run log",
                    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m openldn.web.worker <db> <run_id> <pipeline>``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m openldn.web.worker <db> <run_id> <module:function>", file=sys.stderr)
        return 2
    return run_worker(Path(args[0]), args[1], args[2])


if __name__ == "__main__":
    sys.exit(main())
