"""Which function runs each job, as "module:function" strings imported only when the job runs.

Keeping the table as strings means listing jobs (or starting the GUI) never imports torch.
A job function has the shape ``def run(spec: dict, ctx: JobContext) -> str | None`` and
returns its output path or a one-line summary.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from core.errors import ValidationError

JobFunction = Callable[[dict[str, Any], Any], "str | None"]

JOBS: dict[str, str] = {
    "convert-model": "core.jobs.builtin:convert_model",
    "export-gguf": "core.jobs.builtin:export_gguf",
    "export-assistant": "core.export.job:run_export",
    "selfcheck": "core.jobs.builtin:selfcheck",
    "generate": "core.conversations.job:run_generate",
    "train": "core.training.job:run_train",
    "evaluate": "core.evaluation.job:run_evaluate",
    "build": "core.pipeline.job:run_build",
}


def register(name: str, target: str) -> None:
    """Add a job; ``target`` is "package.module:function"."""
    if ":" not in target:
        raise ValueError(f"job target must look like 'module:function', not {target!r}")
    JOBS[name] = target


def job_names() -> list[str]:
    return sorted(JOBS)


def resolve(name: str) -> JobFunction:
    """Import and return the job function for ``name``."""
    try:
        target = JOBS[name]
    except KeyError:
        raise ValidationError(
            "job",
            f"unknown job {name!r}",
            f"choose one of: {', '.join(job_names())}",
        ) from None
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)
