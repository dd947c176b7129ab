"""What llama.cpp must know about a model's shape, read from a Hugging Face ``config.json``.

llama.cpp rebuilds the network from GGUF metadata alone: layer count, widths, head counts,
RoPE base and scaling, norm epsilon, context length. A wrong or missing value gives a file that
loads but answers nonsense, so anything we cannot describe exactly is refused here, before a
byte is written, with a message that names the folder and what is unsupported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ModelError

# HF architecture -> GGUF architecture name (gguf.MODEL_ARCH_NAMES spelling).
SUPPORTED_ARCHITECTURES: dict[str, str] = {
    "LlamaForCausalLM": "llama",  # SmolLM2, Llama 3.x
    "Qwen2ForCausalLM": "qwen2",  # Qwen 2 / 2.5
}
_MODEL_TYPES = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM"}
_SUPPORTED_ROPE = ("default", "llama3", "linear", "yarn")


@dataclass(frozen=True)
class ModelShape:
    """The hyper-parameters an export needs, validated and normalised across config styles."""

    hf_architecture: str
    arch: str  # GGUF architecture name
    n_layers: int
    hidden: int
    n_ff: int
    n_head: int
    n_head_kv: int
    head_dim: int
    vocab_size: int
    context_length: int
    rms_eps: float
    rope_theta: float
    rope: dict[str, Any] = field(default_factory=dict)  # rope_type and its parameters
    tied_embeddings: bool = False
    explicit_head_dim: bool = False

    @property
    def undo_rotary_permutation(self) -> bool:
        """llama.cpp's llama graph pairs rotary dimensions (i, i+1); HF pairs (i, i+d/2).
        Qwen2 runs llama.cpp's NeoX-style rope, which already pairs them as HF does."""
        return self.arch == "llama"


def read_config(hf_dir: Path) -> dict[str, Any]:
    path = hf_dir / "config.json"
    if not hf_dir.is_dir():
        raise ModelError(f"The model folder {hf_dir} does not exist.",
                         "Choose a trained run or a Hugging Face model folder.")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{hf_dir} has no config.json, so it is not a Hugging Face model folder.",
                         "Choose the folder that holds config.json and model.safetensors."
                         ) from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"Cannot read {path}: {exc}.",
                         "Save the model again (save_pretrained) and retry.") from None
    if not isinstance(config, dict):
        raise ModelError(f"{path} is not a JSON object.", "Save the model again and retry.")
    return config


def describe_model(hf_dir: Path) -> ModelShape:
    """Validate ``hf_dir/config.json`` for export; raise ModelError naming what is unsupported."""
    config = read_config(hf_dir)
    architecture = _architecture(config)
    supported = ", ".join(SUPPORTED_ARCHITECTURES)
    if architecture not in SUPPORTED_ARCHITECTURES:
        raise ModelError(
            f"Cannot export {hf_dir.name} to GGUF: its architecture {architecture} is not "
            f"supported (supported: {supported}).",
            "Fine-tune one of the supported model families (SmolLM2, Llama 3.x, Qwen 2.5), "
            "or convert this model with llama.cpp's own convert_hf_to_gguf.py.")
    arch = SUPPORTED_ARCHITECTURES[architecture]

    def need(*keys: str) -> Any:
        for key in keys:
            if config.get(key) is not None:
                return config[key]
        raise ModelError(f"{hf_dir / 'config.json'} has no {keys[0]}.",
                         "Save the model again with save_pretrained and retry.")

    _refuse_unsupported_features(hf_dir, config, architecture)
    n_head = int(need("num_attention_heads"))
    hidden = int(need("hidden_size"))
    head_dim = config.get("head_dim")
    rope = _rope_parameters(hf_dir, config)
    return ModelShape(
        hf_architecture=architecture,
        arch=arch,
        n_layers=int(need("num_hidden_layers")),
        hidden=hidden,
        n_ff=int(need("intermediate_size")),
        n_head=n_head,
        n_head_kv=int(config.get("num_key_value_heads") or n_head),
        head_dim=int(head_dim) if head_dim else hidden // n_head,
        vocab_size=int(need("vocab_size")),
        context_length=int(need("max_position_embeddings")),
        rms_eps=float(need("rms_norm_eps")),
        rope_theta=float(rope.pop("rope_theta", 10000.0)),
        rope=rope,
        tied_embeddings=bool(config.get("tie_word_embeddings", False)),
        explicit_head_dim=bool(head_dim) and int(head_dim) != hidden // n_head,
    )


