"""The train job as a child process: a crash, a diverged run and a killed process all end as
failed with a plain reason, in the events, the run history and the project's runs table."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from core.jobs.events import parse_event_line, read_events, run_status
from core.jobs.launch import child_env
from core.training import list_training_runs
from core.training.launch import prepare_run
from core.training.spec import build_spec
from tests.core.training.conftest import TINY

pytestmark = pytest.mark.slow


def _start(project_dir: Path, **spec_options: Any) -> tuple[Path, list[str]]:
    from core.project import open_project

    params = {**TINY, **spec_options.pop("params", {})}
    spec = build_spec(project_dir, spec_options.pop("method", "sft"), preset="quick-cpu",
                      params=params, device="cpu", **spec_options)
    project = open_project(project_dir)
    try:
        return prepare_run(project, spec)
    finally:
        project.close()


def _history(project_dir: Path, run_id: str) -> dict[str, Any]:
    from core.project import open_project

    project = open_project(project_dir)
    try:
        record = next(r for r in list_training_runs(project) if r["id"] == run_id)
        row = project.store.query("SELECT status FROM runs WHERE id = ?", (run_id,))
        record["table_status"] = row[0]["status"] if row else None
    finally:
        project.close()
    return record


def test_a_corrupt_base_model_fails_with_a_plain_reason(train_project: Path,
                                                        tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{ this is not json")
    run_dir, command = _start(train_project, base=str(broken), params={"max_steps": 2})
    done = subprocess.run(command, env=child_env(), capture_output=True, timeout=300)
    assert done.returncode == 1
    events = [e for e in map(parse_event_line, done.stdout.decode().splitlines()) if e]
    error = next(e for e in events if e["type"] == "error")
    assert error["code"] == "model" and "broken-model" in error["message"]
    assert events[-1] == {**events[-1], "type": "finished", "status": "failed"}
    assert "Traceback" not in error["message"] + error.get("hint", "")
    record = _history(train_project, run_dir.name)
    assert record["status"] == "failed" and record["table_status"] == "failed"
    assert record["error"]["code"] == "model" and record["method"] == "sft"


def test_a_diverging_run_fails_instead_of_succeeding(train_project: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    from core.cli import main

    code = main(["train", str(train_project), "--method", "sft", "--max-steps", "4",
                 "--device", "cpu", "--json", "--set", "learning_rate=1", "--set",
                 "batch_size=2", "--set", "max_length=48", "--set", "sample_tokens=0"])
    assert code == 1
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    error = next(e for e in events if e["type"] == "error")
    assert error["code"] in ("nan_loss", "exploding_gradients", "loss_spike"), error
    assert "learning rate" in error["hint"].lower()
    assert events[-1]["type"] == "finished" and events[-1]["status"] == "failed"
    run_id = events[0]["run"]
    record = _history(train_project, run_id)
    assert record["status"] == "failed" and record["error"]["code"] == error["code"]
    assert not (train_project / "runs" / run_id / "final").exists()


def test_a_killed_child_shows_as_failed(train_project: Path) -> None:
    run_dir, command = _start(train_project, params={"max_steps": 50, "max_length": 48})
    process = subprocess.Popen(command, env=child_env(), stdout=subprocess.PIPE)
    assert process.stdout is not None
    try:
        for raw in process.stdout:
            event = parse_event_line(raw)
            if event and event["type"] == "stage" and event["name"] == "sft":
                break
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.stdout.close()
        process.wait(timeout=60)
    assert not any(e["type"] == "finished" for e in read_events(run_dir))
    assert run_status(run_dir) == "failed"
    record = _history(train_project, run_dir.name)
    assert record["status"] == "failed" and record["error"]["code"] == "crashed"
    assert record["method"] == "sft" and record["data_size"] == {"train": 8, "validation": 2}
