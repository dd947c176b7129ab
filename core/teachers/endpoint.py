"""A teacher behind an OpenAI-compatible ``/chat/completions`` API (Ollama, LM Studio, vLLM,
a cloud API), called with httpx2.

Every request has explicit timeouts and is retried with backoff on 429, 5xx, timeouts,
broken connections and malformed or empty answers; a wrong key, model or URL fails at once
with a hint, since retrying cannot fix it. ``complete_many`` keeps up to ``concurrency``
requests in flight, because a remote model's latency, not its speed, bounds a run. The API
key only ever goes into the Authorization header: not into names, reprs, messages or logs.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any
from urllib.parse import urlsplit

from core.teachers.base import (
    ChatRequest,
    ResultCallback,
    StopCheck,
    TeacherError,
    TeacherStopped,
    check_request,
    complete_sequentially,
)
from core.teachers.responses import BUSY_HINT, Retry, parse_reply, usage_of
from core.teachers.retry import RetryPolicy, sleep_unless_stopped

log = logging.getLogger(__name__)

API_ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})
_URL_HINT = "Use the server's base URL, e.g. http://127.0.0.1:11434/v1 for Ollama."
_DOWN_HINT = ("Check that the server is running (for Ollama: `ollama serve`; for LM Studio: "
              "start its local server) and that the URL and port are right.")


class EndpointTeacher:
    """An OpenAI-compatible chat endpoint; safe to call from several threads at once."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *,
                 timeout_s: float = 60, max_retries: int = 5, backoff_s: float = 1.0,
                 max_backoff_s: float = 30.0, connect_timeout_s: float = 10.0) -> None:
        self.base_url = normalise_base_url(base_url)
        self.model = (model or "").strip()
        if not self.model:
            raise TeacherError("The teacher's model name is empty.",
                               "Enter the model name the server knows, e.g. llama3.2:3b.")
        self.name = f"endpoint:{self.model}@{self.base_url}"
        self.remote = not is_local_url(self.base_url)
        self.timeout_s = timeout_s
        self.connect_timeout_s = min(connect_timeout_s, timeout_s)
        self.policy = RetryPolicy(max_retries=max(0, max_retries), backoff_s=backoff_s,
                                  max_backoff_s=max_backoff_s)
        self.attempts = 0  # HTTP requests sent, retries included
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self._api_key = (api_key or "").strip() or None
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"EndpointTeacher(name={self.name!r}, remote={self.remote}, api_key={key})"

    def complete(self, request: ChatRequest) -> str:
        """The reply to ``request``, after retries; raises ``TeacherError``."""
        return self._complete(request, None)

    def complete_many(self, requests: Sequence[ChatRequest], *, concurrency: int = 4,
                      should_stop: StopCheck | None = None,
                      on_result: ResultCallback | None = None) -> list[str | TeacherError]:
        """Replies in request order, up to ``concurrency`` in flight.

        Once ``should_stop()`` is true no new request is sent (those in flight finish, those
        waiting to retry give up) and the rest come back as ``TeacherStopped``.
        ``on_result(index, result)`` runs in the calling thread as each one finishes, so the
        caller can save it at once.
        """
        def run(request: ChatRequest) -> str | TeacherError:
            if should_stop is not None and should_stop():
                return TeacherStopped()
            try:
                return self._complete(request, should_stop)
            except TeacherError as exc:
                return exc

        if concurrency <= 1 or len(requests) <= 1:
            return complete_sequentially(lambda r: self._complete(r, should_stop), requests,
                                         should_stop, on_result)
        results: list[str | TeacherError | None] = [None] * len(requests)
        pool = ThreadPoolExecutor(max_workers=min(concurrency, len(requests)),
                                  thread_name_prefix="teacher")
        futures: dict[Future, int] = {}
        try:
            futures = {pool.submit(run, request): i for i, request in enumerate(requests)}
            for future in as_completed(futures):
                index = futures[future]
                results[index] = future.result()
                if on_result is not None:
                    on_result(index, results[index])  # type: ignore[arg-type]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return results  # type: ignore[return-value]

    def close(self) -> None:
        """Close the connection pool; a later request opens a new one."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _complete(self, request: ChatRequest, should_stop: StopCheck | None) -> str:
        check_request(request)
        payload = self._payload(request)
        tries = self.policy.max_retries + 1
        started = time.monotonic()
        for attempt in range(tries):
            if should_stop is not None and should_stop():
                raise TeacherStopped()
            try:
                return self._attempt(payload)
            except Retry as retry:
                failure = retry
            if attempt + 1 == tries:
                break
            wait = self.policy.wait_s(attempt, failure.retry_after_s)
            log.warning("%s Retrying in %.1f s (retry %d of %d, model %s).",
                        failure.error.message, wait, attempt + 1, tries - 1, self.model)
            sleep_unless_stopped(wait, should_stop)
        error = failure.error
        error.message = (f"{error.message.rstrip('.')}; gave up after {tries} "
                         f"{'try' if tries == 1 else 'tries'} in "
                         f"{time.monotonic() - started:.1f} s.")
        raise error

    def _attempt(self, payload: dict) -> str:
        import httpx2

        client = self._http()
        url = f"{self.base_url}/chat/completions"
        with self._lock:
            self.attempts += 1
        try:
            response = client.post(url, json=payload)
        except httpx2.TimeoutException as exc:
            raise Retry(TeacherError(
                f"The teacher endpoint at {self.base_url} did not answer within "
                f"{self.timeout_s:g} s ({type(exc).__name__}).", BUSY_HINT,
                retryable=True)) from None
        except httpx2.ConnectError:
            raise Retry(TeacherError(
                f"Cannot connect to the teacher endpoint at {self.base_url} (connection "
                "refused or host unreachable).", _DOWN_HINT, retryable=True)) from None
        except httpx2.UnsupportedProtocol as exc:
            raise TeacherError(f"{self.base_url} is not a usable web address ({exc}).",
                               _URL_HINT) from None
        except httpx2.TransportError as exc:
            raise Retry(TeacherError(
                f"The connection to the teacher endpoint at {self.base_url} broke "
                f"({type(exc).__name__}: {exc}).", _DOWN_HINT, retryable=True)) from None
        text = parse_reply(response.status_code, response.headers, response.content,
                           url=self.base_url, model=self.model)
        prompt, completion = usage_of(response.content)
        with self._lock:
            self.prompt_tokens += prompt
            self.completion_tokens += completion
        return text

    def _payload(self, request: ChatRequest) -> dict:
        messages = [{"role": m["role"] if m["role"] in API_ROLES else "user",
                     "content": m["content"]} for m in request.messages]
        payload: dict[str, Any] = {"model": self.model, "messages": messages,
                                   "max_tokens": request.max_tokens,
                                   "temperature": request.temperature, "stream": False}
        if request.seed is not None:
            payload["seed"] = request.seed
        if request.stop:
            payload["stop"] = list(request.stop)
        return payload

    def _http(self) -> Any:
        with self._lock:
            if self._client is None:
                import httpx2

                headers = {"Accept": "application/json"}
                if self._api_key:
                    headers["Authorization"] = f"Bearer {self._api_key}"
                self._client = httpx2.Client(
                    headers=headers,
                    timeout=httpx2.Timeout(self.timeout_s, connect=self.connect_timeout_s),
                    limits=httpx2.Limits(max_connections=64, max_keepalive_connections=16))
            return self._client


def normalise_base_url(base_url: str) -> str:
    """``http(s)://host[:port]/path`` without a trailing slash or ``/chat/completions``."""
    url = (base_url or "").strip().rstrip("/")
    for tail in ("/chat/completions", "/completions"):
        if url.endswith(tail):
            url = url[: -len(tail)]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TeacherError(f"{base_url!r} is not a web address the teacher can call.",
                           _URL_HINT)
    return url


