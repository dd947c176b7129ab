"""The imported documents as the operator sees them: list, detail, redaction fixes, forget.

Redaction spans are offsets into ``chunks.original_text``; ``chunks.text`` is always rebuilt
from the original and the *active* spans, so un-redacting and re-redacting are exact and
repeatable. Later steps read only ``chunks.text``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.documents.chunking import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_TOKENS, count_tokens
from core.errors import TalkSmallError, ValidationError

MAX_FILE_MB_KEY = "max_file_mb"
CHUNK_TOKENS_KEY = "chunk_tokens"
CHUNK_OVERLAP_KEY = "chunk_overlap"
DEFAULT_MAX_FILE_MB = 50.0
MAX_FILE_MB_CEILING = 4096.0


# --- settings -----------------------------------------------------------------------
def import_settings(project: Any) -> dict[str, Any]:
    store = project.store
    return {
        MAX_FILE_MB_KEY: float(store.get_setting(MAX_FILE_MB_KEY, DEFAULT_MAX_FILE_MB)),
        CHUNK_TOKENS_KEY: int(store.get_setting(CHUNK_TOKENS_KEY, DEFAULT_CHUNK_TOKENS)),
        CHUNK_OVERLAP_KEY: int(store.get_setting(CHUNK_OVERLAP_KEY, DEFAULT_OVERLAP_TOKENS)),
    }


def set_max_file_mb(project: Any, mb: float) -> None:
    try:
        value = float(mb)
    except (TypeError, ValueError):
        value = -1.0
    if not 0 < value <= MAX_FILE_MB_CEILING:
        raise ValidationError(MAX_FILE_MB_KEY, f"The file size limit must be between 0 and "
                              f"{MAX_FILE_MB_CEILING:,.0f} MB, not {mb}.",
                              "Enter a size in MB, for example 50.")
    project.store.set_setting(MAX_FILE_MB_KEY, value)


# --- reading ------------------------------------------------------------------------
def list_documents(project: Any) -> list[dict[str, Any]]:
    rows = project.store.query(
        """SELECT d.id, d.name, d.format, d.kind, d.status, d.error, d.pages, d.size_bytes,
                  d.imported_at, d.source_path, d.meta,
                  (SELECT COUNT(*) FROM chunks c WHERE c.document_id = d.id) AS chunks,
                  (SELECT COUNT(*) FROM redactions r JOIN chunks c ON r.chunk_id = c.id
                    WHERE c.document_id = d.id AND r.active = 1) AS redactions
           FROM documents d ORDER BY d.id""")
    out = []
    for row in rows:
        item = dict(row)
        item["meta"] = json.loads(item["meta"] or "{}")
        out.append(item)
    return out


def document_chunks(project: Any, document_id: int) -> list[dict[str, Any]]:
    _document(project, document_id)
    chunks = project.store.query(
        "SELECT id, seq, section, page, original_text, text, token_count, kind, meta "
        "FROM chunks WHERE document_id = ? ORDER BY seq", (document_id,))
    spans = project.store.query(
        "SELECT r.id, r.chunk_id, r.kind, r.start, r.end, r.original, r.active "
        "FROM redactions r JOIN chunks c ON r.chunk_id = c.id WHERE c.document_id = ? "
        "ORDER BY r.chunk_id, r.start", (document_id,))
    by_chunk: dict[int, list[dict[str, Any]]] = {}
    for span in spans:
        item = dict(span)
        item["active"] = bool(item["active"])
        by_chunk.setdefault(item.pop("chunk_id"), []).append(item)
    out = []
    for chunk in chunks:
        item = dict(chunk)
        item["meta"] = json.loads(item["meta"] or "{}")
        item["redactions"] = by_chunk.get(item["id"], [])
        out.append(item)
    return out


# --- redaction fixes ----------------------------------------------------------------
def set_redaction_active(project: Any, redaction_id: int, active: bool) -> None:
    """Un-redact (a false positive) or re-redact one span, and rebuild its chunk's text."""
    rows = project.store.query("SELECT chunk_id FROM redactions WHERE id = ?", (redaction_id,))
    if not rows:
        raise TalkSmallError(f"There is no redaction {redaction_id} in this project.",
                             "Reload the document; it may have been forgotten.")
    with project.store.transaction() as conn:
        conn.execute("UPDATE redactions SET active = ? WHERE id = ?",
                     (1 if active else 0, redaction_id))
        _rebuild_chunk(conn, rows[0]["chunk_id"])


