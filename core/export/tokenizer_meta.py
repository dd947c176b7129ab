"""The ``tokenizer.*`` metadata llama.cpp needs to tokenize exactly as the model was trained.

Two routes. A model that came from a GGUF (the embedded SmolLM2) copies the source file's
tokenizer fields: they are what llama.cpp already tokenizes correctly, so this is the safest
route (DESIGN). Any other folder has its byte-level BPE tokenizer described from
``tokenizer.json``: tokens, token types, merges, special ids, whether a BOS is prepended, the
chat template, and the pre-tokenizer's llama.cpp name. The pre-tokenizer is recognised from
its structure (llama.cpp implements a fixed set of pre-tokenizers by name); one we cannot name
exactly is refused, because a guessed name gives a file that tokenizes numbers or spaces
differently from training without any error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from core.errors import ModelError

# The Split regexes of the Llama 3 and Qwen 2 tokenizer.json files (HF spelling).
_LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_SPLIT_NAMES = {_LLAMA3_SPLIT: "llama-bpe", _QWEN2_SPLIT: "qwen2"}
# transformers' {% generation %} markers only mask the training loss; llama.cpp's and
# Ollama's template engines do not know the tag.
_GENERATION_TAG = re.compile(r"\{%-?\s*(?:end)?generation\s*-?%\}")


def add_tokenizer_metadata(writer: Any, hf_dir: Path, vocab_size: int,
                           source_gguf: Path | None = None) -> str:
    """Write the tokenizer fields; return one line saying where they came from."""
    if source_gguf is not None:
        reason = _copy_from_gguf(writer, Path(source_gguf), hf_dir, vocab_size)
        if reason is None:
            return f"Tokenizer copied from {Path(source_gguf).name}"
        _build_from_folder(writer, hf_dir, vocab_size)
        return f"Tokenizer rebuilt from {hf_dir.name}/tokenizer.json ({reason})"
    _build_from_folder(writer, hf_dir, vocab_size)
    return f"Tokenizer built from {hf_dir.name}/tokenizer.json"


def folder_chat_template(hf_dir: Path) -> str | None:
    """The folder's chat template (tokenizer_config.json or chat_template.jinja), cleaned."""
    import gguf

    template = gguf.SpecialVocab(hf_dir, load_merges=False).chat_template
    return _GENERATION_TAG.sub("", template) if isinstance(template, str) else None


def pre_tokenizer_name(pre_tokenizer: dict[str, Any] | None) -> str | None:
    """llama.cpp's name for a tokenizer.json pre-tokenizer, or None if it has none."""
    if not isinstance(pre_tokenizer, dict):
        return None
    steps = (pre_tokenizer.get("pretokenizers") or []
             if pre_tokenizer.get("type") == "Sequence" else [pre_tokenizer])
    kinds = [step.get("type") for step in steps]
    if not kinds or kinds[-1] != "ByteLevel" or steps[-1].get("add_prefix_space"):
        return None
    byte_level_regex = steps[-1].get("use_regex", True)
    if kinds == ["ByteLevel"] and byte_level_regex:
        return "gpt-2"
    if kinds == ["Digits", "ByteLevel"] and byte_level_regex:
        return "smollm" if steps[0].get("individual_digits") else None
    if kinds == ["Split", "ByteLevel"] and not byte_level_regex:
        pattern = (steps[0].get("pattern") or {}).get("Regex")
        if steps[0].get("behavior") == "Isolated" and not steps[0].get("invert"):
            return _SPLIT_NAMES.get(pattern)
    return None


