"""Two windows on one project: the second is told where the project is open, and does not
open it; closing the project in the first window lets the second open it.

Same-process double open is refused too: two MainWindows of one app would each run jobs and
save the profile over the other's, exactly as two apps would (the lock is per open file, not
per process, so the rule needs no special case)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.project import create_project
from gui.main_window import MainWindow
from gui.pages.welcome import WelcomeView
from tests.lock_holder import held_elsewhere


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    create_project(tmp_path / "acme", company_name="Acme Lettings").close()
    return tmp_path / "acme"


@pytest.fixture
def holder(project_dir: Path) -> Iterator[subprocess.Popen[str]]:
    with held_elsewhere(project_dir) as child:
        yield child


def _window(qtbot) -> MainWindow:
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    return win


def test_welcome_refuses_a_project_open_in_another_process(
        qtbot, project_dir: Path, holder: subprocess.Popen[str]) -> None:
    welcome = WelcomeView()
    qtbot.addWidget(welcome)
    with qtbot.assertNotEmitted(welcome.project_opened):
        welcome.open_folder(project_dir)
    text = welcome.open_error.text()
    assert "open in another TalkSmall window" in text and f"process {holder.pid}" in text
    assert "close the project there" in text

    holder.kill()  # the other app is killed: no stale lock
    holder.wait(timeout=30)
    with qtbot.waitSignal(welcome.project_opened, timeout=5000) as opened:
        welcome.open_folder(project_dir)
    assert welcome.open_error.text() == ""
    opened.args[0].close()


def test_a_second_window_in_the_same_app_is_refused_until_the_first_closes(
        qtbot, project_dir: Path, tmp_path: Path) -> None:
    first, second = _window(qtbot), _window(qtbot)
    try:
        first.open_project_folder(project_dir)
        assert first.project is not None and first.project.lock is not None

        second.open_project_folder(project_dir)
        assert second.project is None
        assert "already open in another window" in \
            second.project_page.welcome.open_error.text()

        # Creating a project takes the lock too: the first window now holds the new one.
        first.close_project()
        welcome = first.project_page.welcome
        welcome.folder_edit.setText(str(tmp_path / "new"))
        welcome.create_clicked()
        assert first.project is not None and first.project.root == (tmp_path / "new").resolve()
        second.open_project_folder(tmp_path / "new")
        assert second.project is None

        second.open_project_folder(project_dir)  # released when the first window moved on
        assert second.project is not None and second.project.root == project_dir.resolve()
    finally:
        first.close()
        second.close()
    assert first.project is None and second.project is None
    third = _window(qtbot)  # closing the windows released both projects
    try:
        third.open_project_folder(project_dir)
        assert third.project is not None
    finally:
        third.close()
