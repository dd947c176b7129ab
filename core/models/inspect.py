"""Tell what a model file or folder is before anything heavy touches it.

The operator may point the app at any path. ``inspect_model`` answers from headers and small
JSON files only (no torch, no transformers model class, nothing written), so the GUI can
validate a choice instantly and every problem reaches the user as a ``ModelError`` naming the
path and the reason, with a hint, instead of a traceback from a loader minutes later.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.errors import ModelError
from core.models.gguf_header import ArrayInfo, GGUFFormatError, check_tensor_data, read_header

PICK_HINT = "Choose a .gguf file or a Hugging Face model folder (config.json, weights, tokenizer)."

# GGUF architectures that encode or embed text but do not generate it.
_GGUF_NOT_GENERATIVE = {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "neo-bert",
                        "modern-bert", "t5encoder", "clip", "wavtokenizer-dec"}
# Heads that classify, fill in masks or tag tokens: refused without asking transformers.
_NOT_CAUSAL_SUFFIXES = ("ForMaskedLM", "ForSequenceClassification", "ForTokenClassification",
                        "ForQuestionAnswering", "ForMultipleChoice", "ForPreTraining",
                        "ForNextSentencePrediction", "ForImageClassification",
                        "ForAudioClassification", "ForCTC")
_CAUSAL_HINT = "Choose a chat or instruct model such as SmolLM2, Llama 3.2 or Qwen 2.5."
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "spiece.model",
                    "tokenizer.tiktoken")
_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length",
                 "seq_length", "n_ctx")
_LICENCES = {"apache-2.0": "Apache-2.0", "mit": "MIT", "bsd-3-clause": "BSD-3-Clause",
             "cc-by-4.0": "CC-BY-4.0", "cc-by-sa-4.0": "CC-BY-SA-4.0",
             "cc-by-nc-4.0": "CC-BY-NC-4.0", "gpl-3.0": "GPL-3.0", "openrail": "OpenRAIL"}


@dataclass(frozen=True)
class ModelInfo:
    """What the app needs to show and validate a model; stored as JSON in project.sqlite."""

    name: str
    kind: str  # "embedded" | "hf" | "gguf"
    path: str  # folder or .gguf file, absolute
    architecture: str
    parameters: int | None
    size_bytes: int
    licence: str
    has_chat_template: bool
    context_length: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__})


def inspect_model(path: str | Path) -> ModelInfo:
    """Describe a .gguf file or a Hugging Face causal-LM folder; ``ModelError`` if unusable."""
    target = Path(path).expanduser()
    try:
        target = target.resolve()
        if target.is_dir():
            return _inspect_hf_folder(target)
        if target.is_file():
            return inspect_gguf(target)
    except ModelError:
        raise
    except OSError as exc:
        raise ModelError(f"{target} cannot be read: {exc.strerror or exc}.",
                         "Check that the file is not open elsewhere and that you may read it."
                         ) from exc
    raise ModelError(f"{target} does not exist.", "Check the path, or pick the model again.")


def inspect_gguf(path: Path, kind: str = "gguf", name: str | None = None,
                 licence: str | None = None) -> ModelInfo:
    """Validate a GGUF file from its header and tensor table (never its tensor data)."""
    try:
        header = read_header(path)
        check_tensor_data(header)
    except GGUFFormatError as exc:
        reason = str(exc)
        if reason.startswith("it does not start"):
            raise ModelError(f"{path} is not a GGUF file ({reason}).", PICK_HINT) from None
        raise ModelError(f"{path} is not a usable GGUF file: {reason}.",
                         "Download or export the file again.") from None
    arch = header.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelError(f"{path} has no general.architecture in its metadata.",
                         "Re-export it with a current llama.cpp converter.")
    if header.get("general.type") == "adapter":
        raise ModelError(f"{path} is a LoRA adapter, not a complete model.",
                         "Choose the base model's GGUF, or a merged export.")
    if arch in _GGUF_NOT_GENERATIVE:
        raise ModelError(f"{path} holds a {arch} model, which embeds text but cannot write it.",
                         "Choose a chat or instruct model (a causal language model).")
    if not isinstance(header.get("tokenizer.ggml.tokens"), ArrayInfo | list):
        raise ModelError(f"{path} has no tokenizer in its metadata.",
                         "Choose a GGUF exported with its tokenizer (llama.cpp does so).")
    template = header.get("tokenizer.chat_template")
    context = header.get(f"{arch}.context_length")
    return ModelInfo(
        name=name or path.stem,
        kind=kind,
        path=str(path),
        architecture=arch,
        parameters=sum(t.n_elements for t in header.tensors) or None,
        size_bytes=header.file_size,
        licence=licence or _normalise_licence(header.get("general.license")),
        has_chat_template=isinstance(template, str) and bool(template.strip()),
        context_length=context if isinstance(context, int) and context > 0 else None,
    )


def _inspect_hf_folder(folder: Path) -> ModelInfo:
    config_file = folder / "config.json"
    if not config_file.is_file():
        ggufs = sorted(p.name for p in folder.glob("*.gguf"))
        hint = f"It holds {ggufs[0]}: choose that file instead." if ggufs else PICK_HINT
        raise ModelError(f"{folder} is not a Hugging Face model folder: it has no config.json.",
                         hint)
    config = _read_json(config_file)
    architecture = _causal_architecture(folder, config)
    weights = _weight_files(folder)
    if not weights:
        raise ModelError(
            f"{folder} has no weights (model.safetensors or pytorch_model.bin).",
            "Download the complete model folder, including its weight files.")
    if not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise ModelError(
            f"{folder} has no tokenizer (tokenizer.json, tokenizer.model or vocab.json).",
            "Download the complete model folder, including its tokenizer files.")
    tokenizer_config = folder / "tokenizer_config.json"
    tok_cfg = _read_json(tokenizer_config) if tokenizer_config.is_file() else {}
    template = tok_cfg.get("chat_template")
    has_template = bool(template) or any(
        (folder / n).is_file() for n in ("chat_template.jinja", "chat_template.json"))
    return ModelInfo(
        name=_folder_display_name(folder),
        kind="hf",
        path=str(folder),
        architecture=architecture,
        parameters=_safetensors_parameters(weights) or _estimate_parameters(config),
        size_bytes=sum(p.stat().st_size for p in folder.rglob("*")
                       if p.is_file() and ".git" not in p.parts),
        licence=_folder_licence(folder),
        has_chat_template=has_template,
        context_length=_context_length(config),
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path} is not valid JSON ({exc}).",
                         "Download the model folder again.") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path} does not hold a JSON object.", "Download the model again.")
    return data


def _causal_architecture(folder: Path, config: dict[str, Any]) -> str:
    """The generating class named by config.json; ``ModelError`` for encoders and the like."""
    archs = [a for a in config.get("architectures") or [] if isinstance(a, str)]
    model_type = config.get("model_type")
    for arch in archs:
        if arch.endswith(("ForCausalLM", "LMHeadModel")):
            return arch
    if archs and all(arch.endswith(_NOT_CAUSAL_SUFFIXES) for arch in archs):
        archs_named = ", ".join(archs)
        raise ModelError(
            f"{folder} holds a {archs_named} model, not a causal language model that can write "
            "answers.", _CAUSAL_HINT)
    # Rare names (or no "architectures" at all): ask transformers' own causal-LM table.
    # Imported only here, because importing it costs seconds.
    if archs or isinstance(model_type, str):
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

        causal_classes = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
        for arch in archs:
            if arch in causal_classes:
                return arch
        if not archs and model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
            return str(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[model_type])
    what = ", ".join(archs) or f"model_type {model_type!r}"
    raise ModelError(
        f"{folder} holds a {what} model, not a causal language model that can write answers.",
        _CAUSAL_HINT)


def _weight_files(folder: Path) -> list[Path]:
    found = sorted(folder.glob("*.safetensors"))
    return found or sorted(folder.glob("pytorch_model*.bin"))


def _safetensors_parameters(weights: list[Path]) -> int | None:
    """Count parameters from safetensors headers (8-byte length + JSON), not the tensors."""
    total = 0
    for file in weights:
        if file.suffix != ".safetensors":
            return None
        with file.open("rb") as handle:
            raw = handle.read(8)
            if len(raw) < 8:
                raise ModelError(f"{file} is empty or truncated.", "Download the model again.")
            (length,) = struct.unpack("<Q", raw)
            if length > 100_000_000 or length + 8 > file.stat().st_size:
                raise ModelError(f"{file} is not a valid safetensors file.",
                                 "Download the model again.")
            try:
                header = json.loads(handle.read(length))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise ModelError(f"{file} has a damaged safetensors header.",
                                 "Download the model again.") from None
        for key, entry in header.items():
            if key != "__metadata__" and isinstance(entry, dict):
                count = 1
                for dim in entry.get("shape", []):
                    count *= int(dim)
                total += count
    return total or None


def _estimate_parameters(config: dict[str, Any]) -> int | None:
    """Llama-family estimate for folders whose weights are pickles (no readable header)."""
    try:
        hidden = int(config["hidden_size"])
        layers = int(config["num_hidden_layers"])
        ffn = int(config["intermediate_size"])
        vocab = int(config["vocab_size"])
        heads = int(config["num_attention_heads"])
        kv_heads = int(config.get("num_key_value_heads") or heads)
    except (KeyError, TypeError, ValueError):
        return None
    head_dim = int(config.get("head_dim") or hidden // heads)
    attention = hidden * head_dim * (2 * heads + 2 * kv_heads)
    per_layer = attention + 3 * hidden * ffn + 2 * hidden
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings", False) else 2)
    return layers * per_layer + embeddings + hidden


def _context_length(config: dict[str, Any]) -> int | None:
    for key in _CONTEXT_KEYS:
        value = config.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _folder_display_name(folder: Path) -> str:
    """The folder's name; for a Hub cache snapshot (models--org--name/snapshots/<hash>), name."""
    if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith("models--"):
        return folder.parent.parent.name.split("--")[-1]
    return folder.name


def _folder_licence(folder: Path) -> str:
    """From the model card's front matter (``license:``), else a LICENSE file's first words."""
    readme = folder / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8", errors="replace")[:8192]
        front = re.match(r"---\s*\n(.*?)\n---", text, re.DOTALL)
        if front:
            found = re.search(r"^licen[cs]e:\s*['\"]?([^'\"\n]+)", front.group(1), re.MULTILINE)
            if found:
                return _normalise_licence(found.group(1).strip())
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
        file = folder / name
        if file.is_file():
            head = file.read_text(encoding="utf-8", errors="replace")[:2048]
            if "Apache License" in head and "2.0" in head:
                return "Apache-2.0"
            if "MIT License" in head:
                return "MIT"
    return "unknown"


def _normalise_licence(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        return "unknown"
    return _LICENCES.get(value.strip().lower(), value.strip())
