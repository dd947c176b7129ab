"""Chat speed: ChatEngine.stream against a plain llama-cpp-python call, and through our server.

In one run, on the same GGUF (the embedded model unless --gguf) and the same prompts (a
different customer question each round, the same for every variant), alternating so a busy
machine slows all alike:
  raw        Llama.create_chat_completion(stream=True) with llama-cpp-python's own chat
             handler, KV cache reset before each call (the whole prompt read every time);
  raw-cache  the same on a second Llama left as it is between calls: llama-cpp-python reuses
             whatever prefix the previous request shared (its default behaviour);
  engine     ChatEngine.stream (prompt building, retrieval with --sample, hidden-tag
             filtering, the system prompt's KV cache kept; see core/chat/engine.py);
  server     the same engine behind our OpenAI-compatible server on 127.0.0.1, streamed over
             HTTP with the ``openai`` client (first token as the client sees it).
With --sample the prompts are retrieved ones: the sample company is imported into a temporary
project and the engine retrieves before answering (retrieval time counts against it); the raw
variants get the identical final messages. Prints medians of first-token latency and decode
tokens/s, and the engine's ratios to both raw variants. Goal (issue 8): >= 0.95x.

Run: .venv/bin/python benchmarks/chat_latency.py [--repeat 5] [--max-tokens 96] [--sample]
     [--gguf FILE] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SYSTEM = ("You are the customer support assistant of Kestrel Quay Lettings, a letting agency. "
          "Answer in short, friendly, plain sentences.")
QUESTIONS = ["My boiler stopped working last night and the flat is cold. What should I do?",
             "How much is the late rent fee, and when is it charged?",
             "Can I keep a cat in my flat?",
             "I lost my key. How much is a new one?",
             "How long does referencing take for a new tenant?",
             "When will I get my deposit back after I move out?"]


def measure(chunks: Any, text_of: Any) -> dict[str, Any]:
    """First-token latency, decode rate and text of one streamed answer."""
    started = time.perf_counter()
    first = None
    pieces: list[str] = []
    for chunk in chunks:
        text = text_of(chunk)
        if not text:
            continue
        if first is None:
            first = time.perf_counter() - started
        pieces.append(text)
    total = time.perf_counter() - started
    first = total if first is None else first
    decode = (len(pieces) - 1) / (total - first) if len(pieces) > 1 and total > first else 0.0
    return {"first_s": first, "total_s": total, "tokens": len(pieces), "decode_tps": decode,
            "text": "".join(pieces)}


def sample_project(folder: Path) -> Any:
    from core.documents import import_files
    from core.retrieval import update_index
    from core.sample import INBOX, init_sample

    project = init_sample(folder)
    import_files(project, [project.root / INBOX])
    update_index(project)
    return project


def run(args: argparse.Namespace) -> dict[str, Any]:
    import os

    import openai
    from llama_cpp import Llama

    from core.chat import ChatEngine
    from core.models.embedded import embedded_gguf_path
    from core.serve import start_server

    gguf = Path(args.gguf) if args.gguf else embedded_gguf_path()
    threads = max(1, os.cpu_count() or 1)
    project = None
    tmp = tempfile.TemporaryDirectory(prefix="chat-bench-")
    if args.sample:
        print("importing and indexing the sample company ...", file=sys.stderr)
        project = sample_project(Path(tmp.name) / "sample")

    def conversation(index: int) -> list[dict[str, str]]:
        messages = [{"role": "user", "content": QUESTIONS[index % len(QUESTIONS)]}]
        return messages if project else [{"role": "system", "content": SYSTEM}, *messages]

    engine = ChatEngine(gguf, project=project, n_ctx=args.n_ctx, n_threads=threads)
    raws = [Llama(model_path=str(gguf), n_ctx=args.n_ctx, n_threads=threads, verbose=False,
                  chat_format="chat_template.default") for _ in range(2)]
    engine.load()
    options = {"max_tokens": args.max_tokens, "temperature": 0.0, "seed": 0}
    handle = start_server(engine, port=0)
    api = openai.OpenAI(base_url=handle.url, api_key=handle.key, max_retries=0, timeout=600)

    prepare_s: list[float] = []

    def raw_once(index: int, llm: Any, reset: bool) -> dict[str, Any]:
        if reset:
            llm.reset()
        # Exactly what the engine's model reads (its retrieval done beforehand, untimed for
        # raw; timed apart as "prepare": retrieval and prompt building).
        started = time.perf_counter()
        messages = engine.prepare(conversation(index)).messages
        prepare_s.append(time.perf_counter() - started)
        chunks = llm.create_chat_completion(messages=messages, stream=True, **options)
        return measure(chunks, lambda c: c["choices"][0]["delta"].get("content"))

    variants = {
        "raw": lambda i: raw_once(i, raws[0], True),
        "raw-cache": lambda i: raw_once(i, raws[1], False),
        "engine": lambda i: measure(engine.stream(conversation(i), **options), lambda t: t),
        "server": lambda i: measure(
            api.chat.completions.create(model=engine.name, messages=conversation(i),
                                        stream=True, **options),
            lambda c: c.choices[0].delta.content if c.choices else None),
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    try:
        for once in variants.values():
            once(len(QUESTIONS) - 1)  # warm-up: first-call allocations, the engine's prefix
        for index in range(args.repeat):
            order = list(variants.items())
            if index % 2:
                order.reverse()
            for name, once in order:
                results[name].append(once(index))
                print(f"  {index + 1}/{args.repeat} {name:<9} first "
                      f"{results[name][-1]['first_s'] * 1000:8.1f} ms, "
                      f"{results[name][-1]['decode_tps']:6.1f} deltas/s", file=sys.stderr)
    finally:
        handle.stop()
        engine.close()
        for llm in raws:
            llm.close()
        if project is not None:
            project.close()
        tmp.cleanup()

    # Deltas are not tokens (the engine holds trailing spaces back and merges them), but the
    # texts are the same: every variant's decode rate uses the raw variant's token count.
    for runs in results.values():
        for index, result in enumerate(runs):
            tokens = results["raw"][index]["tokens"]
            spent = result["total_s"] - result["first_s"]
            result["decode_tps"] = (tokens - 1) / spent if tokens > 1 and spent > 0 else 0.0

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    same = all(len({results[name][i]["text"] for name in results}) == 1
               for i in range(args.repeat))
    report: dict[str, Any] = {
        "gguf": str(gguf), "threads": threads, "repeat": args.repeat,
        "max_tokens": args.max_tokens, "retrieval": project is not None, "same_text": same}
    for name in results:
        report[name] = {"first_token_ms": round(median(name, "first_s") * 1000, 1),
                        "decode_tokens_per_s": round(median(name, "decode_tps"), 1),
                        "deltas": sum(r["tokens"] for r in results[name])}
    for base in ("raw", "raw-cache"):
        report[f"engine_vs_{base}"] = {
            "tokens_per_s": round(median("engine", "decode_tps") / median(base, "decode_tps"),
                                  3),
            "first_token": round(median(base, "first_s") / median("engine", "first_s"), 3),
        }
    report["prepare_ms"] = round(statistics.median(prepare_s) * 1000, 1)
    report["server_overhead_first_token_ms"] = round(
        (median("server", "first_s") - median("engine", "first_s")) * 1000, 1)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", help="model file (default: the embedded SmolLM2-135M)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--sample", action="store_true",
                        help="retrieve from the sample company (imported into a temp project)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"model {Path(report['gguf']).name}, {report['threads']} threads, "
          f"retrieval {'on' if report['retrieval'] else 'off'}, "
          f"median of {report['repeat']}, same text: {report['same_text']}")
    for name in ("raw", "raw-cache", "engine", "server"):
        row = report[name]
        print(f"  {name:<9} first token {row['first_token_ms']:8.1f} ms   decode "
              f"{row['decode_tokens_per_s']:6.1f} tok/s   ({row['deltas']} deltas in all)")
    for base in ("raw", "raw-cache"):
        ratio = report[f"engine_vs_{base}"]
        print(f"engine / {base}: tokens/s {ratio['tokens_per_s']:.3f}x, first token "
              f"{ratio['first_token']:.3f}x faster (goal >= 0.95x both)")
    print(f"retrieval and prompt building (in the engine's first token): "
          f"{report['prepare_ms']:.1f} ms median")
    print(f"server adds {report['server_overhead_first_token_ms']:.1f} ms to the first token")
    return 0


if __name__ == "__main__":
    sys.exit(main())
