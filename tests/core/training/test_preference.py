"""Real IPO (three variants) and DPO on the embedded model, on the CPU, tested on the weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from core.jobs.events import read_events
from core.training.engine import run_training
from tests.core.training.conftest import WeightRecorder, tiny_spec

pytestmark = pytest.mark.slow

NORM = "model.norm.weight"
Q0 = "model.layers.0.self_attn.q_proj.weight"
FAST = {"batch_size": 1, "max_length": 48}  # one pair a step keeps full-model runs short


def _metric(run_dir: Path, key: str) -> list[float]:
    return [e[key] for e in read_events(run_dir) if e["type"] == "metric" and key in e]


def test_ipo_at_learning_rate_zero_has_the_closed_form_loss(train_project: Path,
                                                            run_ctx: Any) -> None:
    ctx = run_ctx("ipo-lr0")
    beta = 0.25
    spec = tiny_spec(train_project, "ipo", max_steps=2, learning_rate=0.0, beta=beta,
                     lora=True, lora_r=4, lora_alpha=8, **FAST)
    run_training(spec, ctx)
    losses = _metric(ctx.run_dir, "loss")
    assert losses == [pytest.approx((1 / (2 * beta)) ** 2, abs=1e-6)] * 2
    assert _metric(ctx.run_dir, "reward_margin") == [0.0, 0.0]


def test_ipo_reference_is_frozen_while_the_policy_moves(train_project: Path,
                                                        run_ctx: Any) -> None:
    ctx = run_ctx("ipo")
    recorder = WeightRecorder(NORM, reference_name=NORM)
    spec = tiny_spec(train_project, "ipo", max_steps=2, learning_rate=1e-4, **FAST)
    run_training(spec, ctx, extra_callbacks=(recorder.callback,))
    assert not torch.equal(recorder.policy[2], recorder.policy[0])
    assert all(torch.equal(ref, recorder.reference[0]) for ref in recorder.reference.values())
    assert torch.equal(recorder.reference[0], recorder.policy[0])
    assert len(_metric(ctx.run_dir, "reward_margin")) == 2
    assert len(_metric(ctx.run_dir, "reward_accuracy")) == 2
    assert _metric(ctx.run_dir, "eval_loss")


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_ipo_checkpoint_resyncs_the_reference_exactly_at_sync_steps(
        train_project: Path, run_ctx: Any, lora: bool) -> None:
    ctx = run_ctx(f"ipo-ckpt-{lora}")
    # 6 training pairs, batch 1: 6 steps an epoch; 0.34 of an epoch = every 2 steps
    if lora:
        name = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.{}.weight"
        recorder = WeightRecorder(name.format("default"), reference_name=name.format("ref"))
        extra: dict[str, Any] = {"lora": True, "lora_r": 4, "lora_alpha": 8,
                                 "learning_rate": 1e-3}
    else:
        recorder = WeightRecorder(NORM, reference_name=NORM)
        extra = {"learning_rate": 1e-4}
    spec = tiny_spec(train_project, "ipo-checkpoint", max_steps=3, ref_sync_fraction=0.34,
                     **FAST, **extra)
    run_training(spec, ctx, extra_callbacks=(recorder.callback,))
    ref, policy = recorder.reference, recorder.policy
    assert torch.equal(ref[1], ref[0])  # no sync after step 1
    assert torch.equal(ref[2], policy[2]) and not torch.equal(ref[2], ref[1])  # synced at 2
    assert torch.equal(ref[3], ref[2]) and not torch.equal(policy[3], policy[2])  # not at 3
    assert any("every 2 steps" in e.get("message", "") for e in read_events(ctx.run_dir))


def _closed_form(snapshots: dict[int, torch.Tensor], decay: float) -> torch.Tensor:
    k = max(snapshots)
    value = decay**k * snapshots[0]
    for i in range(1, k + 1):
        value = value + (1 - decay) * decay ** (k - i) * snapshots[i]
    return value


def test_ipo_ema_saves_the_closed_form_average_of_the_policy(train_project: Path,
                                                             run_ctx: Any) -> None:
    ctx = run_ctx("ipo-ema")
    decay = 0.9  # the default 0.99 works the same; 0.9 makes each step's weight visible
    recorder = WeightRecorder(NORM)
    spec = tiny_spec(train_project, "ipo-ema", max_steps=2, learning_rate=1e-3,
                     ema_decay=decay, **FAST)
    final = run_training(spec, ctx, extra_callbacks=(recorder.callback,))
    saved = load_file(str(final / "model.safetensors"))[NORM].float()
    expected = _closed_form(recorder.policy, decay)
    assert torch.allclose(saved, expected, atol=1e-6, rtol=0)
    assert not torch.allclose(saved, recorder.policy[2], atol=1e-6, rtol=0)


def test_lora_ipo_ema_averages_the_merged_delta(train_project: Path, run_ctx: Any,
                                                embedded_dir: Path) -> None:
    ctx = run_ctx("ipo-ema-lora")
    decay = 0.9
    recorder = WeightRecorder("", lora_module="base_model.model.model.layers.0.self_attn.q_proj")
    spec = tiny_spec(train_project, "ipo-ema", max_steps=2, learning_rate=5e-3,
                     ema_decay=decay, lora=True, lora_r=4, lora_alpha=8, **FAST)
    final = run_training(spec, ctx, extra_callbacks=(recorder.callback,))
    base = load_file(str(embedded_dir / "model.safetensors"))[Q0].float()
    saved = load_file(str(final / "model.safetensors"))[Q0].float()
    expected = base + _closed_form(recorder.policy, decay)
    assert recorder.policy[2].abs().max() > 0  # the adapter did learn something
    assert torch.allclose(saved, expected, atol=1e-6, rtol=0)


def test_dpo_uses_its_own_beta_and_rate(train_project: Path, run_ctx: Any) -> None:
    ctx = run_ctx("dpo")
    spec = tiny_spec(train_project, "dpo", max_steps=2, lora=True, lora_r=4,
                     lora_alpha=8, learning_rate=5e-6, **FAST)
    assert spec.params["beta"] == 0.1
    final = run_training(spec, ctx)
    config = json.loads((ctx.run_dir / "config.json").read_text())
    assert config["spec"]["method"] == "dpo" and config["spec"]["params"]["beta"] == 0.1
    losses = _metric(ctx.run_dir, "loss")
    assert losses[0] == pytest.approx(0.693147, abs=1e-4)  # -log sigmoid(0) at the start
    assert (final / "model.safetensors").is_file()
