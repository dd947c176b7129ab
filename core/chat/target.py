"""What ``talksmall chat`` and ``talksmall serve`` talk to: a project's assistant or a bare GGUF.

A project folder means its assistant: the chosen run's model (or the newest trained run's,
else the project's base model) with retrieval over the project's documents. A bare ``.gguf``
file is a model alone: no company, no retrieval.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.chat.engine import ChatEngine
from core.errors import ModelError, ValidationError

Progress = Callable[[float, str], None]


def open_engine(target: str | Path, *, run: str | None = None,
                progress: Progress | None = None, **engine_options: Any) -> ChatEngine:
    """A ``ChatEngine`` for a project folder or a GGUF file (the caller closes its project)."""
    path = Path(target).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        if run is not None:
            raise ValidationError("run", "--run needs a project folder, not a GGUF file.",
                                  "Give the project folder, or leave --run out.")
        return ChatEngine(path, **engine_options)
    from core.project.store import DB_NAME

    if not (path / DB_NAME).is_file():
        raise ValidationError("target", f"{path} is neither a project folder nor a .gguf file.",
                              "Give a project folder (with project.sqlite) or a model file "
                              "ending in .gguf.")
    from core.project import open_project

    project = open_project(path)
    try:
        model = project_model(project, run, progress)
        return ChatEngine(model, project=project, name=_slug(project.name), **engine_options)
    except BaseException:
        project.close()
        raise


def project_model(project: Any, run: str | None = None,
                  progress: Progress | None = None) -> Path:
    """The GGUF of the project's assistant: the run's, the newest run's, else the base."""
    from core.chat.runs import model_for_run, newest_run_with_model

    run = run or newest_run_with_model(project)
    if run is not None:
        return model_for_run(project, run, progress=progress)
    from core.project.model_choice import base_model

    choice = base_model(project)
    if choice in ("embedded", "scratch"):
        from core.models.embedded import embedded_gguf_path

        return embedded_gguf_path()
    if choice.lower().endswith(".gguf") and Path(choice).is_file():
        return Path(choice)
    raise ModelError(f"The project's base model {choice} is a Hugging Face folder and no run "
                     "has been trained from it yet.",
                     "Train a run first (then chat picks its model), or choose the embedded "
                     "model or a GGUF file as the base model.")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "assistant"
