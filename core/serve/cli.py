"""``talksmall serve``: the assistant as an OpenAI-compatible API on this computer.

Registered by core/cli.py (``add_commands``). Prints the URL, the API key (once: a generated
key is not stored anywhere) and a curl command to try it; runs until Ctrl+C.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_commands(sub: Any) -> None:
    from core.serve.server import DEFAULT_HOST, DEFAULT_PORT

    p = sub.add_parser("serve", help="serve the assistant as an OpenAI-compatible API")
    p.add_argument("target", type=Path, metavar="PROJECT|EXPORT_DIR|GGUF",
                   help="project folder (its assistant, with retrieval), an export folder "
                   "('talksmall export': the same assistant elsewhere, with retrieval) or a "
                   ".gguf model file (the model alone)")
    p.add_argument("--run", metavar="ID", help="serve this trained run's model")
    p.add_argument("--quant", metavar="Q", help="with an export folder: its f16, q8_0 or "
                   "q4_k_m model (default: the best it holds)")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}: this computer only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--api-key", metavar="KEY",
                   help="the key clients must send (default: a new one, printed once)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow an address other computers can reach (needs --api-key)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from core.chat.target import open_engine
    from core.serve.server import ServerHandle, check_bind, serve_forever

    check_bind(args.host, args.api_key, args.allow_remote)  # before loading anything
    engine = open_engine(args.target, run=args.run, quant=args.quant)
    if engine.project is not None:
        from core.retrieval import update_index

        # the index in memory and the question encoder ready before the first question
        update_index(engine.project)

    def ready(handle: ServerHandle) -> None:
        retrieval = "on (the company's documents)" if engine.project is not None else "off"
        print(f"Serving {engine.name} ({engine.model_path.name}) at {handle.url}")
        print(f"  port {handle.port} on {handle.host}; retrieval {retrieval}")
        if handle.key_generated:
            print(f"  API key (shown once, not stored): {handle.key}")
        else:
            print("  API key: the one you gave with --api-key")
        print("Try it:\n" + handle.curl_example())
        print("Press Ctrl+C to stop.", flush=True)

    try:
        serve_forever(engine, host=args.host, port=args.port, api_key=args.api_key,
                      allow_remote=args.allow_remote, on_ready=ready)
    except KeyboardInterrupt:
        print("\nstopped")
    finally:
        engine.close()
        if engine.project is not None:
            engine.project.close()
    return 0
