"""Run the openldn command line of another Python environment as a subprocess.

Nothing here imports QGIS: the module finds the ``openldn`` executable, starts it, streams its progress into a
feedback object with the methods of ``QgsProcessingFeedback`` (``setProgress``, ``setProgressText``,
``pushInfo``, ``reportError``, ``isCanceled``), stops it when the user cancels, and turns a failure into
openldn's one-line error message.

openldn prints its progress as one JSON object a line on stderr when ``OPENLDN_PROGRESS=json`` is set
(``{"stage": ..., "done": ..., "total": ..., "message": ...}``); an openldn that does not know the variable
prints ``stage: message`` lines, which are parsed too.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "ENV_VARIABLE",
    "CliResult",
    "OpenLDNCliError",
    "ProgressParser",
    "error_message",
    "locate",
    "run",
]

#: Environment variable naming the openldn executable (or the Python of its environment) when no setting is given.
ENV_VARIABLE = "OPENLDN_EXECUTABLE"

# Variables QGIS sets for its own Python, GDAL and PROJ. Passed on, they make the other environment's Python import
# QGIS's packages or its GDAL/PROJ read QGIS's data files of another version (proj.db layout errors).
_SCRUBBED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "GDAL_DATA", "GDAL_DRIVER_PATH",
             "PROJ_LIB", "PROJ_DATA", "GDAL_PLUGINS", "QGIS_PREFIX_PATH")

_ERROR_LINE = re.compile(r"^\s*(?:Error|error|Internal error):\s*(?P<msg>.+?)\s*$")
_STAGE_OF = re.compile(r"\bstage (?P<i>\d+)/(?P<n>\d+)\b")
_TEXT_PROGRESS = re.compile(r"^(?P<stage>[a-z][a-z0-9_]*): (?P<message>.*)$")
_WARNING_LINE = re.compile(r"^\s*(?:warning|Warning|WARNING):\s*(?P<msg>.+?)\s*$")


class OpenLDNCliError(Exception):
    """The openldn command failed; ``str(err)`` is openldn's one-line message."""

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


class CliResult:
    """What a finished openldn command printed.

    Attributes
    ----------
    returncode : int
        Exit code (0 on success).
    stdout, stderr : list of str
        Lines printed, without the progress lines.
    """

    def __init__(self, returncode: int, stdout: list[str], stderr: list[str]) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


# -- finding the executable ----------------------------------------------------------------------------------------
def _setting_value() -> str:
    """The plugin setting (Processing ▸ Options ▸ Providers ▸ openldn), empty outside QGIS."""
    try:
        from qgis.core import QgsSettings
    except ImportError:
        return ""
    from openldn_qgis.settings import EXECUTABLE_KEY

    value = QgsSettings().value(EXECUTABLE_KEY, "")
    return str(value or "").strip()


def _is_python(path: Path) -> bool:
    return path.name.lower().startswith("python")


def _command_of(path: Path) -> list[str]:
    """The command prefix for a configured path: an openldn script, a Python interpreter or an environment folder."""
    if path.is_dir():
        for sub in ("bin/openldn", "Scripts/openldn.exe", "Scripts/openldn", "bin/python", "python.exe",
                    "Scripts/python.exe"):
            candidate = path / sub
            if candidate.is_file():
                return _command_of(candidate)
        raise OpenLDNCliError(
            f"{path}: no openldn or python found in this environment folder; set the path of its openldn "
            "executable (Processing ▸ Options ▸ Providers ▸ openldn).")
    if not path.is_file():
        raise OpenLDNCliError(
            f"{path}: no such file; set the path of the openldn executable or of the Python of the environment "
            "where openldn is installed (Processing ▸ Options ▸ Providers ▸ openldn).")
    if _is_python(path):
        return [str(path), "-m", "openldn"]
    return [str(path)]