def is_local_url(base_url: str) -> bool:
    """True when the host is this computer (documents sent there do not leave it)."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def endpoint_teacher(base_url: str, model: str, api_key: str | None = None, *,
                     timeout_s: float = 60, max_retries: int = 5, backoff_s: float = 1.0,
                     max_backoff_s: float = 30.0) -> EndpointTeacher:
    """An OpenAI-compatible endpoint as a ``Teacher``; raises ``TeacherError`` on a bad URL."""
    return EndpointTeacher(base_url, model, api_key, timeout_s=timeout_s,
                           max_retries=max_retries, backoff_s=backoff_s,
                           max_backoff_s=max_backoff_s)


def test_connection(base_url: str, model: str, api_key: str | None = None, *,
                    timeout_s: float = 20) -> str:
    """One tiny chat request: a short message saying it worked, or ``TeacherError``."""
    teacher = EndpointTeacher(base_url, model, api_key, timeout_s=timeout_s, max_retries=1,
                              backoff_s=0.5)
    try:
        started = time.perf_counter()
        teacher.complete(ChatRequest(
            messages=[{"role": "user", "content": "Reply with the single word: OK"}],
            max_tokens=8, temperature=0.0))
        seconds = time.perf_counter() - started
    finally:
        teacher.close()
    where = (f"remote host {urlsplit(teacher.base_url).hostname}: documents will be sent there"
             if teacher.remote else "on this computer")
    return f"Connected: model {teacher.model} answered in {seconds:.1f} s ({where})."


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
