"""The company index an export takes along: project.sqlite trimmed to what retrieval reads.

An exported assistant answers from the company's documents on another machine, so it needs
the profile (system prompt), the documents' names, the redacted chunks, the full-text index
and the vectors. It must take nothing else: the redactions table and ``chunks.original_text``
hold the ORIGINAL personal data, the conversations and runs are of no use to a runner, and
settings other than the profile may name people (terms to always redact) or endpoints.

The copy is made with SQLite's online backup (consistent even while the app writes), then
every table outside a keep-list is dropped, original texts are replaced by the redacted text,
the full-text index is rebuilt from the redacted text (FTS5 keeps deleted tokens in old
segments until merged) and the file is VACUUMed, so no freed page still holds removed data.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from core.errors import TalkSmallError

KEEP_TABLES = frozenset(("settings", "documents", "chunks", "chunks_fts", "chunk_vectors",
                         "retrieval_state"))
KEEP_SETTINGS = ("profile",)
FTS_TABLE = "chunks_fts"


def copy_index(project: Any, target: Path) -> dict[str, int]:
    """Write the trimmed index to ``target`` (a new file); return what it holds.

    The vectors should be current (``core.retrieval.update_index``) so the runner never has
    to write to the copy.
    """
    copy = sqlite3.connect(target, isolation_level=None)
    try:
        # through the project's own connection: a second, read-only connection to a WAL
        # database failed with "disk I/O error" after the evaluation had written to it
        project.store.backup_to(copy)
        _trim(copy)
        counts = {name: copy.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
                  for name in ("documents", "chunks", "chunk_vectors")}
    except sqlite3.Error as exc:
        raise TalkSmallError(f"Copying the company index to {target.parent} failed: {exc}.",
                             "Check the free disk space and that the folder is writable, "
                             "then export again.") from exc
    finally:
        copy.close()
    check_clean(target)
    return counts


def _trim(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA foreign_keys = OFF")  # DROP must not cascade or check anything
    conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal
    conn.execute("BEGIN")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                ).fetchall():
        if name in KEEP_TABLES or name.startswith(("sqlite_", f"{FTS_TABLE}_")):
            continue
        conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall():
        conn.execute(f'DROP VIEW IF EXISTS "{name}"')
    marks = ", ".join("?" * len(KEEP_SETTINGS))
    conn.execute(f"DELETE FROM settings WHERE key NOT IN ({marks})", KEEP_SETTINGS)
    # Documents that never finished importing have nothing to retrieve; their rows (and any
    # partial chunks) go. The operator's own file paths and error texts stay home.
    conn.execute("DELETE FROM chunk_vectors WHERE chunk_id IN (SELECT c.id FROM chunks c "
                 "JOIN documents d ON d.id = c.document_id WHERE d.status != 'imported')")
    conn.execute("DELETE FROM chunks WHERE document_id IN "
                 "(SELECT id FROM documents WHERE status != 'imported')")
    conn.execute("DELETE FROM documents WHERE status != 'imported'")
    conn.execute("UPDATE documents SET source_path = name, error = NULL")
    conn.execute("UPDATE chunks SET original_text = text WHERE original_text != text")
    conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')")
    conn.execute("COMMIT")
    conn.execute("VACUUM")


def check_clean(path: Path) -> None:
    """Refuse (loudly) an index copy that still holds personal data or training data."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        extra = sorted(t for t in tables - KEEP_TABLES
                       if not t.startswith(("sqlite_", f"{FTS_TABLE}_")))
        unredacted = conn.execute(
            "SELECT COUNT(*) FROM chunks WHERE original_text != text").fetchone()[0]
        settings = [row[0] for row in conn.execute("SELECT key FROM settings")]
    finally:
        conn.close()
    if extra or unredacted or set(settings) - set(KEEP_SETTINGS):
        raise TalkSmallError(
            f"The index copy {path.name} still holds data that must not leave this computer "
            f"(tables {extra}, {unredacted} unredacted chunks, settings {settings}).",
            "Nothing was exported. Report this as a bug.")


def open_index(path: Path) -> Any:
    """An export's index as a read-only ``Project`` (its root is the export folder).

    Read-only, so running an export never changes it (its sha256 stays as in the manifest).
    Only when its vectors were made by another embedding model (another TalkSmall version)
    is it opened for writing, so the first search can embed the passages again.
    """
    from core.errors import ProjectError
    from core.project import Project
    from core.project.schema import APPLICATION_ID, SCHEMA_VERSION
    from core.project.store import ProjectStore

    if not path.is_file():
        raise ProjectError(f"The export has no company index ({path.name} is missing).",
                           "Copy the whole export folder (or unzip it again), or export again.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        stale = _vectors_stale(conn)
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"The export's index {path} is damaged ({exc}).",
                           "Copy or unzip the export again.") from exc
    if app_id != APPLICATION_ID or version > SCHEMA_VERSION:
        conn.close()
        raise ProjectError(f"{path} is not an index this TalkSmall Studio can read.",
                           "Export again with this version, or update TalkSmall Studio.")
    if stale:
        conn.close()
        writable = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        writable.row_factory = sqlite3.Row
        return Project(path.parent, ProjectStore(writable, path))
    return Project(path.parent, ProjectStore(conn, path))


def _vectors_stale(conn: sqlite3.Connection) -> bool:
    from core.embeddings import MODEL_NAME

    chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    current = conn.execute("SELECT COUNT(*) FROM chunk_vectors WHERE model = ?",
                           (MODEL_NAME,)).fetchone()[0]
    return bool(current != chunks)
