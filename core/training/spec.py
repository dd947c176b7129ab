"""The training job's spec: what the GUI or CLI writes to runs/<id>/spec.json, validated.

``build_spec`` resolves a preset and the operator's Advanced values into the complete
hyperparameter set (saved as is, so a run can be repeated exactly); ``parse_spec`` checks a
spec read back by the child. Every error is a ValidationError naming the field.

Spec keys: project, method, preset, base ("" = the project's choice; "embedded"; a Hugging
Face folder; "run:<run-id>" for an earlier run's final model; "scratch"), params (complete),
overrides (what the operator changed), resume (continue from the newest checkpoint in this
run's folder), device (auto/cpu/cuda/mps), launcher ("single" or "accelerate" with
accelerate_config), insist (train from scratch on a small corpus anyway), questions (the
sample questions; default: three from the validation data), dry_run (stop after the
device, data and memory/time checks; the output is runs/<id>/estimate.json).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ValidationError
from core.training.params import validate_params
from core.training.presets import (
    DEFAULT_PRESET,
    PREFERENCE_METHODS,
    check_method,
    get_preset,
    resolve_params,
)

LAUNCHERS = ("single", "accelerate")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class TrainSpec:
    project: str
    method: str
    preset: str = DEFAULT_PRESET
    base: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    resume: bool = False
    device: str = "auto"
    launcher: str = "single"
    accelerate_config: str | None = None
    insist: bool = False
    questions: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def preference(self) -> bool:
        return self.method in PREFERENCE_METHODS

    @property
    def lora(self) -> bool:
        return bool(self.params.get("lora"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_spec(project: str | Path, method: str, *, preset: str = DEFAULT_PRESET,
               base: str = "", params: dict[str, Any] | None = None,
               max_steps: int | None = None, **options: Any) -> dict[str, Any]:
    """A complete, validated spec (a JSON-ready dict) for a new run."""
    overrides = dict(params or {})
    if max_steps is not None:
        overrides["max_steps"] = max_steps
    preset_obj = get_preset(preset)
    resolved = resolve_params(method, preset_obj, overrides)
    if not base and preset_obj.base:
        base = preset_obj.base
    spec = TrainSpec(project=str(Path(project).resolve()), method=method, preset=preset_obj.slug,
                     base=base, params=resolved, overrides=validate_params(overrides),
                     **options)
    return parse_spec(spec.to_dict()).to_dict()


def parse_spec(data: dict[str, Any]) -> TrainSpec:
    """Check every field of a spec; unknown keys are refused (a typo must not be ignored)."""
    known = set(TrainSpec.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationError(unknown[0], f"Unknown training spec field {unknown[0]!r}.",
                              f"Use only: {', '.join(sorted(known))}.")
    if not data.get("project"):
        raise ValidationError("project", "The training spec names no project folder.",
                              "Start training from the app or with 'talksmall train PROJECT'.")
    method = check_method(str(data.get("method", "")))
    preset = get_preset(str(data.get("preset") or DEFAULT_PRESET))
    params = data.get("params") or resolve_params(method, preset, data.get("overrides"))
    if not isinstance(params, dict):
        raise ValidationError("params", "params must be an object of settings.", "")
    params = resolve_params(method, preset, params)
    spec = TrainSpec(project=str(data["project"]), method=method, preset=preset.slug,
                     base=str(data.get("base") or ""), params=params,
                     overrides=dict(data.get("overrides") or {}),
                     resume=_bool(data, "resume"), device=str(data.get("device", "auto")),
                     launcher=str(data.get("launcher", "single")),
                     accelerate_config=data.get("accelerate_config"),
                     insist=_bool(data, "insist"), questions=list(data.get("questions") or []),
                     dry_run=_bool(data, "dry_run"))
    _check_combination(spec)
    return spec


def _check_combination(spec: TrainSpec) -> None:
    if spec.device not in DEVICES:
        raise ValidationError("device", f"Unknown device {spec.device!r}.",
                              f"Use one of: {', '.join(DEVICES)}.")
    if spec.launcher not in LAUNCHERS:
        raise ValidationError("launcher", f"Unknown launcher {spec.launcher!r}.",
                              "Use 'single' or 'accelerate'.")
    if spec.launcher == "accelerate":
        config = spec.accelerate_config
        if not config or not Path(config).is_file():
            raise ValidationError("accelerate_config", "The accelerate launcher needs a config "
                                  f"file; {config!r} does not exist.",
                                  "Create one with 'accelerate config' and choose it.")
    if spec.method == "sft-lora" and not spec.lora:
        raise ValidationError("lora", "Method sft-lora trains LoRA; lora cannot be off.",
                              "Choose method sft for full fine-tuning.")
    if spec.base == "scratch" and (spec.preference or spec.lora):
        raise ValidationError("base", "A model from scratch can only be trained with full SFT.",
                              "Use method sft, or train preference on the SFT run afterwards.")
    if spec.params.get("quantize", "none") != "none" and not spec.lora:
        raise ValidationError("quantize", "Quantized (QLoRA) training needs LoRA.",
                              "Turn LoRA on, or set quantize to none.")
    if spec.method == "ipo-ema" and spec.params.get("quantize", "none") != "none":
        raise ValidationError("quantize", "IPO-EMA cannot average into a quantized base model.",
                              "Set quantize to none, or choose plain IPO.")
    for question in spec.questions:
        if not isinstance(question, str) or not question.strip():
            raise ValidationError("questions", "Sample questions must be non-empty text.", "")


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValidationError(key, f"{key} must be true or false, not {value!r}.", "")
    return value
