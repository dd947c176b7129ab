"""What is evaluated: model labels, their variants, and the settings an answer is stored under.

A label names a model and how it is asked:

============================  ==========  ==========================================
label                         model       variant
============================  ==========  ==========================================
``base``                      base        bare: no system prompt, no passages
``prompted``                  base        prompted: the company's system prompt
``retrieval``                 base        retrieval: system prompt + retrieved passages
``run:<id>`` (or ``<id>``)    run:<id>    prompted (closed book, as it was trained)
``run:<id>+retrieval``        run:<id>    retrieval
``file:<path.gguf>``          file:<..>   prompted (``+retrieval`` as for runs)
============================  ==========  ==========================================

An answer is stored under (model, variant, question, settings hash). The hash covers the
fixed decoding settings and everything else that changes the answer: which model file (for
a run, its id: runs never change once finished), the system prompt (prompted, retrieval)
and the retrieval index generation (retrieval), so a re-run recomputes exactly the answers
whose inputs changed and nothing else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.errors import ValidationError

VARIANTS = ("bare", "prompted", "retrieval")
DEFAULT_MODELS = ("base", "prompted", "retrieval")
RETRIEVAL_SUFFIX = "+retrieval"
_BASE_LABELS = {"base": "bare", "prompted": "prompted", "retrieval": "retrieval",
                "base+retrieval": "retrieval"}


@dataclass(frozen=True)
class EvalSettings:
    """Fixed decoding for evaluation: greedy, short, seeded; recorded with every answer."""

    max_tokens: int = 160
    temperature: float = 0.0
    seed: int = 0
    k: int = 2  # passages retrieved per question (retrieval variants)

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValidationError("max_tokens", f"max_tokens must be at least 1, not "
                                  f"{self.max_tokens}.", "Ask for 1 or more tokens.")
        if not 0 <= self.temperature <= 2:
            raise ValidationError("temperature", f"temperature must be 0 to 2, not "
                                  f"{self.temperature}.", "Use 0 for repeatable answers.")
        if not 1 <= self.k <= 10:
            raise ValidationError("k", f"k must be 1 to 10 passages, not {self.k}.",
                                  "Use 2, as the chat does.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EvalSettings:
        data = data or {}
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValidationError("settings", f"Unknown evaluation setting {unknown[0]!r}.",
                                  f"Use: {', '.join(cls.__dataclass_fields__)}.")
        return cls(**data)


@dataclass(frozen=True)
class ModelSpec:
    label: str  # as the operator wrote it, normalised ("run:<id>+retrieval")
    model: str  # base | run:<id> | file:<path>
    variant: str  # bare | prompted | retrieval

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def parse_models(project: Any, labels: Sequence[str]) -> list[ModelSpec]:
    """The labels as specs, in order, duplicates dropped; an unknown label is an error."""
    specs: list[ModelSpec] = []
    for raw in labels:
        spec = _parse(project, str(raw).strip())
        if spec.label not in {s.label for s in specs}:
            specs.append(spec)
    if not specs:
        raise ValidationError("models", "No model to evaluate.",
                              "Name at least one, e.g. base,prompted,retrieval.")
    return specs


def default_models(project: Any) -> list[str]:
    """base, prompted, retrieval, and the newest trained run closed-book and with retrieval."""
    from core.chat.runs import newest_run_with_model

    labels = list(DEFAULT_MODELS)
    newest = newest_run_with_model(project)
    if newest:
        labels += [f"run:{newest}", f"run:{newest}{RETRIEVAL_SUFFIX}"]
    return labels


def answer_settings(project: Any, spec: ModelSpec, settings: EvalSettings) -> dict[str, Any]:
    """Everything the stored answer depends on besides the question (see the docstring)."""
    out: dict[str, Any] = {**settings.to_dict(), "model": model_identity(project, spec.model)}
    if spec.variant != "bare":
        prompt = project.profile().system_prompt()
        out["system_prompt"] = hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]
    if spec.variant == "retrieval":
        rows = project.store.query("SELECT generation FROM retrieval_state WHERE id = 1")
        out["index_generation"] = int(rows[0][0]) if rows else 0
    else:
        del out["k"]  # passages are only retrieved for the retrieval variant
    return out


def settings_hash(values: dict[str, Any]) -> str:
    text = json.dumps(values, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def model_identity(project: Any, model: str) -> dict[str, Any]:
    """Which weights answer, found without exporting or loading anything."""
    if model.startswith("run:"):
        from core.chat.runs import run_folder

        run_folder(project, model[4:])  # a clear error for a run without a model
        return {"run": model[4:]}
    if model == "base":
        from core.chat.choices import model_path

        path = model_path(project, "base")
    else:
        path = Path(model[5:])
        if not path.is_file():
            raise ValidationError("models", f"The model file {path} does not exist.",
                                  "Give the path of a .gguf file.")
    return {"file": path.name, "bytes": path.stat().st_size}


def _parse(project: Any, label: str) -> ModelSpec:
    if label in _BASE_LABELS:
        normal = "retrieval" if label == "base+retrieval" else label
        return ModelSpec(normal, "base", _BASE_LABELS[label])
    retrieval = label.endswith(RETRIEVAL_SUFFIX)
    name = label[: -len(RETRIEVAL_SUFFIX)] if retrieval else label
    variant = "retrieval" if retrieval else "prompted"
    suffix = RETRIEVAL_SUFFIX if retrieval else ""
    if name.startswith("file:"):
        path = Path(name[5:]).expanduser()
        if path.suffix.lower() != ".gguf":
            raise ValidationError("models", f"{name} is not a .gguf file.",
                                  "Give file:<path of a .gguf model>.")
        return ModelSpec(f"file:{path}{suffix}", f"file:{path}", variant)
    run_id = name[4:] if name.startswith("run:") else name
    if run_id and "/" not in run_id and (Path(project.runs_dir) / run_id).is_dir():
        return ModelSpec(f"run:{run_id}{suffix}", f"run:{run_id}", variant)
    raise ValidationError("models", f"Unknown model {label!r}.",
                          "Use base, prompted, retrieval, a run id (run:<id>, add +retrieval "
                          "to give it passages) or file:<model.gguf>.")
