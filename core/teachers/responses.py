"""What an OpenAI-compatible endpoint's answer means, as text or as a ``TeacherError``.

Kept apart from the HTTP loop so each rule (which statuses are worth retrying, which hint a
401 or a 404 deserves, what counts as malformed) reads on its own. Messages name the URL and
model, never the API key.
"""

from __future__ import annotations

import json
from typing import Any

from core.teachers.base import TeacherError
from core.teachers.retry import parse_retry_after

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
KEY_HINT = ("Check the API key saved for this URL (set it again in the teacher settings); "
            "local servers such as Ollama or LM Studio need no key.")
BUSY_HINT = ("The server may be overloaded or still loading the model; the run can be "
             "resumed later and continues where it stopped.")
FORMAT_HINT = ("Check that the URL points to an OpenAI-compatible API (it usually ends in "
               "/v1) and that the model is a chat model.")


class Retry(Exception):
    """An attempt failed in a way that may pass; ``error`` is what to report if it never does."""

    def __init__(self, error: TeacherError, retry_after_s: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after_s = retry_after_s


def parse_reply(status: int, headers: Any, body: bytes, *, url: str, model: str) -> str:
    """The reply text of a chat completion; raises ``Retry`` or a final ``TeacherError``."""
    where = f"The teacher endpoint at {url}"
    if status >= 400:
        detail = _error_detail(body)
        said = f": {detail}" if detail else ""
        if status == 429:
            raise Retry(TeacherError(f"{where} is rate-limiting requests (HTTP 429){said}.",
                                     "Lower the concurrency, or wait and resume the run.",
                                     retryable=True, status=status),
                        parse_retry_after(headers.get("retry-after")))
        if status >= 500 or status in RETRYABLE_STATUS:
            raise Retry(TeacherError(f"{where} answered with an error (HTTP {status}){said}.",
                                     BUSY_HINT, retryable=True, status=status),
                        parse_retry_after(headers.get("retry-after")))
        raise _client_error(status, detail, where, model)
    try:
        data = json.loads(body)
    except ValueError:
        raise Retry(TeacherError(
            f"{where} answered with something that is not JSON ({_snippet(body)}).",
            FORMAT_HINT, retryable=True, status=status)) from None
    try:
        choice = data["choices"][0]
        content = choice["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise Retry(TeacherError(
            f"{where} answered without a chat message (no choices[0].message in "
            f"{_snippet(body)}).", FORMAT_HINT, retryable=True, status=status)) from None
    if not isinstance(content, str) or not content.strip():
        raise Retry(TeacherError(f"{where} answered with an empty message (model {model}).",
                                 "Try again, or choose another model.", retryable=True,
                                 status=status))
    return content.strip()


def usage_of(body: bytes) -> tuple[int, int]:
    """(prompt_tokens, completion_tokens) when the server reports them, else (0, 0)."""
    try:
        usage = json.loads(body).get("usage") or {}
        return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    except (ValueError, AttributeError, TypeError):
        return 0, 0


def _client_error(status: int, detail: str, where: str, model: str) -> TeacherError:
    said = f": {detail}" if detail else ""
    if status == 401:
        return TeacherError(f"{where} refused the API key (HTTP 401){said}.", KEY_HINT,
                            status=status)
    if status == 403:
        return TeacherError(f"{where} does not allow this key to use model {model} "
                            f"(HTTP 403){said}.", KEY_HINT, status=status)
    if status == 404 and "model" in detail.lower():
        return TeacherError(f"{where} has no model named {model!r} (HTTP 404){said}.",
                            "Check the model name; for Ollama, `ollama list` shows the names "
                            "(pull the model first with `ollama pull NAME`).", status=status)
    if status in (404, 405):
        return TeacherError(f"{where} has no chat completions API (HTTP {status}{said}).",
                            "Check the URL: it usually ends in /v1, e.g. "
                            "http://127.0.0.1:11434/v1 for Ollama or http://127.0.0.1:1234/v1 "
                            "for LM Studio.", status=status)
    return TeacherError(f"{where} rejected the request (HTTP {status}){said}.",
                        "A shorter chunk or a smaller answer length may help; otherwise check "
                        "the model name and the server's documentation.", status=status)


def _error_detail(body: bytes) -> str:
    """The server's own error message (OpenAI shape or plain text), shortened."""
    try:
        data = json.loads(body)
    except ValueError:
        return _snippet(body, quote=False) if body.strip()[:1] not in (b"<", b"") else ""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    if not isinstance(error, str) and isinstance(data, dict):
        error = data.get("message") or data.get("detail")
    return _shorten(str(error)) if error else ""


def _snippet(body: bytes, quote: bool = True) -> str:
    text = _shorten(body.decode("utf-8", errors="replace").strip())
    if not text:
        return "an empty body"
    return repr(text) if quote else text


def _shorten(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
