"""The vector half of the company index: chunk embeddings kept in step with the chunks table.

The full-text half needs no code: ``chunks_fts`` (SQLite FTS5, external content) is kept in
step by triggers on ``chunks`` (schema migration 4), in the same transaction as the import,
the redaction edit or the forget that changed a chunk.

Vectors live in ``chunk_vectors`` (one row per chunk, with the embedding model's name and the
sha256 of the embedded text) and are refreshed lazily: before a search, any chunk whose
vector is missing, was made from other text (a redaction undone) or by another embedding
model is embedded again, so a search never scores stale text. Rows of a forgotten document
go with it (ON DELETE CASCADE).

Each process keeps one NumPy matrix per project in memory. Whether it is still current is a
cheap check: the ``retrieval_state.generation`` counter (bumped by the same triggers on
every insert, text edit and delete, from any process) plus the chunk count and highest id.
Embedding happens on first use after an import, not during it: it costs ~0.1 s a chunk on
two busy cores, which would more than double the import time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

EMBED_BATCH = 64


@dataclass
class IndexSnapshot:
    """The chunks as they were when the matrix was built: row i of ``matrix`` is chunk
    ``ids[i]``. Never mutated after it is built, so a search can use it without a lock."""

    key: tuple[int, int, int]  # (generation, chunk count, highest chunk id)
    ids: np.ndarray  # int64 chunk ids
    matrix: np.ndarray  # float32 (n, 384), unit rows
    rows: dict[int, int] = field(default_factory=dict)  # chunk id -> row
    embedded: int = 0  # vectors (re)computed to build it

    @property
    def size(self) -> int:
        return len(self.ids)


_lock = threading.Lock()
_snapshots: dict[str, IndexSnapshot] = {}
_project_locks: dict[str, threading.Lock] = {}


def embed_input(section: str, text: str) -> str:
    """What is embedded for a chunk: its heading path gives short chunks their topic."""
    return f"{section}\n{text}" if section else text


def text_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def index_key(project: Any) -> tuple[int, int, int]:
    """(generation, count, highest id): changes whenever the chunk set or a text changes."""
    generation = project.store.query("SELECT generation FROM retrieval_state")[0][0]
    count, highest = project.store.query("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM chunks")[0]
    return int(generation), int(count), int(highest)


def snapshot(project: Any, progress: Any = None) -> IndexSnapshot:
    """The current matrix for ``project``, rebuilt (and missing vectors embedded) if needed."""
    path = str(project.store.path)
    key = index_key(project)
    current = _snapshots.get(path)
    if current is not None and current.key == key:
        return current
    with _lock:
        project_lock = _project_locks.setdefault(path, threading.Lock())
    with project_lock:  # one rebuild per project at a time; others wait and reuse it
        key = index_key(project)
        current = _snapshots.get(path)
        if current is None or current.key != key:
            # The key is read before the chunks: a write in between makes the next search
            # rebuild again, never trust a matrix that is older than its key says.
            current = _build(project, key, progress)
            _snapshots[path] = current
        return current


def update_index(project: Any, progress: Any = None) -> dict[str, Any]:
    """Embed what is missing or stale and refresh the in-memory matrix; a summary.

    Safe to call any time (after an import, when the search panel opens); a search calls
    it implicitly. ``progress(done, total, message)`` reports embedding progress. It also
    prepares the fast question encoder (core.question_encoder), so questions that follow are
    embedded in ~5 ms instead of ~13.
    """
    from core import question_encoder

    started = time.perf_counter()
    before = _snapshots.get(str(project.store.path))
    snap = snapshot(project, progress)
    if progress is not None and question_encoder.status() == "not prepared":
        progress(snap.size, snap.size, "Preparing the question encoder")
    encoder = question_encoder.prepare()  # once per machine (~10 s), then a file load
    return {"chunks": snap.size, "embedded": snap.embedded if snap is not before else 0,
            "question_encoder": encoder, "seconds": round(time.perf_counter() - started, 3)}


def forget_cache(project: Any | None = None) -> None:
    """Drop the in-memory matrix of one project (or all); the next search rebuilds it."""
    with _lock:
        if project is None:
            _snapshots.clear()
        else:
            _snapshots.pop(str(project.store.path), None)


def _build(project: Any, key: tuple[int, int, int], progress: Any) -> IndexSnapshot:
    import numpy as np

    from core.embeddings import DIMENSIONS, MODEL_NAME, embed, from_bytes, to_bytes

    chunks = project.store.query("SELECT id, section, text FROM chunks ORDER BY id")
    stored = {row["chunk_id"]: row for row in project.store.query(
        "SELECT chunk_id, model, text_hash, vector FROM chunk_vectors")}
    ids = np.fromiter((row["id"] for row in chunks), dtype=np.int64, count=len(chunks))
    matrix = np.zeros((len(chunks), DIMENSIONS), dtype=np.float32)
    todo: list[tuple[int, int, str, str]] = []  # (row, chunk id, input, hash)
    for i, row in enumerate(chunks):
        value = embed_input(row["section"], row["text"])
        digest = text_hash(value)
        old = stored.get(row["id"])
        if (old is not None and old["model"] == MODEL_NAME and old["text_hash"] == digest
                and len(old["vector"]) == DIMENSIONS * 4):
            matrix[i] = from_bytes(old["vector"])
        else:
            todo.append((i, row["id"], value, digest))
    for start in range(0, len(todo), EMBED_BATCH):
        part = todo[start:start + EMBED_BATCH]
        if progress is not None:
            progress(start, len(todo), "embedding the company's passages")
        vectors = embed([value for _, _, value, _ in part], cache=True)
        with project.store.transaction() as conn:
            for (i, chunk_id, _, digest), vector in zip(part, vectors, strict=True):
                matrix[i] = vector
                # INSERT ... SELECT: a chunk forgotten meanwhile gets no orphan row.
                conn.execute(
                    "INSERT INTO chunk_vectors (chunk_id, model, text_hash, vector) "
                    "SELECT id, ?, ?, ? FROM chunks WHERE id = ? "
                    "ON CONFLICT(chunk_id) DO UPDATE SET model = excluded.model, "
                    "text_hash = excluded.text_hash, vector = excluded.vector",
                    (MODEL_NAME, digest, to_bytes(vector), chunk_id))
    if todo and progress is not None:
        progress(len(todo), len(todo), "embedding the company's passages")
    rows = {int(chunk_id): i for i, chunk_id in enumerate(ids)}
    return IndexSnapshot(key=key, ids=ids, matrix=matrix, rows=rows, embedded=len(todo))
