"""``talksmall chat``: ask the assistant once (``--prompt``) or talk to it in the terminal.

Registered by core/cli.py (``add_commands``). With a project folder the assistant retrieves
from the company's documents before each answer and lists the passages it used; with a bare
GGUF it is the model alone. Errors are TalkSmallErrors (one line, non-zero exit).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.progress_line import ProgressLine


def add_commands(sub: Any) -> None:
    p = sub.add_parser("chat", help="ask the assistant (a project, an export or a GGUF file)")
    p.add_argument("target", type=Path, metavar="PROJECT|EXPORT_DIR|GGUF",
                   help="project folder (its assistant, with retrieval), an export folder "
                   "('talksmall export': the same assistant elsewhere, with retrieval) or a "
                   ".gguf model file (the model alone)")
    p.add_argument("--run", metavar="ID", help="chat with this trained run's model")
    p.add_argument("--quant", metavar="Q", help="with an export folder: its f16, q8_0 or "
                   "q4_k_m model (default: the best it holds)")
    p.add_argument("--role", metavar="NAME",
                   help="customer role of your messages (default: the project's first role)")
    p.add_argument("--prompt", metavar="TEXT", help="ask this one question, answer and exit")
    p.add_argument("--no-retrieval", action="store_true",
                   help="answer without searching the company's documents")
    p.add_argument("--show-hidden", action="store_true",
                   help="operator view: also show the hidden analysis and intent")
    p.add_argument("--max-tokens", type=int, default=256, metavar="N")
    p.add_argument("--temperature", type=float, default=0.2, metavar="T")
    p.add_argument("--seed", type=int, default=0, metavar="N")
    p.add_argument("--json", action="store_true", help="machine-readable output (with --prompt)")
    p.set_defaults(func=cmd_chat)


def cmd_chat(args: argparse.Namespace) -> int:
    from core.chat.target import open_engine
    from core.errors import ValidationError

    if args.json and args.prompt is None:
        raise ValidationError("--json", "--json needs --prompt (one question, one JSON answer).",
                              "Add --prompt \"your question\".")
    engine = open_engine(args.target, run=args.run, quant=args.quant,
                         progress=None if args.json else ProgressLine())
    try:
        options = {"role": args.role, "retrieval": False if args.no_retrieval else None,
                   "max_tokens": args.max_tokens, "temperature": args.temperature,
                   "seed": args.seed}
        if args.prompt is not None:
            return _ask_once(engine, args, options)
        return _repl(engine, args, options)
    finally:
        engine.close()
        if engine.project is not None:
            engine.project.close()


def _ask_once(engine: Any, args: argparse.Namespace, options: dict[str, Any]) -> int:
    messages = [{"role": "user", "content": args.prompt}]
    if args.json:
        answer = engine.answer(messages, show_hidden=args.show_hidden, **options)
        result = {"model": engine.name, "model_path": str(engine.model_path),
                  "question": args.prompt, **answer.to_dict()}
        if args.show_hidden:
            result["raw"] = answer.raw
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    _say(engine, messages, args, options)
    return 0


def _repl(engine: Any, args: argparse.Namespace, options: dict[str, Any]) -> int:
    print(f"Chatting with {engine.name}. '/role NAME' switches the customer role, "
          "'/new' starts over, '/quit' (or Ctrl+D) ends.")
    messages: list[dict[str, str]] = []
    while True:
        try:
            line = input(f"{options['role'] or 'you'}> ").strip()
        except EOFError:
            print()
            return 0
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return 0
        if line == "/new":
            messages = []
            continue
        if line.startswith("/role"):
            options["role"] = line.removeprefix("/role").strip() or None
            continue
        messages.append({"role": "user", "content": line})
        try:
            answer = _say(engine, messages, args, options)
        except Exception:
            messages.pop()
            raise
        messages.append({"role": "assistant", "content": answer.text})


def _say(engine: Any, messages: list[dict[str, str]], args: argparse.Namespace,
         options: dict[str, Any]) -> Any:
    """Stream one answer to the terminal, then the passages it used."""
    stream = engine.stream(messages, show_hidden=args.show_hidden, **options)
    for delta in stream:
        print(delta, end="", flush=True)
    print()
    answer = stream.answer
    if answer.escalated:
        print("  (escalated: no passage of the company's documents was relevant enough)")
    for index, passage in enumerate(answer.to_dict()["passages"], 1):
        where = " / ".join(str(passage[k]) for k in ("document", "section") if passage.get(k))
        score = passage.get("score")
        score_text = f" (score {score:.3f})" if isinstance(score, int | float) else ""
        print(f"  [{index}] {where or 'passage'}{score_text}")
    if args.show_hidden and (answer.hidden.analysis or answer.hidden.intent):
        print(f"  hidden: analysis={answer.hidden.analysis!r} intent={answer.hidden.intent!r}")
    return answer


