"""The "evaluate" job: ``evaluate`` in a child process, for the GUI.

Spec::

    {"project": "/path/to/project",
     "models": ["base", "prompted", "retrieval", "run:<id>", "run:<id>+retrieval"],
     "questions": [1, 2, 3],      # optional: evaluation question ids (default: all)
     "limit": 20,                 # optional: the first N of them
     "settings": {"max_tokens": 160, "temperature": 0.0, "seed": 0, "k": 2}}  # optional

Events: ``progress`` (answers made / to make, with ETA), one ``item`` per stored answer
(id: its number in this run; message: "<label>: <question>"), ``log`` lines for model
loading. STOP ends the run "cancelled" after the answer in progress is stored; starting the
same spec again makes only what is missing. The table is written to ``table.json`` in the
run folder; the GUI reads it back from the project with ``eval_table`` anyway.
"""

from __future__ import annotations

from typing import Any

from core.errors import ValidationError
from core.jobs.context import JobCancelled, JobContext

TABLE_FILE = "table.json"


def run_evaluate(spec: dict[str, Any], ctx: JobContext) -> str:
    from core.atomic import atomic_write_json
    from core.evaluation.models import EvalSettings, default_models
    from core.evaluation.runner import evaluate
    from core.project import open_project

    if not spec.get("project"):
        raise ValidationError("project", "The evaluate job needs a project folder.",
                              "Start the evaluation from the app or the CLI.")
    settings = EvalSettings.from_dict(spec.get("settings"))
    project = open_project(spec["project"])
    try:
        models = spec.get("models") or default_models(project)
        ctx.stage("evaluate", 1, 1)
        last = {"done": -1, "message": ""}

        def on_progress(done: int, total: int, message: str) -> None:
            if done != last["done"]:
                if done > 0 and message:
                    ctx.emit("item", id=f"{done}", message=message)
                ctx.progress(done, max(total, 1))
                last["done"] = done
            elif message and message != last["message"]:
                ctx.log("info", message)
            last["message"] = message

        table = evaluate(project, models, questions=spec.get("questions"),
                         limit=spec.get("limit"), settings=settings, progress=on_progress,
                         stop=ctx.should_stop)
        atomic_write_json(ctx.run_dir / TABLE_FILE, table.to_dict())
        if table.stopped:
            ctx.log("info", f"stopped after {table.generated} answers; run again to resume")
            raise JobCancelled("stopped")
        return (f"{len(table.rows)} models x {len(table.question_ids)} questions, "
                f"{table.generated} answers made in {table.seconds:.0f} s")
    finally:
        project.close()
