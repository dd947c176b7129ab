"""Every training hyperparameter as data: name, type, default, range or choices, explanation.

The GUI's Advanced panel renders this table and validates each field as it is typed
(``validate_value``); presets and specs are checked against the same table, so a value the
panel accepts is a value the trainer accepts, and an error always names the field.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import ValidationError


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # int | float | bool | choice
    default: Any
    help: str  # one line, for the Advanced panel
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    stage: str = "all"  # all | sft | preference | lora: where it matters

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["choices"] = list(self.choices)
        return data


PARAMS: tuple[Param, ...] = (
    Param("epochs", "float", 3.0, "How many times the model reads the whole training set.",
          0.01, 100),
    Param("max_steps", "int", 0, "Stop after this many optimizer steps (0: run all epochs).",
          0, 1_000_000),
    Param("batch_size", "int", 8, "Conversations per step on the device; lower it if memory "
          "runs out.", 1, 1024),
    Param("grad_accum", "int", 1, "Steps whose gradients are added before one update "
          "(effective batch = batch size x this).", 1, 512),
    Param("learning_rate", "float", 5e-4, "Peak step size; too high diverges, too low learns "
          "nothing.", 0.0, 1.0),
    Param("lr_start_ratio", "float", 0.02, "Warm-up starts at this share of the peak rate.",
          0.0, 1.0),
    Param("min_lr_ratio", "float", 0.02, "The rate never decays below this share of the peak.",
          0.0, 1.0),
    Param("warmup_ratio", "float", 0.2, "Share of the steps spent raising the rate to its peak.",
          0.0, 0.9),
    Param("scheduler", "choice", "linear", "How the rate falls after warm-up.",
          choices=("linear", "cosine", "constant")),
    Param("weight_decay", "float", 0.1, "Pulls weights towards zero; limits overfitting.",
          0.0, 1.0),
    Param("max_grad_norm", "float", 1.0, "Clips large gradient steps (0: no clipping).",
          0.0, 1000.0),
    Param("max_length", "int", 512, "Longest conversation in tokens; longer ones are cut.",
          16, 131_072),
    Param("lora", "bool", False, "Train a small add-on (LoRA) instead of every weight; the "
          "result is merged into a normal model.", stage="lora"),
    Param("lora_r", "int", 32, "LoRA rank: size of the trained add-on; larger learns more.",
          1, 1024, stage="lora"),
    Param("lora_alpha", "int", 32, "LoRA scale (alpha / rank multiplies the add-on).",
          1, 4096, stage="lora"),
    Param("lora_dropout", "float", 0.2, "Dropout inside LoRA; fights overfitting on little "
          "data.", 0.0, 0.9, stage="lora"),
    Param("lora_targets", "choice", "attention", "Which layers get LoRA: q/k/v (tone paper), "
          "plus MLP, or every linear layer.", choices=("attention", "attention+mlp", "all-linear"),
          stage="lora"),
    Param("quantize", "choice", "none", "Load the base in 4 or 8 bits (QLoRA; CUDA with "
          "bitsandbytes only).", choices=("none", "8bit", "4bit"), stage="lora"),
    Param("beta", "float", 0.5, "Preference strength: how far from the reference the model may "
          "move (IPO 0.5, DPO 0.1).", 0.001, 10.0, stage="preference"),
    Param("ema_decay", "float", 0.99, "IPO-EMA: weight of the old average at each step.",
          0.5, 0.99999, stage="preference"),
    Param("ref_sync_fraction", "float", 0.3, "IPO-checkpoint: re-sync the reference after this "
          "share of an epoch.", 0.01, 1.0, stage="preference"),
    Param("grounded_ratio", "float", 0.75, "Share of training conversations that carry "
          "company passages (answer from company information); 0 = closed-book only.",
          0.0, 1.0),
    Param("eval_fraction", "float", 0.1, "Share of conversations held out to measure "
          "validation loss (at least 10%).", 0.1, 0.5),
    Param("eval_every", "int", 0, "Validation loss every N steps (0: about ten times a run).",
          0, 1_000_000),
    Param("save_every", "int", 0, "Checkpoint every N steps (0: about five times a run).",
          0, 1_000_000),
    Param("sample_every", "int", 0, "Answer the three sample questions every N steps (0: about "
          "five times a run).", 0, 1_000_000),
    Param("sample_tokens", "int", 48, "Length of each sample answer in tokens (0: no samples).",
          0, 1024),
    Param("seed", "int", 42, "Random seed: same seed, same data split and same run.",
          0, 2**31 - 1),
    Param("precision", "choice", "auto", "Number format: auto picks bf16 where the device does "
          "it fast, else fp32.", choices=("auto", "fp32", "bf16", "fp16")),
    Param("gradient_checkpointing", "bool", False, "Recompute activations to save memory "
          "(slower; ~3x on CPU)."),
    Param("padding_free", "bool", True, "Concatenate a batch's conversations instead of "
          "padding them (faster, same result)."),
    Param("threads", "int", 0, "CPU threads for training (0: one per physical core).",
          0, 1024),
    Param("explode_grad_norm", "float", 1e4, "Health check: stop when the gradient norm exceeds "
          "this (diverging run).", 1.0, 1e12),
)

PARAM_BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}


def schema() -> list[dict[str, Any]]:
    """The table for the GUI's Advanced panel, as plain data."""
    return [p.to_dict() for p in PARAMS]


