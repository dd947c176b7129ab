"""Which models the operator can chat with in a project, and how to open one.

The in-app chat and the server page offer the same list: the project's assistant (the newest
trained run, else the base model), every trained run that saved a model, the base model on
its own, and every GGUF exported into the project. Each entry is opened as a ``ChatEngine``
with the project attached, so retrieval and the company's system prompt apply whichever
model answers; the caller chooses per question whether to retrieve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.chat.engine import ChatEngine
from core.errors import ValidationError

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ChatChoice:
    key: str  # "assistant", "run:<id>", "base", "file:<path>": stable across refreshes
    label: str
    kind: str  # assistant | run | base | file

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "label": self.label, "kind": self.kind}


def chat_choices(project: Any) -> list[ChatChoice]:
    """The models of ``project`` one can chat with, the assistant first."""
    from core.chat.runs import newest_run_with_model
    from core.training.history import list_training_runs

    newest = newest_run_with_model(project)
    using = f"run {newest}" if newest else "base model, not trained yet"
    choices = [ChatChoice("assistant", f"The assistant ({using})", "assistant")]
    for record in list_training_runs(project):
        if record["status"] == "succeeded" and \
                (Path(record["path"]) / "final" / "config.json").is_file():
            method = record.get("method") or "trained"
            choices.append(ChatChoice(f"run:{record['id']}", f"Run {record['id']} ({method})",
                                      "run"))
    choices.append(ChatChoice("base", "Base model (untrained)", "base"))
    exports = Path(project.exports_dir)
    if exports.is_dir():
        for path in sorted(exports.glob("*/*.gguf"), key=lambda p: str(p)):
            choices.append(ChatChoice(f"file:{path}", f"Export {path.parent.name}/{path.name}",
                                      "file"))
    return choices


def model_path(project: Any, key: str, progress: Progress | None = None) -> Path:
    """The GGUF behind a choice's key (a run is exported to f16 the first time)."""
    from core.chat.runs import model_for_run
    from core.chat.target import base_gguf, project_model

    if key == "assistant":
        return project_model(project, progress=progress)
    if key == "base":
        return base_gguf(project)
    if key.startswith("run:"):
        return model_for_run(project, key[4:], progress=progress)
    if key.startswith("file:"):
        path = Path(key[5:])
        if not path.is_file():
            raise ValidationError("model", f"The exported model {path} is gone.",
                                  "Export the run again, or choose another model.")
        return path
    raise ValidationError("model", f"Unknown chat model {key!r}.", "Choose a model from the list.")


def open_choice(project: Any, key: str, progress: Progress | None = None,
                **engine_options: Any) -> ChatEngine:
    """A ``ChatEngine`` for the choice, with the project attached (the model loads lazily)."""
    path = model_path(project, key, progress)
    label = key.split(":", 1)[-1] if ":" in key else key
    name = Path(label).stem if key.startswith("file:") else label
    return ChatEngine(path, project=project, name=name, **engine_options)
