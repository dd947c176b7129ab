"""The ``generate`` job: generate_conversations in a child process, speaking the protocol.

Spec (JSON)::

    {"project": "/path/to/project",
     "teacher": {"kind": "embedded"}
              | {"kind": "endpoint", "base_url": "http://127.0.0.1:11434/v1",
                 "model": "llama3.2:3b", "allow_remote": true},
     "settings": {...GenerationSettings fields...}}   # optional: the project's saved settings

The API key never goes into the spec (it would be written to disk): the child reads it with
``core.secrets.get_api_key(base_url)`` (OS keyring, then TALKSMALL_API_KEY). Events:
``progress`` (done/total with ETA), one ``item`` per finished item (id, kept, reason, source,
role, pairs), ``log`` for teacher trouble. Pause and cancel both create STOP: the run ends
"cancelled" after the items in flight are saved; starting the same spec again resumes.
"""

from __future__ import annotations

from typing import Any

from core.errors import ValidationError
from core.jobs.context import JobCancelled, JobContext


def teacher_from_spec(spec: dict[str, Any]) -> Any:
    """The teacher the spec names: embedded (default) or an OpenAI-compatible endpoint."""
    from core import teachers

    config = spec.get("teacher") or {"kind": "embedded"}
    kind = config.get("kind", "embedded")
    if kind == "embedded":
        return teachers.embedded_teacher(seed=int(config.get("seed", 0)))
    if kind == "endpoint":
        base_url = str(config.get("base_url") or "").strip()
        model = str(config.get("model") or "").strip()
        if not base_url or not model:
            raise ValidationError("teacher", "An endpoint teacher needs a base URL and a model.",
                                  "Fill both in the Conversations step.")
        from core.secrets import get_api_key

        teacher = teachers.endpoint_teacher(base_url, model, get_api_key(base_url))
        if teacher.remote and not config.get("allow_remote", False):
            teacher.close()
            raise ValidationError(
                "teacher", f"{base_url} is not on this computer: your documents would leave it.",
                "Tick 'send my documents to this endpoint' to allow it, or use a local one.")
        return teacher
    raise ValidationError("teacher", f"Unknown teacher kind {kind!r}.",
                          "Use 'embedded' or 'endpoint'.")


def run_generate(spec: dict[str, Any], ctx: JobContext) -> str:
    from core.conversations.pipeline import Progress, generate_conversations
    from core.conversations.settings import GenerationSettings, load_settings
    from core.project import open_project

    if not spec.get("project"):
        raise ValidationError("project", "The generate job needs a project folder.",
                              "Start generation from the app or the CLI.")
    project = open_project(spec["project"])
    try:
        settings = (GenerationSettings.from_dict(spec["settings"]) if spec.get("settings")
                    else load_settings(project))
        ctx.stage("load", 1, 2)
        teacher = teacher_from_spec(spec)
        ctx.log("info", f"teacher {teacher.name}")
        ctx.stage("generate", 2, 2)

        def on_progress(update: Progress) -> None:
            if update.message:
                ctx.log(update.level, update.message)
            if update.item is not None:
                item = update.item
                ctx.emit("item", id=item.key, kept=item.kept, reason=item.reason,
                         source=item.source, role=item.role, gate=item.gate,
                         example_id=item.example_id, pairs=item.pairs)
            ctx.progress(update.done, max(update.total, 1))

        try:
            report = generate_conversations(project, teacher, settings, progress=on_progress,
                                            should_stop=ctx.should_stop)
        finally:
            teacher.close()
        ctx.metric(report.processed, kept=report.kept, dropped=report.dropped,
                   pairs=report.pairs, items_per_minute=report.items_per_minute)
        if report.stopped:
            ctx.log("info", f"paused after {report.processed} items; run again to resume")
            raise JobCancelled("stopped")
        return (f"{report.kept} kept, {report.dropped} dropped, {report.pairs} pairs "
                f"({report.processed} items in {report.seconds:.0f} s)")
    finally:
        project.close()
