"""Real SFT on the embedded model, on the CPU, for a few steps on the tiny set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from transformers import TrainerCallback

from core.jobs.context import JobCancelled
from core.jobs.events import STOP_FILE, read_events
from core.training.engine import run_training
from tests.core.training.conftest import QUESTIONS, tiny_spec

pytestmark = pytest.mark.slow


def _metrics(run_dir: Path, key: str) -> list[tuple[int, float]]:
    return [(e["step"], e[key]) for e in read_events(run_dir)
            if e["type"] == "metric" and key in e]


def test_full_sft_overfits_and_saves_a_complete_run(train_project: Path, run_ctx: Any) -> None:
    ctx = run_ctx("sft")
    # the whole training set in every step, so step losses compare like with like
    spec = tiny_spec(train_project, "sft", max_steps=4, batch_size=8, learning_rate=2e-4,
                     max_length=48, sample_tokens=6, sample_every=2, questions=QUESTIONS)
    final = run_training(spec, ctx)
    losses = [loss for _, loss in _metrics(ctx.run_dir, "loss")]
    assert len(losses) == 4 and losses[-1] < losses[0] * 0.8, losses
    events = read_events(ctx.run_dir)
    stages = [e["name"] for e in events if e["type"] == "stage"]
    assert stages == ["prepare", "sft", "save"]
    step_metrics = [e for e in events if e["type"] == "metric" and "loss" in e]
    assert {"lr", "grad_norm", "tokens_per_s"} <= set(step_metrics[-1])
    assert _metrics(ctx.run_dir, "eval_loss")
    samples = [e for e in events if e["type"] == "sample"]
    assert [s["step"] for s in samples] == [2, 4] and samples[0]["question"] == QUESTIONS[0]
    progress = [e for e in events if e["type"] == "progress"]
    assert [p["step"] for p in progress] == [1, 2, 3, 4] and progress[-1]["total"] == 4
    # final/ is a complete Hugging Face folder with the model's own chat template
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (final / name).is_file(), name
    saved = "".join(p.read_text() for p in final.iterdir()
                    if p.name in ("tokenizer_config.json", "chat_template.jinja"))
    assert "<|im_start|>" in saved and "endgeneration" not in saved
    config = json.loads((ctx.run_dir / "config.json").read_text())
    assert config["data_hash"].startswith("sha256:") and config["seed"] == 42
    assert {"torch", "transformers", "trl", "peft"} <= set(config["versions"])
    assert config["spec"]["params"]["max_steps"] == 4
    summary = json.loads((ctx.run_dir / "summary.json").read_text())
    assert summary["method"] == "sft" and summary["steps"] == 4
    assert summary["data"] == {"train": 8, "validation": 2}
    assert summary["final_metrics"]["loss"] == pytest.approx(losses[-1])
    # the estimate is a real formula: within 25% of the measured peak
    ratio = summary["estimate_ratio"]
    assert ratio == pytest.approx(summary["estimate_bytes"] / summary["measured_bytes"], abs=1e-3)
    print(f"\n[memory] estimate {summary['estimate_bytes'] / 2**20:.0f} MiB, measured "
          f"{summary['measured_bytes'] / 2**20:.0f} MiB (ratio {ratio:.2f})")
    assert 0.75 <= ratio <= 1.25


def test_lora_sft_learns_and_merges(train_project: Path, run_ctx: Any,
                                    embedded_dir: Path) -> None:
    from safetensors.torch import load_file

    ctx = run_ctx("lora")
    spec = tiny_spec(train_project, "sft-lora", max_steps=4, batch_size=8, learning_rate=2e-3,
                     max_length=48, lora_r=8, lora_alpha=16, lora_dropout=0.0)
    final = run_training(spec, ctx)
    losses = [loss for _, loss in _metrics(ctx.run_dir, "loss")]
    assert losses[-1] < losses[0] * 0.9, losses
    assert not (final / "adapter_config.json").exists()  # merged into a plain model
    trained = load_file(str(final / "model.safetensors"))
    base = load_file(str(embedded_dir / "model.safetensors"))
    name = "model.layers.0.self_attn.q_proj.weight"
    assert not (trained[name] == base[name]).all()  # LoRA on q/k/v changed q_proj
    mlp = "model.layers.0.mlp.down_proj.weight"
    assert (trained[mlp] == base[mlp]).all()  # and nothing outside its targets


class _StopAt(TrainerCallback):
    """Creates STOP after ``step``, as the GUI's Cancel button does."""

    def __init__(self, run_dir: Path, step: int) -> None:
        self.run_dir, self.step = run_dir, step

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.step:
            (self.run_dir / STOP_FILE).touch()


def test_cancel_saves_a_checkpoint_and_resume_continues(train_project: Path,
                                                        run_ctx: Any) -> None:
    ctx = run_ctx("cancel")
    settings = {"max_steps": 5, "lora_r": 4, "lora_alpha": 8, "max_length": 48,
                "learning_rate": 1e-3}
    spec = tiny_spec(train_project, "sft-lora", **settings)
    with pytest.raises(JobCancelled):
        run_training(spec, ctx, extra_callbacks=(_StopAt(ctx.run_dir, 2),))
    # the callback that reports sees STOP on the step after it appeared
    checkpoints = [e for e in read_events(ctx.run_dir) if e["type"] == "checkpoint"]
    assert [c["step"] for c in checkpoints] == [3]
    assert (ctx.run_dir / "checkpoints" / "checkpoint-3" / "optimizer.pt").is_file()
    assert not (ctx.run_dir / "final").exists()
    before = len(read_events(ctx.run_dir))

    resumed = tiny_spec(train_project, "sft-lora", resume=True, **settings)
    run_training(resumed, ctx)
    assert not (ctx.run_dir / STOP_FILE).exists()
    later = read_events(ctx.run_dir)[before:]
    steps = [e["step"] for e in later if e["type"] == "progress"]
    assert steps == [4, 5]  # global step continues; it does not restart at 1
    assert any(e["type"] == "log" and "resuming from checkpoint-3" in e["message"]
               for e in later)
    assert (ctx.run_dir / "final" / "model.safetensors").is_file()


def test_from_scratch_trains_the_papers_small_llama_when_insisted(train_project: Path,
                                                                  run_ctx: Any) -> None:
    ctx = run_ctx("scratch")
    spec = tiny_spec(train_project, "sft", preset="from-scratch", insist=True, max_steps=2,
                     batch_size=4, max_length=48)
    final = run_training(spec, ctx)
    config = json.loads((final / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"]) == (4, 512)
    assert (config["num_attention_heads"], config["num_key_value_heads"]) == (16, 8)
    rope = config.get("rope_parameters") or config
    assert config["intermediate_size"] == 4096 and rope["rope_theta"] == 3906.25
    assert config["max_position_embeddings"] == 1024
    losses = _metrics(ctx.run_dir, "loss")
    assert losses[0][1] > 9  # random weights: about ln(vocab) = 10.8
