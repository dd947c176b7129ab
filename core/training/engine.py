"""One training run, top to bottom: device, data, estimate, model, train, save.

Read it as the recipe. ``run_training`` is what the ``train`` job calls in the child process;
tests call it in-process with a real JobContext (and extra callbacks to watch weights).
Stages: prepare -> sft | preference -> save. Everything a run needs to be repeated is
written to runs/<id>/config.json before the first step; summary.json at the end holds the
final metrics, measured peak memory beside the estimate, duration and data size.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from core.atomic import atomic_write_json
from core.errors import TalkSmallError
from core.jobs.context import JobCancelled
from core.training import data as tdata
from core.training.spec import TrainSpec

CHECKPOINTS = "checkpoints"
FINAL = "final"


def run_training(spec: TrainSpec, ctx: Any, extra_callbacks: tuple[Any, ...] = ()) -> Path:
    from transformers import set_seed

    from core.training import estimate as est
    from core.training.device import choose_precision, detect_device
    from core.training.models import load_tokenizer, resolve_base
    from core.training.speed import apply_thread_settings

    started = time.monotonic()
    stage_name = "preference" if spec.preference else "sft"
    ctx.stage("prepare", 1, 3)
    device = detect_device(spec.device)
    precision = choose_precision(device, spec.params["precision"])
    threads = apply_thread_settings(device, int(spec.params["threads"]))
    checkpointing = "on" if spec.params["gradient_checkpointing"] else "off"
    if device.kind == "cpu":
        ctx.log("info", f"device cpu ({device.capability.lower()}, {precision}, {threads} "
                f"threads); gradient checkpointing {checkpointing}")
    else:
        ctx.log("info", f"device {device.kind} ({device.name}, {precision}); gradient "
                f"checkpointing {checkpointing}")
    seed = int(spec.params["seed"])
    set_seed(seed)

    from core.project import open_project
    from core.training.presets import get_preset

    preset = get_preset(spec.preset)
    kind = "preference" if spec.preference else "chat"
    project = open_project(spec.project)
    try:
        rows = tdata.load_rows(project, kind)
        base = resolve_base(project, spec.base, spec.preference, preset.model)
        tokenizer = load_tokenizer(base)
        original_template = tokenizer.chat_template
        template = tdata.training_template(tokenizer)
        split, grounding = tdata.grounded_split(
            project, rows, kind=kind, fraction=float(spec.params["eval_fraction"]), seed=seed,
            ratio=float(spec.params["grounded_ratio"]), template=template)
    finally:
        project.close()
    ctx.log("info", grounding.message())
    ctx.log("info", f"{len(split.train)} training and {len(split.validation)} validation "
            f"{'pairs' if spec.preference else 'conversations'} "
            f"({round(100 * len(split.validation) / len(rows))}% held out, stratified by role)")
    lengths = tdata.token_lengths(tokenizer, template, split.train, kind,
                                  int(spec.params["max_length"]))
    mean_len = sum(lengths) / len(lengths)
    if base.model_dir is None:
        _check_corpus(spec, preset, mean_len * len(split.train))

    shape = _shape(base, tokenizer)
    padded = not spec.params["padding_free"] or spec.preference
    per_row = float(spec.params["max_length"]) if padded and not spec.preference else mean_len
    peak_flops = est.measure_peak_flops(device.kind, precision, seconds=0.3)
    estimate = est.estimate_run(shape, method=spec.method, params=spec.params, device=device,
                                precision=precision, tokens_per_row=per_row,
                                rows=len(split.train), peak_flops=peak_flops,
                                peak_tokens_per_row=None if padded else tdata.longest_batch_tokens(
                                    lengths, int(spec.params["batch_size"])))
    ctx.log("info", f"estimate: {estimate.memory_bytes / est.GIB:.2f} GiB, about "
            f"{_duration(estimate.seconds)} for {estimate.steps} steps")
    est.check_fits(estimate, device, spec.params)
    if spec.dry_run:  # the GUI's "before start" check: everything up to here, no training
        path = ctx.run_dir / "estimate.json"
        atomic_write_json(path, {"device": device.to_dict(), "precision": precision,
                                 "data": split.sizes(), "grounding": grounding.to_dict(),
                                 "estimate": estimate.to_dict(), "fits": True})
        return path

    config = {"spec": spec.to_dict(), "device": device.to_dict(), "precision": precision,
              "threads": threads, "seed": seed, "data_hash": split.data_hash,
              "data": split.sizes(), "grounding": grounding.to_dict(),
              "base": base.label, "source_gguf": base.source_gguf,
              "estimate": estimate.to_dict(), "peak_flops": peak_flops,
              "versions": library_versions(),
              "chat_template": template}
    if not spec.resume and is_main_process():
        atomic_write_json(ctx.run_dir / "config.json", config)
    else:
        _clear_stop(ctx.run_dir)

    ctx.stage(stage_name, 2, 3)
    memory_at_start = reset_peak_memory(device.kind)
    from core.training.trainers import build_trainer

    built = build_trainer(spec, ctx, base=base, tokenizer=tokenizer, template=template,
                          split=split, device=device, precision=precision,
                          extra_callbacks=extra_callbacks)
    resume_from = newest_checkpoint(ctx.run_dir) if spec.resume else None
    if spec.resume and resume_from is None:
        raise TalkSmallError(f"Run {ctx.run_dir.name} has no checkpoint to resume from.",
                             "Start a new run instead.")
    if resume_from is not None:
        ctx.log("info", f"resuming from {resume_from.name}")
        if built.ema is not None:
            built.ema.resume_from = resume_from
    built.trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    if built.events.cancelled:
        raise JobCancelled("stop requested")
    state = built.trainer.state
    if not _evaluated_at(state, state.global_step):
        built.trainer.evaluate()

    ctx.stage("save", 3, 3)
    if not is_main_process():  # accelerate's other ranks: rank 0 writes the run folder
        return ctx.run_dir / FINAL
    model = built.trainer.model
    if built.ema is not None:
        model = built.ema.apply_to(model)
        ctx.log("info", f"the final model is the EMA of the policy (decay "
                f"{spec.params['ema_decay']}, {built.ema.updates} updates)")
    from core.training.models import save_final

    final = ctx.run_dir / FINAL
    model, size = save_final(model, tokenizer, final, original_template)
    ctx.log("info", f"saved the model to final/ ({size / 1e6:.0f} MB)")
    if built.sampler is not None:
        built.events.sample(state.global_step, model)
    peak = measured_peak_bytes(device.kind)
    # What this run added on top of what the process held when the model was loaded, plus
    # the estimate's own allowance for the runtime: in a fresh child that is its whole peak,
    # in a process that did other work first (the tests) it is still comparable.
    used = max(peak - memory_at_start, 0) + estimate.parts.get("runtime", 0)
    summary = {"run": ctx.run_dir.name, "status": "succeeded", "method": spec.method,
               "preset": spec.preset, "base": base.label, "data": split.sizes(),
               "grounding": grounding.to_dict(),
               "data_hash": split.data_hash, "steps": state.global_step,
               "duration_s": round(time.monotonic() - started, 1),
               "final_metrics": dict(built.events.last_metrics),
               "peak_memory_bytes": peak, "estimate_bytes": estimate.memory_bytes,
               "memory_at_start_bytes": memory_at_start, "measured_bytes": used,
               "estimate_ratio": round(estimate.memory_bytes / used, 3) if used else None,
               "device": device.kind, "precision": precision, "output": str(final),
               "peak_flops": peak_flops, "mfu": _mfu(built.events.last_metrics, estimate,
                                                     peak_flops)}
    atomic_write_json(ctx.run_dir / "summary.json", summary)
    ctx.metric(state.global_step, peak_memory_mb=round(peak / 2**20, 1),
               estimate_memory_mb=round(estimate.memory_bytes / 2**20, 1))
    return final


def is_main_process() -> bool:
    """False on the extra ranks of an ``accelerate launch`` run."""
    import os

    return int(os.environ.get("RANK", "0")) == 0


def newest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint: resume must never start from a torn one."""
    folder = Path(run_dir) / CHECKPOINTS
    found = [(int(p.name.split("-")[-1]), p) for p in folder.glob("checkpoint-*")
             if p.name.split("-")[-1].isdigit() and checkpoint_complete(p)]
    return max(found)[1] if found else None


