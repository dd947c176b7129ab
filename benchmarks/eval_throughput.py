"""Evaluation speed: answers/s of ``core.evaluation.evaluate`` against raw llama-cpp-python.

In one run, on the embedded model and the same questions (the sample company's retrieval
questions, which name the fact an answer must hold), alternating so a busy machine slows
both alike:
  raw       one Llama, create_chat_completion per question with the company's system prompt,
            greedy, the same max_tokens, llama-cpp-python's own prefix reuse left on (the
            ~1,000-token system prompt is read once), nothing stored, nothing scored;
  evaluate  evaluate(project, ["prompted"]) on a fresh project each round: the model load,
            prompt building, generation through ChatEngine, storing every answer and scoring
            the table (Flesch, similarity, policy) all count against it.
Prints medians of answers/s and the ratio evaluate / raw. Issue 7 asks for the figure; 1.0x
means evaluating costs no more than generating the answers by hand.

Run: .venv/bin/python benchmarks/eval_throughput.py [--questions 6] [--max-tokens 48]
     [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTIONS = ROOT / "tests" / "core" / "retrieval" / "questions.jsonl"


def load_questions(count: int) -> list[dict]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [{"question": r["question"], "must_contain": [r["must_contain"]]}
            for r in rows[:count]]


def fresh_project(folder: Path, questions: list[dict]):
    from core.evaluation import import_questions
    from core.project import create_project
    from core.sample import sample_profile

    project = create_project(folder, company_name="Kestrel Quay Lettings")
    project.save_profile(sample_profile())
    path = folder.parent / f"{folder.name}.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    import_questions(project, path)
    return project


def run_raw(questions: list[dict], system: str, max_tokens: int) -> float:
    from llama_cpp import Llama

    from core.models.embedded import embedded_gguf_path

    started = time.perf_counter()
    llm = Llama(model_path=str(embedded_gguf_path()), n_ctx=4096, seed=0, verbose=False)
    try:
        for q in questions:  # llama-cpp-python keeps the shared prefix (its default)
            llm.create_chat_completion(
                messages=[{"role": "system", "content": system},
                          {"role": "user", "content": q["question"]}],
                max_tokens=max_tokens, temperature=0.0, seed=0)
    finally:
        llm.close()
    return len(questions) / (time.perf_counter() - started)


def run_evaluate(questions: list[dict], max_tokens: int, scratch: Path, round_: int) -> float:
    from core.evaluation import EvalSettings, evaluate

    project = fresh_project(scratch / f"round-{round_}", questions)
    try:
        started = time.perf_counter()
        table = evaluate(project, ["prompted"], settings=EvalSettings(max_tokens=max_tokens))
        seconds = time.perf_counter() - started
        assert table.rows[0].answered == len(questions), "not every question was answered"
    finally:
        project.close()
    return len(questions) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from core.evaluation import EvalSettings  # noqa: F401 - fail early if the package is broken
    from core.sample import sample_profile

    questions = load_questions(args.questions)
    system = sample_profile().system_prompt()
    results: dict[str, list[float]] = {"raw": [], "evaluate": []}
    with tempfile.TemporaryDirectory(prefix="talksmall-eval-bench-") as folder:
        run_evaluate(questions[:1], 8, Path(folder), -1)  # warm: MiniLM and file caches
        for round_ in range(args.repeat):
            order = ("raw", "evaluate") if round_ % 2 == 0 else ("evaluate", "raw")
            for name in order:
                rate = (run_raw(questions, system, args.max_tokens) if name == "raw" else
                        run_evaluate(questions, args.max_tokens, Path(folder), round_))
                results[name].append(rate)
                print(f"  {round_ + 1}/{args.repeat} {name:<9} {rate:5.2f} answers/s",
                      file=sys.stderr)
    raw, ours = (statistics.median(results[k]) for k in ("raw", "evaluate"))
    summary = {"questions": len(questions), "max_tokens": args.max_tokens,
               "raw_answers_per_s": round(raw, 3), "evaluate_answers_per_s": round(ours, 3),
               "ratio": round(ours / raw, 3)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{len(questions)} questions, {args.max_tokens} tokens, median of {args.repeat}:")
        print(f"  raw llama-cpp-python  {raw:5.2f} answers/s")
        print(f"  evaluate (prompted)   {ours:5.2f} answers/s  (model load, storing and "
              f"scoring included)")
        print(f"evaluate / raw: {ours / raw:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
