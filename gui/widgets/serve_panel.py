"""Serve the assistant on this computer with one button (core.serve: OpenAI-compatible API).

By default the server listens on 127.0.0.1 only, behind a key made at start and shown once
(it is not stored: stop and start again for a new one). Letting other computers connect is
an explicit choice that needs a key the operator sets. The port in use, the URL and a
copyable curl command are shown while it runs.
"""

from __future__ import annotations

import secrets
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.chat.choices import chat_choices
from core.errors import TalkSmallError
from gui.widgets.labels import error_label, show_error
from gui.workers.tasks import run_task

LOCAL_HOST = "127.0.0.1"
ALL_HOSTS = "0.0.0.0"


def start_serving(project: Any, key: str, host: str, port: int, api_key: str | None,
                  allow_remote: bool, progress: Any) -> tuple[Any, Any]:
    """Open and load the model, then start the server (worker thread). Returns both."""
    from core.serve.server import check_bind, start_server
    from gui.workers.chat_stream import open_engine_for

    check_bind(host, api_key, allow_remote)  # before loading anything
    engine = open_engine_for(project, key, progress)
    try:
        handle = start_server(engine, host=host, port=port, api_key=api_key,
                              allow_remote=allow_remote)
    except BaseException:
        engine.close()
        raise
    return engine, handle


def stop_serving(engine: Any, handle: Any) -> None:
    handle.stop()
    engine.close()


