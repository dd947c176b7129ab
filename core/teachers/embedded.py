"""The embedded teacher: SmolLM2-135M-Instruct through llama-cpp-python, no network.

The llama context is created on first use (importing llama_cpp belongs off the GUI's
start-up path) and guarded by a lock: one context holds one KV cache
and is not re-entrant, so concurrent callers take turns. Prompts are rendered by the chat
template stored in the GGUF (ChatML), which llama-cpp-python applies with Jinja2 and which
passes any role name through, so a customer turn can be ``{"role": "tenant", ...}``.

Each request starts from an empty KV cache. llama-cpp-python would otherwise reuse the cached
prefix of the previous prompt and evaluate only the rest; when that rest is a single token
(the same prompt again, or one token longer) llama.cpp takes another kernel path, whose logits
differed from the batched ones by up to 0.86 at a 284-token context: enough to change a sampled
token, or a greedy one at a near tie. Without the reuse a reply depends only on the request and
its seed, so a resumed run, or a re-run with the recorded seed, gives the same text. The price
is re-reading the shared prompt prefix (system prompt, instructions) on every request.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from core.errors import TalkSmallError
from core.teachers.base import (
    ChatRequest,
    ResultCallback,
    StopCheck,
    TeacherError,
    as_teacher_error,
    check_request,
    complete_sequentially,
)

_CONTEXT_ERROR = re.compile(r"Requested tokens \((\d+)\) exceed context window of (\d+)")


class EmbeddedTeacher:
    """llama.cpp on the shipped GGUF; ``complete_many`` runs its requests one after another."""

    remote = False

    def __init__(self, *, n_threads: int = 2, n_ctx: int = 4096, seed: int = 0) -> None:
        from core.models.embedded import EMBEDDED_NAME

        self.name = f"embedded:{EMBEDDED_NAME}"
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        self.seed = seed
        self.prompt_tokens = 0  # running totals, for throughput and ETA figures
        self.completion_tokens = 0
        self._llm: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EmbeddedTeacher(name={self.name!r}, n_ctx={self.n_ctx}, seed={self.seed})"

    def complete(self, request: ChatRequest) -> str:
        """The assistant's reply to ``request.messages``; raises ``TeacherError``."""
        check_request(request)
        with self._lock:
            llm = self._load()
            llm.reset()  # no KV-cache reuse: see the module docstring
            try:
                result = llm.create_chat_completion(
                    messages=request.messages, max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    seed=self.seed if request.seed is None else request.seed,
                    stop=list(request.stop or []))
            except ValueError as exc:
                raise _context_error(exc) from exc
            except Exception as exc:
                raise as_teacher_error(exc, "The embedded model") from exc
            usage = result.get("usage") or {}
            self.prompt_tokens += int(usage.get("prompt_tokens", 0))
            self.completion_tokens += int(usage.get("completion_tokens", 0))
        content = result["choices"][0]["message"].get("content") or ""
        return content.strip()

    def complete_many(self, requests: Sequence[ChatRequest], *, concurrency: int = 4,
                      should_stop: StopCheck | None = None,
                      on_result: ResultCallback | None = None) -> list[str | TeacherError]:
        """Sequential (``concurrency`` is ignored: one context, one request at a time)."""
        return complete_sequentially(self.complete, requests, should_stop, on_result)

    def close(self) -> None:
        """Free the model's memory; a later ``complete`` loads it again."""
        with self._lock:
            llm, self._llm = self._llm, None
        if llm is not None:
            llm.close()

    def _load(self) -> Any:
        if self._llm is None:
            from core.models.embedded import embedded_gguf_path

            try:
                path = embedded_gguf_path()
                from llama_cpp import Llama

                self._llm = Llama(model_path=str(path), n_ctx=self.n_ctx,
                                  n_threads=self.n_threads, seed=self.seed, verbose=False)
            except (TalkSmallError, ImportError, ValueError, RuntimeError, OSError) as exc:
                error = as_teacher_error(exc, "Loading the embedded model")
                if not isinstance(exc, TalkSmallError):
                    error.hint = ("Reinstall the app's packages (./run.sh sets them up), "
                                  "then try again.")
                raise error from exc
        return self._llm


def _context_error(exc: ValueError) -> TeacherError:
    found = _CONTEXT_ERROR.search(str(exc))
    if found is None:
        return as_teacher_error(exc, "The embedded model")
    used, limit = found.groups()
    return TeacherError(
        f"The prompt is too long for the embedded model ({used} tokens; its window holds "
        f"{limit}).", "Use smaller chunks in the Documents step, or fewer examples per prompt.")


def embedded_teacher(*, n_threads: int = 2, n_ctx: int = 4096, seed: int = 0) -> EmbeddedTeacher:
    """The embedded model as a ``Teacher``; nothing is loaded until the first request."""
    return EmbeddedTeacher(n_threads=n_threads, n_ctx=n_ctx, seed=seed)
