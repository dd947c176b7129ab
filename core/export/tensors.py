"""The weights of a Hugging Face folder, renamed and laid out the way llama.cpp reads them.

Two passes keep memory flat: ``plan_tensors`` reads only the safetensors headers (names,
shapes, dtypes) so the GGUF header can be written first; each planned tensor's ``load`` then
reads, transforms and casts one tensor at a time while it is written. Nothing here imports
torch: safetensors files are memory-mapped and bfloat16 is widened with numpy.

What changes on the way: names follow gguf's TensorNameMap (model.layers.0.self_attn.q_proj ->
blk.0.attn_q); for the llama graph the query/key rows are permuted from HF's rotate-half order
into llama.cpp's interleaved rotary pairs (per head, n_head for q and n_head_kv for k); tied
embeddings write no output.weight; norms and other 1-D tensors stay f32.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelError
from core.export.hparams import ModelShape

_SKIPPED_SUFFIXES = ("rotary_emb.inv_freq",)  # recomputed by every runtime


@dataclass(frozen=True)
class PlannedTensor:
    name: str  # GGUF tensor name
    shape: tuple[int, ...]  # numpy (row-major, HF) order; the writer reverses it for ggml
    dtype: np.dtype  # float32 or float16
    load: Callable[[], np.ndarray]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def plan_tensors(hf_dir: Path, shape: ModelShape, ftype: str,
                 undo_rotary_permutation: bool = True) -> list[PlannedTensor]:
    """Every tensor the GGUF will hold, in block order; checks none is missing or unknown.

    ``ftype`` is "f32" or "f16". ``undo_rotary_permutation=False`` exists only so a test can
    prove the permutation matters; a real export always applies it where the graph needs it.
    """
    import gguf

    arch = next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == shape.arch)
    names = gguf.get_tensor_name_map(arch, shape.n_layers)
    permute = undo_rotary_permutation and shape.undo_rotary_permutation
    planned: list[tuple[tuple[int, str], PlannedTensor]] = []
    for hf_name, source in _source_tensors(hf_dir).items():
        if hf_name.endswith(_SKIPPED_SUFFIXES):
            continue
        if hf_name == "lm_head.weight" and shape.tied_embeddings:
            continue  # llama.cpp reuses token_embd when output.weight is absent
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ModelError(
                f"Cannot export {hf_dir.name}: it has a weight llama.cpp's {shape.arch} graph "
                f"does not use ({hf_name}).",
                "Export the merged model (LoRA merged into the base), not an adapter or a "
                "modified architecture.")
        heads = _rotary_heads(hf_name, shape) if permute else None
        dtype = _target_dtype(gguf_name, len(source.shape), ftype)
        tensor = PlannedTensor(gguf_name, tuple(source.shape), dtype,
                               _loader(source, dtype, heads))
        planned.append((_order_key(gguf_name), tensor))
    if shape.rope.get("rope_type") == "llama3":
        factors = llama3_rope_factors(shape)
        planned.append(((-1, "rope_freqs"), PlannedTensor(
            "rope_freqs.weight", factors.shape, np.dtype(np.float32), lambda: factors)))
    planned.sort(key=lambda item: item[0])
    result = [tensor for _, tensor in planned]
    _check_complete(hf_dir, shape, result)
    return result


def rotary_pairs_layout(weights: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder q/k projection rows (or biases) from HF's halves to llama.cpp's pairs.

    Within each head HF rotates dimension i with i + d/2; llama.cpp's llama graph rotates
    2i with 2i + 1. Row r = h*d + half*(d/2) + i moves to h*d + 2*i + half.
    """
    rows = weights.shape[0]
    per_head = rows // n_heads
    grouped = weights.reshape(n_heads, 2, per_head // 2, *weights.shape[1:])
    return np.ascontiguousarray(grouped.swapaxes(1, 2)).reshape(weights.shape)


def llama3_rope_factors(shape: ModelShape) -> np.ndarray:
    """Per-frequency divisors for Llama 3.x "llama3" RoPE scaling, as llama.cpp applies them.

    Wavelengths shorter than original_context/high_freq_factor keep their frequency, longer
    than original_context/low_freq_factor are slowed by ``factor``, and those between are
    blended smoothly (Meta's published scheme).
    """
    rope = shape.rope
    factor = float(rope["factor"])
    low = float(rope.get("low_freq_factor", 1.0))
    high = float(rope.get("high_freq_factor", 4.0))
    original = float(rope.get("original_max_position_embeddings", 8192))
    exponents = np.arange(0, shape.head_dim, 2, dtype=np.float64) / shape.head_dim
    wavelengths = 2 * math.pi * shape.rope_theta ** exponents
    with np.errstate(divide="ignore", invalid="ignore"):  # high == low leaves no blend band
        smooth = (original / wavelengths - low) / (high - low)
        blended = 1.0 / ((1 - smooth) / factor + smooth)
    divisors = np.where(wavelengths < original / high, 1.0,
                        np.where(wavelengths > original / low, factor, blended))
    return divisors.astype(np.float32)


@dataclass(frozen=True)
class _Source:
    file: Path
    dtype: str  # safetensors dtype name: F32, F16, BF16
    shape: tuple[int, ...]
    offset: int
    size: int


def _source_tensors(hf_dir: Path) -> dict[str, _Source]:
    """Names -> where their bytes are, across one or several safetensors files."""
    from gguf.utility import SafetensorsLocal

    index = hf_dir / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"Cannot read {index}: {exc}.", "Save the model again.") from None
        files = sorted({hf_dir / name for name in weight_map.values()})
    elif (hf_dir / "model.safetensors").is_file():
        files = [hf_dir / "model.safetensors"]
    else:
        raise ModelError(
            f"{hf_dir} has no model.safetensors.",
            "Save the model with save_pretrained(safe_serialization=True) and retry.")
    found: dict[str, _Source] = {}
    for file in files:
        try:
            tensors = SafetensorsLocal(file).tensors
        except (OSError, ValueError) as exc:
            raise ModelError(f"Cannot read the weights file {file}: {exc}.",
                             "The file may be damaged or incomplete; save the model again."
                             ) from None
        for name, local in tensors.items():
            if local.dtype not in _DECODERS:
                raise ModelError(
                    f"{file.name}: weight {name} is stored as {local.dtype}, which the "
                    "exporter cannot read.", "Save the model in float32, float16 or bfloat16.")
            found[name] = _Source(file, local.dtype, tuple(local.shape),
                                  local.data_range.offset, local.data_range.size)
    return found


