"""Import files into a project: store the original, extract, chunk, redact, record.

Order of writes, so a killed process never leaves a half document that looks whole:
the document row is written with status 'importing', the original is stored under
files/<sha256><ext> (atomic), then every chunk and redaction plus the status 'imported'
are written in one transaction. The next import of the same content replaces an
'importing' (or 'failed') row instead of duplicating it. One bad file never stops the batch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.atomic import atomic_write_bytes
from core.documents.formats import (
    SUPPORTED_SUFFIXES,
    TICKET_SUFFIXES,
    DocumentError,
    ImportCancelled,
    format_of,
)
from core.documents.library import import_settings
from core.documents.prepare import Prepared, prepare_document, prepare_tickets
from core.documents.tickets import TicketMapping
from core.errors import TalkSmallError

Progress = Callable[[int, int, str], None]
MB = 1024 * 1024


@dataclass
class ImportResult:
    path: str
    name: str
    status: str  # imported | duplicate | failed | cancelled
    message: str
    document_id: int | None = None
    pages: int | None = None
    chunks: int = 0
    redactions: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_files(project: Any, paths: Sequence[str | Path], *,
                 ticket_mappings: dict[str, TicketMapping] | None = None,
                 progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                 max_file_mb: float | None = None) -> list[ImportResult]:
    """Import files and folders (recursively); one result per file, in order.

    ``max_file_mb`` overrides the project's size limit for this call only.
    """
    from core.documents.redact import load_rules

    files = expand_paths(paths, skip=Path(project.files_dir))
    settings = import_settings(project)
    limit_mb = float(max_file_mb) if max_file_mb is not None else settings["max_file_mb"]
    rules = load_rules(project)
    mappings = {_key(p): m for p, m in (ticket_mappings or {}).items()}
    results: list[ImportResult] = []
    cancelled = False
    for done, path in enumerate(files):
        if cancelled or (should_stop is not None and should_stop()):
            cancelled = True
            results.append(_cancelled(path))
            continue
        if progress is not None:
            progress(done, len(files), path.name)
        try:
            result = _import_one(project, path, limit_mb, settings, rules,
                                 mappings.get(_key(path)), should_stop)
        except ImportCancelled:
            cancelled = True
            result = _cancelled(path)
        except TalkSmallError as exc:
            result = _failed(path, exc.message, exc.hint)
        except Exception as exc:  # e.g. the disk filled up: this file fails, the batch goes on
            result = _failed(path, f"{path.name} could not be imported ({type(exc).__name__}: "
                             f"{exc}).", "Check the free disk space and retry.")
        results.append(result)
    if progress is not None:
        progress(len(files), len(files), "")
    return results


def expand_paths(paths: Sequence[str | Path], skip: Path | None = None) -> list[Path]:
    """Files as given, and the supported files inside folders (hidden ones left out)."""
    out: list[Path] = []
    seen: set[str] = set()
    skip_dir = Path(_key(skip)) if skip else None
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and p.suffix.lower() in SUPPORTED_SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts)
                           and not (skip_dir and Path(_key(p)).is_relative_to(skip_dir)))
        else:
            found = [path]
        for item in found:
            if _key(item) not in seen:
                seen.add(_key(item))
                out.append(item)
    return out


# --- one file -------------------------------------------------------------------------
def _import_one(project: Any, path: Path, limit_mb: float, settings: dict[str, Any],
                rules: Any, mapping: TicketMapping | None,
                should_stop: Callable[[], bool] | None) -> ImportResult:
    name, fmt, source = path.name, format_of(path), _key(path)
    if not path.is_file():
        return _failed(path, f"{name} does not exist or is not a file.", "Check the path.")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        return _failed(path, f"{name} is not a file type TalkSmall can import.",
                       f"Supported: {kinds}. Save or export it as one of these.")
    size = path.stat().st_size
    if size > limit_mb * MB:
        return _record_failure(project, path, fmt, size, None, DocumentError(
            f"{name} is {_mb(size)} MB, over the {_mb(limit_mb * MB)} MB limit; raise the limit "
            "in Documents settings.", ""))
    if size == 0:
        return _record_failure(project, path, fmt, 0, None, DocumentError(
            f"{name} is empty (0 bytes).", "Check that it is the file you meant."))
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _failed(path, f"{name} cannot be read ({exc.strerror or exc}).",
                       "Check that you may read it and that it is not open elsewhere.")
    sha = hashlib.sha256(data).hexdigest()
    existing = project.store.query("SELECT id, name, status, pages FROM documents "
                                   "WHERE sha256 = ?", (sha,))
    if existing and existing[0]["status"] == "imported":
        return _duplicate(project, path, existing[0])

    stored_rel = f"files/{sha}{path.suffix.lower()}"
    with project.store.transaction() as conn:
        # An interrupted ('importing') or failed earlier try of this content or path goes.
        conn.execute("DELETE FROM documents WHERE sha256 = ? OR (source_path = ? AND "
                     "status = 'failed')", (sha, source))
        document_id = conn.execute(
            "INSERT INTO documents (sha256, name, source_path, stored_path, format, kind, "
            "size_bytes, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'importing')",
            (sha, name, source, stored_rel, fmt,
             "tickets" if path.suffix.lower() in TICKET_SUFFIXES else "document", size),
        ).lastrowid
    stored = Path(project.root) / stored_rel
    try:
        if not (stored.is_file() and stored.stat().st_size == size):
            atomic_write_bytes(stored, data)
        if path.suffix.lower() in TICKET_SUFFIXES:
            prepared = prepare_tickets(data, name, fmt, mapping, rules)
        else:
            prepared = prepare_document(data, name, fmt, settings, rules, should_stop)
        chunks, redactions = _store(project, document_id, prepared)
    except ImportCancelled:
        with project.store.transaction() as conn:
            conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        stored.unlink(missing_ok=True)
        raise
    except Exception as exc:
        error = exc if isinstance(exc, TalkSmallError) else DocumentError(
            f"{name} could not be imported ({type(exc).__name__}: {exc}).",
            "Check the file; if it opens elsewhere, save it again and retry.")
        stored.unlink(missing_ok=True)
        with project.store.transaction() as conn:
            conn.execute("UPDATE documents SET status = 'failed', error = ?, stored_path = NULL "
                         "WHERE id = ?", (str(error), document_id))
        return _failed(path, error.message, error.hint, document_id)
    summary = (f"{prepared.pages} {_unit(fmt, prepared.pages)}, {_count(chunks, 'chunk')}, "
               f"{_count(redactions, 'redaction')}")
    if prepared.warnings:
        summary += "; " + "; ".join(prepared.warnings)
    return ImportResult(str(path), name, "imported", summary, document_id, prepared.pages,
                        chunks, redactions, list(prepared.warnings))


def _store(project: Any, document_id: int, prepared: Prepared) -> tuple[int, int]:
    redactions = 0
    with project.store.transaction() as conn:
        conn.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        for seq, row in enumerate(prepared.rows):
            chunk_id = conn.execute(
                "INSERT INTO chunks (document_id, seq, kind, section, page, original_text, "
                "text, token_count, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (document_id, seq, row.kind, row.section or "", row.page, row.original,
                 row.text, row.token_count, json.dumps(row.meta, ensure_ascii=False)),
            ).lastrowid
            conn.executemany(
                "INSERT INTO redactions (chunk_id, kind, start, end, original) "
                "VALUES (?, ?, ?, ?, ?)",
                [(chunk_id, s.kind, s.start, s.end, s.text) for s in row.spans])
            redactions += len(row.spans)
        conn.execute(
            "UPDATE documents SET status = 'imported', error = NULL, pages = ?, meta = ?, "
            "imported_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
            (prepared.pages, json.dumps(prepared.meta, ensure_ascii=False), document_id))
    return len(prepared.rows), redactions


# --- results ------------------------------------------------------------------------
def _record_failure(project: Any, path: Path, fmt: str, size: int, sha: str | None,
                    error: TalkSmallError) -> ImportResult:
    """A failure worth keeping in the document list (the file exists but cannot be used)."""
    with project.store.transaction() as conn:
        conn.execute("DELETE FROM documents WHERE source_path = ? AND status = 'failed'",
                     (_key(path),))
        document_id = conn.execute(
            "INSERT INTO documents (sha256, name, source_path, format, kind, size_bytes, "
            "status, error) VALUES (?, ?, ?, ?, ?, ?, 'failed', ?)",
            (sha, path.name, _key(path), fmt,
             "tickets" if path.suffix.lower() in TICKET_SUFFIXES else "document", size,
             str(error))).lastrowid
    return _failed(path, error.message, error.hint, document_id)


def _failed(path: Path, message: str, hint: str = "",
            document_id: int | None = None) -> ImportResult:
    text = f"{message} {hint}".strip()
    return ImportResult(str(path), path.name, "failed", text, document_id)


def _cancelled(path: Path) -> ImportResult:
    return ImportResult(str(path), path.name, "cancelled", "cancelled before it was imported")


def _duplicate(project: Any, path: Path, row: Any) -> ImportResult:
    counts = project.store.query(
        """SELECT (SELECT COUNT(*) FROM chunks WHERE document_id = ?) AS chunks,
                  (SELECT COUNT(*) FROM redactions r JOIN chunks c ON r.chunk_id = c.id
                    WHERE c.document_id = ? AND r.active = 1) AS redactions""",
        (row["id"], row["id"]))[0]
    return ImportResult(str(path), path.name, "duplicate",
                        f"same content as {row['name']}, already imported", row["id"],
                        row["pages"], counts["chunks"], counts["redactions"])


def _key(path: str | Path) -> str:
    try:
        return str(Path(path).expanduser().resolve())
    except OSError:
        return str(Path(path).expanduser().absolute())


def _mb(size: float) -> str:
    value = size / MB
    return f"{value:.2g}" if value < 10 else f"{value:,.0f}"


def _unit(fmt: str, count: int) -> str:
    unit = {"pdf": "page", "csv": "row", "json": "record", "jsonl": "record"}.get(fmt, "section")
    return unit if count == 1 else unit + "s"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