def write_model_metadata(writer: Any, shape: ModelShape, name: str, file_type: int) -> None:
    """The ``general.*`` and ``<arch>.*`` keys llama.cpp reads to rebuild the network."""
    import gguf

    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name)
    writer.add_block_count(shape.n_layers)
    writer.add_context_length(shape.context_length)
    writer.add_embedding_length(shape.hidden)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_rope_freq_base(shape.rope_theta)
    writer.add_layer_norm_rms_eps(shape.rms_eps)
    writer.add_vocab_size(shape.vocab_size)
    writer.add_rope_dimension_count(shape.head_dim)
    if shape.explicit_head_dim:
        writer.add_key_length(shape.head_dim)
        writer.add_value_length(shape.head_dim)
    rope_type = shape.rope.get("rope_type", "default")
    if rope_type == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(shape.rope["factor"]))
    elif rope_type == "yarn":
        writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        writer.add_rope_scaling_factor(float(shape.rope["factor"]))
        original = shape.rope.get("original_max_position_embeddings") or shape.context_length
        writer.add_rope_scaling_orig_ctx_len(int(original))
    # "llama3" scaling travels as the rope_freqs tensor (see tensors.llama3_rope_factors).
    writer.add_file_type(file_type)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


def _architecture(config: dict[str, Any]) -> str:
    architectures = config.get("architectures")
    if isinstance(architectures, list) and architectures:
        return str(architectures[0])
    model_type = str(config.get("model_type", "unknown"))
    return _MODEL_TYPES.get(model_type, model_type)


def _refuse_unsupported_features(hf_dir: Path, config: dict[str, Any], architecture: str) -> None:
    """Options llama.cpp's llama/qwen2 graphs do not implement: exporting them would be wrong."""
    problems = []
    if config.get("hidden_act", "silu") != "silu":
        problems.append(f"activation {config['hidden_act']}")
    if config.get("mlp_bias"):
        problems.append("MLP biases")
    if architecture == "Qwen2ForCausalLM" and config.get("use_sliding_window"):
        problems.append("sliding-window attention")
    if config.get("quantization_config"):
        problems.append("quantized weights (bitsandbytes/GPTQ/AWQ)")
    if problems:
        raise ModelError(
            f"Cannot export {hf_dir.name} to GGUF: {', '.join(problems)} not supported.",
            "Merge and save the model in full precision without these options, then retry.")


def _rope_parameters(hf_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    """transformers 5 keeps RoPE settings in ``rope_parameters``; 4.x in rope_theta/rope_scaling."""
    found: dict[str, Any] = {}
    if config.get("rope_theta") is not None:
        found["rope_theta"] = config["rope_theta"]
    for key in ("rope_scaling", "rope_parameters"):
        value = config.get(key)
        if isinstance(value, dict):
            found.update(value)
    if "type" in found and "rope_type" not in found:
        found["rope_type"] = found.pop("type")
    rope_type = found.get("rope_type") or "default"
    found["rope_type"] = rope_type
    if rope_type not in _SUPPORTED_ROPE:
        raise ModelError(
            f"Cannot export {hf_dir.name} to GGUF: RoPE scaling {rope_type!r} is not supported "
            f"(supported: {', '.join(_SUPPORTED_ROPE)}).",
            "Use a model without this RoPE scaling, or llama.cpp's own converter.")
    if rope_type != "default" and found.get("factor") is None:
        raise ModelError(f"{hf_dir / 'config.json'}: RoPE scaling {rope_type!r} has no factor.",
                         "Fix the model's config.json and retry.")
    return found
