"""Which model writes the training conversations: the embedded one, or an endpoint.

The embedded teacher needs nothing and sends nothing anywhere. An OpenAI-compatible
endpoint needs a base URL and a model; its API key goes to the OS keyring (core.secrets),
never into the project. Documents only go to an endpoint once the operator has ticked
"Send document text to this endpoint" — for every endpoint, because even a local URL may
be a proxy to somewhere else; the label says whether the host is this computer.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import TalkSmallError
from gui.workers import tasks
from gui.workers.tasks import run_task

TEACHER_KEY = "generation_teacher"  # project setting: kind, base URL and model (no key)


def _is_local(base_url: str) -> bool:
    from core.teachers.endpoint import is_local_url

    return is_local_url(base_url)


class TeacherPanel(QWidget):
    changed = Signal()
    connection_tested = Signal(bool, str)  # ok, the message shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        self._task: tasks.Task | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.embedded = QRadioButton("&Embedded model (on this computer, no network)")
        self.embedded.setChecked(True)
        self.endpoint = QRadioButton("An OpenAI-compatible &endpoint (Ollama, LM Studio, "
                                     "vLLM, a cloud API)")
        group = QButtonGroup(self)
        group.addButton(self.embedded)
        group.addButton(self.endpoint)
        column.addWidget(self.embedded)
        column.addWidget(self.endpoint)

        self.endpoint_box = QWidget()
        form = QFormLayout(self.endpoint_box)
        form.setContentsMargins(24, 0, 0, 0)
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("http://127.0.0.1:11434/v1")
        self.model = QLineEdit()
        self.model.setPlaceholderText("llama3.2:3b")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("kept in the OS keyring, never in the project")
        form.addRow("Base &URL", self.base_url)
        form.addRow("&Model", self.model)
        form.addRow("API &key", self.api_key)
        test_row = QHBoxLayout()
        self.test_button = QPushButton("&Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        form.addRow(test_row)
        self.allow_remote = QCheckBox("Send document text to this endpoint")
        form.addRow(self.allow_remote)
        self.where = QLabel()
        self.where.setObjectName("hint")
        self.where.setWordWrap(True)
        form.addRow(self.where)
        column.addWidget(self.endpoint_box)
        column.addStretch(1)

        self.embedded.toggled.connect(self._on_kind)
        for edit in (self.base_url, self.model):
            edit.textChanged.connect(self._on_edit)
        self.allow_remote.toggled.connect(lambda _on: self.changed.emit())
        self._on_kind()

    # --- state --------------------------------------------------------------------------
    def show_project(self, project: Any) -> None:
        self.project = project
        saved = project.store.get_setting(TEACHER_KEY) if project is not None else None
        saved = saved if isinstance(saved, dict) else {}
        for edit, key in ((self.base_url, "base_url"), (self.model, "model")):
            edit.blockSignals(True)
            edit.setText(str(saved.get(key, "")))
            edit.blockSignals(False)
        self.api_key.clear()
        self.test_result.clear()
        self.allow_remote.setChecked(False)
        (self.endpoint if saved.get("kind") == "endpoint" else self.embedded).setChecked(True)
        self._on_kind()

    def is_endpoint(self) -> bool:
        return self.endpoint.isChecked()

    def why_not_ready(self) -> str:
        """Why generation may not start with this teacher ("" when it may)."""
        if not self.is_endpoint():
            return ""
        if not self.base_url.text().strip() or not self.model.text().strip():
            return "Fill in the endpoint's base URL and model."
        if not self.allow_remote.isChecked():
            return "Tick “Send document text to this endpoint” to use it."
        return ""

    def spec(self) -> dict[str, Any]:
        """The ``teacher`` part of the generate job's spec (never the key)."""
        if not self.is_endpoint():
            return {"kind": "embedded"}
        return {"kind": "endpoint", "base_url": self.base_url.text().strip(),
                "model": self.model.text().strip(),
                "allow_remote": self.allow_remote.isChecked()}

    def store_key(self) -> None:
        """Save a typed key in the OS keyring (raises KeyringUnavailable with a hint)."""
        from core.secrets import set_api_key

        key = self.api_key.text().strip()
        if self.is_endpoint() and key and self.base_url.text().strip():
            set_api_key(self.base_url.text().strip(), key)

    def is_busy(self) -> bool:
        return self._task is not None and not self._task.done

    # --- test connection ----------------------------------------------------------------
    def test_connection(self) -> None:
        if self.is_busy():
            return
        base_url, model = self.base_url.text().strip(), self.model.text().strip()
        if not base_url or not model:
            self._tested_failed(TalkSmallError("The base URL and the model are both needed.",
                                               "Fill them in, then test again."))
            return
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText("Connecting…")
        self._task = run_task(_test, base_url, model, self.api_key.text().strip() or None,
                              on_success=self._tested_ok, on_error=self._tested_failed)
        self._task.finished.connect(lambda: self.test_button.setEnabled(True))

    def _tested_ok(self, message: str) -> None:
        self.test_result.setStyleSheet("color: #15803d;")
        self.test_result.setText(message)
        self.connection_tested.emit(True, message)

    def _tested_failed(self, exc: TalkSmallError) -> None:
        text = exc.message + (f" {exc.hint}" if exc.hint else "")
        self.test_result.setStyleSheet("color: #c62828;")
        self.test_result.setText(text)
        self.connection_tested.emit(False, text)

    # --- reacting -----------------------------------------------------------------------
    def _on_kind(self, *_args: Any) -> None:
        self.endpoint_box.setEnabled(self.is_endpoint())
        self._update_where()
        self._save()
        self.changed.emit()

    def _on_edit(self, *_args: Any) -> None:
        self.allow_remote.setChecked(False)  # consent was for the address it was given for
        self.test_result.clear()
        self._update_where()
        self._save()
        self.changed.emit()

    def _update_where(self) -> None:
        url = self.base_url.text().strip()
        if not url:
            self.where.setText("Nothing is sent anywhere until you tick the box above.")
            return
        try:
            local = _is_local(url)
        except (TalkSmallError, ValueError):
            local = False
        self.where.setText("This address is on this computer." if local else
                           "This address is another computer: your (redacted) documents "
                           "will leave this one.")

    def _save(self) -> None:
        if self.project is None:
            return
        data = {"kind": "endpoint" if self.is_endpoint() else "embedded",
                "base_url": self.base_url.text().strip(), "model": self.model.text().strip()}
        try:
            self.project.store.set_setting(TEACHER_KEY, data)
        except TalkSmallError:
            pass  # a read-only project: the choice still holds for this session


def _test(base_url: str, model: str, api_key: str | None) -> str:
    """Test with the typed key, else the one saved for this URL (on a pool thread)."""
    from core.secrets import get_api_key
    from core.teachers import test_connection

    return test_connection(base_url, model, api_key or get_api_key(base_url))
