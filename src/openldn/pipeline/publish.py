"""Output folders you can trust: one run at a time, results built aside and published whole.

* :class:`OutputLock`: an exclusive lock per output folder (``<out>/.openldn-lock``, ``fcntl.flock``); a second run on
  the same folder stops at once with a clear message instead of interleaving its files with the first one's.
* A run writes everything into ``<out>/.openldn/staging/`` (kept across attempts, so a killed run resumes there).
* :func:`publish` moves the finished result into place: the previous result's entries go aside, the new ones are
  renamed in, then the old ones are deleted. A journal makes the step restartable: a run killed in the middle of it
  is completed by the next command on that folder (:func:`recover`). A failed run never touches the published
  result, and a rerun with other periods leaves no stale file.
* ``manifest.json`` lists every published file with its size and SHA-256, exactly the files present.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from openldn.exceptions import OpenLDNError
from openldn.io import sha256_file

__all__ = ["MANIFEST", "OutputBusyError", "OutputLock", "publish", "recover", "staging_dir"]

#: The file listing every published file.
MANIFEST = "manifest.json"
#: Name of the internal folder (checkpoints, staging); never published, never listed.
INTERNAL = ".openldn"
_LOCK = ".openldn-lock"


class OutputBusyError(OpenLDNError, RuntimeError):
    """Another run is writing to the same output folder."""


def staging_dir(out: Path) -> Path:
    """Where a run of ``out`` builds its result."""
    return out / INTERNAL / "staging"


class OutputLock:
    """Exclusive lock of an output folder for the duration of a run (released on exit, even after an error)."""

    def __init__(self, out: Path) -> None:
        self.path = out / _LOCK
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise OutputBusyError(
                f"{self.path.parent}: another openldn run is writing to this folder ({holder}); wait for it to "
                "finish or choose another --out."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        import fcntl

        if self._fd is not None:
            try:
                self.path.unlink(missing_ok=True)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None


def _journal(out: Path) -> Path:
    return out / INTERNAL / "publish.json"


def _write_manifest(staging: Path) -> None:
    files = sorted(p for p in staging.rglob("*") if p.is_file() and p.name != MANIFEST)
    records = [{"path": p.relative_to(staging).as_posix(), "size": p.stat().st_size, "sha256": sha256_file(p)}
               for p in files]
    (staging / MANIFEST).write_text(json.dumps({"files": records}, indent=1), encoding="utf-8")


def publish(out: Path) -> None:
    """Replace the published result in ``out`` by the staged one (restartable; see :func:`recover`).

    The previous result's entries are those of its manifest's top-level names (or, without a manifest, the
    entries the new result replaces); files a user put in the folder are left alone.
    """
    staging = staging_dir(out)
    _write_manifest(staging)
    new = sorted(p.name for p in staging.iterdir())
    old: set[str] = set(new)
    prev_manifest = out / MANIFEST
    if prev_manifest.is_file():
        with contextlib.suppress(ValueError, KeyError, TypeError):  # an unreadable manifest: replace what we write
            old |= {r["path"].split("/", 1)[0] for r in json.loads(prev_manifest.read_text())["files"]}
    old.add(MANIFEST)
    journal = {"phase": "aside", "new": new, "old": sorted(n for n in old if (out / n).exists())}
    _journal(out).write_text(json.dumps(journal), encoding="utf-8")
    _apply(out, journal)


def recover(out: Path) -> None:
    """Complete a publish step that was interrupted (a journal is left); nothing to do otherwise."""
    j = _journal(out)
    if j.is_file():
        try:
            journal = json.loads(j.read_text())
        except ValueError:
            j.unlink()
            return
        _apply(out, journal)


def _apply(out: Path, journal: dict[str, Any]) -> None:
    """Two phases, each idempotent: move the old entries aside, then (journal phase "in") move the new ones in."""
    staging = staging_dir(out)
    aside = out / INTERNAL / "previous"
    if journal.get("phase", "aside") == "aside":
        aside.mkdir(parents=True, exist_ok=True)
        for name in journal["old"]:
            src = out / name
            if src.exists() or src.is_symlink():
                if (aside / name).exists():
                    _remove(aside / name)
                os.replace(src, aside / name)
        journal = {**journal, "phase": "in"}
        _journal(out).write_text(json.dumps(journal), encoding="utf-8")
    for name in journal["new"]:
        src = staging / name
        if src.exists():
            os.replace(src, out / name)
    _journal(out).unlink(missing_ok=True)
    shutil.rmtree(aside, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
