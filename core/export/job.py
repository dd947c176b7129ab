"""The "export-assistant" job: ``export_assistant`` in a child process, for the GUI.

Spec: ``project`` (folder), ``run`` (id; omitted or null = the newest run with a model),
``quants`` (list, default ["q4_k_m"]; "all" allowed), optional ``out_dir``, ``name`` and
``zip`` (default true), ``override_gates`` (default false: a run that fails the release
gates is refused). STOP cancels at the next progress report and leaves no export.
Returns the export folder's path.
"""

from __future__ import annotations

from typing import Any

from core.errors import ValidationError
from core.jobs.context import JobContext


def run_export(spec: dict[str, Any], ctx: JobContext) -> str:
    from core.export.bundle import export_assistant
    from core.project import open_project

    if not spec.get("project"):
        raise ValidationError("project", "the export spec has no project",
                              "start the export again from the app")
    quants = spec.get("quants") or ["q4_k_m"]
    ctx.check_stop()
    ctx.stage("export", 1, 1)
    last_message, last_step = [""], [-1]

    def on_progress(fraction: float, message: str) -> None:
        ctx.check_stop()  # raising here removes everything the export wrote
        step = round(100 * min(max(float(fraction), 0.0), 1.0))
        if step != last_step[0]:
            last_step[0] = step
            ctx.progress(step, 100)
        if message and message != last_message[0]:
            last_message[0] = message
            ctx.log("info", message)

    project = open_project(spec["project"])
    try:
        result = export_assistant(
            project, spec.get("run") or None, quants, out_dir=spec.get("out_dir") or None,
            name=spec.get("name") or None, make_zip=bool(spec.get("zip", True)),
            progress=on_progress, override_gates=bool(spec.get("override_gates")))
    finally:
        project.close()
    for name, size in result.files:
        ctx.log("info", f"{name}: {size / 1e6:,.1f} MB")
    if result.zip_path is not None:
        ctx.log("info", f"{result.zip_path.name}: {result.zip_path.stat().st_size / 1e6:,.1f} MB")
    return str(result.folder)
