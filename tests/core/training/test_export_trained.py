"""A short real fine-tune (LoRA, merged on save) exported in every GGUF type answers like the
fine-tuned model does in transformers: the exporter on a run's output, not only on the base."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from core.export import export_gguf
from core.jobs.context import JobContext
from core.jobs.events import EventWriter
from core.models.embedded import embedded_gguf_path
from core.training.engine import run_training
from tests.core.export.test_gguf_export import (
    PROMPTS,
    _hf_reference,
    check_against_transformers,
)
from tests.core.training.conftest import tiny_spec

pytestmark = pytest.mark.slow
N_TOKENS = 48


@pytest.fixture(scope="module")
def fine_tuned(train_project: Path, embedded_dir: Path,
               tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A LoRA run with a high learning rate, so its merged weights really differ from the base."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run_dir = tmp_path_factory.mktemp("lora-run")
    spec = tiny_spec(train_project, "sft-lora", max_steps=3, batch_size=8, learning_rate=3e-3,
                     max_length=48)
    with EventWriter(run_dir, io.StringIO()) as writer:
        final = run_training(spec, JobContext(run_dir, writer))
    tuned, base = load_file(final / "model.safetensors"), load_file(
        embedded_dir / "model.safetensors")
    changed = [name for name, value in tuned.items()
               if name in base and not torch.equal(value, base[name])]
    tokenizer = AutoTokenizer.from_pretrained(final)
    model = AutoModelForCausalLM.from_pretrained(final, dtype=torch.float32).eval()
    references = []
    for messages in PROMPTS[:2]:
        ids = list(tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                 tokenize=True, return_dict=False))
        references.append(_hf_reference(model, ids, N_TOKENS))
    return {"final": final, "changed": changed, "references": references,
            "dir": tmp_path_factory.mktemp("lora-exports")}


@pytest.mark.parametrize("quant", ["f16", "q8_0", "q4_k_m"])
def test_a_fine_tuned_run_exports_to_every_type_and_answers_alike(fine_tuned, quant: str):
    assert any("q_proj" in name for name in fine_tuned["changed"]), "LoRA was not merged"
    path = export_gguf(fine_tuned["final"], fine_tuned["dir"] / f"tuned-{quant}.gguf", quant,
                       source_gguf=embedded_gguf_path())
    print("\n" + check_against_transformers(path, fine_tuned["references"], quant))
