"""Memory and time a run will need, from the model's config, before any weight is loaded.

Memory is a sum of named parts (runtime, weights, gradients, AdamW state, reference model,
EMA copy, activations, logits) so the GUI can show where it goes and the refusal can say
what to change. The activation and runtime constants were measured on the embedded model on
CPU (see tests/core/training and the run's summary.json, which records the measured peak
beside this estimate). Issue 6 measured it on long rows (benchmarks/memory_estimate.py,
LoRA SFT, bf16, CPU): 256x4 tokens 3.65 GiB, 1024x2 4.98 GiB, 2048x1 5.18 GiB, against an
old estimate of 2.89 / 4.27 / 4.27 GiB. Two things were missing: a fixed ~0.5 GiB (a second
float32 copy of the weights while loading / casting) and attention's scores, which sdpa on
the CPU materialises per sequence (heads x s x s, float32, with softmax and gradient: about
3 copies, one layer at a time), so the same 2048 tokens cost more as one row than as two.
The logits part counts the cast logits, their float32 copy, log_softmax and two gradients.
Time comes from FLOPs (6 per parameter and token for full training)
over the device's measured matmul rate times an efficiency seen in practice.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import TalkSmallError
from core.training import loss as label_only_loss

GIB = 1024**3
# Python + torch + transformers + TRL + datasets after import, on CPU (measured ~0.75 GB).
CPU_RUNTIME_BYTES = int(0.75 * GIB)
# What torch keeps per token and layer beyond the formula's saved tensors (allocator slack,
# autograd bookkeeping): a measured multiplier on the activation term.
ACTIVATION_SLACK = 1.25
# Transient float32 tensors of heads x s x s per sequence in one layer's attention (scores,
# softmax, gradient), measured: 2048x1 vs 1024x2 tokens differ by ~0.2 GiB.
ATTENTION_COPIES = 3
# Share of the measured matmul peak that a training step reaches (small models, CPU / GPU).
EFFICIENCY = {"cpu": 0.30, "cuda": 0.35, "mps": 0.25}
# Headroom left for the operating system and other programs.
SAFETY = 0.9


@dataclass(frozen=True)
class ModelShape:
    hidden: int
    layers: int
    ffn: int
    vocab: int
    heads: int
    kv_heads: int
    tied: bool

    @property
    def kv_dim(self) -> int:
        return self.hidden // self.heads * self.kv_heads

    def parameters(self) -> int:
        h, kv, f = self.hidden, self.kv_dim, self.ffn
        per_layer = 2 * h * h + 2 * h * kv + 3 * h * f + 2 * h
        embed = self.vocab * h * (1 if self.tied else 2)
        return embed + self.layers * per_layer + h

    def lora_parameters(self, r: int, targets: str) -> int:
        return self.layers * sum(r * (i + o) for i, o in self._lora_shapes(targets))

    def lora_dense_parameters(self, targets: str) -> int:
        """Size of the merged deltas B.A (what IPO-EMA averages for LoRA)."""
        return self.layers * sum(i * o for i, o in self._lora_shapes(targets))

    def _lora_shapes(self, targets: str) -> list[tuple[int, int]]:
        h, kv, f = self.hidden, self.kv_dim, self.ffn
        shapes = [(h, h), (h, kv), (h, kv)]
        if targets in ("attention+mlp", "all-linear"):
            shapes += [(h, f), (h, f), (f, h)]
        if targets == "all-linear":
            shapes.append((h, h))
        return shapes


@dataclass
class Estimate:
    device: str
    memory_bytes: int
    parts: dict[str, int]
    seconds: float
    steps: int
    tokens_per_step: int
    parameters: int
    trainable: int
    flops_per_step: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["memory_gib"] = round(self.memory_bytes / GIB, 3)
        return data


def shape_from_config(config: dict[str, Any]) -> ModelShape:
    """A LLaMA-family shape from a config.json dict (as saved by transformers)."""
    text = config.get("text_config", config)
    heads = int(text.get("num_attention_heads", 1))
    return ModelShape(hidden=int(text["hidden_size"]), layers=int(text["num_hidden_layers"]),
                      ffn=int(text.get("intermediate_size", 4 * int(text["hidden_size"]))),
                      vocab=int(text["vocab_size"]), heads=heads,
                      kv_heads=int(text.get("num_key_value_heads") or heads),
                      tied=bool(config.get("tie_word_embeddings", text.get("tie_word_embeddings",
                                                                            False))))


def shape_from_dir(model_dir: str | Path) -> ModelShape:
    path = Path(model_dir) / "config.json"
    try:
        return shape_from_config(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        raise TalkSmallError(f"Cannot read the model's shape from {path}: {exc}.",
                             "Choose a complete Hugging Face model folder.") from exc


def estimate_run(shape: ModelShape, *, method: str, params: dict[str, Any], device: Any,
                 precision: str, tokens_per_row: float, rows: int,
                 peak_flops: float | None = None,
                 peak_tokens_per_row: float | None = None) -> Estimate:
    """Memory (bytes) and time (seconds) for ``rows`` conversations of ``tokens_per_row``.

    ``tokens_per_row`` is the mean tokenized length (padding-free) or max_length (padded);
    preference rows count chosen and rejected together. Time follows the mean; memory
    follows ``peak_tokens_per_row`` when given (``data.longest_batch_tokens``: the peak is
    the longest batch's).
    """
    preference = method in ("ipo", "ipo-ema", "ipo-checkpoint", "dpo")
    lora = bool(params.get("lora"))
    total = shape.parameters()
    trainable = shape.lora_parameters(int(params["lora_r"]), params["lora_targets"]) if lora \
        else total
    batch = int(params["batch_size"])
    seqs = batch * (2 if preference else 1)
    tokens = math.ceil(seqs * tokens_per_row)
    per_row_peak = max(tokens_per_row, peak_tokens_per_row or 0.0)
    peak_tokens = math.ceil(seqs * per_row_peak)
    half = precision in ("bf16", "fp16")

    parts: dict[str, int] = {}
    parts["runtime"] = CPU_RUNTIME_BYTES if device.kind != "cuda" else 0
    weight_bytes = 1 if params.get("quantize") == "8bit" else (
        0.5 if params.get("quantize") == "4bit" else 4)
    # + one float32 copy held while loading and casting (measured ~0.5 GiB on 135M)
    parts["weights"] = int(total * weight_bytes) + total * 4
    if half:  # autocast keeps a low-precision copy of each weight used in a matmul
        parts["weights_cast"] = int(total * 2)
    parts["gradients"] = trainable * 4
    parts["optimizer"] = trainable * 8
    if preference:
        parts["reference"] = trainable * 4 if lora else total * 4
    if method == "ipo-ema":
        parts["ema"] = (shape.lora_dense_parameters(params["lora_targets"]) if lora
                        else total) * 4
    act_bytes = 2 if half else 4
    h, f, kv = shape.hidden, shape.ffn, shape.kv_dim
    per_token_layer = (8 * h + 2 * kv + 5 * f) * act_bytes
    parts["activations"] = int(peak_tokens * shape.layers * per_token_layer
                               * ACTIVATION_SLACK)
    # scores of one layer's attention, per sequence: quadratic in the row length
    parts["attention"] = int(ATTENTION_COPIES * 4 * shape.heads * seqs * per_row_peak ** 2)
    # logits, then float32 tensors of the same size: with core.training.loss, log_softmax's
    # output and its gradient (measured 0.73 GiB on 1,475 tokens); otherwise also the
    # logits' float32 copy and its gradient
    float32_copies = 2 if label_only_loss.applies(device, preference) else 4
    parts["logits"] = int(peak_tokens * shape.vocab * (act_bytes + float32_copies * 4))
    memory = sum(parts.values())

    flops_per_token = (4 if lora else 6) * total + (2 * total if preference else 0)
    flops_per_step = flops_per_token * tokens
    steps = planned_steps(params, rows)
    if peak_flops is None:
        peak_flops = nominal_peak_flops(device, precision)
    rate = peak_flops * EFFICIENCY.get(device.kind, 0.3)
    seconds = steps * flops_per_step / rate
    return Estimate(device=device.kind, memory_bytes=int(memory), parts=parts,
                    seconds=round(seconds, 1), steps=steps, tokens_per_step=tokens,
                    parameters=total, trainable=trainable, flops_per_step=flops_per_step)


def planned_steps(params: dict[str, Any], rows: int) -> int:
    """Optimizer steps for ``rows`` training rows under these params."""
    if int(params.get("max_steps") or 0) > 0:
        return int(params["max_steps"])
    per_epoch = max(1, math.ceil(rows / int(params["batch_size"])) // int(params["grad_accum"]))
    return max(1, math.ceil(per_epoch * float(params["epochs"])))


def check_fits(estimate: Estimate, device: Any, params: dict[str, Any]) -> None:
    """Refuse, with the concrete change that would fit, when the run will not fit in memory."""
    budget = device.memory_available * SAFETY
    if estimate.memory_bytes <= budget:
        return
    batch = int(params["batch_size"])
    variable = (estimate.parts["activations"] + estimate.parts["logits"]
                + estimate.parts.get("attention", 0))
    fixed = estimate.memory_bytes - variable
    hint: str
    if fixed < budget and variable > 0:
        fitting = int(batch * (budget - fixed) / variable)
        if fitting >= 1:
            hint = (f"Lower the batch size to {fitting} (and raise grad_accum to "
                    f"{math.ceil(batch / fitting)} to keep the effective batch).")
        else:
            hint = "Lower max_length, or the batch size to 1 with a shorter max_length."
    elif not params.get("lora"):
        hint = "Use LoRA (method sft-lora or the Tone LoRA preset), or choose a smaller model."
    else:
        hint = "Choose a smaller model, or a machine with more memory."
    where = "GPU memory" if device.kind == "cuda" else "memory"
    raise TalkSmallError(
        f"This run needs about {estimate.memory_bytes / GIB:.1f} GiB but only "
        f"{device.memory_available / GIB:.1f} GiB of {where} is free.", hint)


def nominal_peak_flops(device: Any, precision: str) -> float:
    """A rough peak when none was measured: a few hundred GFLOP/s per CPU core class."""
    if device.kind == "cuda":
        return 400e12 if precision in ("bf16", "fp16") else 50e12
    if device.kind == "mps":
        return 5e12
    per_core = 100e9 if precision == "bf16" else 60e9
    return per_core * max(1, device.threads)


def measure_peak_flops(device_kind: str = "cpu", precision: str = "fp32",
                       seconds: float = 0.5) -> float:
    """FLOP/s of a square matmul in this precision on this device (the MFU denominator)."""
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
    n = 4096 if device_kind == "cuda" else 1024
    a = torch.randn(n, n, dtype=dtype, device=device_kind)
    b = torch.randn(n, n, dtype=dtype, device=device_kind)
    torch.matmul(a, b)  # warm-up
    _sync(device_kind)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        torch.matmul(a, b)
        count += 1
    _sync(device_kind)
    return 2 * n**3 * count / (time.perf_counter() - started)


def _sync(device_kind: str) -> None:
    import torch

    if device_kind == "cuda":
        torch.cuda.synchronize()
