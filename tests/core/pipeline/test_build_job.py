"""The build job for real on the tiny plan: paused in SFT, killed -9 in evaluation, continued
to the export; the project opens after each interruption and nothing finished is redone."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import pytest

from core.documents import import_files
from core.jobs.events import STOP_FILE, read_pid, run_status
from core.pipeline.launch import prepare_build, run_build_child
from core.pipeline.state import load_state
from core.project import open_project
from core.sample import init_sample


def _start(folder: Path, **options) -> tuple[Path, list[str]]:
    project = open_project(folder)
    try:
        run_dir, _spec, command = prepare_build(project, plan="ci", **options)
    finally:
        project.close()
    return run_dir, command


def _state(folder: Path) -> dict:
    project = open_project(folder)
    try:
        check = project.store.query("PRAGMA integrity_check")[0][0]
        assert check == "ok"
        return load_state(project)
    finally:
        project.close()


@pytest.mark.slow
def test_pause_kill_and_continue_to_the_export(tmp_path: Path):
    folder = tmp_path / "kestrel"
    project = init_sample(folder)
    import_files(project, [folder / "sample-documents" / "policies.md",
                           folder / "sample-documents" / "faq.docx"])
    project.close()

    # 1. Pause while SFT trains: the run saves a checkpoint, the build ends "cancelled".
    run_dir, command = _start(folder)
    seen: list[str] = []

    def pause_in_sft(event: dict) -> None:
        if event["type"] == "stage":
            seen.append(event["name"])
        if seen and seen[-1] == "sft" and event["type"] == "progress":
            (run_dir / STOP_FILE).touch()

    status, timings = run_build_child(command, pause_in_sft)
    assert status == "cancelled"
    state = _state(folder)
    stages = state["stages"]
    assert state["status"] == "paused"
    assert stages["documents"]["status"] == stages["conversations"]["status"] == "done"
    # the pause reaches the run at its next step: SFT (2 steps) may just finish, and then
    # the first preference run is the one that pauses
    [paused] = [s for s in ("sft", "ipo") if stages[s]["status"] == "paused"]
    paused_run = stages[paused]["run"]
    paused_dir = folder / "runs" / paused_run
    assert run_status(paused_dir) == "cancelled"
    checkpointed = bool(list((paused_dir / "checkpoints").glob("checkpoint-*")))

    # 2. Kill -9 the build as soon as evaluation starts: the state says "running" for a
    #    process that is gone; the project opens and the SFT run is not redone.
    run_dir, command = _start(folder)

    def kill_in_evaluation(event: dict) -> None:
        if event["type"] == "stage" and event["name"] == "evaluate":
            os.kill(read_pid(run_dir), signal.SIGKILL)

    status, _ = run_build_child(command, kill_in_evaluation)
    assert status == "failed"
    assert run_status(run_dir) == "failed"  # no finished event: never shown as succeeded
    state = _state(folder)
    if checkpointed:  # resumed from its checkpoint, not started again
        assert state["stages"][paused]["run"] == paused_run
        assert run_status(paused_dir) == "succeeded"
    assert state["stages"]["sft"]["status"] == "done"
    assert state["stages"]["evaluate"]["status"] == "running"
    examples = _count(folder, "SELECT COUNT(*) FROM examples")

    # 3. Continue: only what is left runs, and the assistant is exported (gates overridden
    #    if the tiny model fails them, as the operator may).
    run_dir, command = _start(folder, override_gates=True)
    logs: list[str] = []
    status, timings = run_build_child(
        command, lambda e: logs.append(e.get("message", "")) if e["type"] == "log" else None)
    assert status == "succeeded", logs[-5:]
    assert list(timings) == ["evaluate", "export"]
    assert any("conversations: already done" in m for m in logs)
    state = _state(folder)
    assert state["status"] == "done"
    assert Path(state["export"], "model-f16.gguf").is_file()
    assert state["selection"]["run"] in (state["stages"]["sft"]["run"],
                                         state["stages"]["ipo"].get("run"))
    assert _count(folder, "SELECT COUNT(*) FROM examples") == examples  # nothing regenerated


def _count(folder: Path, sql: str) -> int:
    with sqlite3.connect(folder / "project.sqlite") as conn:
        return int(conn.execute(sql).fetchone()[0])
