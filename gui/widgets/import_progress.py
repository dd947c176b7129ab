"""A progress bar with the file being worked on, the time left and a Cancel button.

The estimate is the average time per finished file so far times the files left: imports mix
tiny Markdown files and long PDFs, so it is rough, and it says "about".
"""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


class ImportProgress(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setMinimumWidth(220)
        self.label = QLabel()
        self.label.setObjectName("hint")
        self.cancel_button = QPushButton("&Cancel import")
        self.cancel_button.clicked.connect(self._cancel)
        row.addWidget(self.bar, 1)
        row.addWidget(self.label, 2)
        row.addWidget(self.cancel_button)
        self._started = 0.0
        self.hide()

    def start(self) -> None:
        self._started = time.monotonic()
        self.bar.setRange(0, 0)  # busy until the first report says how many files
        self.label.setText("Looking at the files…")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("&Cancel import")
        self.show()

    def update_progress(self, done: int, total: int, name: str) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(min(done, total))
        if not self.cancel_button.isEnabled():
            return  # stopping: keep saying so
        where = f"{name} ({min(done + 1, total)} of {total})" if done < total else "finishing"
        self.label.setText(f"Importing {where} · {self.eta_text(done, total)}")

    def eta_text(self, done: int, total: int) -> str:
        if done <= 0:
            return "estimating the time left…"
        left = (time.monotonic() - self._started) / done * (total - done)
        if left < 1:
            return "almost done"
        if left < 90:
            return f"about {left:.0f} s left"
        return f"about {left / 60:.0f} min left"

    def finish(self) -> None:
        self.hide()

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Stopping…")
        self.label.setText("Stopping after the current file…")
        self.cancel_requested.emit()