def _copy_from_gguf(writer: Any, source: Path, hf_dir: Path, vocab_size: int) -> str | None:
    """Copy every ``tokenizer.*`` field; return why not (the caller then rebuilds) or None."""
    from core.export.gguf_fields import read_fields

    try:
        fields = read_fields(source, "tokenizer.")
    except (OSError, ValueError) as exc:
        raise ModelError(f"Cannot read the source model file {source}: {exc}.",
                         "Export without a source file, or reinstall the app's packages."
                         ) from None
    tokens = fields.get("tokenizer.ggml.tokens")
    if tokens is None:
        return f"{source.name} has no tokenizer"
    if len(tokens.value) != vocab_size:
        return f"{source.name} has {len(tokens.value)} tokens, the model {vocab_size}"
    folder = _folder_tokens(hf_dir, vocab_size)
    if folder is not None and [t.encode("utf-8") for t in folder[0]] != tokens.value:
        return f"the folder's vocabulary differs from {source.name}'s"
    template = folder_chat_template(hf_dir)
    for key, field in fields.items():
        if key == "tokenizer.chat_template" and template is not None:
            continue  # the folder's own template wins: training may have changed it
        writer.add_key_value(key, field.value, _value_type(field.vtype),
                             sub_type=None if field.sub_type is None
                             else _value_type(field.sub_type))
    if template:
        writer.add_chat_template(template)
    return None


def _value_type(code: int) -> Any:
    from gguf import GGUFValueType

    return GGUFValueType(code)


def _build_from_folder(writer: Any, hf_dir: Path, vocab_size: int) -> None:
    import gguf

    loaded = _folder_tokens(hf_dir, vocab_size, require=True)
    assert loaded is not None
    tokens, types, pre = loaded
    special = gguf.SpecialVocab(hf_dir, load_merges=True, n_vocab=vocab_size)
    if not special.merges:
        raise ModelError(f"{hf_dir / 'tokenizer.json'} has no BPE merges.",
                         "Save the tokenizer again with save_pretrained and retry.")
    if isinstance(special.chat_template, str):
        special.chat_template = _GENERATION_TAG.sub("", special.chat_template)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    special.add_to_gguf(writer, quiet=True)
    # llama.cpp prepends a BOS by default for several pre-tokenizers (smollm among them);
    # say explicitly when the HF tokenizer does not.
    for kind in ("bos", "eos"):
        if kind not in special.add_special_token:
            getattr(writer, f"add_add_{kind}_token")(False)


def _folder_tokens(hf_dir: Path, vocab_size: int,
                   require: bool = False) -> tuple[list[str], list[int], str] | None:
    """Token strings and types by id (padded to vocab_size) and the pre-tokenizer name."""
    import gguf

    path = hf_dir / "tokenizer.json"
    hint = ("Only byte-level BPE tokenizers (SmolLM2, Llama 3.x, Qwen 2.5) can be exported; "
            "save the model's fast tokenizer (tokenizer.json) with it.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if not require:
            return None
        raise ModelError(f"{hf_dir} has no tokenizer.json.", hint) from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"Cannot read {path}: {exc}.", hint) from None
    model = data.get("model") or {}
    decoder = data.get("decoder") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback") or \
            decoder.get("type") != "ByteLevel":
        if not require:
            return None
        raise ModelError(f"{path.name} in {hf_dir.name} is not a byte-level BPE tokenizer.", hint)
    pre = pre_tokenizer_name(data.get("pre_tokenizer"))
    if pre is None and require:
        raise ModelError(
            f"The pre-tokenizer in {path} is not one llama.cpp implements by name, so the "
            "export would tokenize differently from training.", hint)
    by_id: dict[int, tuple[str, int]] = {
        index: (text, gguf.TokenType.NORMAL) for text, index in model.get("vocab", {}).items()}
    for added in data.get("added_tokens", []):
        kind = gguf.TokenType.CONTROL if added.get("special") else gguf.TokenType.USER_DEFINED
        by_id[int(added["id"])] = (added["content"], kind)
    if by_id and max(by_id) >= vocab_size:
        raise ModelError(
            f"{path} has token id {max(by_id)}, beyond the model's vocabulary of {vocab_size}.",
            "Resize the model's embeddings to the tokenizer (resize_token_embeddings) and save "
            "it again.")
    tokens, types = [], []
    for index in range(vocab_size):
        text, kind = by_id.get(index, (f"[PAD{index}]", gguf.TokenType.UNUSED))
        tokens.append(text)
        types.append(int(kind))
    return tokens, types, pre or ""
