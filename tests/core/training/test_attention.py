"""Packed attention: the same numbers as one conversation at a time, on the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def model() -> object:
    from transformers import AutoModelForCausalLM

    from core.models.embedded import embedded_hf_dir
    from core.training.attention import register

    loaded = AutoModelForCausalLM.from_pretrained(str(embedded_hf_dir()), dtype=torch.float32,
                                                  attn_implementation=register())
    loaded.config.use_cache = False
    return loaded


LENGTHS = [7, 19, 12]


def _packed() -> tuple[object, object]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(100, 40000, (1, sum(LENGTHS)), generator=generator)
    positions = torch.cat([torch.arange(n) for n in LENGTHS]).unsqueeze(0)
    return ids, positions


def test_segments_are_found_from_restarting_positions() -> None:
    from core.training.attention import segment_bounds

    _, positions = _packed()
    assert segment_bounds(positions) == [0, 7, 26, 38]
    assert segment_bounds(torch.arange(10).unsqueeze(0)) is None  # one conversation
    assert segment_bounds(torch.arange(5, 10).unsqueeze(0)) is None  # a continuation


def test_packed_row_equals_each_conversation_alone(model: object) -> None:
    ids, positions = _packed()
    starts = [0, 7, 26]
    from unittest import mock

    with torch.no_grad():
        alone = torch.cat([model(input_ids=ids[:, s:s + n]).logits  # type: ignore[operator]
                           for s, n in zip(starts, LENGTHS, strict=True)], dim=1)
        sdpa = torch.nn.functional.scaled_dot_product_attention
        with mock.patch("torch.nn.functional.scaled_dot_product_attention",
                        wraps=sdpa) as calls:
            packed = model(input_ids=ids, position_ids=positions).logits  # type: ignore[operator]
    layers = model.config.num_hidden_layers  # type: ignore[attr-defined]
    assert calls.call_count == len(LENGTHS) * layers  # one SDPA call per conversation
    assert torch.allclose(packed, alone, atol=1e-4)
    # a row whose conversations could see each other gives different numbers
    with torch.no_grad():
        leaky = model(input_ids=ids).logits  # type: ignore[operator]
    assert not torch.allclose(leaky[:, 7:], alone[:, 7:], atol=1e-2)


def test_gradients_match_transformers_masked_sdpa(model: object) -> None:
    ids, positions = _packed()

    def grads(implementation: str) -> object:
        model.set_attn_implementation(implementation)  # type: ignore[attr-defined]
        model.zero_grad()  # type: ignore[attr-defined]
        out = model(input_ids=ids, position_ids=positions, labels=ids)  # type: ignore[operator]
        out.loss.backward()
        return model.model.layers[5].self_attn.q_proj.weight.grad.clone()  # type: ignore[attr-defined]

    from core.training.attention import NAME

    try:
        ours, theirs = grads(NAME), grads("sdpa")
    finally:
        model.set_attn_implementation(NAME)  # type: ignore[attr-defined]
        model.zero_grad()  # type: ignore[attr-defined]
    assert torch.allclose(ours, theirs, atol=1e-5, rtol=1e-3)


def test_padded_batches_and_generation_take_the_plain_path(model: object) -> None:
    ids, _ = _packed()
    batch = torch.cat([ids[:, :12], ids[:, 12:24]])
    mask = torch.ones_like(batch)
    mask[1, :4] = 0  # left padding
    with torch.no_grad():
        ours = model(input_ids=batch, attention_mask=mask).logits  # type: ignore[operator]
        model.set_attn_implementation("sdpa")  # type: ignore[attr-defined]
        try:
            theirs = model(input_ids=batch, attention_mask=mask).logits  # type: ignore[operator]
        finally:
            from core.training.attention import NAME

            model.set_attn_implementation(NAME)  # type: ignore[attr-defined]
        generated = model.generate(ids[:, :5], max_new_tokens=3, do_sample=False,  # type: ignore[attr-defined]
                                   use_cache=True)
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert generated.shape == (1, 8)


def test_a_saved_model_loads_where_the_attention_is_not_registered(model: object,
                                                                   tmp_path: Path) -> None:
    model.save_pretrained(str(tmp_path))  # type: ignore[attr-defined]
    config = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert "talksmall" not in json.dumps(config)


def test_sliding_windows_and_softcaps_keep_transformers_path() -> None:
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from core.training.attention import packed_sdpa_attention

    generator = torch.Generator().manual_seed(2)
    query, key, value = (torch.randn(1, 4, 38, 8, generator=generator) for _ in range(3))
    _, positions = _packed()
    module = torch.nn.Module()
    module.is_causal = True
    packed, _ = packed_sdpa_attention(module, query, key, value, None, position_ids=positions)
    plain, _ = sdpa_attention_forward(module, query, key, value, None)
    assert not torch.allclose(packed, plain, atol=1e-4)  # the packed path splits the row
    windowed, _ = packed_sdpa_attention(module, query, key, value, None,
                                        position_ids=positions, sliding_window=4)
    assert torch.allclose(windowed, plain)  # handed over unchanged, mask and all
