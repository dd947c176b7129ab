"""Where a build stands, kept in the project (setting ``build``) so it survives anything.

Each stage is pending, running, done, skipped (nothing to do, e.g. no preference pairs),
paused, failed or blocked (the release gates stopped the export). A stage is marked
running before it starts and done only after its result is saved, so a process killed in
between leaves "running": the next build re-enters that stage, and every stage resumes
from what it saved (generated items, the training run's newest checkpoint, stored
evaluation answers; an export is all-or-nothing).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.pipeline.plan import STAGES

SETTING = "build"
FINISHED = ("done", "skipped")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_state(plan: str) -> dict[str, Any]:
    return {"plan": plan, "status": "pending", "started_at": _now(), "updated_at": _now(),
            "stages": {name: {"status": "pending"} for name in STAGES},
            "selection": None, "export": None, "error": None}


def load_state(project: Any) -> dict[str, Any] | None:
    state = project.store.get_setting(SETTING)
    if not isinstance(state, dict) or not isinstance(state.get("stages"), dict):
        return None
    for name in STAGES:  # a state written by an older version gains the new stages
        state["stages"].setdefault(name, {"status": "pending"})
    return state


def save_state(project: Any, state: dict[str, Any]) -> None:
    state["updated_at"] = _now()
    project.store.set_setting(SETTING, state)


def clear_state(project: Any) -> None:
    project.store.set_setting(SETTING, None)


def mark(project: Any, state: dict[str, Any], stage: str, status: str, **facts: Any) -> None:
    entry = state["stages"][stage]
    entry.update(facts)
    entry["status"] = status
    entry[f"{status}_at"] = _now()
    save_state(project, state)


def next_stage(state: dict[str, Any]) -> str | None:
    for name in STAGES:
        if state["stages"][name]["status"] not in FINISHED:
            return name
    return None


def is_complete(state: dict[str, Any] | None) -> bool:
    return state is not None and next_stage(state) is None


def can_continue(state: dict[str, Any] | None) -> bool:
    """A build was started and has stages left (paused, failed, blocked or killed)."""
    return state is not None and not is_complete(state) and any(
        s["status"] != "pending" for s in state["stages"].values())
