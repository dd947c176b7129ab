"""A GGUF for any trained run, so the app and the CLI can chat with it through llama.cpp.

llama.cpp generates ~5x faster than transformers here, so a run's ``final/`` folder is
exported once to ``runs/<id>/chat/model-<quant>.gguf`` and reused while it is newer than
every file in ``final/``. The exporter writes under a temporary name and renames at the end,
and a file lock keeps two processes (the GUI and a CLI) from exporting the same run at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import ValidationError

CHAT_FOLDER = "chat"
Progress = Callable[[float, str], None]


def model_for_run(project: Any, run_id: str, quant: str = "f16", *,
                  progress: Progress | None = None) -> Path:
    """The run's chat GGUF, exporting ``runs/<run_id>/final/`` first when needed."""
    run_dir = run_folder(project, run_id)
    final = run_dir / "final"
    target = run_dir / CHAT_FOLDER / f"model-{quant}.gguf"
    if _is_current(target, final):
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".model-{quant}.lock")):
        if _is_current(target, final):  # another process exported it while we waited
            return target
        from core.export.gguf_export import export_gguf

        return export_gguf(final, target, quant, progress=progress,
                           source_gguf=_source_gguf(run_dir))


def run_folder(project: Any, run_id: str) -> Path:
    """``runs/<run_id>`` of a run that finished with a model; a clear error otherwise."""
    if not run_id or "/" in run_id or "\\" in run_id or run_id in (".", ".."):
        raise ValidationError("run", f"{run_id!r} is not a run id.",
                              "Use an id from 'talksmall info' or the Training step's history.")
    run_dir = Path(project.runs_dir) / run_id
    if not run_dir.is_dir():
        raise ValidationError("run", f"There is no run {run_id} in {project.runs_dir}.",
                              "Use an id from 'talksmall info' or the Training step's history.")
    if not (run_dir / "final" / "config.json").is_file():
        raise ValidationError("run", f"Run {run_id} has no finished model ({run_dir / 'final'}).",
                              "Choose a run that succeeded, or train one first.")
    return run_dir


def newest_run_with_model(project: Any) -> str | None:
    """The newest run (ids start with their UTC time) that succeeded and saved a model."""
    from core.jobs.events import run_status

    root = Path(project.runs_dir)
    if not root.is_dir():
        return None
    for run_dir in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name,
                          reverse=True):
        if (run_dir / "final" / "config.json").is_file() and run_status(run_dir) == "succeeded":
            return run_dir.name
    return None


def _is_current(target: Path, final: Path) -> bool:
    try:
        built = target.stat().st_mtime_ns
        newest = max(p.stat().st_mtime_ns for p in final.rglob("*") if p.is_file())
    except (OSError, ValueError):
        return False
    return built > newest


def _source_gguf(run_dir: Path) -> str | None:
    """The GGUF the run's base came from, whose tokenizer the exporter copies (if present)."""
    try:
        source = json.loads((run_dir / "config.json").read_text(encoding="utf-8")).get(
            "source_gguf")
    except (OSError, ValueError, AttributeError):
        return None
    return source if isinstance(source, str) and Path(source).is_file() else None
