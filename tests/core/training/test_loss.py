"""The CPU label-only loss: the same numbers as the model's own loss over full logits."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def model() -> object:
    from transformers import AutoModelForCausalLM

    from core.models.embedded import embedded_hf_dir

    return AutoModelForCausalLM.from_pretrained(str(embedded_hf_dir()), dtype=torch.float32)


def _batch() -> dict[str, object]:
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(100, 40000, (2, 24), generator=generator)
    labels = ids.clone()
    labels[0, :10] = -100  # a prompt
    labels[1, :15] = -100  # a longer prompt
    labels[1, 20:] = -100  # padding
    return {"input_ids": ids, "labels": labels}


def _grad(model: object) -> object:
    return model.model.layers[2].mlp.up_proj.weight.grad.clone()  # type: ignore[attr-defined]


def test_loss_and_gradients_equal_the_full_logits_loss(model: object) -> None:
    from core.training.loss import label_only_nll

    batch = _batch()
    model.zero_grad()  # type: ignore[attr-defined]
    theirs = model(**batch).loss  # type: ignore[operator]  # mean over labelled tokens
    theirs.backward()
    their_grad = _grad(model)
    model.zero_grad()  # type: ignore[attr-defined]
    ours, labelled, correct = label_only_nll(model, dict(batch))
    ours.backward()
    labels = batch["labels"][:, 1:]  # type: ignore[index]
    assert labelled == int((labels != -100).sum())
    assert 0 <= correct <= labelled
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert torch.allclose(_grad(model), their_grad, atol=1e-6, rtol=1e-4)
    model.zero_grad()  # type: ignore[attr-defined]


def test_num_items_in_batch_sets_the_denominator(model: object) -> None:
    from core.training.loss import label_only_nll

    with torch.no_grad():
        mean, labelled, _ = label_only_nll(model, _batch())
        summed, _, _ = label_only_nll(model, _batch(), num_items_in_batch=2 * labelled)
    assert torch.allclose(summed, mean / 2, atol=1e-6)


def test_bf16_autocast_stays_close_to_float32(model: object) -> None:
    from core.training.device import cpu_has_fast_bf16
    from core.training.loss import label_only_nll

    with torch.no_grad():
        exact, _, _ = label_only_nll(model, _batch())
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_has_fast_bf16()):
            fast, _, _ = label_only_nll(model, _batch())
    assert abs(float(fast) - float(exact)) < 0.05 * float(exact)
