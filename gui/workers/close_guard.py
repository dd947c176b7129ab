"""Closing the app while a detached job runs: ask whether to stop it or leave it running.

Training runs and builds are detached (gui/workers/detached_job.py), so they can outlive the
app; the operator decides. Stopping means the STOP file: the child saves what it has (a
checkpoint) and ends on its own, after the app has gone.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from core.jobs.events import STOP_FILE
from gui.workers.detached_job import DetachedJob


def ask_stop_or_leave(parent: QWidget, title: str, text: str, stop_label: str,
                      leave_label: str, default: str = "leave") -> str:
    """stop | leave | cancel, from a question box with the two labelled choices."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    leave = box.addButton(leave_label, QMessageBox.ButtonRole.AcceptRole)
    stop = box.addButton(stop_label, QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(stop if default == "stop" else leave)
    box.exec()
    clicked = box.clickedButton()
    return "leave" if clicked is leave else "stop" if clicked is stop else "cancel"


def let_go(job: DetachedJob, choice: str) -> None:
    """Leave the job going or ask it to stop, as answered; stop following it either way."""
    if job.is_running() and choice != "leave" and job.run_dir is not None:
        (job.run_dir / STOP_FILE).touch()  # the child saves and ends on its own
    job.detach()


class CloseGuard:
    """For a widget that follows a detached job (``self.job``): asked before the app or the
    project closes, it records the operator's answer; ``shutdown`` then acts on it.

    The widget supplies ``ask_close_choice`` (its own question, "stop" | "leave" | "cancel";
    tests replace it) and sets ``close_choice = ""`` in its ``__init__``.
    """

    job: DetachedJob
    close_choice: str  # stop | leave: how a close while running was answered

    def ask_close_choice(self) -> str:
        raise NotImplementedError

    def confirm_close(self) -> bool:
        """False keeps the app (or the project) open."""
        if not self.job.is_running():
            return True
        choice = self.ask_close_choice()
        if choice == "cancel":
            return False
        self.close_choice = choice
        return True

    def shutdown(self) -> None:
        """Stop or leave the job as answered; stop following it either way."""
        let_go(self.job, self.close_choice)
        self.close_choice = ""
