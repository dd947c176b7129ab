"""The window lock: a second window (another process) is refused with the holder named; a
killed holder leaves no stale lock; jobs and the CLI are never blocked by it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ProjectError
from core.jobs.launch import child_env
from core.project import ProjectLock, create_project, open_locked, open_project
from core.project.lock import OWNER_FILE
from tests.lock_holder import held_elsewhere


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    create_project(tmp_path / "acme", company_name="Acme Lettings").close()
    return tmp_path / "acme"


@pytest.fixture
def holder(project_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that opened the project as a window does, and holds it."""
    with held_elsewhere(project_dir) as child:
        yield child


def test_a_second_process_is_refused_and_a_killed_holder_frees_the_lock(
        project_dir: Path, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(ProjectError) as refused:
        ProjectLock(project_dir).acquire()
    message = refused.value.message
    assert "open in another TalkSmall window" in message
    assert f"process {holder.pid} on " in message and " since " in message
    assert "close the project there" in refused.value.hint
    with pytest.raises(ProjectError, match=f"process {holder.pid}"):
        open_locked(project_dir)  # what the welcome page calls

    os.kill(holder.pid, signal.SIGKILL)  # no clean-up code runs in the holder
    holder.wait(timeout=30)
    assert (project_dir / OWNER_FILE).exists()  # its stale note is still there ...
    with ProjectLock(project_dir) as lock:  # ... yet the lock is free
        assert lock.held
        owner = lock.owner()
        assert owner is not None and owner["pid"] == os.getpid()  # the note is ours now


def test_jobs_and_the_cli_are_not_blocked_by_a_window(project_dir: Path,
                                                      holder: subprocess.Popen[str]) -> None:
    project = open_project(project_dir)  # what `python -m core.jobs` and the CLI call
    try:
        project.store.set_setting("written_while_locked", True)
    finally:
        project.close()
    done = subprocess.run([sys.executable, "-m", "core.cli", "info", str(project_dir)],
                          env=child_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Acme Lettings" in done.stdout
    assert holder.poll() is None  # the window still holds it


def test_a_holder_that_closes_cleanly_releases(project_dir: Path,
                                               holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.close()
    assert holder.stdout.readline().strip() == "released"
    assert not (project_dir / OWNER_FILE).exists()
    project = open_locked(project_dir)
    try:
        assert project.lock is not None and project.lock.held
    finally:
        project.close()
    assert project.lock is None


def test_release_then_acquire_again_and_same_process_double_open(project_dir: Path) -> None:
    first = ProjectLock(project_dir).acquire()
    with pytest.raises(ProjectError, match="already open in another window of this"):
        ProjectLock(project_dir).acquire()
    first.release()
    first.release()  # twice is harmless
    assert not first.held and not (project_dir / OWNER_FILE).exists()
    again = ProjectLock(project_dir).acquire()
    again.release()
    first.acquire()
    assert first.held
    first.release()


def test_a_folder_that_is_not_a_project_gets_no_lock_file(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="is not a TalkSmall project"):
        open_locked(tmp_path)
    assert list(tmp_path.iterdir()) == []
