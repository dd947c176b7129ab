"""Run the assistant's API server: bound to 127.0.0.1 by default, always behind an API key.

The socket is bound here, before the server starts, so a port already in use (or one the
user may not open) is a clear ``TalkSmallError`` naming the port, never a log line from a
background thread. Port 0 picks a free port; the handle reports the one in use. Binding
another address (the local network, 0.0.0.0) exposes the company's assistant to other
computers, so it needs an explicit ``allow_remote`` and a key chosen by the operator.
The server runs in a background thread (the GUI starts and stops it; the CLI waits on it).
"""

from __future__ import annotations

import errno
import ipaddress
import secrets
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from core.chat.engine import ChatEngine
from core.errors import TalkSmallError, ValidationError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MIN_REMOTE_KEY = 16
_START_TIMEOUT_S = 30.0


@dataclass
class ServerHandle:
    """A running server: where it listens, its key, and how to stop it."""

    host: str
    port: int
    key: str
    model: str
    key_generated: bool  # True when the key was made here: show it once, it is not stored
    _server: Any = field(repr=False, default=None)
    _thread: threading.Thread | None = field(repr=False, default=None)

    @property
    def url(self) -> str:
        """The base URL a client uses (OpenAI clients: ``base_url``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.host in ("0.0.0.0", "::"):
            host = "127.0.0.1"  # reachable from this computer; others use its address
        return f"http://{host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def curl_example(self, question: str = "Hello, can you help me?") -> str:
        """A copyable command that asks the assistant one question."""
        body = {"model": self.model, "messages": [{"role": "user", "content": question}]}
        import json

        return (f"curl {self.url}/chat/completions \\\n"
                f"  -H 'Authorization: Bearer {self.key}' \\\n"
                f"  -H 'Content-Type: application/json' \\\n"
                f"  -d {shlex.quote(json.dumps(body))}")

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server stops (the CLI's Ctrl+C calls ``stop``)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting requests, finish the ones in flight, and free the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)


def start_server(engine: ChatEngine, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 api_key: str | None = None, allow_remote: bool = False) -> ServerHandle:
    """Serve ``engine`` in a background thread; returns once it accepts requests.

    ``api_key`` None makes one (``secrets.token_urlsafe``): show ``handle.key`` to the
    operator once. Loads the model first, so a broken file fails here, not on a request.
    """
    check_bind(host, api_key, allow_remote)
    key_generated = api_key is None
    key = api_key if api_key is not None else secrets.token_urlsafe(24)
    sock = bind_socket(host, port)  # a taken port fails before the model is loaded
    try:
        engine.load()
    except BaseException:
        sock.close()
        raise
    import uvicorn

    from core.serve.app import build_app

    config = uvicorn.Config(build_app(engine, key), log_level="warning", access_log=False,
                            lifespan="off", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"talksmall-serve-{sock.getsockname()[1]}", daemon=True)
    handle = ServerHandle(host=host, port=sock.getsockname()[1], key=key, model=engine.name,
                          key_generated=key_generated, _server=server, _thread=thread)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            handle.stop()
            sock.close()
            raise TalkSmallError(f"The server on {host}:{handle.port} did not start.",
                                 "Try another port; if it keeps failing, report it.")
        time.sleep(0.01)
    return handle


def serve_forever(engine: ChatEngine, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                  api_key: str | None = None, allow_remote: bool = False,
                  on_ready: Any = None) -> None:
    """Serve until Ctrl+C (the CLI); ``on_ready(handle)`` is called once it listens."""
    handle = start_server(engine, host=host, port=port, api_key=api_key,
                          allow_remote=allow_remote)
    try:
        if on_ready is not None:
            on_ready(handle)
        while handle.running:
            handle.wait(0.5)
    finally:
        handle.stop()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None, allow_remote: bool) -> None:
    """Refuse an address other computers can reach unless the operator chose it, with a key."""
    if api_key is not None and not api_key.strip():
        raise ValidationError("api_key", "The API key is empty.",
                              "Give a key, or leave it out to have one generated.")
    if is_loopback(host):
        return
    if not allow_remote:
        raise ValidationError("host", f"Serving on {host} lets other computers use the "
                              "assistant.", "Keep the default 127.0.0.1, or confirm with "
                              "--allow-remote and give your own --api-key.")
    if api_key is None or len(api_key) < MIN_REMOTE_KEY:
        raise ValidationError("api_key", f"Serving on {host} needs your own API key of at "
                              f"least {MIN_REMOTE_KEY} characters.",
                              "Give one with --api-key (for example the output of "
                              "'python -c \"import secrets; print(secrets.token_urlsafe())\"').")


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a clear error when the port is taken."""
    if not 0 <= port <= 65535:
        raise ValidationError("port", f"Port {port} is not a valid port.",
                              "Use a number between 1024 and 65535, for example 8000.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValidationError("host", f"{host} is not an address of this computer.",
                              "Use 127.0.0.1, or an address shown by your network "
                              "settings.") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise TalkSmallError(f"Port {port} on {host} is already in use by another program.",
                                 f"Choose another port, for example --port {_next_port(port)},"
                                 " or stop the program that uses it.") from exc
        if exc.errno == errno.EACCES:
            raise TalkSmallError(f"This user may not open port {port} on {host}.",
                                 "Use a port above 1023, for example 8000.") from exc
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ValidationError("host", f"{host} is not an address of this computer.",
                                  "Use 127.0.0.1, or an address shown by your network "
                                  "settings.") from exc
        raise TalkSmallError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
                             "Choose another port or address.") from exc
    sock.setblocking(False)
    return sock


def _next_port(port: int) -> int:
    return port + 1 if 0 < port < 65535 else DEFAULT_PORT + 1
