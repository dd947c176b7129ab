"""Trainer callbacks that turn a transformers/TRL run into protocol events and keep it honest.

``EventsCallback`` reports progress, metrics (with tokens/s), checkpoints and sample answers,
stops at a STOP file after saving a checkpoint, and fails the run on NaN loss or exploding
gradients with a plain reason (``TrainingHealthError``), so a diverged run is never shown as
succeeded. The preference-variant callbacks (EMA of the policy, adapter re-sync) are in
``core.training.variants``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from core.errors import TalkSmallError

# TRL / Trainer log keys -> protocol metric keys
METRIC_KEYS = {
    "loss": "loss",
    "eval_loss": "eval_loss",
    "learning_rate": "lr",
    "grad_norm": "grad_norm",
    "rewards/margins": "reward_margin",
    "rewards/accuracies": "reward_accuracy",
    "eval_rewards/margins": "eval_reward_margin",
    "eval_rewards/accuracies": "eval_reward_accuracy",
    "mean_token_accuracy": "token_accuracy",
}


class TrainingHealthError(TalkSmallError):
    """The run diverged (NaN loss, exploding gradients): failed, with what to change."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message, hint)
        self.code = code


class EventsCallback(TrainerCallback):
    def __init__(self, ctx: Any, *, total_steps: int, explode_grad_norm: float,
                 sample_every: int, sample_fn: Any = None) -> None:
        self.ctx = ctx
        self.total_steps = total_steps
        self.explode_grad_norm = explode_grad_norm
        self.sample_every = sample_every
        self.sample_fn = sample_fn
        self.cancelled = False
        self.last_metrics: dict[str, float] = {}
        self._tokens_at = (0, time.perf_counter())
        self._tokens_per_s: float | None = None
        self._first_loss: float | None = None
        self._sampled_at = -1

    # --- progress, stop, tokens/s --------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._tokens_at = (state.num_input_tokens_seen, time.perf_counter())
        if state.max_steps and state.max_steps > 0:  # the Trainer's own count wins
            self.total_steps = int(state.max_steps)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        step = state.global_step
        tokens, at = self._tokens_at
        now = time.perf_counter()
        seen = state.num_input_tokens_seen
        if seen > tokens and now > at:
            self._tokens_per_s = (seen - tokens) / (now - at)
        self._tokens_at = (seen, now)
        self.ctx.progress(step, self.total_steps)
        if self.ctx.should_stop():
            self.cancelled = True
            self.ctx.log("info", f"stop requested: saving a checkpoint at step {step}")
            control.should_save = True
            control.should_training_stop = True
            return
        if (self.sample_fn is not None and self.sample_every > 0
                and step % self.sample_every == 0 and step < self.total_steps):
            self.sample(step, kwargs.get("model"))

    def sample(self, step: int, model: Any) -> None:
        if self.sample_fn is None or step == self._sampled_at:
            return
        self._sampled_at = step
        for question, answer in self.sample_fn(model):
            self.ctx.emit("sample", step=step, question=question, answer=answer)

    # --- metrics and health -------------------------------------------------------------
    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        logs = logs or {}
        values: dict[str, float] = {}
        for key, name in METRIC_KEYS.items():
            value = logs.get(key)
            if isinstance(value, (int, float)):
                values[name] = float(value)
        if not values:
            return
        self._check_health(state.global_step, values)
        if "loss" in values and self._tokens_per_s is not None:
            values["tokens_per_s"] = round(self._tokens_per_s, 1)
        rounded = {k: (round(v, 6) if abs(v) >= 1e-3 else float(f"{v:.4g}"))
                   for k, v in values.items()}
        self.last_metrics.update(rounded)
        self.ctx.metric(state.global_step, **rounded)

    def _check_health(self, step: int, values: dict[str, float]) -> None:
        for key in ("loss", "eval_loss"):
            if key in values and not math.isfinite(values[key]):
                raise TrainingHealthError(
                    "nan_loss", f"The training loss became {values[key]} at step {step}: the "
                    "run diverged and its weights are unusable.",
                    "Lower the learning rate (try a tenth of it), keep gradient clipping on "
                    "(max_grad_norm 1.0) and start again.")
        loss = values.get("loss")
        if loss is not None:
            if self._first_loss is None:
                self._first_loss = loss
            elif loss > max(3 * self._first_loss, self._first_loss + 10):
                raise TrainingHealthError(
                    "loss_spike", f"The training loss jumped from {self._first_loss:.3g} to "
                    f"{loss:.3g} at step {step}: the run is diverging.",
                    "Lower the learning rate (try a tenth of it), keep gradient clipping on "
                    "(max_grad_norm 1.0) and start again.")
        grad = values.get("grad_norm")
        if grad is not None and (not math.isfinite(grad) or grad > self.explode_grad_norm):
            raise TrainingHealthError(
                "exploding_gradients", f"The gradient norm reached {grad:g} at step {step} "
                f"(limit {self.explode_grad_norm:g}): the run is diverging.",
                "Lower the learning rate, set max_grad_norm to 1.0, and start again.")

    # --- checkpoints --------------------------------------------------------------------
    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        self.ctx.checkpoint(state.global_step, path)
