"""JobRunner against the fake child (recorded streams) and against the real selfcheck child."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.jobs.events import parse_event_line, read_events, run_status
from gui.workers import job_runner
from gui.workers.job_runner import JobRunner
from tests.fakes import fake_child_command, recording

TIMEOUT_MS = 30000


class Recorder:
    """Every signal of a runner, in the order they fired."""

    def __init__(self, runner: JobRunner) -> None:
        self.calls: list[tuple] = []
        self.events: list[dict] = []
        runner.event.connect(self.events.append)
        for name in ("started", "progress", "metric", "log", "error", "finished"):
            getattr(runner, name).connect(
                lambda *args, name=name: self.calls.append((name, *args))
            )

    def of(self, name: str) -> list[tuple]:
        return [call[1:] for call in self.calls if call[0] == name]


def _recorded(name: str) -> list[dict]:
    """The events a recording should turn into: noise lines become info log events."""
    events = []
    for line in recording(name).read_text(encoding="utf-8").splitlines():
        event = parse_event_line(line)
        events.append(event or {"type": "log", "level": "info", "message": line})
    return events


def _start_fake(runner: JobRunner, run_dir: Path, name: str, *options: str) -> None:
    runner.start("train", {"recording": name}, run_dir, fake_child_command(name, run_dir, *options))


@pytest.fixture
def runner(qtbot) -> JobRunner:
    return JobRunner()


def test_a_recorded_training_run_becomes_signals_in_order(qtbot, runner, tmp_path) -> None:
    seen = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        _start_fake(runner, tmp_path, "train_short")
    expected = _recorded("train_short")
    assert seen.events == expected
    assert done.args == ["succeeded", expected[-1]["output"]]
    assert not runner.is_running()

    names = [call[0] for call in seen.calls]
    assert names[0] == "started" and names[-1] == "finished"
    assert names.count("finished") == 1 and "error" not in names
    progress = seen.of("progress")
    assert progress[0] == (1, 12, -1.0)  # eta unknown at the first step
    assert [step for step, _, _ in progress] == list(range(1, 13))
    assert progress[-1] == (12, 12, 0.0)
    assert [m[0]["step"] for m in seen.of("metric") if "eval_loss" in m[0]] == [6, 12]
    assert ("info", "Map: 100%|##########| 164/164 [00:00<00:00, 2710.33 examples/s]") in (
        seen.of("log")
    )
    assert json.loads((tmp_path / "spec.json").read_text()) == {"recording": "train_short"}
    assert run_status(tmp_path) == "succeeded"


def test_lines_split_across_reads_are_joined(qtbot, runner, tmp_path) -> None:
    seen = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        _start_fake(runner, tmp_path, "out_of_memory", "--split", "--delay", "0.01")
    assert seen.events == _recorded("out_of_memory")
    assert done.args[0] == "failed"


def test_out_of_memory_reaches_the_error_signal(qtbot, runner, tmp_path) -> None:
    seen = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        _start_fake(runner, tmp_path, "out_of_memory")
    assert done.args == ["failed", ""]
    [(code, message, hint)] = seen.of("error")
    assert code == "out_of_memory" and "CUDA out of memory" in message
    assert "batch size" in hint
    assert [call[0] for call in seen.calls][-2:] == ["error", "finished"]


def test_a_child_that_dies_without_finished_failed(qtbot, runner, tmp_path) -> None:
    seen = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        _start_fake(runner, tmp_path, "crashed")
    assert done.args == ["failed", ""]
    [(code, message, hint)] = seen.of("error")
    assert code == "crashed"
    assert message == "the job stopped unexpectedly (exit code 1)"
    assert "stderr.log" in hint
    assert seen.of("progress")[-1] == (4, 40, 295.2)
    # The run's own history says the same, so a later look at the folder agrees.
    assert run_status(tmp_path) == "failed"
    assert read_events(tmp_path)[-1] == {
        "type": "finished", "status": "failed", "output": "", "source": "runner"
    }


def test_an_abrupt_exit_mid_run_reports_its_exit_code(qtbot, runner, tmp_path) -> None:
    seen = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        _start_fake(runner, tmp_path, "train_short", "--crash-after", "9", "--crash-code", "7")
    assert done.args == ["failed", ""]
    assert seen.of("error")[0][1] == "the job stopped unexpectedly (exit code 7)"
    assert len(seen.events) == 9 + 2  # nine replayed, then the runner's error and finished


def test_stderr_goes_to_the_run_folder(qtbot, runner, tmp_path) -> None:
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS):
        _start_fake(runner, tmp_path, "out_of_memory", "--stderr", "CUDA warning: low memory")
    assert "CUDA warning: low memory" in (tmp_path / "stderr.log").read_text()


def test_cancel_asks_through_the_stop_file(qtbot, runner, tmp_path) -> None:
    seen = Recorder(runner)
    with qtbot.waitSignal(runner.progress, timeout=TIMEOUT_MS):
        _start_fake(runner, tmp_path, "crashed", "--hang")
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        runner.cancel(grace_ms=TIMEOUT_MS)
    assert done.args == ["cancelled", ""]
    assert (tmp_path / "STOP").exists()
    assert seen.events[-1] == {"type": "finished", "status": "cancelled", "output": ""}
    assert not [log for log in seen.of("log") if "did not stop" in log[1]]


def test_cancel_terminates_a_child_that_ignores_stop(qtbot, runner, tmp_path) -> None:
    seen = Recorder(runner)
    with qtbot.waitSignal(runner.progress, timeout=TIMEOUT_MS):
        _start_fake(runner, tmp_path, "crashed", "--hang", "--ignore-stop")
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        runner.cancel(grace_ms=100)
    assert done.args == ["cancelled", ""]
    assert ("warning", "the job did not stop when asked and was ended") in seen.of("log")
    assert run_status(tmp_path) == "cancelled"


def test_cancel_kills_a_child_that_ignores_stop_and_terminate(qtbot, runner, tmp_path) -> None:
    with qtbot.waitSignal(runner.progress, timeout=TIMEOUT_MS):
        _start_fake(runner, tmp_path, "crashed", "--hang", "--ignore-stop", "--ignore-term")
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        runner.cancel(grace_ms=100)
    assert done.args == ["cancelled", ""]
    assert runner._escalation_step == 3  # it took the kill
    assert not runner.is_running()


def test_a_child_that_lingers_after_finished_is_stopped(
    qtbot, runner, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(job_runner, "LINGER_MS", 100)
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        _start_fake(runner, tmp_path, "train_short", "--linger")
    assert done.args[0] == "succeeded"


def test_a_program_that_cannot_start_fails_cleanly(qtbot, runner, tmp_path) -> None:
    seen = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        runner.start("train", {}, tmp_path, [str(tmp_path / "no-such-program")])
    assert done.args == ["failed", ""]
    assert seen.of("error")[0][0] == "failed_to_start"
    assert not runner.is_running()
    assert run_status(tmp_path) == "failed"


def test_one_job_at_a_time_and_a_stale_stop_is_cleared(qtbot, runner, tmp_path) -> None:
    (tmp_path / "STOP").touch()
    with qtbot.waitSignal(runner.progress, timeout=TIMEOUT_MS):
        _start_fake(runner, tmp_path, "crashed", "--hang")
    assert runner.is_running()
    with pytest.raises(RuntimeError, match="still running"):
        _start_fake(runner, tmp_path, "crashed")
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        runner.cancel()
    assert done.args[0] == "cancelled"


# --- the real child ----------------------------------------------------------------------


def test_the_real_selfcheck_child_end_to_end(qtbot, runner, tmp_path) -> None:
    seen = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        runner.start("selfcheck", {"steps": 3, "delay_s": 0, "probe_torch": False}, tmp_path)
    assert done.args[0] == "succeeded" and "python 3." in done.args[1]
    assert [step for step, _, _ in seen.of("progress")] == [1, 2, 3]
    assert seen.events == read_events(tmp_path)
    assert seen.of("started")[0][0]["job"] == "selfcheck"


def test_the_real_child_cancels_through_stop(qtbot, runner, tmp_path) -> None:
    with qtbot.waitSignal(runner.progress, timeout=TIMEOUT_MS):
        runner.start(
            "selfcheck", {"steps": 100000, "delay_s": 0.01, "probe_torch": False}, tmp_path
        )
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as done:
        runner.cancel(grace_ms=TIMEOUT_MS)
    assert done.args == ["cancelled", ""]
    assert run_status(tmp_path) == "cancelled"
