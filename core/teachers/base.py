"""What every teacher shares: the request, the error, the protocol and the sequential loop.

The pipeline (core/conversations) talks to a ``Teacher`` only, so the embedded llama.cpp
model and an OpenAI-compatible endpoint are interchangeable. A failure of one request never
raises out of ``complete_many``: it comes back in that request's slot as a ``TeacherError``,
so a batch keeps what succeeded and the caller decides, per item, to retry, skip or pause.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from core.errors import TalkSmallError

StopCheck = Callable[[], bool]
ResultCallback = Callable[[int, "str | TeacherError"], None]


class TeacherError(TalkSmallError):
    """A teacher request failed; ``retryable`` says whether trying again later may work.

    Retryable: the endpoint was down, slow, rate-limited, or answered with malformed or empty
    output after every retry (pause the run and resume later). Not retryable: a wrong key,
    model name or URL, or a prompt the model cannot take (fix the settings or the input).
    """

    code = "teacher"

    def __init__(self, message: str, hint: str = "", *, retryable: bool = False,
                 status: int | None = None) -> None:
        super().__init__(message, hint)
        self.retryable = retryable
        self.status = status  # the HTTP status when an endpoint answered with an error


class TeacherStopped(TeacherError):
    """The request was not sent (or its retries were abandoned) because ``should_stop`` said so.

    Retryable by definition: nothing about the request is wrong, the run was paused or cancelled.
    """

    def __init__(self) -> None:
        super().__init__("Not sent: generation was stopped.",
                         "Resume the generation to send it.", retryable=True)


@dataclass
class ChatRequest:
    """One chat completion. ``seed`` None means the teacher's own seed (reproducible).

    Pass distinct seeds to get distinct samples of the same prompt at temperature > 0.
    Roles other than system / user / assistant (e.g. ``tenant``) are kept by the embedded
    teacher (ChatML takes any role name); an endpoint teacher sends them as ``user``.
    """

    messages: list[dict]
    max_tokens: int = 256
    temperature: float = 0.7
    seed: int | None = None
    stop: list[str] | None = None


@runtime_checkable
class Teacher(Protocol):
    """A chat model that writes training data. See ``embedded_teacher`` and ``endpoint_teacher``."""

    name: str  # e.g. "embedded:SmolLM2-135M-Instruct", "endpoint:llama3.2:3b@http://127.0.0.1:11434/v1"
    remote: bool  # True when documents leave the machine

    def complete(self, request: ChatRequest) -> str: ...

    def complete_many(self, requests: Sequence[ChatRequest], *, concurrency: int = 4,
                      should_stop: StopCheck | None = None,
                      on_result: ResultCallback | None = None) -> list[str | TeacherError]:
        """Replies in request order; a failed one is its ``TeacherError``, never raised.

        ``on_result(index, result)`` is called in the caller's thread as each one finishes.
        """
        ...

    def close(self) -> None: ...


def check_request(request: ChatRequest) -> None:
    """Reject a request no model could answer, before it costs a round trip."""
    if not request.messages:
        raise TeacherError("A teacher request has no messages.", "This is a bug: report it.")
    for index, message in enumerate(request.messages):
        if (not isinstance(message, dict) or not isinstance(message.get("role"), str)
                or not message["role"] or not isinstance(message.get("content"), str)):
            raise TeacherError(
                f"Message {index} of a teacher request needs a role and a text content "
                f"(got {message!r:.80}).", "This is a bug: report it.")
    if request.max_tokens < 1:
        raise TeacherError(f"max_tokens must be at least 1 (got {request.max_tokens}).",
                           "This is a bug: report it.")


def as_teacher_error(exc: Exception, what: str) -> TeacherError:
    """Any failure as a ``TeacherError``; a ``TalkSmallError`` keeps its message and hint."""
    if isinstance(exc, TeacherError):
        return exc
    if isinstance(exc, TalkSmallError):
        return TeacherError(exc.message, exc.hint)
    return TeacherError(f"{what} failed: {type(exc).__name__}: {exc}.",
                        "Try again; if it keeps failing, report it with the log file.")


def complete_sequentially(complete: Callable[[ChatRequest], str],
                          requests: Sequence[ChatRequest], should_stop: StopCheck | None,
                          on_result: ResultCallback | None) -> list[str | TeacherError]:
    """One request after another; once ``should_stop()`` is true the rest come back stopped."""
    results: list[str | TeacherError] = []
    for index, request in enumerate(requests):
        result: str | TeacherError
        if should_stop is not None and should_stop():
            result = TeacherStopped()
        else:
            try:
                result = complete(request)
            except TeacherError as exc:
                result = exc
        results.append(result)
        if on_result is not None:
            on_result(index, result)
    return results
