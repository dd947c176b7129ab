"""The model a run starts from, and the complete Hugging Face folder it leaves behind.

The base is the embedded SmolLM2 (converted once, cached), a local Hugging Face folder, an
earlier run's ``final/`` (``run:<id>``; preference training usually starts from the newest
SFT run), or "scratch": the Talk Small paper's small LLaMA-3.2 shape with random weights and
the embedded model's tokenizer. ``final/`` is always a plain, merged folder (config,
safetensors, tokenizer with its original chat template) that the GGUF exporter can read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ModelError, TalkSmallError, ValidationError

LORA_TARGETS = {
    "attention": ["q_proj", "k_proj", "v_proj"],
    "attention+mlp": ["q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "down_proj"],
    "all-linear": "all-linear",
}


@dataclass
class Base:
    label: str  # what the operator chose, for the run history
    model_dir: Path | None  # None: from scratch
    tokenizer_dir: Path
    source_gguf: str | None  # the GGUF whose tokenizer an exporter can copy
    scratch_config: dict[str, Any] | None = None


def resolve_base(project: Any, choice: str, preference: bool,
                 scratch_model: dict[str, Any] | None = None) -> Base:
    """Turn the spec's ``base`` into folders; "" means the project's choice (for preference
    methods: its newest succeeded SFT run, if there is one)."""
    from core.models.embedded import embedded_gguf_path, embedded_hf_dir

    if not choice and preference:
        from core.training.history import newest_sft_run

        run = newest_sft_run(project)
        if run is not None:
            choice = f"run:{run}"
    if not choice:
        from core.project.model_choice import base_model

        choice = base_model(project)
    if choice in ("embedded", "scratch"):
        folder = embedded_hf_dir()
        gguf = str(embedded_gguf_path())
        if choice == "scratch":
            return Base("scratch", None, folder, None, scratch_config=scratch_model or {})
        return Base("embedded", folder, folder, gguf)
    if choice.startswith("run:") or (project.runs_dir / choice / "final").is_dir():
        run_id = choice.removeprefix("run:")
        folder = project.runs_dir / run_id / "final"
        if not (folder / "config.json").is_file():
            raise ValidationError("base", f"Run {run_id} has no finished model ({folder}).",
                                  "Choose a run that succeeded, or another base model.")
        gguf = _run_source_gguf(project.runs_dir / run_id)
        return Base(f"run:{run_id}", folder, folder, gguf)
    folder = Path(choice).expanduser()
    if folder.suffix.lower() == ".gguf":
        raise ValidationError("base", f"{folder.name} is a GGUF file; training needs a Hugging "
                              "Face folder.", "Choose the embedded model or a Hugging Face "
                              "model folder (config.json and safetensors).")
    if not (folder / "config.json").is_file():
        raise ValidationError("base", f"{folder} is not a Hugging Face model folder (no "
                              "config.json).", "Choose a folder with config.json, the weights "
                              "and the tokenizer files.")
    return Base(str(folder), folder, folder, None)


def _run_source_gguf(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "config.json").read_text(encoding="utf-8")).get(
            "source_gguf")
    except (OSError, ValueError):
        return None


def load_tokenizer(base: Base) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base.tokenizer_dir))
    except Exception as exc:  # transformers raises many kinds for a broken folder
        raise ModelError(f"Cannot load the tokenizer from {base.tokenizer_dir}: "
                         f"{type(exc).__name__}: {str(exc)[:200]}.",
                         "Choose a complete Hugging Face model folder.") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def scratch_config(tokenizer: Any, overrides: dict[str, Any]) -> Any:
    """The Talk Small paper's LLaMA-3.2 small config, with this tokenizer's vocabulary."""
    from transformers import LlamaConfig

    settings = {"hidden_size": 512, "num_hidden_layers": 4, "num_attention_heads": 16,
                "num_key_value_heads": 8, "intermediate_size": 4096,
                "max_position_embeddings": 1024, "rope_theta": 3906.25, **overrides}
    return LlamaConfig(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                       eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                       tie_word_embeddings=True, **settings)


def load_model(base: Base, params: dict[str, Any], device: Any, tokenizer: Any) -> Any:
    """The policy, in float32 (autocast handles bf16), optionally quantized for QLoRA."""
    import torch
    from transformers import AutoModelForCausalLM

    attention = "sdpa"
    if params.get("padding_free"):
        from core.training.attention import register

        attention = register()  # packed conversations attend only to themselves, cheaply
    if base.model_dir is None:
        torch.manual_seed(int(params["seed"]))
        config = scratch_config(tokenizer, base.scratch_config or {})
        return AutoModelForCausalLM.from_config(config, dtype=torch.float32,
                                                attn_implementation=attention)
    kwargs: dict[str, Any] = {"dtype": torch.float32, "attn_implementation": attention}
    if params.get("quantize", "none") != "none":
        kwargs["quantization_config"] = _bnb_config(params["quantize"], device)
        kwargs["dtype"] = torch.bfloat16
    try:
        return AutoModelForCausalLM.from_pretrained(str(base.model_dir), **kwargs)
    except TalkSmallError:
        raise
    except Exception as exc:
        raise ModelError(f"Cannot load the model from {base.model_dir}: "
                         f"{type(exc).__name__}: {str(exc)[:200]}.",
                         "The folder may be damaged or incomplete: choose another base model, "
                         "or copy it again.") from exc


def _bnb_config(kind: str, device: Any) -> Any:
    import importlib.util

    if device.kind != "cuda" or importlib.util.find_spec("bitsandbytes") is None:
        raise ValidationError("quantize", "QLoRA (4/8-bit) needs an NVIDIA GPU with the "
                              "bitsandbytes package; it is unavailable here.",
                              "Set quantize to none (LoRA in full precision works everywhere).")
    import torch
    from transformers import BitsAndBytesConfig

    if kind == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                              bnb_4bit_compute_dtype=torch.bfloat16)


def add_lora(model: Any, params: dict[str, Any]) -> Any:
    from peft import LoraConfig, get_peft_model

    if params.get("quantize", "none") != "none":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    config = LoraConfig(r=int(params["lora_r"]), lora_alpha=int(params["lora_alpha"]),
                        lora_dropout=float(params["lora_dropout"]),
                        target_modules=LORA_TARGETS[params["lora_targets"]],
                        task_type="CAUSAL_LM", bias="none")
    return get_peft_model(model, config)


def save_final(model: Any, tokenizer: Any, folder: Path,
               chat_template: str | None) -> tuple[Any, int]:
    """Write a complete HF folder (LoRA merged in); returns (the saved model, size in bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "peft_config"):
        model = model.merge_and_unload()
    model.save_pretrained(str(folder), safe_serialization=True)
    training_template = tokenizer.chat_template
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(str(folder))
    tokenizer.chat_template = training_template
    return model, sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
