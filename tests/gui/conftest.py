"""GUI tests run headless, and no test may leave background work behind."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import signal
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QThreadPool

from gui.workers import tasks
from gui.workers.detached_job import followed_jobs
from gui.workers.job_runner import running_runners


def live_children() -> list[int]:
    """Pids of this process's children that are still running (Linux; elsewhere, none)."""
    me = os.getpid()
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, parent = fields[0], int(fields[1])
        if parent == me and state not in ("Z", "X"):
            pids.append(int(stat.parent.name))
    return pids


def leftover_work(grace_ms: int = 1000) -> list[str]:
    """What a test left running, after a short grace for work that is already ending."""
    problems = []
    pool = QThreadPool.globalInstance()
    if not pool.waitForDone(grace_ms):
        problems.append(f"{pool.activeThreadCount()} thread-pool task(s) still running")
    else:
        QCoreApplication.processEvents()  # deliver callbacks of tasks that just ended
        if tasks.active_tasks():
            problems.append(f"{len(tasks.active_tasks())} task(s) whose callbacks never ran")
    for runner in running_runners():
        problems.append(f"job runner for {runner.job!r} still has its child process")
    for job in followed_jobs():
        problems.append(f"detached {job.job!r} job in {job.run_dir} is still followed")
    problems += [f"child process {pid} still running" for pid in live_children()]
    return problems


def clean_up() -> None:
    for job in followed_jobs():
        job.kill()
        job.detach()
    for runner in running_runners():
        process = runner._process
        runner.kill()
        if process is not None:
            process.waitForFinished(5000)
    for pid in live_children():
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (OSError, ChildProcessError):
            pass
    QThreadPool.globalInstance().waitForDone(10000)
    QCoreApplication.processEvents()
    tasks._active.clear()


@pytest.fixture(autouse=True)
def no_leftover_work(qapp):
    """Fail the test that leaves a thread-pool task or a child process running."""
    yield
    problems = leftover_work()
    if problems:
        clean_up()
        pytest.fail("the test left background work running: " + "; ".join(problems))
