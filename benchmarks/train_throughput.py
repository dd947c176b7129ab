"""SFT training throughput: our recipe against TRL's SFTTrainer defaults and "plain TRL, tuned".

Measures real (non-padding) tokens per second of full fine-tuning of the embedded SmolLM2-135M
on short customer-support chats, batch 8, on the CPU, for three variants in the same run:

- ``ours``: ``core.training.speed.sft_config`` on pre-tokenized, assistant-masked,
  padding-free rows (``core.training.data.tokenize_split``) with packed attention, our
  schedule, thread settings and CPU loss, built as ``core.training.trainers.build_trainer``
  builds the SFT trainer (``sft_trainer_class``);
- ``defaults``: TRL's SFTTrainer with its default SFTConfig on the raw chat rows
  (``trl_default_sft_config(tuned=False)``: gradient checkpointing on, bf16 asked for);
- ``tuned``: the same with checkpointing off and the CPU's best precision
  (``tuned=True``, "plain TRL, tuned").

Each variant trains in its own subprocess (so peak RSS is that variant's), the variants
alternate over rounds (ABC, CBA, BCA, ...) and the median per variant is reported with its
spread. Tokens/s counts the real tokens the collator hands over in the steps after the first
(warm-up excluded). Also printed: the share of the CPU's measured matmul peak each reaches
(6 x parameters x tokens/s over ``measure_peak_flops`` in the variant's precision), and our
memory estimate (``estimate_run``) against our variant's measured peak RSS.

Goals (DESIGN.md, Verified facts): ours / tuned >= 1.5x (the ratio that counts; ours /
defaults is printed beside it, and means little on its own); memory estimate within 25% of
the measured peak RSS.

Run: .venv/bin/python benchmarks/train_throughput.py [--steps 6] [--rounds 3]
     [--sample chats.jsonl] [--json]
``--sample`` takes chat rows as ``talksmall dataset export`` writes them ({"messages": [...]}
per line); without it the rows are the training tests' ten short chats, repeated.
The two cores are shared with other work: absolute tokens/s vary from run to run and machine
to machine (AVX-512 BF16 or not); the ratios compare like with like within one run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = ("ours", "defaults", "tuned")
# Round orders: every permutation once before any repeats, neighbours reversed (ABC, CBA, ...).
ORDERS = ((0, 1, 2), (2, 1, 0), (1, 2, 0), (0, 2, 1), (2, 0, 1), (1, 0, 2))
BATCH = 8
GOAL_TUNED = 1.5
GOAL_MEMORY = 0.25


def chat_rows(sample: str | None) -> list[dict[str, Any]]:
    if sample:
        text = Path(sample).read_text(encoding="utf-8")
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [{"messages": row["messages"]} for row in rows if row.get("messages")]
    from tests.core.training.conftest import CHATS, SYSTEM

    return [{"messages": [{"role": "system", "content": SYSTEM}, {"role": role, "content": q},
                          {"role": "assistant", "content": a}]} for role, q, a in CHATS] * 8


# ---------------------------------------------------------------- child: one variant, one run

def run_variant(variant: str, steps: int, sample: str | None) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTTrainer

    from core.models.embedded import embedded_hf_dir
    from core.training.data import tokenize_split, training_template
    from core.training.device import choose_precision, detect_device
    from core.training.models import Base, load_model, load_tokenizer
    from core.training.presets import resolve_params
    from core.training.speed import apply_thread_settings, sft_config, trl_default_sft_config
    from core.training.trainers import sft_trainer_class

    folder = embedded_hf_dir()
    base = Base("embedded", folder, folder, None)
    device = detect_device("cpu")
    params = resolve_params("sft", "full", {"batch_size": BATCH, "max_steps": steps})
    tokenizer = load_tokenizer(base)
    rows = chat_rows(sample)
    output_dir = tempfile.mkdtemp(prefix="talksmall-bench-")
    extra: dict[str, Any] = {}
    if variant == "ours":
        precision = choose_precision(device, params["precision"])
        extra["threads"] = apply_thread_settings(device, int(params["threads"]))
        template = training_template(tokenizer)
        tokenized = tokenize_split(tokenizer, template, rows, int(params["max_length"]))
        lengths = [len(row["input_ids"]) for row in tokenized]
        train = Dataset.from_list(tokenized)
        args = sft_config(output_dir, params, device, precision, steps,
                          eval_strategy="no", save_strategy="no")
        trainer_class: Any = sft_trainer_class(params, device)
    else:
        train = Dataset.from_list(rows)
        args = trl_default_sft_config(output_dir, device, BATCH, steps,
                                      tuned=variant == "tuned")
        precision = "bf16" if args.bf16 else "fp32"
        trainer_class = SFTTrainer
        lengths = []
    # the baselines keep transformers' SDPA; ours attends within each packed conversation
    model = load_model(base, params if variant == "ours" else {**params, "padding_free": False},
                       device, tokenizer)
    n_params = sum(p.numel() for p in model.parameters())

    counts = {"real": 0, "slots": 0, "loss": 0}
    marks: list[tuple[float, int, int, int]] = []

    class Marks(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            marks.append((time.perf_counter(), counts["real"], counts["slots"], counts["loss"]))

    trainer = trainer_class(model=model, args=args, train_dataset=train,
                            processing_class=tokenizer, callbacks=[Marks()])
    collate = trainer.data_collator

    def counting(features: list[dict[str, Any]]) -> dict[str, Any]:
        batch = collate(features)
        ids = batch["input_ids"]
        mask = batch.get("attention_mask")
        # padded batches carry an attention mask; padding-free ones are all real tokens
        counts["real"] += int(mask.sum()) if mask is not None else int(ids.numel())
        counts["slots"] += int(ids.numel())
        if "labels" in batch:
            counts["loss"] += int((batch["labels"] != -100).sum())
        return batch

    trainer.data_collator = counting
    started = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - started
    (t0, real0, slots0, loss0), (t1, real1, slots1, loss1) = marks[0], marks[-1]
    seconds = t1 - t0
    step_s = [round(b[0] - a[0], 2) for a, b in itertools.pairwise(marks)]
    result: dict[str, Any] = {
        "variant": variant, "precision": precision, "bf16": bool(args.bf16),
        "gradient_checkpointing": bool(args.gradient_checkpointing),
        "padding_free": bool(getattr(args, "padding_free", False)),
        "threads": extra.get("threads", torch.get_num_threads()),
        "parameters": n_params, "steps": len(marks), "measured_steps": len(marks) - 1,
        "tokens": real1 - real0, "slots": slots1 - slots0, "loss_tokens": loss1 - loss0,
        "seconds": round(seconds, 3), "tokens_per_s": (real1 - real0) / seconds,
        "first_step_s": round(marks[0][0] - started, 2), "step_s": step_s,
        "train_s": round(train_s, 2),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    if variant == "ours":
        from core.training.data import longest_batch_tokens
        from core.training.estimate import estimate_run, shape_from_dir

        mean_tokens = sum(lengths) / len(lengths)
        estimate = estimate_run(shape_from_dir(folder), method="sft", params=params,
                                device=device, precision=precision,
                                tokens_per_row=mean_tokens, rows=len(lengths),
                                peak_tokens_per_row=longest_batch_tokens(
                                    lengths, int(params["batch_size"])))
        result.update(mean_tokens_per_row=round(mean_tokens, 1),
                      estimate_bytes=estimate.memory_bytes, estimate_parts=estimate.parts)
    return result


# ---------------------------------------------------------------- parent: rounds and report

def measure(variant: str, steps: int, sample: str | None) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", variant,
               "--steps", str(steps)]
    if sample:
        command += ["--sample", sample]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"variant {variant} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [r["tokens_per_s"] for r in runs]
    rss = [r["peak_rss_bytes"] for r in runs]
    first = runs[0]
    out = {key: first[key] for key in ("precision", "bf16", "gradient_checkpointing",
                                       "padding_free", "threads", "parameters")}
    tokens = sum(r["tokens"] for r in runs)
    out.update(tokens_per_s=round(statistics.median(rates), 2),
               min=round(min(rates), 2), max=round(max(rates), 2),
               rates=[round(x, 2) for x in rates],
               peak_rss_bytes=int(statistics.median(rss)),
               padding_share=round(1 - tokens / max(1, sum(r["slots"] for r in runs)), 3),
               loss_share=round(sum(r["loss_tokens"] for r in runs) / max(1, tokens), 3),
               tokens_per_step=round(tokens / max(1, sum(r["measured_steps"] for r in runs)), 1),
               first_step_s=statistics.median(r["first_step_s"] for r in runs))
    if "estimate_bytes" in first:
        out.update(estimate_bytes=first["estimate_bytes"], estimate_parts=first["estimate_parts"],
                   mean_tokens_per_row=first["mean_tokens_per_row"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per run (>= 2)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample", help="JSONL of chat rows ({'messages': [...]} per line)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the first step is warm-up)")
    if args.child:
        print(json.dumps(run_variant(args.child, args.steps, args.sample)), flush=True)
        return

    wall = time.perf_counter()
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for index in range(args.rounds):
        order = [VARIANTS[i] for i in ORDERS[index % len(ORDERS)]]
        for variant in order:
            result = measure(variant, args.steps, args.sample)
            runs[variant].append(result)
            if not args.json:
                print(f"round {index + 1} {variant:8s} {result['tokens_per_s']:7.1f} tokens/s "
                      f"(steps {result['step_s']} s, peak RSS "
                      f"{result['peak_rss_bytes'] / 2**30:.2f} GiB)", flush=True)

    import torch

    from core.training.device import detect_device
    from core.training.estimate import measure_peak_flops
    from core.training.speed import apply_thread_settings

    apply_thread_settings(detect_device("cpu"))
    summary = {v: summarize(runs[v]) for v in VARIANTS}
    peaks = {p: measure_peak_flops("cpu", p, 2.0)
             for p in sorted({s["precision"] for s in summary.values()})}
    for s in summary.values():
        s["peak_flops"] = round(peaks[s["precision"]])
        s["mfu"] = round(6 * s["parameters"] * s["tokens_per_s"] / peaks[s["precision"]], 4)
    ours = summary["ours"]
    report = {
        "cpu": torch.backends.cpu.get_cpu_capability(), "cpus": os.cpu_count(),
        "steps": args.steps, "rounds": args.rounds, "batch": BATCH,
        "data": args.sample or "tests/core/training/conftest.py CHATS x 8",
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "variants": summary,
        "ours_over_defaults": round(ours["tokens_per_s"] / summary["defaults"]["tokens_per_s"], 3),
        "ours_over_tuned": round(ours["tokens_per_s"] / summary["tuned"]["tokens_per_s"], 3),
        "memory_estimate_over_rss": round(ours["estimate_bytes"] / ours["peak_rss_bytes"], 3),
        "wall_s": round(time.perf_counter() - wall, 1),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"SFT, embedded SmolLM2-135M, full fine-tuning, batch {BATCH}, {args.steps} steps "
          f"(first excluded), {args.rounds} rounds alternating, cpu {report['cpu']}, "
          f"{report['cpus']} CPUs")
    names = {"ours": "ours", "defaults": "TRL defaults", "tuned": "TRL tuned"}
    for variant in VARIANTS:
        s = summary[variant]
        print(f"  {names[variant]:12s} {s['tokens_per_s']:7.1f} tokens/s median "
              f"(spread {s['min']:.1f}-{s['max']:.1f}), {s['precision']}, checkpointing "
              f"{'on' if s['gradient_checkpointing'] else 'off'}, padding-free "
              f"{'on' if s['padding_free'] else 'off'}, {s['threads']} threads; "
              f"{100 * s['mfu']:.1f}% of measured {s['peak_flops'] / 1e9:.0f} GFLOP/s "
              f"{s['precision']}; {s['tokens_per_step']:.0f} real tokens/step, padding "
              f"{100 * s['padding_share']:.0f}%, loss on {100 * s['loss_share']:.0f}%; "
              f"peak RSS {s['peak_rss_bytes'] / 2**30:.2f} GiB")
    print(f"  ratio ours / TRL defaults: {report['ours_over_defaults']:.2f}x")
    print(f"  ratio ours / TRL tuned:    {report['ours_over_tuned']:.2f}x "
          f"(goal >= {GOAL_TUNED}x; the ratio that counts)")
    ratio = report["memory_estimate_over_rss"]
    print(f"  memory estimate {ours['estimate_bytes'] / 2**30:.2f} GiB (mean "
          f"{ours['mean_tokens_per_row']} tokens/row) vs measured peak RSS "
          f"{ours['peak_rss_bytes'] / 2**30:.2f} GiB: {ratio:.2f}x "
          f"(goal within {100 * GOAL_MEMORY:.0f}%: "
          f"{'met' if abs(ratio - 1) <= GOAL_MEMORY else 'missed'})")
    print(f"  load average before/after: {report['load_average'][0]} / "
          f"{report['load_average'][1]} (other processes slow every variant); "
          f"wall {report['wall_s']} s")


if __name__ == "__main__":
    main()