def _decode_bf16(raw: np.ndarray) -> np.ndarray:
    return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)


_DECODERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "F32": lambda raw: raw.view(np.float32),
    "F16": lambda raw: raw.view(np.float16),
    "BF16": _decode_bf16,
}


def _loader(source: _Source, dtype: np.dtype,
            heads: int | None) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        raw = np.memmap(source.file, dtype=np.uint8, mode="r", offset=source.offset,
                        shape=(source.size,))
        values = _DECODERS[source.dtype](raw).reshape(source.shape)
        if heads is not None:
            values = rotary_pairs_layout(values, heads)
        return np.ascontiguousarray(values, dtype=dtype)

    return load


def _rotary_heads(hf_name: str, shape: ModelShape) -> int | None:
    if hf_name.endswith(("self_attn.q_proj.weight", "self_attn.q_proj.bias")):
        return shape.n_head
    if hf_name.endswith(("self_attn.k_proj.weight", "self_attn.k_proj.bias")):
        return shape.n_head_kv
    return None


def _target_dtype(gguf_name: str, n_dims: int, ftype: str) -> np.dtype:
    """f16 files keep 1-D tensors (norms, biases) in f32, as llama.cpp's kernels expect."""
    if ftype == "f16" and n_dims >= 2 and not gguf_name.endswith("_norm.weight"):
        return np.dtype(np.float16)
    return np.dtype(np.float32)


def _order_key(gguf_name: str) -> tuple[int, str]:
    parts = gguf_name.split(".")
    if parts[0] == "blk":
        return int(parts[1]), gguf_name
    return (-1 if parts[0] == "token_embd" else 1 << 30), gguf_name


def _check_complete(hf_dir: Path, shape: ModelShape, tensors: list[PlannedTensor]) -> None:
    have = {t.name for t in tensors}
    needed = ["token_embd.weight", "output_norm.weight"]
    if not shape.tied_embeddings:
        needed.append("output.weight")
    per_block = ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                 "ffn_gate", "ffn_up", "ffn_down")
    needed += [f"blk.{b}.{part}.weight" for b in range(shape.n_layers) for part in per_block]
    missing = [name for name in needed if name not in have]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        hint = ("Save the complete model (save_pretrained) and retry."
                if "output.weight" not in missing else
                "config.json says the output layer is not tied to the embeddings, yet "
                "lm_head.weight is missing: save the model again.")
        raise ModelError(
            f"Cannot export {hf_dir.name}: weights missing ({', '.join(missing[:3])}{more}).",
            hint)


def describe_plan(tensors: list[PlannedTensor]) -> dict[str, Any]:
    """Counts by dtype and total bytes, for logs and the benchmark."""
    counts: dict[str, int] = {}
    for tensor in tensors:
        counts[tensor.dtype.name] = counts.get(tensor.dtype.name, 0) + 1
    return {"tensors": len(tensors), "by_dtype": counts,
            "bytes": sum(t.nbytes for t in tensors)}
