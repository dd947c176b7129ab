"""What ``talksmall chat`` and ``talksmall serve`` talk to: a project's assistant, an export
or a bare GGUF.

A project folder means its assistant: the chosen run's model (or the newest trained run's,
else the project's base model) with retrieval over the project's documents. An export folder
(``talksmall export``; it holds talksmall-export.json) is the same assistant on another
machine: its GGUF with retrieval over its copy of the company index, opened read-only. A bare
``.gguf`` file is a model alone: no company, no retrieval.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.chat.engine import ChatEngine
from core.errors import ModelError, ValidationError

Progress = Callable[[float, str], None]
RUNNER_PREFERENCE = ("q8_0", "f16", "q4_k_m")  # quality first: the runner has the room


def open_engine(target: str | Path, *, run: str | None = None, quant: str | None = None,
                progress: Progress | None = None, **engine_options: Any) -> ChatEngine:
    """A ``ChatEngine`` for a project folder, an export folder or a GGUF file (the caller
    closes its project). ``quant`` picks an export's model file (default: the best kept)."""
    path = Path(target).expanduser()
    from core.export.bundle import MANIFEST

    if quant is not None and not (path / MANIFEST).is_file():
        raise ValidationError("quant", "--quant chooses the model of an export folder.",
                              "Give an export folder, or leave --quant out.")
    if path.is_file() and path.suffix.lower() == ".gguf":
        if run is not None:
            raise ValidationError("run", "--run needs a project folder, not a GGUF file.",
                                  "Give the project folder, or leave --run out.")
        return ChatEngine(path, **engine_options)
    if (path / MANIFEST).is_file():
        if run is not None:
            raise ValidationError("run", "--run needs a project folder: an export holds one "
                                  "run's model.", "Leave --run out, or give the project folder.")
        model, manifest = export_model(path, quant)
        from core.export.index_copy import open_index

        index = Path(str(manifest.get("index") or "index.sqlite")).name
        project = open_index(path / index)
        try:
            return ChatEngine(model, project=project, name=_slug(str(manifest.get("name"))),
                              **engine_options)
        except BaseException:
            project.close()
            raise
    from core.project.store import DB_NAME

    if not (path / DB_NAME).is_file():
        raise ValidationError("target", f"{path} is neither a project folder nor a .gguf file, "
                              "nor an export folder.",
                              "Give a project folder (with project.sqlite), an export folder "
                              "(with talksmall-export.json) or a model file ending in .gguf.")
    from core.project import open_project

    project = open_project(path)
    try:
        model = project_model(project, run, progress)
        return ChatEngine(model, project=project, name=_slug(project.name), **engine_options)
    except BaseException:
        project.close()
        raise


def export_model(folder: Path, quant: str | None = None) -> tuple[Path, dict[str, Any]]:
    """The export's GGUF (``quant``, else q8_0, f16, q4_k_m: the best quality it holds) and
    its manifest."""
    from core.export.bundle import MANIFEST, read_manifest

    manifest = read_manifest(folder)
    if manifest is None:
        raise ValidationError("target", f"{folder / MANIFEST} is not a TalkSmall export "
                              "manifest.", "Export the run again with 'talksmall export'.")
    files = {str(k): str(v) for k, v in dict(manifest.get("quants") or {}).items()}
    order = [quant] if quant else [q for q in RUNNER_PREFERENCE if q in files]
    for each in order:
        name = files.get(each)
        if name and "/" not in name and (folder / name).is_file():
            return folder / name, manifest
    if quant:
        raise ValidationError("quant", f"The export {folder} has no {quant} model.",
                              f"Choose one of: {', '.join(files) or 'none'}.")
    raise ModelError(f"The export {folder} holds no model file.",
                     "Copy the whole export folder (or unzip it again), or export again.")


def project_model(project: Any, run: str | None = None,
                  progress: Progress | None = None) -> Path:
    """The GGUF of the project's assistant: the run's, the newest run's, else the base."""
    from core.chat.runs import model_for_run, newest_run_with_model

    run = run or newest_run_with_model(project)
    if run is not None:
        return model_for_run(project, run, progress=progress)
    return base_gguf(project)


def base_gguf(project: Any) -> Path:
    """The project's base model as a GGUF file (the embedded one unless another was chosen)."""
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
