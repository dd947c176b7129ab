"""The "build" job: every stage of "Build my assistant" in one background job.

Spec::

    {"project": "/path", "plan": "auto|gpu|cpu|ci", "override_gates": false,
     "restart": false, "allow_remote": false}

Events: one ``stage`` per stage (name, index, of), then that stage's own progress, items,
metrics, samples and log lines. Conversations, evaluation and export run in this process
(their job functions, with a context whose stage events become log lines); each training
run is its own child (``python -m core.jobs train``), followed here, so its run folder,
checkpoints, history and resume are exactly those of a run started from the Training step.
STOP pauses: the stage in progress saves what it has (a training run saves a checkpoint);
starting the build again continues from there (see core.pipeline.state).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core.errors import TalkSmallError, ValidationError
from core.jobs.context import JobCancelled, JobContext
from core.pipeline import state as build_state
from core.pipeline.plan import STAGES, BuildPlan, get_plan

MIN_EXAMPLES = 3
STOP_GRACE_S = 120.0


class _StageContext(JobContext):
    """The build's context for a step's job function: its stages become log lines."""

    def __init__(self, parent: JobContext) -> None:
        super().__init__(parent.run_dir, parent.writer)

    def stage(self, name: str, index: int, of: int) -> None:
        self.log("info", f"{name} ({index}/{of})")
        self._progress_origin = None


def run_build(spec: dict[str, Any], ctx: JobContext) -> str:
    from core.project import open_project

    if not spec.get("project"):
        raise ValidationError("project", "The build job needs a project folder.",
                              "Start the build from the app or 'talksmall build'.")
    project = open_project(spec["project"])
    try:
        state = None if spec.get("restart") else build_state.load_state(project)
        if state is None or build_state.is_complete(state):
            state = build_state.new_state(get_plan(spec.get("plan")).name)
        plan = get_plan(state["plan"])
        state.update(status="running", error=None)
        build_state.save_state(project, state)
        ctx.log("info", f"plan {plan.name}: {plan.description}")
        sub = _StageContext(ctx)
        for index, name in enumerate(STAGES, 1):
            entry = state["stages"][name]
            if entry["status"] in build_state.FINISHED:
                ctx.log("info", f"{name}: already {entry['status']}")
                continue
            build_state.mark(project, state, name, "running")
            ctx.stage(name, index, len(STAGES))
            try:
                facts = _STAGES[name](project, plan, state, spec, sub)
            except JobCancelled:
                build_state.mark(project, state, name, "paused")
                state["status"] = "paused"
                build_state.save_state(project, state)
                raise
            except BaseException as exc:
                blocked = isinstance(exc, ValidationError) and exc.field == "gates"
                reason = exc.message if isinstance(exc, TalkSmallError) else \
                    f"{type(exc).__name__}: {exc}"
                build_state.mark(project, state, name, "blocked" if blocked else "failed",
                                 reason=reason)
                state.update(status="blocked" if blocked else "failed", error=reason)
                build_state.save_state(project, state)
                raise
            status = facts.pop("status", "done")
            build_state.mark(project, state, name, status, **facts)
            ctx.log("info", f"{name}: {status}")
        state["status"] = "done"
        build_state.save_state(project, state)
        return str(state.get("export") or "")
    finally:
        project.close()


# --- stages ----------------------------------------------------------------------------
def _documents(project: Any, plan: BuildPlan, state: dict[str, Any], spec: dict[str, Any],
               ctx: JobContext) -> dict[str, Any]:
    from core.retrieval.index import update_index

    count = project.store.query(
        "SELECT COUNT(*) FROM documents WHERE status = 'imported'")[0][0]
    if count == 0:
        raise ValidationError("documents", f"{project.name} has no imported document.",
                              "Add the company's documents in the Documents step first.")

    def on_progress(done: int, total: int, message: str = "") -> None:
        ctx.progress(done, max(total, 1))

    index = update_index(project, progress=on_progress)
    ctx.progress(1, 1)
    return {"documents": int(count), "chunks": index["chunks"], "embedded": index["embedded"]}


def _conversations(project: Any, plan: BuildPlan, state: dict[str, Any],
                   spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    from core.conversations.job import run_generate
    from core.conversations.settings import load_settings
    from core.evaluation.questions import hold_out

    settings = load_settings(project)
    if plan.generate_limit is not None:
        settings.limit = plan.generate_limit
    teacher = project.store.get_setting("generation_teacher") or {"kind": "embedded"}
    teacher = {**teacher, "allow_remote": bool(spec.get("allow_remote"))}
    summary = run_generate({"project": str(project.root), "settings": settings.to_dict(),
                            "teacher": teacher}, ctx)
    held = hold_out(project, plan.held_out_share)
    usable = held.usable - held.held_out
    if usable < MIN_EXAMPLES:
        raise ValidationError("conversations", f"Only {usable} usable training conversations "
                              f"(at least {MIN_EXAMPLES} needed).",
                              "Add documents or raise the amount in the Conversations step.")
    ctx.log("info", f"held out {held.held_out} conversations as evaluation questions")
    return {"summary": summary, "held_out": held.held_out, "usable": usable}


def _sft(project: Any, plan: BuildPlan, state: dict[str, Any], spec: dict[str, Any],
         ctx: JobContext) -> dict[str, Any]:
    run = _train(project, state, "sft", plan.sft_method, plan.sft_preset, plan.sft_steps, "",
                 dict(plan.sft_params), ctx)
    return {"run": run}


def _ipo(project: Any, plan: BuildPlan, state: dict[str, Any], spec: dict[str, Any],
         ctx: JobContext) -> dict[str, Any]:
    from core.conversations.datasets import NOT_HELD_OUT_PAIR
    from core.conversations.store import USABLE

    pairs = project.store.query(
        f"SELECT COUNT(*) FROM pairs WHERE status IN ({', '.join('?' * len(USABLE))}) "
        f"AND {NOT_HELD_OUT_PAIR}", tuple(USABLE))[0][0]
    if pairs == 0:
        ctx.log("info", "no preference pairs: IPO skipped, the SFT model is used")
        return {"status": "skipped", "reason": "no preference pairs"}
    sft_run = state["stages"]["sft"]["run"]
    run = _train(project, state, "ipo", plan.ipo_method, plan.ipo_preset, plan.ipo_steps,
                 f"run:{sft_run}", dict(plan.ipo_params), ctx)
    return {"run": run, "pairs": int(pairs)}


def _evaluate(project: Any, plan: BuildPlan, state: dict[str, Any], spec: dict[str, Any],
              ctx: JobContext) -> dict[str, Any]:
    from core.evaluation.job import run_evaluate
    from core.evaluation.questions import list_questions
    from core.pipeline.gates import shipped_label

    models = ["base", "prompted", "retrieval"] + [
        shipped_label(run) for run in _trained_runs(state)]
    # every question the operator wrote (golden ones included), and the plan's share of the
    # held-out conversations
    operator = [q.id for q in list_questions(project, "operator")]
    held_out = [q.id for q in list_questions(project, "held_out")]
    chosen = operator + (held_out[:plan.eval_limit] if plan.eval_limit is not None
                         else held_out)
    run_evaluate({"project": str(project.root), "models": models, "questions": chosen}, ctx)
    return {"models": models, "questions": chosen}


def _export(project: Any, plan: BuildPlan, state: dict[str, Any], spec: dict[str, Any],
            ctx: JobContext) -> dict[str, Any]:
    from core.export.job import run_export
    from core.pipeline.select import select_model

    runs = state["stages"]
    ipo = runs["ipo"].get("run") if runs["ipo"]["status"] == "done" else None
    selection = select_model(project, runs["sft"]["run"], ipo)
    state["selection"] = selection.to_dict()
    build_state.save_state(project, state)
    ctx.log("info", f"selected {selection.method} ({selection.run_id}): {selection.reason}")
    override = bool(spec.get("override_gates"))
    if not selection.passed and not override:
        raise ValidationError(
            "gates", f"The {selection.method} model does not pass the release gates: "
            f"{selection.reports[selection.run_id].summary()}.",
            "See the failing answers in the Export step; improve the data or the training "
            "and build again, or export anyway with the explicit override.")
    if not selection.passed:
        ctx.log("warning", "exporting a model that fails the release gates: the operator "
                "overrode them")
    folder = run_export({"project": str(project.root), "run": selection.run_id,
                         "quants": list(plan.quants), "zip": plan.make_zip,
                         "override_gates": override}, ctx)
    state["export"] = folder
    return {"folder": folder, "run": selection.run_id, "overridden": not selection.passed}


_STAGES = {"documents": _documents, "conversations": _conversations, "sft": _sft,
           "ipo": _ipo, "evaluate": _evaluate, "export": _export}


def _trained_runs(state: dict[str, Any]) -> list[str]:
    return [state["stages"][s]["run"] for s in ("sft", "ipo")
            if state["stages"][s]["status"] == "done" and state["stages"][s].get("run")]


# --- training runs, each its own child -------------------------------------------------
def _train(project: Any, state: dict[str, Any], stage: str, method: str, preset: str,
           steps: int | None, base: str, params: dict[str, Any], ctx: JobContext) -> str:
    """Start (or resume) this stage's training run and follow it to its end."""
    from core.jobs.events import run_status
    from core.training.engine import newest_checkpoint
    from core.training.launch import prepare_run, resume_command
    from core.training.spec import build_spec

    previous = state["stages"][stage].get("run")
    run_dir = Path(project.runs_dir) / previous if previous else None
    command: list[str] | None = None
    if run_dir is not None and run_dir.is_dir():
        status = run_status(run_dir)
        if status == "running":
            _stop_orphan(run_dir, ctx)
            status = run_status(run_dir)
        if status == "succeeded" and (run_dir / "final" / "config.json").is_file():
            ctx.log("info", f"{stage}: run {run_dir.name} already finished")
            return run_dir.name
        if newest_checkpoint(run_dir) is not None:
            ctx.log("info", f"{stage}: resuming run {run_dir.name} from its newest checkpoint")
            command = resume_command(run_dir)
    if command is None:
        train_spec = build_spec(project.root, method, preset=preset, base=base,
                                params=params, max_steps=steps)
        run_dir, command = prepare_run(project, train_spec)
        ctx.log("info", f"{stage}: new run {run_dir.name} ({method}, {preset})")
    assert run_dir is not None
    state["stages"][stage]["run"] = run_dir.name
    build_state.save_state(project, state)
    _follow(command, run_dir, ctx)
    return run_dir.name


