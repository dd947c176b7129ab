"""project.sqlite: one connection per process, WAL, foreign keys, explicit transactions."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.errors import ProjectError
from core.project import schema

DB_NAME = "project.sqlite"


def is_disk_full(exc: BaseException) -> bool:
    """SQLite's SQLITE_FULL, or an OSError/library error that says the disk is full."""
    import errno

    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return "no space left on device" in str(exc).lower()


class ProjectStore:
    """Typed access to project.sqlite. Every write runs in a transaction."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()

    # --- opening ---------------------------------------------------------------
    @classmethod
    def create(cls, path: Path) -> ProjectStore:
        if path.exists():
            raise ProjectError(
                f"{path} already exists.", "Open the existing project instead of creating one."
            )
        conn = _raw_connect(path)
        conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
        _configure(conn)
        schema.migrate(conn)
        return cls(conn, path)

    @classmethod
    def open(cls, path: Path) -> ProjectStore:
        if not path.is_file():
            raise ProjectError(
                f"{path.parent} is not a TalkSmall project (no {DB_NAME}).",
                "Choose the folder you created the project in, or create a new project.",
            )
        try:
            conn = _raw_connect(path)
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise ProjectError(
                f"{path} is damaged or not a database ({exc}).",
                "Restore it from a backup; TalkSmall did not change the file.",
            ) from exc
        if app_id != schema.APPLICATION_ID:
            conn.close()
            raise ProjectError(
                f"{path} belongs to another program, not TalkSmall Studio.",
                "Choose another folder; the file was left untouched.",
            )
        if version > schema.SCHEMA_VERSION:
            conn.close()
            raise ProjectError(
                f"{path} was saved by a newer TalkSmall Studio (schema {version}, "
                f"this version knows {schema.SCHEMA_VERSION}).",
                "Update TalkSmall Studio to open this project.",
            )
        try:
            integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            integrity = str(exc)
        if integrity != "ok":
            conn.close()
            raise ProjectError(
                f"{path} is damaged ({integrity}).",
                "Restore it from a backup; TalkSmall did not change the file.",
            )
        _configure(conn)
        schema.migrate(conn)
        return cls(conn, path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- transactions ----------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                # SQLite may already have rolled back (disk full, I/O error): a second
                # ROLLBACK would raise and hide the real reason.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if is_disk_full(exc):
                    raise ProjectError(
                        f"The disk holding {self.path.parent} is full; the last change was "
                        "not saved (everything saved before is intact).",
                        "Free some disk space, then try again.",
                    ) from exc
                raise

    def backup_to(self, target: sqlite3.Connection) -> None:
        """Copy the whole database into ``target`` (a consistent snapshot, even in WAL)."""
        with self._lock:
            self._conn.backup(target)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    @property
    def schema_version(self) -> int:
        return self.query("PRAGMA user_version")[0][0]

    # --- settings (JSON values) -------------------------------------------------
    def get_setting(self, key: str, default: Any = None) -> Any:
        rows = self.query("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                (key, json.dumps(value, ensure_ascii=False)),
            )


def _raw_connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction means
    # exactly what the code says. check_same_thread=False: background tasks share the
    # connection behind ProjectStore's lock. Nothing here writes to the file, so a
    # foreign or damaged database can be inspected and refused untouched.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA foreign_keys = ON")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA synchronous = NORMAL")
