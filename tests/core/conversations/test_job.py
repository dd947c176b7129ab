"""The ``generate`` job as a child process: protocol events, kill -9, STOP, resume.

The teacher is the fake OpenAI-compatible server in this process; the child is the real
``python -m core.jobs generate``. A kill -9 must lose at most the items in flight: every
item the child reported is saved, every saved item is done, and a rerun finishes the rest.
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from core.conversations import store
from core.jobs.events import STOP_FILE, read_events
from core.jobs.launch import child_command, child_env, new_run_dir, write_spec
from core.project import open_project
from tests.core.conversations.scripted import helpful
from tests.fakes.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.slow
LIMIT = 10


def _start(project_root, server, run_dir) -> subprocess.Popen:
    spec = write_spec(run_dir, {
        "project": str(project_root),
        "teacher": {"kind": "endpoint", "base_url": server.url, "model": "fake"},
        "settings": {"limit": LIMIT, "rewrite": "always", "concurrency": 2, "seed": 4},
    })
    return subprocess.Popen(child_command("generate", spec, run_dir), env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _check_consistent(root) -> int:
    project = open_project(root)
    try:
        rows = project.store.query(
            "SELECT w.status, COUNT(e.id) AS n FROM generation_work w "
            "LEFT JOIN examples e ON e.work_id = w.id GROUP BY w.id")
        assert all(r["n"] == (1 if r["status"] == "done" else 0) for r in rows)
        return sum(1 for r in rows if r["status"] == "done")
    finally:
        project.close()


def test_kill_stop_and_resume(sample_project, tmp_path) -> None:
    root = sample_project.root
    sample_project.close()
    with FakeOpenAIServer(responder=helpful, delay_s=0.1) as server:
        # 1. kill -9 mid-run
        first = new_run_dir(tmp_path / "runs", "generate")
        child = _start(root, server, first)
        try:
            assert server.wait_for_requests(6, timeout_s=240)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.communicate(timeout=60)
        reported = [e for e in read_events(first) if e["type"] == "item"]
        done = _check_consistent(root)
        assert done >= len(reported)  # every reported item was saved before it was reported
        assert done < LIMIT
        assert any(e["type"] == "progress" and "eta_s" in e for e in read_events(first))

        # 2. STOP (pause): the child finishes what is in flight and ends cancelled
        second = new_run_dir(tmp_path / "runs", "generate")
        requests = server.requests
        child = _start(root, server, second)
        assert server.wait_for_requests(requests + 2, timeout_s=240)
        (second / STOP_FILE).touch()
        out, _ = child.communicate(timeout=240)
        assert child.returncode == 3, out
        finished = [e for e in read_events(second) if e["type"] == "finished"]
        assert finished[-1]["status"] == "cancelled"
        paused = _check_consistent(root)
        assert paused >= done

        # 3. resume to the end
        third = new_run_dir(tmp_path / "runs", "generate")
        child = _start(root, server, third)
        out, _ = child.communicate(timeout=600)
        assert child.returncode == 0, out
    events = read_events(third)
    items = [e for e in events if e["type"] == "item"]
    assert len(items) == LIMIT - paused
    assert all({"id", "kept", "reason", "source", "role"} <= set(e) for e in items)
    assert events[-1]["status"] == "succeeded" and "kept" in events[-1]["output"]
    assert _check_consistent(root) == LIMIT
    project = open_project(root)
    try:
        assert store.summary(project)["examples"]["total"] == LIMIT
    finally:
        project.close()
