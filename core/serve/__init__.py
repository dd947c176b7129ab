"""Our OpenAI-compatible server for the assistant (retrieval, hidden-tag stripping, API key).

``start_server`` runs it in a background thread (the GUI's start / stop); ``serve_forever``
is the CLI's blocking form. See core/serve/app.py for the HTTP API.
"""

from core.serve.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ServerHandle,
    bind_socket,
    check_bind,
    serve_forever,
    start_server,
)

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ServerHandle", "bind_socket", "check_bind",
           "serve_forever", "start_server"]
