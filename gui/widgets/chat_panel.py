"""The in-app chat: ask the assistant as a customer of a chosen role, optionally two models
side by side on the same question.

Options apply to the next question: the customer role (the turn's role, which the prompt
shows the model), whether the company's documents are searched first, whether the operator
sees the hidden analysis / intent, and whether the passages are shown beside the answer.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.chat.choices import chat_choices
from core.chat.engine import DEFAULT_MAX_TOKENS
from core.errors import TalkSmallError
from gui.widgets.chat_column import ChatColumn
from gui.widgets.labels import error_label, show_error


class ChatPanel(QWidget):
    busy_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        self.max_tokens = DEFAULT_MAX_TOKENS
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)

        options = QHBoxLayout()
        options.addWidget(QLabel("Customer &role:"))
        self.role_box = QComboBox()
        self.role_box.setToolTip("Who is asking: the assistant answers this kind of customer")
        options.itemAt(0).widget().setBuddy(self.role_box)
        options.addWidget(self.role_box)
        self.retrieval_box = QCheckBox("Answer from company &documents")
        self.retrieval_box.setChecked(True)
        self.retrieval_box.setToolTip("Search the imported documents before every answer; "
                                      "with nothing relevant the assistant offers a person")
        self.hidden_box = QCheckBox("Show hidden &analysis")
        self.hidden_box.setToolTip("Operator view: the assistant's hidden analysis and intent, "
                                   "which a customer never sees")
        self.passages_box = QCheckBox("Show &passages")
        self.passages_box.setChecked(True)
        self.compare_box = QCheckBox("Compare &side by side")
        self.compare_box.setToolTip("Ask a second model the same questions")
        for box in (self.retrieval_box, self.hidden_box, self.passages_box, self.compare_box):
            options.addWidget(box)
        options.addStretch(1)
        layout.addLayout(options)

        self.columns = QSplitter(Qt.Orientation.Horizontal)
        self.left = ChatColumn("Model:")
        self.right = ChatColumn("Compare with:")
        self.columns.addWidget(self.left)
        self.columns.addWidget(self.right)
        self.right.hide()
        layout.addWidget(self.columns, 1)

        ask = QHBoxLayout()
        self.question = QLineEdit()
        self.question.setPlaceholderText("Type a customer's question and press Enter")
        self.question.returnPressed.connect(self.send)
        self.send_button = QPushButton("&Send")
        self.send_button.setObjectName("primary")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("S&top")
        self.stop_button.clicked.connect(self.stop)
        self.new_button = QPushButton("&New conversation")
        self.new_button.clicked.connect(self.new_conversation)
        for widget in (self.send_button, self.stop_button, self.new_button):
            ask.addWidget(widget)
        ask.insertWidget(0, self.question, 1)
        layout.addLayout(ask)
        self.error = error_label()
        layout.addWidget(self.error)

        self.hidden_box.toggled.connect(self._show_hidden)
        self.passages_box.toggled.connect(self._show_passages)
        self.compare_box.toggled.connect(self._compare)
        for column in (self.left, self.right):
            column.busy_changed.connect(self._busy_changed)
        self._busy_changed()

    # --- project --------------------------------------------------------------------------
    def show_project(self, project: Any) -> None:
        if project is not self.project:
            self.stop()
        self.project = project
        self.refresh()

    def refresh(self) -> None:
        """Reload the model list and the roles (after a run or an export finished)."""
        self.error.hide()
        if self.project is None:
            for column in (self.left, self.right):
                column.set_choices(None, [])
            self.role_box.clear()
            self._busy_changed()
            return
        try:
            choices = chat_choices(self.project)
            roles = self.project.profile().customer_roles
        except TalkSmallError as exc:
            self._error(exc)
            return
        self.left.set_choices(self.project, choices)
        second = next((c.key for c in choices if c.key == "base"), "")
        self.right.set_choices(self.project, choices, selected=self.right.current_key() or second)
        current = self.role_box.currentText()
        self.role_box.clear()
        self.role_box.addItems([r for r in roles if r])
        if current:
            self.role_box.setCurrentText(current)
        self._busy_changed()

    # --- actions --------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        return {"role": self.role_box.currentText() or None,
                "retrieval": self.retrieval_box.isChecked(), "max_tokens": self.max_tokens}

    def send(self) -> bool:
        question = self.question.text().strip()
        if not question or self.is_busy() or self.project is None:
            return False
        self.error.hide()
        asked = self.left.ask(question, **self.options())
        if self.compare_box.isChecked():
            asked = self.right.ask(question, **self.options()) or asked
        if asked:
            self.question.clear()
        return asked

    def stop(self) -> None:
        for column in (self.left, self.right):
            column.stop()

    def new_conversation(self) -> None:
        for column in (self.left, self.right):
            column.clear()

    def is_busy(self) -> bool:
        return self.left.is_busy() or self.right.is_busy()

    def close_engines(self) -> None:
        for column in (self.left, self.right):
            column.close_engines()

    # --- view -----------------------------------------------------------------------------
    def _show_hidden(self, show: bool) -> None:
        for column in (self.left, self.right):
            column.set_show_hidden(show)

    def _show_passages(self, show: bool) -> None:
        for column in (self.left, self.right):
            column.set_show_passages(show)

    def _compare(self, on: bool) -> None:
        self.right.setVisible(on)
        if on:  # two equal halves, whatever the splitter held before
            half = max(self.columns.width() // 2, 1)
            self.columns.setSizes([half, half])
        if not on:
            self.right.stop()

    def _busy_changed(self, *_args: Any) -> None:
        busy = self.is_busy()
        ready = self.project is not None
        self.send_button.setEnabled(ready and not busy)
        self.question.setEnabled(ready)
        self.stop_button.setEnabled(busy)
        self.busy_changed.emit(busy)

    def _error(self, exc: TalkSmallError) -> None:
        show_error(self.error, exc)
