"""The ``train`` job (``python -m core.jobs train --spec spec.json``): one training run.

It records the run in the project's ``runs`` table (running, then its final status) around
``engine.run_training``; the protocol events, error codes and out-of-memory detection come
from core.jobs. Exceptions are re-raised unchanged so core.jobs reports them.
"""

from __future__ import annotations

import json
from typing import Any

from core.jobs.context import JobCancelled, JobContext


def run_train(spec: dict[str, Any], ctx: JobContext) -> str:
    from core.training.engine import run_training
    from core.training.spec import parse_spec

    parsed = parse_spec(spec)
    _record(parsed.project, ctx, "running", spec)
    status = "failed"
    try:
        final = run_training(parsed, ctx)
        status = "succeeded"
        return str(final)
    except JobCancelled:
        status = "cancelled"
        raise
    finally:
        _record(parsed.project, ctx, status, spec,
                output=str(ctx.run_dir / "final") if status == "succeeded" else None)


def _record(project_dir: str, ctx: JobContext, status: str, spec: dict[str, Any],
            output: str | None = None) -> None:
    """Upsert the runs row; a locked or missing project must not fail the run itself."""
    from core.errors import TalkSmallError
    from core.project import open_project
    from core.training.engine import is_main_process

    if not is_main_process():
        return
    try:
        project = open_project(project_dir)
    except TalkSmallError:
        return
    try:
        with project.store.transaction() as conn:
            conn.execute(
                "INSERT INTO runs (id, job, status, spec, output) VALUES (?, 'train', ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET status = excluded.status, "
                "output = excluded.output, finished_at = CASE WHEN excluded.status = "
                "'running' THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END",
                (ctx.run_dir.name, status, json.dumps(spec), output))
    except Exception as exc:
        ctx.log("warning", f"could not record the run in the project: {exc}")
    finally:
        project.close()
