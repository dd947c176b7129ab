"""A new question's embedding through ONNX Runtime: the same MiniLM, ~2.5x faster on a CPU.

Why: retrieval embeds every new question before it searches. PyTorch's eager MiniLM on one
thread takes 12-15 ms for a 13-token question (skinny float32 matrix products whose weights
stream from memory), which alone nearly fills issue 12's 20 ms budget; ONNX Runtime runs the
same float32 graph in ~5.6 ms (benchmarks/retrieval_latency.py). Its vectors equal
sentence-transformers' to a cosine of 0.99999 or better (checked before a graph is used, and by
tests/core/retrieval), so the chunk vectors in every index stay as they are, and a near tie
between two passages is decided as before (a bfloat16 model was faster still, but flipped one
held-out question's top 2).

The graph (BERT, mean pooling, normalisation) is exported once per machine from the packaged
model with torch.onnx (~10 s), into the user cache, named by the weights file and the
exporter's versions, written to a temporary file, checked against PyTorch's vectors, then
renamed into place. ``prepare()`` builds it; ``core.retrieval.update_index`` calls it, so the
search box's warm-up, the build pipeline and an export prepare it before questions come. When
it is missing, fails its check, or onnxruntime is not installed (the desktop bundle leaves the
exporter out), questions are embedded with PyTorch as before: slower, never different.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

FORMAT = 1  # bump when the exported graph changes
MIN_COSINE = 0.9999  # to sentence-transformers' vector of the same text
MAX_TOKENS = 256  # MiniLM's max_seq_length in sentence-transformers
PROBES = (
    "How much is the late rent fee?",
    "Can I keep a small cat in my flat?",
    "Wie hoch ist die Kaution für die Wohnung?",
    "deposit " * 400,  # longer than MAX_TOKENS: truncated alike
)

_lock = threading.Lock()  # the state below
_build_lock = threading.Lock()  # one export at a time
_session: Any = None
_tokenizer: Any = None
_problem: str | None = None  # why the ONNX path is off in this process


def encoder_path() -> Path:
    """Where this machine's graph lives: named by the weights and the exporter's versions."""
    from core.paths import cache_dir

    return cache_dir() / "question-encoder" / _file_name()


@functools.cache
def _file_name() -> str:
    """Computed once a process: the package lookups cost ~0.9 ms, and a question that finds
    no graph yet asks for the path again."""
    from importlib.metadata import version

    from core.embeddings import MODEL_NAME, model_path

    stat = (model_path() / "model.safetensors").stat()
    key = f"{FORMAT}|{stat.st_size}|{stat.st_mtime_ns}|{version('torch')}"
    return f"{MODEL_NAME}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.onnx"


def status() -> str:
    """"onnx" when questions go through ONNX Runtime, else why not (PyTorch is used)."""
    with _lock:
        if _session is not None:
            return "onnx"
        return _problem or "not prepared"


def forget() -> None:
    """Drop the loaded graph and any recorded failure; the next question or ``prepare()``
    looks again (after the cache folder changed, or a fault was fixed)."""
    global _session, _tokenizer, _problem
    with _lock:
        _session = _tokenizer = _problem = None


def prepare() -> str:
    """Build (once per machine) and load the graph; ``status()`` afterwards. Never raises:
    any failure leaves questions on PyTorch, with the reason in ``status()``. Searches in
    other threads go on (on PyTorch) while a graph is exported."""
    global _problem
    with _build_lock:
        current = status()
        if current != "not prepared":
            return current
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            with _lock:
                _problem = "onnxruntime is not installed"
            return status()
        try:
            path = encoder_path()
            if path.is_file():
                try:
                    with _lock:
                        _load(path)
                    return status()
                except Exception:  # a damaged or truncated file is made again
                    path.unlink(missing_ok=True)
            _export(path)
            with _lock:
                _load(path)
        except Exception as exc:  # an exporter or runtime fault must never stop a search
            with _lock:
                _problem = _off(exc)
        return status()


def _off(exc: BaseException) -> str:
    return f"the ONNX question encoder is off ({type(exc).__name__}: {exc})"[:400]


def embed_question(text: str) -> np.ndarray | None:
    """The unit vector of one question, or None when the ONNX path is not ready (the caller
    then embeds with PyTorch). Loads a graph built by another process on first use."""
    global _problem
    with _lock:
        session, tokenizer = _session, _tokenizer
        if session is None and _problem is None:
            try:
                path = encoder_path()
                if path.is_file():
                    _load(path)
                    session, tokenizer = _session, _tokenizer
            except Exception as exc:
                _problem = _off(exc)
    if session is None:
        return None
    return _run(session, tokenizer, [text])[0]


def _run(session: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    import numpy as np

    # sentence-transformers strips each text before it tokenizes it
    encoded = tokenizer([t.strip() for t in texts], padding=True, truncation=True,
                        max_length=MAX_TOKENS, return_tensors="np")
    feeds = {"input_ids": encoded["input_ids"].astype(np.int64),
             "attention_mask": encoded["attention_mask"].astype(np.int64)}
    return np.asarray(session.run(None, feeds)[0], dtype=np.float32)


def _load(path: Path) -> None:
    """Make ``path`` the graph questions go through. Caller holds _lock."""
    global _session, _tokenizer
    if _session is None:
        _session, _tokenizer = _open(path)


def _open(path: Path) -> tuple[Any, Any]:
    """An ONNX Runtime session of ``path`` on one thread (a short question gains nothing from
    two, and two threads on busy cores wait for each other), and MiniLM's tokenizer."""
    import onnxruntime as ort
    from transformers import AutoTokenizer

    from core.embeddings import model_path

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session, AutoTokenizer.from_pretrained(str(model_path()))


def _export(path: Path) -> None:
    """Export BERT + mean pooling + normalisation, check it, then rename it into place."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from core import embeddings

    class _Encoder(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    source = embeddings.model_path()
    bert = AutoModel.from_pretrained(str(source), attn_implementation="sdpa").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    example = tokenizer(["How much is the deposit for a flat?"], return_tensors="pt")
    length = torch.export.Dim("tokens", min=2, max=MAX_TOKENS)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        exporter_log = logging.getLogger("torch.onnx")
        level = exporter_log.level
        exporter_log.setLevel(logging.ERROR)  # "torchvision is not installed" is not for users
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # nor the exporter's deprecation notes
            torch.onnx.export(_Encoder(bert), (example["input_ids"], example["attention_mask"]),
                              str(temporary), input_names=["input_ids", "attention_mask"],
                              output_names=["sentence_vector"],
                              dynamic_shapes=({1: length}, {1: length}), dynamo=True,
                              external_data=False, optimize=True, verbose=False)
        _check(temporary)
        os.replace(temporary, path)
    finally:
        exporter_log.setLevel(level)
        temporary.unlink(missing_ok=True)


def _check(path: Path) -> None:
    """The graph's vectors must match sentence-transformers' (the index's) for the probes."""
    import numpy as np

    from core.embeddings import embed

    session, tokenizer = _open(path)
    ours = np.stack([_run(session, tokenizer, [probe])[0] for probe in PROBES])
    theirs = embed(list(PROBES), threads=1)
    cosines = np.sum(ours * theirs, axis=1)
    if float(cosines.min()) < MIN_COSINE:
        raise ValueError(f"its vectors differ from PyTorch's (cosine {cosines.min():.5f})")
