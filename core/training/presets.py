"""Training presets, shipped as data in resources/presets/*.json.

A preset has a ``common`` section and one section per stage (``sft``, ``preference``,
optionally ``dpo``); ``resolve_params`` layers them over the schema defaults, then the
method's own defaults (DPO: beta 0.1, lr 5e-6), then the operator's Advanced values.
Every layer goes through ``params.validate_params``, so a bad preset file is caught with
the field named, not half-way through a run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.errors import ValidationError
from core.paths import resources_dir
from core.training.params import defaults, validate_params

METHODS = ("sft", "sft-lora", "ipo", "ipo-ema", "ipo-checkpoint", "dpo")
PREFERENCE_METHODS = ("ipo", "ipo-ema", "ipo-checkpoint", "dpo")
METHOD_HELP = {
    "sft": "Supervised fine-tuning on your conversations (every weight).",
    "sft-lora": "Supervised fine-tuning with a LoRA add-on (merged at the end).",
    "ipo": "IPO against a frozen reference (the SFT model): the paper's safe default.",
    "ipo-ema": "IPO; the exported model is a 0.99 moving average of the trained weights.",
    "ipo-checkpoint": "IPO; the reference is re-synced to the model every 30% of an epoch.",
    "dpo": "DPO (beta 0.1, learning rate 5e-6).",
}
# Applied after the preset's preference section, before the operator's own values.
METHOD_DEFAULTS: dict[str, dict[str, Any]] = {
    "sft-lora": {"lora": True},
    "dpo": {"beta": 0.1, "learning_rate": 5e-6},
}
DEFAULT_PRESET = "quick-cpu"


@dataclass(frozen=True)
class Preset:
    slug: str
    name: str
    description: str
    methods: tuple[str, ...]
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    expert: bool = False
    base: str | None = None  # "scratch" for the from-scratch preset
    model: dict[str, Any] | None = None  # model config overrides (from scratch)
    min_corpus_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "name": self.name, "description": self.description,
                "methods": list(self.methods), "expert": self.expert, "base": self.base,
                "min_corpus_tokens": self.min_corpus_tokens}


def presets_dir() -> Any:
    return resources_dir() / "presets"


def load_presets() -> dict[str, Preset]:
    """All shipped presets by slug; a malformed file raises naming the file and field."""
    out: dict[str, Preset] = {}
    for path in sorted(presets_dir().glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError("preset", f"Cannot read the preset {path.name}: {exc}.",
                                  "Reinstall the app, or fix the JSON in that file.") from exc
        out[data.get("slug", path.stem)] = _preset(data, path.name)
    return out


def get_preset(slug_or_name: str) -> Preset:
    presets = load_presets()
    if slug_or_name in presets:
        return presets[slug_or_name]
    for preset in presets.values():
        if preset.name.lower() == str(slug_or_name).lower():
            return preset
    raise ValidationError("preset", f"Unknown preset {slug_or_name!r}.",
                          f"Choose one of: {', '.join(presets)}.")


def resolve_params(method: str, preset: str | Preset = DEFAULT_PRESET,
                   overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full hyperparameter set a run uses: defaults < preset < method < overrides."""
    check_method(method)
    chosen = preset if isinstance(preset, Preset) else get_preset(preset)
    if method not in chosen.methods:
        raise ValidationError("method", f"The preset '{chosen.name}' does not support {method}.",
                              f"Use one of: {', '.join(chosen.methods)}, or another preset.")
    stage = "preference" if method in PREFERENCE_METHODS else "sft"
    values = defaults()
    values.update(chosen.sections.get("common", {}))
    values.update(chosen.sections.get(stage, {}))
    values.update(METHOD_DEFAULTS.get(method, {}))
    if method == "dpo":
        values.update(chosen.sections.get("dpo", {}))
    values.update(validate_params(dict(overrides or {})))
    return validate_params(values)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValidationError("method", f"Unknown training method {method!r}.",
                              f"Use one of: {', '.join(METHODS)}.")
    return method


def _preset(data: dict[str, Any], file: str) -> Preset:
    for key in ("name", "methods"):
        if key not in data:
            raise ValidationError("preset", f"The preset {file} has no '{key}'.",
                                  "Add it, or reinstall the app.")
    for method in data["methods"]:
        check_method(method)
    sections = {}
    for key in ("common", "sft", "preference", "dpo"):
        section = data.get(key, {})
        try:
            validate_params(section)
        except ValidationError as exc:
            raise ValidationError(exc.field, f"Preset {file}, section {key}: {exc.message}",
                                  exc.hint) from None
        sections[key] = section
    return Preset(slug=data.get("slug", file.removesuffix(".json")), name=data["name"],
                  description=data.get("description", ""), methods=tuple(data["methods"]),
                  sections=sections, expert=bool(data.get("expert", False)),
                  base=data.get("base"), model=data.get("model"),
                  min_corpus_tokens=int(data.get("min_corpus_tokens", 0)))
