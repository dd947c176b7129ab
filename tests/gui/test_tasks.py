"""run_task: the one builder for short background work."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading

import pytest
from PySide6.QtCore import QThread

from core.errors import TalkSmallError, ValidationError
from gui.workers.tasks import TaskError, active_tasks, run_task, wait_for_all
from tests.gui.conftest import leftover_work

TIMEOUT_MS = 10000


def _on_gui_thread(qapp) -> bool:
    return QThread.currentThread() == qapp.thread()


def test_success_calls_back_on_the_gui_thread(qtbot, qapp) -> None:
    got = []
    worker_threads = []

    def double(x: int, *, extra: int = 0) -> int:
        worker_threads.append(threading.get_ident())
        return 2 * x + extra

    task = run_task(double, 20, extra=2, on_success=lambda r: got.append((r, _on_gui_thread(qapp))))
    with qtbot.waitSignal(task.finished, timeout=TIMEOUT_MS):
        pass
    assert got == [(42, True)]
    assert worker_threads and worker_threads[0] != threading.get_ident()
    assert task.done and task.result == 42 and task.error is None
    assert task not in active_tasks()


def test_our_errors_pass_through_with_their_hint(qtbot, qapp) -> None:
    original = ValidationError("path", "the folder has no config.json", "pick a model folder")
    got = []

    def fail() -> None:
        raise original

    task = run_task(fail, on_error=lambda e: got.append((e, _on_gui_thread(qapp))))
    qtbot.waitUntil(lambda: task.done, timeout=TIMEOUT_MS)
    assert got == [(original, True)]
    assert got[0][0].hint == "pick a model folder"


def test_other_errors_are_wrapped_in_a_plain_message(qtbot) -> None:
    got = []

    def read_model_card() -> None:
        raise ValueError("bad header\nwith a second line")

    task = run_task(read_model_card, on_success=lambda r: got.append("success"),
                    on_error=got.append)
    qtbot.waitUntil(lambda: task.done, timeout=TIMEOUT_MS)
    [error] = got
    assert isinstance(error, TaskError) and isinstance(error, TalkSmallError)
    assert error.message == "read model card failed unexpectedly (ValueError: bad header)"
    assert error.hint
    assert isinstance(error.__cause__, ValueError)
    assert "Traceback" in error.details and "read_model_card" in error.details


def test_progress_arrives_in_order_on_the_gui_thread(qtbot, qapp) -> None:
    got = []

    def count(n: int, progress=None) -> str:
        for i in range(1, n + 1):
            progress(i / n, f"step {i}")
        return "done"

    results = []
    task = run_task(
        count, 50,
        on_success=results.append,
        on_progress=lambda fraction, message: got.append((fraction, message, _on_gui_thread(qapp))),
    )
    qtbot.waitUntil(lambda: task.done, timeout=TIMEOUT_MS)
    assert results == ["done"]
    assert [g[1] for g in got] == [f"step {i}" for i in range(1, 51)]
    assert all(g[2] for g in got)
    assert got[-1][0] == 1.0


def test_progress_is_only_passed_to_functions_that_take_it(qtbot) -> None:
    got = []
    task = run_task(lambda **kwargs: sorted(kwargs), on_success=got.append)
    qtbot.waitUntil(lambda: task.done, timeout=TIMEOUT_MS)
    mine = []

    def takes_progress(progress) -> str:
        progress(1)
        return "ran"

    task2 = run_task(takes_progress, progress=mine.append, on_success=got.append)
    qtbot.waitUntil(lambda: task2.done, timeout=TIMEOUT_MS)
    assert got == [[], "ran"]
    assert mine == [1]  # an explicit progress argument is left alone


def test_tasks_are_kept_alive_without_a_reference(qtbot) -> None:
    got = []
    run_task(lambda: "still here", on_success=got.append)
    gc.collect()
    qtbot.waitUntil(lambda: got == ["still here"], timeout=TIMEOUT_MS)


def test_active_tasks_and_wait_for_all(qtbot) -> None:
    release = threading.Event()
    got = []
    task = run_task(release.wait, 10, on_success=got.append)
    assert active_tasks() == [task]
    assert not wait_for_all(50)
    release.set()
    assert wait_for_all(TIMEOUT_MS)
    assert active_tasks() == [] and got == [True]


def test_cancel_drops_the_callbacks(qtbot) -> None:
    release = threading.Event()
    got = []
    task = run_task(release.wait, 10, on_success=got.append, on_error=got.append)
    task.cancel()
    release.set()
    qtbot.waitUntil(lambda: task.done, timeout=TIMEOUT_MS)
    assert got == [] and task.result is True


def test_leftover_work_is_reported(qtbot) -> None:
    """The autouse fixture's check: a running task or child process is noticed."""
    release = threading.Event()
    task = run_task(release.wait, 30)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        problems = leftover_work(grace_ms=50)
        assert any("thread-pool" in p for p in problems)
        if sys.platform.startswith("linux"):
            assert f"child process {child.pid} still running" in problems
    finally:
        release.set()
        child.kill()
        child.wait()
    qtbot.waitUntil(lambda: task.done, timeout=TIMEOUT_MS)
    assert leftover_work() == []


@pytest.mark.parametrize("bad", [KeyboardInterrupt, SystemExit])
def test_even_base_exceptions_reach_on_error(qtbot, bad) -> None:
    got = []

    def explode() -> None:
        raise bad()

    task = run_task(explode, on_error=got.append)
    qtbot.waitUntil(lambda: task.done, timeout=TIMEOUT_MS)
    assert isinstance(got[0], TaskError)
