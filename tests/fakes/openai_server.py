"""A fake OpenAI-compatible server on 127.0.0.1 for teacher and pipeline tests.

    with FakeOpenAIServer(delay_s=0.2) as server:
        teacher = endpoint_teacher(server.url, "fake-model")
        server.set_fault("rate_limited", times=2, retry_after=1)

It serves ``POST /v1/chat/completions`` and ``GET /v1/models`` from a thread, on a random free
port. Normal answers are deterministic: ``responder(body)`` (default: "Echo: " + the last
message's text). Faults, each for the next ``times`` chat requests (None: until changed):
``slow`` (answer after ``delay_s``), ``rate_limited`` (429 with ``Retry-After``),
``server_error`` (500), ``malformed`` (200 with a non-JSON body), ``no_choices`` (200 JSON
without ``choices``), ``empty`` (200 with empty content), ``unauthorized`` (401), and
``down`` (the listening socket is closed, so connections are refused, until ``set_fault
("normal")`` reopens the same port). ``requests`` counts chat requests received,
``max_in_flight`` the most answered at once; ``bodies`` holds each request's JSON.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict], str]
MODES = ("normal", "slow", "rate_limited", "server_error", "malformed", "no_choices", "empty",
         "unauthorized", "down")


def echo_responder(body: dict) -> str:
    """The default answer: the last message's text, whitespace collapsed."""
    messages = body.get("messages") or [{}]
    return "Echo: " + " ".join(str(messages[-1].get("content", "")).split())


def closed_port_url() -> str:
    """A base URL where nothing listens (a port that was free a moment ago): refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class FakeOpenAIServer:
    """See the module docstring. Use as a context manager, or call ``start`` / ``stop``."""

    def __init__(self, *, responder: Responder = echo_responder, api_key: str | None = None,
                 models: set[str] | None = None, delay_s: float = 0.0) -> None:
        self.responder = responder
        self.api_key = api_key  # when set, requests without "Bearer <api_key>" get 401
        self.models = models  # when set, other model names get 404 "model not found"
        self.delay_s = delay_s  # added to every chat answer (a model's latency)
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.bodies: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self._mode = "normal"
        self._times: int | None = None
        self._fault_delay_s = 0.0
        self._retry_after: str | None = None
        self._port = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen (on the port used before, if any) and serve from a thread."""
        if self._server is not None:
            return
        self._closing.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self),
                                     bind_and_activate=False)
        server.daemon_threads = False  # stop() joins them: no thread outlives a test
        server.request_queue_size = 64
        server.server_bind()
        server.server_activate()
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening, wake slow answers, and join every thread."""
        server, self._server = self._server, None
        if server is None:
            return
        self._closing.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def set_fault(self, mode: str, times: int | None = None, *, retry_after: float | str = 1,
                  delay_s: float = 1.0) -> None:
        """Apply ``mode`` to the next ``times`` chat requests (None: until changed)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {MODES}")
        with self._lock:
            self._mode, self._times = mode, times
            self._retry_after = str(retry_after) if retry_after is not None else None
            self._fault_delay_s = delay_s
        if mode == "down":
            self.stop()
        else:
            self.start()

    def wait_for_requests(self, count: int, timeout_s: float = 10) -> bool:
        """Block until ``count`` chat requests have arrived (no sleeping in tests)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.requests >= count, timeout=timeout_s)

    def _take_fault(self) -> str:
        with self._changed:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._changed.notify_all()
            mode = self._mode
            if self._times is not None:
                self._times -= 1
                if self._times <= 0:
                    self._mode, self._times = "normal", None
            return mode

    def _answer(self, body: dict, auth: str | None) -> tuple[int, dict[str, str], bytes]:
        mode = self._take_fault()
        try:
            delay = self.delay_s + (self._fault_delay_s if mode == "slow" else 0.0)
            if delay and self._closing.wait(delay):
                return 503, {}, b"shutting down"
            if self.api_key is not None and auth != f"Bearer {self.api_key}":
                mode = "unauthorized"
            model = body.get("model")
            if self.models is not None and model not in self.models:
                return _json(404, {"error": {"message": f"model '{model}' not found",
                                             "type": "invalid_request_error"}})
            if mode == "rate_limited":
                status, headers, data = _json(429, {"error": {"message": "Rate limit reached"}})
                if self._retry_after is not None:
                    headers["Retry-After"] = self._retry_after
                return status, headers, data
            if mode == "server_error":
                return _json(500, {"error": {"message": "The server had an error"}})
            if mode == "unauthorized":
                return _json(401, {"error": {"message": "Incorrect API key provided"}})
            if mode == "malformed":
                return 200, {"Content-Type": "text/html"}, b"<html>502 Bad Gateway</html>"
            if mode == "no_choices":
                return _json(200, {"id": "chatcmpl-fake", "object": "chat.completion"})
            content = "" if mode == "empty" else self.responder(body)
            return _json(200, _completion(body, content))
        finally:
            with self._lock:
                self.in_flight -= 1


def _completion(body: dict, content: str) -> dict[str, Any]:
    prompt_words = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "model": body.get("model"),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_words, "completion_tokens": len(content.split()),
                  "total_tokens": prompt_words + len(content.split())},
    }


def _json(status: int, data: dict) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def _handler_for(fake: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"Content-Type": "text/plain"}, b"404 page not found")
                return
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                self._send(*_json(400, {"error": {"message": "invalid JSON body"}}))
                return
            with fake._lock:
                fake.bodies.append(body)
                fake.headers.append(dict(self.headers.items()))
            self._send(*fake._answer(body, self.headers.get("Authorization")))

        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/v1/models":
                self._send(404, {"Content-Type": "text/plain"}, b"404 page not found")
                return
            names = sorted(fake.models or {"fake-model"})
            self._send(*_json(200, {"object": "list", "data": [
                {"id": name, "object": "model"} for name in names]}))

        def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (a timeout test): nothing to tell it

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