def _follow(command: list[str], run_dir: Path, ctx: JobContext) -> None:
    """Run the training child, pass its progress on, relay a pause; raise unless it succeeded."""
    from core.jobs.events import STOP_FILE, stream_events
    from core.jobs.launch import child_env

    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=child_env(),
                               preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    status, error = "failed", None
    assert process.stdout is not None
    try:
        for event in stream_events(process.stdout):
            if ctx.should_stop() and not (run_dir / STOP_FILE).exists():
                (run_dir / STOP_FILE).touch()  # the run saves a checkpoint and ends
            kind = event.get("type")
            if kind == "progress":
                ctx.progress(int(event["step"]), max(int(event["total"]), 1))
            elif kind in ("metric", "sample", "checkpoint"):
                ctx.emit(kind, **{k: v for k, v in event.items() if k != "type"})
            elif kind == "log":
                ctx.log(event.get("level", "info"), f"training: {event.get('message', '')}")
            elif kind == "error":
                error = event
            elif kind == "finished":
                status = str(event.get("status"))
    except BaseException:
        (run_dir / STOP_FILE).touch()
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
    process.wait()
    if status == "succeeded":
        return
    if status == "cancelled":
        raise JobCancelled(f"training run {run_dir.name} paused")
    if error:
        raise TalkSmallError(f"Training run {run_dir.name} failed: {error.get('message')}",
                             str(error.get("hint") or ""))
    raise TalkSmallError(f"Training run {run_dir.name} ended without finishing (exit code "
                         f"{process.returncode}).", f"The details are in {run_dir}/stderr.log.")


def _die_with_parent() -> None:
    """Linux: the training child gets SIGTERM when the build dies (it then stops cleanly)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _stop_orphan(run_dir: Path, ctx: JobContext) -> None:
    """A run left alive by a killed build (not on Linux): ask it to stop, wait, then go on."""
    from core.jobs.events import STOP_FILE, run_status

    ctx.log("warning", f"run {run_dir.name} is still running from an earlier build: stopping it")
    (run_dir / STOP_FILE).touch()
    deadline = time.monotonic() + STOP_GRACE_S
    while run_status(run_dir) == "running" and time.monotonic() < deadline:
        time.sleep(1.0)
