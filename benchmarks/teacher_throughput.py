"""Teacher throughput: the embedded teacher against raw llama-cpp-python, and an endpoint's
items/minute with requests in flight.

1. Generated tokens/s of ``embedded_teacher()`` against a plain ``Llama.create_chat_completion``
   on the same GGUF, same prompts (sections of the sample company's policies.md with a
   question-writing instruction), same max_tokens, temperature 0, in the same run. The two
   alternate prompt by prompt (ABBA order) so load from other processes hits both alike.
   Goal (issue 5): teacher >= 0.9x raw.
2. Items/minute against the fake OpenAI-compatible server (tests/fakes/openai_server.py) with
   a fixed per-request delay, at concurrency 1 and 4. Goal: >= 4 requests in flight.

Run: .venv/bin/python benchmarks/teacher_throughput.py [--prompts 8] [--max-tokens 128]
     [--items 40] [--delay 0.2] [--threads 2] [--json]
On a busy machine (other processes on the two cores) llama.cpp's threads wait on each other
and both figures collapse alike; the ratio still compares like with like, the absolute
tokens/s do not describe the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INSTRUCTION = ("Here is part of a letting agency's policies:\n\n{section}\n\n"
               "Write three short questions a tenant might ask about it, one per line.")
SYSTEM = "You write training questions for a customer-support assistant."


def policy_prompts(count: int) -> list[list[dict]]:
    text = (ROOT / "resources" / "sample_company" / "policies.md").read_text(encoding="utf-8")
    sections = [s.strip() for s in re.split(r"\n(?=## )", text) if s.startswith("## ")]
    prompts = []
    for index in range(count):
        section = sections[index % len(sections)][:1200]
        prompts.append([{"role": "system", "content": SYSTEM},
                        {"role": "user", "content": INSTRUCTION.format(section=section)}])
    return prompts


def embedded_vs_raw(prompts: list[list[dict]], max_tokens: int, threads: int = 2) -> dict:
    from llama_cpp import Llama

    from core.models.embedded import embedded_gguf_path
    from core.teachers import ChatRequest, embedded_teacher

    teacher = embedded_teacher(n_threads=threads, n_ctx=4096, seed=0)
    raw = Llama(model_path=str(embedded_gguf_path()), n_ctx=4096, n_threads=threads, seed=0,
                verbose=False)
    hello = [{"role": "user", "content": "Hello"}]  # not a measured prompt: no cache head start
    teacher.complete(ChatRequest(messages=hello, max_tokens=8, temperature=0.0))
    raw.create_chat_completion(messages=hello, max_tokens=8, temperature=0.0)
    warm_prompt = teacher.prompt_tokens
    totals = {"teacher": [0.0, 0], "raw": [0.0, 0]}
    cpu = {"teacher": 0.0, "raw": 0.0}  # process CPU seconds: less sensitive to other load
    prompt_tokens = {"teacher": 0, "raw": 0}
    raw_reused = 0  # prompt tokens raw llama-cpp-python took from its KV cache instead
    paired: list[float] = []  # teacher/raw tokens/s on the same prompt, run back to back
    same = 0

    def run_teacher(messages: list[dict]) -> tuple[str, float]:
        before = teacher.completion_tokens
        started, cpu_started = time.perf_counter(), time.process_time()
        text = teacher.complete(ChatRequest(messages=messages, max_tokens=max_tokens,
                                            temperature=0.0))
        seconds = time.perf_counter() - started
        cpu["teacher"] += time.process_time() - cpu_started
        tokens = teacher.completion_tokens - before
        prompt_tokens["teacher"] = teacher.prompt_tokens - warm_prompt
        totals["teacher"][0] += seconds
        totals["teacher"][1] += tokens
        return text, tokens / seconds

    def run_raw(messages: list[dict]) -> tuple[str, float]:
        nonlocal raw_reused
        cached = list(raw.input_ids[: raw.n_tokens])
        started, cpu_started = time.perf_counter(), time.process_time()
        result = raw.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                            temperature=0.0)
        seconds = time.perf_counter() - started
        cpu["raw"] += time.process_time() - cpu_started
        tokens = result["usage"]["completion_tokens"]
        prompt = list(raw.input_ids[: result["usage"]["prompt_tokens"]])
        common = next((i for i, (x, y) in enumerate(zip(cached, prompt, strict=False))
                       if x != y), min(len(cached), len(prompt)))
        raw_reused += min(common, len(prompt) - 1)
        prompt_tokens["raw"] += len(prompt)
        totals["raw"][0] += seconds
        totals["raw"][1] += tokens
        return (result["choices"][0]["message"]["content"] or "").strip(), tokens / seconds

    for index, messages in enumerate(prompts):
        if index % 2 == 0:
            (a, raw_rate), (b, rate) = run_raw(messages), run_teacher(messages)
        else:
            (b, rate), (a, raw_rate) = run_teacher(messages), run_raw(messages)
        same += a == b
        paired.append(rate / raw_rate)
    teacher.close()
    raw.close()
    rate = {name: tokens / seconds for name, (seconds, tokens) in totals.items()}
    return {"prompts": len(prompts), "max_tokens": max_tokens, "threads": threads,
            "raw_tokens": totals["raw"][1], "raw_s": round(totals["raw"][0], 2),
            "teacher_tokens": totals["teacher"][1], "teacher_s": round(totals["teacher"][0], 2),
            "raw_tokens_per_s": round(rate["raw"], 1),
            "teacher_tokens_per_s": round(rate["teacher"], 1),
            "ratio": round(rate["teacher"] / rate["raw"], 3),
            "median_paired_ratio": round(statistics.median(paired), 3),
            "prompt_tokens": prompt_tokens["teacher"], "raw_prompt_tokens_from_cache": raw_reused,
            "raw_cpu_s": round(cpu["raw"], 2), "teacher_cpu_s": round(cpu["teacher"], 2),
            "cpu_ratio": round((totals["teacher"][1] / cpu["teacher"])
                               / (totals["raw"][1] / cpu["raw"]), 3),
            "identical_replies": same}


def endpoint_items_per_minute(items: int, delay_s: float, concurrency: int) -> dict:
    from core.teachers import ChatRequest, endpoint_teacher
    from tests.fakes.openai_server import FakeOpenAIServer

    requests = [ChatRequest(messages=[{"role": "user", "content": f"Question {i}?"}])
                for i in range(items)]
    with FakeOpenAIServer(delay_s=delay_s) as server:
        teacher = endpoint_teacher(server.url, "fake-model")
        started = time.perf_counter()
        results = teacher.complete_many(requests, concurrency=concurrency)
        seconds = time.perf_counter() - started
        teacher.close()
        in_flight = server.max_in_flight
    failed = sum(not isinstance(r, str) for r in results)
    return {"concurrency": concurrency, "items": items, "failed": failed,
            "seconds": round(seconds, 2), "items_per_minute": round(items / seconds * 60, 1),
            "max_in_flight": in_flight}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (both)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    embedded = embedded_vs_raw(policy_prompts(args.prompts), args.max_tokens, args.threads)
    one = endpoint_items_per_minute(args.items, args.delay, 1)
    four = endpoint_items_per_minute(args.items, args.delay, 4)
    report = {"load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
              "cpus": os.cpu_count(), "embedded": embedded, "endpoint": [one, four],
              "endpoint_speedup": round(four["items_per_minute"] / one["items_per_minute"], 2)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    e = embedded
    print(f"embedded teacher vs raw llama-cpp-python ({e['prompts']} prompts, max_tokens "
          f"{e['max_tokens']}, {e['threads']} threads, temperature 0, alternating):")
    print(f"  raw llama-cpp-python: {e['raw_tokens_per_s']:6.1f} tokens/s "
          f"({e['raw_tokens']} tokens in {e['raw_s']} s)")
    print(f"  embedded teacher:     {e['teacher_tokens_per_s']:6.1f} tokens/s "
          f"({e['teacher_tokens']} tokens in {e['teacher_s']} s)")
    print(f"  ratio teacher/raw:    {e['ratio']:.3f}x overall, {e['median_paired_ratio']:.3f}x "
          f"median of back-to-back pairs (goal >= 0.9x); identical replies "
          f"{e['identical_replies']}/{e['prompts']}")
    print(f"  tokens per CPU-second, teacher/raw: {e['cpu_ratio']:.3f}x (raw {e['raw_cpu_s']} "
          f"CPU-s, teacher {e['teacher_cpu_s']} CPU-s; with --threads 1 this is the figure "
          "least affected by other processes)")
    print(f"  prompt tokens read: teacher {e['prompt_tokens']} (fresh KV cache each request, "
          f"for reproducible replies), raw {e['prompt_tokens'] - e['raw_prompt_tokens_from_cache']}"
          f" ({e['raw_prompt_tokens_from_cache']} reused from its cache)")
    print(f"  load average before/after: {report['load_average'][0]} / "
          f"{report['load_average'][1]} on {report['cpus']} CPUs (other processes slow both)")
    print(f"fake endpoint, {args.delay:g} s per request, {args.items} items:")
    for row in (one, four):
        print(f"  concurrency {row['concurrency']}: {row['items_per_minute']:7.1f} items/min, "
              f"max {row['max_in_flight']} in flight, {row['failed']} failed")
    print(f"  ratio concurrency 4 / 1: {report['endpoint_speedup']:.2f}x "
          "(goal: >= 4 requests in flight)")


if __name__ == "__main__":
    main()