def defaults() -> dict[str, Any]:
    return {p.name: p.default for p in PARAMS}


def validate_value(name: str, value: Any) -> Any:
    """Coerce one typed value (text from a field is fine) or raise ValidationError naming it."""
    param = PARAM_BY_NAME.get(name)
    if param is None:
        raise ValidationError(name, f"Unknown training setting {name!r}.",
                              f"Use one of: {', '.join(PARAM_BY_NAME)}.")
    if param.type == "bool":
        return _as_bool(param, value)
    if param.type == "choice":
        text = str(value).strip().lower()
        if text not in param.choices:
            raise ValidationError(name, f"{name} must be one of {', '.join(param.choices)}, "
                                  f"not {value!r}.", param.help)
        return text
    number = _as_number(param, value)
    if param.minimum is not None and number < param.minimum:
        raise ValidationError(name, f"{name} must be at least {param.minimum:g}, not {number:g}.",
                              param.help)
    if param.maximum is not None and number > param.maximum:
        raise ValidationError(name, f"{name} must be at most {param.maximum:g}, not {number:g}.",
                              param.help)
    return number


def validate_params(values: dict[str, Any]) -> dict[str, Any]:
    """Every value checked alone, then the rules that tie two fields together."""
    out = {name: validate_value(name, value) for name, value in values.items()}
    full = {**defaults(), **out}
    if full["lora_alpha"] > 16 * full["lora_r"]:
        raise ValidationError("lora_alpha", f"lora_alpha {full['lora_alpha']} is more than 16x "
                              f"the rank {full['lora_r']}: updates would be scaled wildly.",
                              "Use an alpha between the rank and twice the rank.")
    return out


def _as_bool(param: Param, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValidationError(param.name, f"{param.name} must be on or off, not {value!r}.",
                          param.help)


def _as_number(param: Param, value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValidationError(param.name, f"{param.name} must be a number, not {value!r}.",
                              param.help)
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValidationError(param.name, f"{param.name} must be a number, not {value!r}.",
                              param.help) from None
    if not math.isfinite(number):
        raise ValidationError(param.name, f"{param.name} must be a finite number.", param.help)
    if param.type == "int":
        if number != int(number):
            raise ValidationError(param.name, f"{param.name} must be a whole number, not "
                                  f"{value!r}.", param.help)
        return int(number)
    return number
