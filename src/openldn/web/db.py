"""SQLite store of projects, datasets and runs (one file in the data folder, WAL journal).

Every function opens its own short-lived connection, so the store can be used from the server's threads and
from the worker processes at the same time.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["ACTIVE", "FINISHED", "Database"]

#: Run states in which a worker process is (or should be) working.
ACTIVE = ("queued", "running")
#: Run states that end a run.
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    assessment TEXT
);
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    kind TEXT NOT NULL,
    original_name TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    stage TEXT NOT NULL DEFAULT '',
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT,
    pid INTEGER,
    out_dir TEXT NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0,
    progress REAL NOT NULL DEFAULT 0,
    eta REAL,
    stage_index INTEGER NOT NULL DEFAULT 0,
    stage_count INTEGER NOT NULL DEFAULT 0
);
"""
#: Columns added after the first release, with their declarations (added to an older database when opened).
_ADDED_COLUMNS = {
    "progress": "REAL NOT NULL DEFAULT 0",
    "eta": "REAL",
    "stage_index": "INTEGER NOT NULL DEFAULT 0",
    "stage_count": "INTEGER NOT NULL DEFAULT 0",
}


def new_id() -> str:
    """Return a random 12-character hexadecimal identifier."""
    return uuid.uuid4().hex[:12]


class Database:
    """Access to the platform's SQLite database.

    Parameters
    ----------
    path : pathlib.Path
        Database file; created with its tables when missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with self.connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            have = {row[1] for row in con.execute("PRAGMA table_info(runs)")}
            for name, decl in _ADDED_COLUMNS.items():
                if name not in have:
                    con.execute(f"ALTER TABLE runs ADD COLUMN {name} {decl}")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """Open a connection, commit on success and close it.

        Yields
        ------
        sqlite3.Connection
            Connection whose rows behave like dicts.
        """
        con = sqlite3.connect(self.path, timeout=30)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys=ON")
        try:
            yield con
            con.commit()
        finally:
            con.close()

    # projects ---------------------------------------------------------------------------------------------------
    def create_project(self, name: str) -> dict[str, Any]:
        """Insert a project and return it."""
        row = {"id": new_id(), "name": name, "created": time.time(), "assessment": None}
        with self.connect() as con:
            con.execute("INSERT INTO projects VALUES (:id, :name, :created, :assessment)", row)
        return row

    def get_project(self, project_id: str) -> dict[str, Any] | None:
        """Return a project, or None."""
        with self.connect() as con:
            row = con.execute("SELECT * FROM projects WHERE id = ?", (project_id,)).fetchone()
        return dict(row) if row else None

    def list_projects(self) -> list[dict[str, Any]]:
        """Return every project, newest first."""
        with self.connect() as con:
            rows = con.execute("SELECT * FROM projects ORDER BY created DESC").fetchall()
        return [dict(r) for r in rows]

    def set_assessment(self, project_id: str, relpath: str) -> None:
        """Record the project's run file (path relative to the project folder)."""
        with self.connect() as con:
            con.execute("UPDATE projects SET assessment = ? WHERE id = ?", (relpath, project_id))

    def delete_project(self, project_id: str) -> None:
        """Delete a project with its datasets and runs."""
        with self.connect() as con:
            con.execute("DELETE FROM projects WHERE id = ?", (project_id,))

    # datasets ---------------------------------------------------------------------------------------------------
    def add_dataset(
        self, project_id: str, *, role: str, kind: str, original_name: str, path: str, size: int
    ) -> dict[str, Any]:
        """Insert a dataset record and return it."""
        row = {
            "id": new_id(),
            "project_id": project_id,
            "role": role,
            "kind": kind,
            "original_name": original_name,
            "path": path,
            "size": size,
            "created": time.time(),
        }
        with self.connect() as con:
            con.execute(
                "INSERT INTO datasets VALUES (:id, :project_id, :role, :kind, :original_name, :path, :size, :created)",
                row,
            )
        return row

    def list_datasets(self, project_id: str) -> list[dict[str, Any]]:
        """Return a project's datasets, oldest first."""
        with self.connect() as con:
            rows = con.execute(
                "SELECT * FROM datasets WHERE project_id = ? ORDER BY created", (project_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    # runs -------------------------------------------------------------------------------------------------------
    def create_run(self, project_id: str, out_dir: str, run_id: str | None = None) -> dict[str, Any]:
        """Insert a queued run and return it."""
        run_id = run_id or new_id()
        with self.connect() as con:
            con.execute(
                "INSERT INTO runs (id, project_id, status, created, out_dir) VALUES (?, ?, 'queued', ?, ?)",
                (run_id, project_id, time.time(), out_dir),
            )
        run = self.get_run(run_id)
        assert run is not None
        return run

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """Return a run, or None."""
        with self.connect() as con:
            row = con.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return dict(row) if row else None

    def list_runs(self, project_id: str | None = None, status: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """Return runs, newest first, optionally of one project and in some states."""
        sql, args = "SELECT * FROM runs WHERE 1=1", []
        if project_id is not None:
            sql += " AND project_id = ?"
            args.append(project_id)
        if status:
            sql += f" AND status IN ({','.join('?' * len(status))})"
            args.extend(status)
        with self.connect() as con:
            rows = con.execute(sql + " ORDER BY created DESC", args).fetchall()
        return [dict(r) for r in rows]

    def update_run(self, run_id: str, *, only_if: tuple[str, ...] | None = None, **fields: Any) -> bool:
        """Update columns of a run (and bump its version); return whether a row changed.

        Parameters
        ----------
        run_id : str
            Run to update.
        only_if : tuple of str, optional
            Update only when the run is currently in one of these states.
        **fields
            Column values.
        """
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        sql = f"UPDATE runs SET {sets}, version = version + 1 WHERE id = :_id"
        params = {**fields, "_id": run_id}
        if only_if:
            sql += f" AND status IN ({','.join(repr(s) for s in only_if)})"
        with self.connect() as con:
            cur = con.execute(sql, params)
            return cur.rowcount > 0