def checkpoint_complete(folder: Path) -> bool:
    """The Trainer writes trainer_state.json last, with a plain (non-atomic) write: a folder
    is complete when that file parses and names the folder's own step. A crash or a full disk
    while saving leaves it missing or cut short (checkpoint-N with weights, no usable state)."""
    import json

    try:
        state = json.loads((Path(folder) / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    step = Path(folder).name.split("-")[-1]
    return isinstance(state, dict) and str(state.get("global_step")) == step


def reset_peak_memory(device_kind: str) -> int:
    """Start the peak-memory count afresh; returns the memory held now (CPU: resident set).

    On Linux writing 5 to /proc/self/clear_refs resets the peak (VmHWM), so the peak measured
    at the end belongs to this run, not to whatever the process did before (a converted
    model, another test)."""
    if device_kind == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()
        return int(torch.cuda.memory_allocated())
    import gc

    gc.collect()
    try:  # hand freed heap back to the OS, or the run would reuse it unseen by the peak
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _proc_status_bytes("VmRSS") or 0


def _proc_status_bytes(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def measured_peak_bytes(device_kind: str) -> int:
    """Peak resident memory of this process since reset_peak_memory (CPU), or peak CUDA
    memory allocated."""
    if device_kind == "cuda":
        import torch

        return int(torch.cuda.max_memory_allocated())
    peak = _proc_status_bytes("VmHWM")
    if peak is not None:
        return peak
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def library_versions() -> dict[str, str]:
    import importlib.metadata
    import platform

    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "trl", "peft", "accelerate", "datasets"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def _check_corpus(spec: TrainSpec, preset: Any, tokens: float) -> None:
    needed = preset.min_corpus_tokens or 10_000_000
    if tokens >= needed or spec.insist:
        return
    raise TalkSmallError(
        f"Training from scratch on {tokens:,.0f} tokens cannot work: the Talk Small paper "
        f"needed about 450 million tokens of pre-training (1.5 million failed); this preset "
        f"asks for at least {needed:,}.",
        "Fine-tune the embedded or another pretrained model instead, or set 'insist' to try "
        "anyway.")


def _shape(base: Any, tokenizer: Any) -> Any:
    from core.training.estimate import shape_from_config, shape_from_dir

    if base.model_dir is not None:
        return shape_from_dir(base.model_dir)
    from core.training.models import scratch_config

    return shape_from_config(scratch_config(tokenizer, base.scratch_config or {}).to_dict())


def _mfu(metrics: dict[str, float], estimate: Any, peak_flops: float) -> float | None:
    """Share of the measured matmul peak the last step's tokens/s reached."""
    rate = metrics.get("tokens_per_s")
    if not rate or not peak_flops or not estimate.tokens_per_step:
        return None
    flops_per_token = estimate.flops_per_step / estimate.tokens_per_step
    return round(rate * flops_per_token / peak_flops, 4)


def _evaluated_at(state: Any, step: int) -> bool:
    return any("eval_loss" in entry and entry.get("step") == step
               for entry in state.log_history)


def _clear_stop(run_dir: Path) -> None:
    from core.jobs.events import STOP_FILE

    (Path(run_dir) / STOP_FILE).unlink(missing_ok=True)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