def always_redact(project: Any, term: str) -> int:
    """Add ``term`` to the always-redact list and redact it everywhere; new spans found."""
    from core.documents.redact import find_pii, load_rules, save_rules

    term = _clean_term(term)
    rules = load_rules(project)
    folded = term.casefold()
    if folded not in {t.casefold() for t in rules.always}:
        rules.always.append(term)
    rules.never = [t for t in rules.never if t.casefold() != folded]
    save_rules(project, rules)
    added = 0
    candidates = [row for row in project.store.query("SELECT id, original_text FROM chunks")
                  if folded in row["original_text"].casefold()]
    with project.store.transaction() as conn:
        for chunk in candidates:
            existing = conn.execute("SELECT id, start, end, active FROM redactions "
                                    "WHERE chunk_id = ?", (chunk["id"],)).fetchall()
            changed = False
            for span in find_pii(chunk["original_text"], rules):
                same = [r for r in existing if r["start"] == span.start and r["end"] == span.end]
                if same:
                    if not same[0]["active"] and span.text.casefold() == folded:
                        conn.execute("UPDATE redactions SET active = 1 WHERE id = ?",
                                     (same[0]["id"],))
                        added, changed = added + 1, True
                    continue
                if any(r["start"] < span.end and span.start < r["end"] for r in existing):
                    continue
                conn.execute("INSERT INTO redactions (chunk_id, kind, start, end, original) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (chunk["id"], span.kind, span.start, span.end, span.text))
                added, changed = added + 1, True
            if changed:
                _rebuild_chunk(conn, chunk["id"])
    return added


def never_redact(project: Any, term: str) -> int:
    """Add ``term`` to the never-redact list and un-redact its spans; how many were active."""
    from core.documents.redact import load_rules, save_rules

    term = _clean_term(term)
    folded = " ".join(term.split()).casefold()
    rules = load_rules(project)
    if folded not in {t.casefold() for t in rules.never}:
        rules.never.append(term)
    rules.always = [t for t in rules.always if t.casefold() != folded]
    save_rules(project, rules)
    matches = [row for row in project.store.query(
        "SELECT id, chunk_id, original FROM redactions WHERE active = 1")
        if " ".join(row["original"].split()).casefold() == folded]
    with project.store.transaction() as conn:
        for row in matches:
            conn.execute("UPDATE redactions SET active = 0 WHERE id = ?", (row["id"],))
        for chunk_id in {row["chunk_id"] for row in matches}:
            _rebuild_chunk(conn, chunk_id)
    return len(matches)


# --- forgetting ---------------------------------------------------------------------
def forget_impact(project: Any, document_id: int) -> dict[str, int]:
    """What "Forget this document" would remove, for the confirmation message."""
    _document(project, document_id)
    row = project.store.query(
        """SELECT (SELECT COUNT(*) FROM chunks WHERE document_id = ?) AS chunks,
                  (SELECT COUNT(*) FROM redactions r JOIN chunks c ON r.chunk_id = c.id
                    WHERE c.document_id = ?) AS redactions""", (document_id, document_id))[0]
    return {"chunks": row["chunks"], "redactions": row["redactions"]}


def forget_document(project: Any, document_id: int) -> dict[str, int]:
    """Delete the document, everything derived from it (FK cascade) and its stored file."""
    document = _document(project, document_id)
    impact = forget_impact(project, document_id)
    with project.store.transaction() as conn:
        conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))
    impact["files"] = 0
    if document["stored_path"]:
        stored = Path(project.root) / document["stored_path"]
        still_used = project.store.query("SELECT 1 FROM documents WHERE stored_path = ?",
                                         (document["stored_path"],))
        if not still_used and stored.is_file():
            stored.unlink()
            impact["files"] = 1
    return impact


# --- helpers ------------------------------------------------------------------------
def _document(project: Any, document_id: int) -> Any:
    rows = project.store.query("SELECT * FROM documents WHERE id = ?", (document_id,))
    if not rows:
        raise TalkSmallError(f"There is no document {document_id} in this project.",
                             "Reload the list; it may have been forgotten already.")
    return rows[0]


def _clean_term(term: str) -> str:
    cleaned = " ".join(str(term).split())
    if len(cleaned) < 2:
        raise ValidationError("term", "A redaction term needs at least 2 characters.",
                              "Type the word or name to redact.")
    return cleaned


def _rebuild_chunk(conn: Any, chunk_id: int) -> None:
    """chunks.text (and a ticket's redacted fields) from the original and the active spans."""
    from core.documents.prepare import redacted_chunk
    from core.documents.redact import Span

    chunk = conn.execute("SELECT original_text, kind, meta FROM chunks WHERE id = ?",
                         (chunk_id,)).fetchone()
    spans = [Span(r["kind"], r["start"], r["end"], r["original"]) for r in conn.execute(
        "SELECT kind, start, end, original FROM redactions WHERE chunk_id = ? AND active = 1 "
        "ORDER BY start", (chunk_id,))]
    meta = json.loads(chunk["meta"] or "{}")
    text, meta = redacted_chunk(chunk["original_text"], chunk["kind"], meta, spans)
    conn.execute("UPDATE chunks SET text = ?, token_count = ?, meta = ? WHERE id = ?",
                 (text, count_tokens(text), json.dumps(meta, ensure_ascii=False), chunk_id))