def locate(configured: str | None = None) -> list[str]:
    """The command that runs openldn, e.g. ``['/env/bin/openldn']`` or ``['/env/bin/python', '-m', 'openldn']``.

    Parameters
    ----------
    configured : str, optional
        A path given by the caller; default: the plugin setting, then the ``OPENLDN_EXECUTABLE`` environment
        variable, then ``openldn`` on the ``PATH``.

    Raises
    ------
    OpenLDNCliError
        When no openldn can be found, saying where to set it.
    """
    for value in (configured, _setting_value() if configured is None else "", os.environ.get(ENV_VARIABLE, "")):
        if value and value.strip():
            return _command_of(Path(value.strip()).expanduser())
    found = shutil.which("openldn")
    if found:
        return [found]
    raise OpenLDNCliError(
        "openldn was not found: install it in its own Python environment (pip install openldn) and set the path "
        "of its openldn executable in Processing ▸ Options ▸ Providers ▸ openldn (or the OPENLDN_EXECUTABLE "
        "environment variable).")


# -- progress ---------------------------------------------------------------------------------------------------
class ProgressParser:
    """Turns openldn's progress lines into (percent, stage text).

    The run reports each stage as ``stage i/N`` when it starts and ``done`` (done == total) when it ends, and
    ``done/total`` steps inside a stage; the overall percent is ``100 * (i - 1 + done/total) / N``. Inside a stage
    the steps of two counters interleave (e.g. periods 1/3 and "computing <layer>" 0/1): the percent never goes
    back within a stage.
    """

    def __init__(self) -> None:
        self.index = 0
        self.count = 0
        self.stage = ""
        self.fraction = 0.0

    def parse(self, line: str) -> dict[str, Any] | None:
        """The progress event of one stderr line (``None`` when the line is not progress)."""
        text = line.strip()
        if text.startswith("{"):
            try:
                event = json.loads(text)
            except ValueError:
                return None
            if not isinstance(event, dict) or "stage" not in event:
                return None
            return {"stage": str(event["stage"]), "done": int(event.get("done") or 0),
                    "total": int(event.get("total") or 0), "message": str(event.get("message") or "")}
        m = _TEXT_PROGRESS.match(text)
        if m and not _ERROR_LINE.match(text) and not _WARNING_LINE.match(text):
            return {"stage": m["stage"], "done": 0, "total": 0, "message": m["message"]}
        return None

    def update(self, event: dict[str, Any]) -> tuple[float | None, str]:
        """Record ``event``; returns (overall percent or ``None`` when unknown, stage text)."""
        stage, message = event["stage"], event["message"]
        m = _STAGE_OF.search(message)
        if m:
            self.index, self.count, self.fraction = int(m["i"]), int(m["n"]), 0.0
        if stage != self.stage and not m and self.count and self.index < self.count:
            # a stage resumed from its checkpoint reports no "stage i/N": it is the next one
            self.index, self.fraction = self.index + 1, 0.0
        self.stage = stage
        text = f"{stage}: {message}" if message else stage
        if not self.count:
            return None, text
        total = event["total"]
        fraction = min(max(event["done"] / total, 0.0), 1.0) if total else 0.0
        if message.startswith("done"):
            fraction = 1.0
        self.fraction = max(self.fraction, fraction)
        return 100.0 * (self.index - 1 + self.fraction) / self.count, text


def error_message(lines: Sequence[str], returncode: int) -> str:
    """openldn's one-line error among the printed ``lines`` (the last ``Error: ...``), else the last line."""
    for line in reversed(lines):
        m = _ERROR_LINE.match(line)
        if m:
            return m["msg"]
    text = [ln.strip() for ln in lines if ln.strip() and not set(ln.strip()) <= set("─│╭╮╰╯ ")]
    if text:
        return text[-1].strip("│ ").strip()
    return f"openldn stopped with exit code {returncode} and no message."


# -- running -----------------------------------------------------------------------------------------------------
def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update({"OPENLDN_PROGRESS": "json", "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1",
                "TERM": "dumb", "COLUMNS": "200"})
    return env


def _reader(stream: Any, name: str, out: queue.Queue[tuple[str, str | None]]) -> None:
    try:
        for raw in iter(stream.readline, ""):
            out.put((name, raw.rstrip("\r\n")))
    finally:
        out.put((name, None))