class ServePanel(QWidget):
    running_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        self.engine: Any = None
        self.handle: Any = None
        self._task: Any = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.model_box = QComboBox()
        form.addRow("&Model:", self.model_box)
        self.port_box = QSpinBox()
        self.port_box.setRange(1, 65535)
        self.port_box.setValue(8000)
        self.port_box.setToolTip("If this port is taken, choose another")
        form.addRow("&Port:", self.port_box)
        self.remote_box = QCheckBox("Let other computers on the network connect")
        self.remote_box.setToolTip("Off: only this computer (127.0.0.1). On: needs your own key")
        self.remote_box.toggled.connect(self._remote_toggled)
        form.addRow("", self.remote_box)
        key_row = QHBoxLayout()
        self.key_edit = QLineEdit()
        self.key_edit.setPlaceholderText("Made for you and shown once when the server starts")
        self.key_edit.setEnabled(False)
        self.make_key_button = QPushButton("Make a &key")
        self.make_key_button.clicked.connect(
            lambda: self.key_edit.setText(secrets.token_urlsafe(24)))
        self.make_key_button.setEnabled(False)
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.make_key_button)
        form.addRow("API key:", key_row)
        layout.addLayout(form)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("&Start server")
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("St&op server")
        self.stop_button.clicked.connect(self.stop)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.status = QLabel("The server is not running.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.error = error_label()
        layout.addWidget(self.error)
        shown = QHBoxLayout()
        self.shown_key = QLineEdit()
        self.shown_key.setReadOnly(True)
        self.shown_key.setPlaceholderText("The key appears here while the server runs")
        self.copy_key_button = QPushButton("Copy key")
        self.copy_key_button.clicked.connect(lambda: _copy(self.shown_key.text()))
        shown.addWidget(QLabel("Key to send:"))
        shown.addWidget(self.shown_key, 1)
        shown.addWidget(self.copy_key_button)
        layout.addLayout(shown)
        layout.addWidget(QLabel("Try it from a terminal:"))
        self.curl = QPlainTextEdit()
        self.curl.setReadOnly(True)
        self.curl.setMaximumHeight(110)
        layout.addWidget(self.curl)
        self.copy_curl_button = QPushButton("Copy &command")
        self.copy_curl_button.clicked.connect(lambda: _copy(self.curl.toPlainText()))
        layout.addWidget(self.copy_curl_button)
        layout.addStretch(1)
        self._update()

    # --- project --------------------------------------------------------------------------
    def show_project(self, project: Any) -> None:
        if project is not self.project:
            self.stop(wait=True)
        self.project = project
        self.refresh()

    def refresh(self) -> None:
        current = self.model_box.currentData()
        self.model_box.clear()
        if self.project is not None:
            try:
                choices = chat_choices(self.project)
            except TalkSmallError as exc:
                self._show_error(exc)
                choices = []
            for choice in choices:
                self.model_box.addItem(choice.label, choice.key)
            index = self.model_box.findData(current)
            self.model_box.setCurrentIndex(max(index, 0))
        self._update()

    # --- actions --------------------------------------------------------------------------
    def start(self) -> bool:
        if self.project is None or self.is_running() or self._task is not None:
            return False
        remote = self.remote_box.isChecked()
        host = ALL_HOSTS if remote else LOCAL_HOST
        key = (self.key_edit.text().strip() or None) if remote else None
        self.error.hide()
        self.status.setText("Starting: loading the model…")
        self._task = run_task(start_serving, self.project, str(self.model_box.currentData()),
                              host, self.port_box.value(), key, remote,
                              on_success=self._started, on_error=self._failed,
                              on_progress=self._progress)
        self._update()
        return True

    def stop(self, wait: bool = False) -> None:
        """Stop the server; ``wait`` blocks (closing the app or the project)."""
        if self.handle is None:
            return
        engine, handle = self.engine, self.handle
        self.engine = self.handle = None
        if wait:
            stop_serving(engine, handle)
            self._stopped(None)
            return
        self.status.setText("Stopping…")
        self._task = run_task(stop_serving, engine, handle, on_success=self._stopped,
                              on_error=self._failed)
        self._update()

    def is_running(self) -> bool:
        return self.handle is not None

    def is_busy(self) -> bool:
        return self.is_running() or self._task is not None

    # --- results --------------------------------------------------------------------------
    def _progress(self, _kind: str, fraction: float, message: str) -> None:
        self.status.setText(f"Preparing the model: {message} ({round(100 * fraction)}%)")

    def _started(self, result: tuple[Any, Any]) -> None:
        self._task = None
        self.engine, self.handle = result
        handle = self.handle
        where = ("this computer only" if handle.host == LOCAL_HOST else
                 "this computer and others on the network (use this computer's address)")
        self.status.setText(f"Serving {handle.model} at {handle.url} — port {handle.port}, "
                            f"reachable from {where}.")
        self.shown_key.setText(handle.key)
        self.curl.setPlainText(handle.curl_example())
        self._update()
        self.running_changed.emit(True)

    def _stopped(self, _result: Any) -> None:
        self._task = None
        self.status.setText("The server is stopped; the key it used no longer works.")
        self.shown_key.clear()
        self.curl.clear()
        self._update()
        self.running_changed.emit(False)

    def _failed(self, error: TalkSmallError) -> None:
        self._task = None
        self.status.setText("The server is not running.")
        self._show_error(error)
        self._update()

    def _show_error(self, error: TalkSmallError) -> None:
        show_error(self.error, error)

    def _remote_toggled(self, on: bool) -> None:
        self.key_edit.setEnabled(on)
        self.make_key_button.setEnabled(on)
        self.key_edit.setPlaceholderText(
            "Your key (16 characters or more); clients must send it" if on
            else "Made for you and shown once when the server starts")

    def _update(self) -> None:
        idle = self._task is None
        running = self.is_running()
        self.start_button.setEnabled(idle and not running and self.project is not None
                                     and self.model_box.count() > 0)
        self.stop_button.setEnabled(idle and running)
        for widget in (self.model_box, self.port_box, self.remote_box):
            widget.setEnabled(idle and not running)
        self.copy_key_button.setEnabled(running)
        self.copy_curl_button.setEnabled(running)


def _copy(text: str) -> None:
    QGuiApplication.clipboard().setText(text)
