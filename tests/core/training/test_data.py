"""The loss is on assistant turns only: everything else in the chat is masked out."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.paths import resources_dir
from core.training.data import load_rows, sample_questions, tokenize_chat, training_template


@pytest.fixture(scope="module")
def tokenizer(embedded_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(embedded_dir))


def test_only_assistant_tokens_carry_labels(tokenizer) -> None:
    template = training_template(tokenizer)
    assert "{%- generation %}" in template
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "tenant", "content": "Can I pay by card?"},
                {"role": "assistant", "content": "Yes, in the portal."},
                {"role": "tenant", "content": "And by cash?"},
                {"role": "assistant", "content": "No, sorry."}]
    item = tokenize_chat(tokenizer, template, messages, max_length=512)
    ids, labels = item["input_ids"], item["labels"]
    kept = [t for t, label in zip(ids, labels, strict=True) if label != -100]
    masked = [t for t, label in zip(ids, labels, strict=True) if label == -100]
    assert tokenizer.decode(kept) == "Yes, in the portal.<|im_end|>No, sorry.<|im_end|>"
    masked_text = tokenizer.decode(masked)
    for text in ("Be brief.", "Can I pay by card?", "And by cash?", "<|im_start|>tenant"):
        assert text in masked_text
    assert "portal" not in masked_text
    # the training template renders exactly what the model's own template renders
    assert tokenizer.decode(ids) == tokenizer.apply_chat_template(messages, tokenize=False)
    short = tokenize_chat(tokenizer, template, messages, max_length=10)
    assert len(short["input_ids"]) == 10 and set(short["labels"]) == {-100}


def test_llama3_template_ships_with_markers() -> None:
    text = (resources_dir() / "chat_templates" / "llama3_training.jinja").read_text()
    assert "{%- generation %}" in text and "<|eot_id|>" in text


def test_rows_come_from_the_project(train_project: Path) -> None:
    from core.project import open_project

    project = open_project(train_project)
    try:
        chats = load_rows(project, "chat")
        pairs = load_rows(project, "preference")
    finally:
        project.close()
    assert len(chats) == 10 and len(pairs) == 8
    assert chats[0]["messages"][0]["role"] == "system"
    assert {c["messages"][1]["role"] for c in chats} == {"tenant", "owner", "prospect"}
    assert pairs[0]["chosen"][0]["role"] == "assistant"
    questions = sample_questions(chats)
    assert len(questions) == 3 and len({q[-1]["role"] for q in questions}) == 3


def test_dry_run_checks_device_data_and_memory_without_training(train_project: Path,
                                                                run_ctx) -> None:
    import json

    from core.training.engine import run_training
    from tests.core.training.conftest import tiny_spec

    ctx = run_ctx("dry")
    path = run_training(tiny_spec(train_project, "sft", dry_run=True), ctx)
    report = json.loads(path.read_text())
    assert report["fits"] and report["data"] == {"train": 8, "validation": 2}
    assert report["estimate"]["memory_bytes"] > report["estimate"]["parts"]["weights"] > 0
    assert report["estimate"]["seconds"] > 0
    assert not (ctx.run_dir / "checkpoints").exists() and not (ctx.run_dir / "final").exists()


def test_from_scratch_refuses_a_tiny_corpus(train_project: Path, run_ctx) -> None:
    from core.errors import TalkSmallError
    from core.training.engine import run_training
    from tests.core.training.conftest import tiny_spec

    spec = tiny_spec(train_project, "sft", preset="from-scratch")
    assert spec.base == "scratch"
    with pytest.raises(TalkSmallError) as info:
        run_training(spec, run_ctx("scratch"))
    assert "450 million" in info.value.message and "insist" in info.value.hint