def _stop(proc: subprocess.Popen[str], grace: float = 5.0) -> None:
    """Interrupt the process (and the workers it started), then kill it if it does not stop within ``grace`` s."""
    if proc.poll() is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.terminate()
        proc.wait(timeout=grace)
    except (subprocess.TimeoutExpired, ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()


def _call(feedback: Any, method: str, *args: Any) -> None:
    fn: Callable[..., Any] | None = getattr(feedback, method, None) if feedback is not None else None
    if fn is not None:
        fn(*args)


def run(args: Sequence[str], feedback: Any = None, *, command: Sequence[str] | None = None,
        cwd: str | None = None, poll: float = 0.1) -> CliResult:
    """Run ``openldn <args>``, streaming its output into ``feedback``; cancel stops it.

    Parameters
    ----------
    args : sequence of str
        The openldn arguments, e.g. ``['run', 'assessment.yaml', '--out', 'results']``.
    feedback : QgsProcessingFeedback-like, optional
        Receives progress (``setProgress``, ``setProgressText``), printed lines (``pushInfo``) and the error
        (``reportError``); ``isCanceled()`` is polled every ``poll`` seconds.
    command : sequence of str, optional
        The command prefix (default :func:`locate`).

    Returns
    -------
    CliResult

    Raises
    ------
    OpenLDNCliError
        When openldn fails (its one-line message) or is cancelled.
    """
    cmd = list(command) if command is not None else locate()
    cmd += [str(a) for a in args]
    kwargs: dict[str, Any] = {}
    if os.name == "posix":
        kwargs["start_new_session"] = True  # its own process group: cancel reaches the Dask workers too
    else:  # pragma: no cover - Windows
        kwargs["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
    _call(feedback, "pushInfo", "Running: " + subprocess.list2cmdline(cmd))
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                text=True, encoding="utf-8", errors="replace", bufsize=1, cwd=cwd,
                                env=_environment(), **kwargs)
    except OSError as err:
        raise OpenLDNCliError(f"{cmd[0]}: cannot start openldn ({err.strerror or err}); check the openldn path in "
                              "Processing ▸ Options ▸ Providers ▸ openldn.") from err
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
    readers = [threading.Thread(target=_reader, args=(proc.stdout, "stdout", lines), daemon=True),
               threading.Thread(target=_reader, args=(proc.stderr, "stderr", lines), daemon=True)]
    for t in readers:
        t.start()
    parser = ProgressParser()
    printed: dict[str, list[str]] = {"stdout": [], "stderr": []}
    open_streams, cancelled = 2, False
    while open_streams:
        if not cancelled and feedback is not None and feedback.isCanceled():
            cancelled = True
            _call(feedback, "pushInfo", "Cancelling openldn...")
            threading.Thread(target=_stop, args=(proc,), daemon=True).start()
        try:
            name, line = lines.get(timeout=poll)
        except queue.Empty:
            continue
        if line is None:
            open_streams -= 1
            continue
        event = parser.parse(line) if name == "stderr" else None
        if event is not None:
            percent, text = parser.update(event)
            if percent is not None:
                _call(feedback, "setProgress", percent)
            _call(feedback, "setProgressText", text)  # Processing also writes it to the log
            continue
        if line.strip():
            printed[name].append(line)
            warning = _WARNING_LINE.match(line)
            if warning and feedback is not None and hasattr(feedback, "pushWarning"):  # QGIS >= 3.20
                feedback.pushWarning(line.strip())
            elif not _ERROR_LINE.match(line):
                _call(feedback, "pushInfo", line)
    returncode = proc.wait()
    for t in readers:
        t.join(timeout=1)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    if cancelled:
        raise OpenLDNCliError("Cancelled; run it again to resume from the last completed step.", returncode)
    if returncode != 0:
        message = error_message(printed["stderr"] + printed["stdout"], returncode)
        _call(feedback, "reportError", message)
        raise OpenLDNCliError(message, returncode)
    _call(feedback, "setProgress", 100.0)
    return CliResult(returncode, printed["stdout"], printed["stderr"])


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - a debugging aid
    """``python cli.py <openldn args>``: run openldn the plugin's way, printing what the feedback would get."""

    class _Print:
        def isCanceled(self) -> bool:
            return False

        def __getattr__(self, name: str) -> Callable[..., None]:
            return lambda *a: print(f"[{name}]", *a)

    try:
        run(list(argv if argv is not None else sys.argv[1:]), _Print())
    except OpenLDNCliError as err:
        print(f"error: {err}")
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
