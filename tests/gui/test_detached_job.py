"""DetachedJob: a job that outlives the app, followed through its run folder (fake child)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from core.jobs.events import pid_alive, read_events, read_pid, run_status
from gui.workers.detached_job import DetachedJob
from tests.fakes import fake_child_command
from tests.gui.test_job_runner import Recorder, _recorded

TIMEOUT_MS = 30000


def _start(job: DetachedJob, run_dir: Path, name: str, *options: str) -> None:
    assert job.start("train", {"recording": name}, run_dir,
                     fake_child_command(name, run_dir, *options))


def test_a_detached_run_becomes_the_same_signals(qtbot, tmp_path: Path) -> None:
    job = DetachedJob()
    seen = Recorder(job)
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS) as done:
        _start(job, tmp_path, "train_short")
    expected = [e for e in _recorded("train_short") if e.get("type")]
    # noise lines on stdout go to stdout.log, not events.jsonl: only JSON events are followed
    assert seen.events == read_events(tmp_path)
    assert [e["type"] for e in seen.events] == [
        e["type"] for e in expected if e in read_events(tmp_path)]
    assert done.args == ["succeeded", expected[-1]["output"]]
    names = [call[0] for call in seen.calls]
    assert names[0] == "started" and names.count("finished") == 1
    assert [step for step, _, _ in seen.of("progress")] == list(range(1, 13))
    assert not job.is_running()


def test_close_the_app_leave_it_running_and_attach_again(qtbot, tmp_path: Path) -> None:
    first = DetachedJob()
    progress_seen: list[int] = []
    first.progress.connect(lambda step, _total, _eta: progress_seen.append(step))
    _start(first, tmp_path, "train_short", "--delay", "0.15")
    qtbot.waitUntil(lambda: len(progress_seen) >= 2, timeout=TIMEOUT_MS)
    first.detach()  # the app closes; the run goes on
    assert not first.is_running()
    pid = read_pid(tmp_path)
    assert pid is not None and pid_alive(pid)

    again = DetachedJob()  # the app opens again
    seen = Recorder(again)
    assert again.attach(tmp_path, "train") == "running"
    assert seen.of("started") and seen.of("progress")  # what happened so far is replayed
    with qtbot.waitSignal(again.finished, timeout=TIMEOUT_MS) as done:
        pass
    assert done.args[0] == "succeeded"
    assert [step for step, _, _ in seen.of("progress")] == list(range(1, 13))
    assert seen.of("finished") == [("succeeded", done.args[1])]

    finished = DetachedJob()
    seen_finished = Recorder(finished)
    assert finished.attach(tmp_path) == "succeeded"
    assert not finished.is_running() and seen_finished.of("progress")


def test_a_crash_without_finished_is_recorded_as_failed(qtbot, tmp_path: Path) -> None:
    job = DetachedJob()
    seen = Recorder(job)
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS) as done:
        _start(job, tmp_path, "train_short", "--crash-after", "5")
    assert done.args == ["failed", ""]
    (code, message, _hint), = seen.of("error")
    assert code == "crashed" and "stopped unexpectedly" in message
    assert run_status(tmp_path) == "failed"
    assert read_events(tmp_path)[-1] == {"type": "finished", "status": "failed", "output": "",
                                         "source": "runner"}


def test_cancel_asks_then_ends_a_child_that_ignores_it(qtbot, tmp_path: Path) -> None:
    polite = DetachedJob()
    _start(polite, tmp_path / "polite", "train_short", "--hang")
    qtbot.waitUntil(lambda: read_pid(tmp_path / "polite") is not None, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(polite.finished, timeout=TIMEOUT_MS) as done:
        polite.cancel(grace_ms=5000)
    assert done.args[0] == "cancelled"
    assert (tmp_path / "polite" / "STOP").exists()

    stubborn = DetachedJob()
    seen = Recorder(stubborn)
    _start(stubborn, tmp_path / "stubborn", "train_short", "--hang", "--ignore-stop",
           "--ignore-term")
    qtbot.waitUntil(lambda: read_pid(tmp_path / "stubborn") is not None, timeout=TIMEOUT_MS)
    pid = read_pid(tmp_path / "stubborn")
    with qtbot.waitSignal(stubborn.finished, timeout=TIMEOUT_MS) as done:
        stubborn.cancel(grace_ms=200)
    assert done.args[0] == "cancelled"
    assert ("warning", "the job did not stop when asked and was ended") in seen.of("log")
    assert pid is not None and not pid_alive(pid)


def test_a_child_killed_from_outside_fails(qtbot, tmp_path: Path) -> None:
    job = DetachedJob()
    _start(job, tmp_path, "train_short", "--hang")
    qtbot.waitUntil(lambda: read_pid(tmp_path) is not None, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS) as done:
        os.kill(read_pid(tmp_path), signal.SIGKILL)
    assert done.args == ["failed", ""]
