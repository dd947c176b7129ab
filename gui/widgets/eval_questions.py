"""The evaluation question set: hold out a share of the generated conversations, add or
import the operator's own questions, and remove the ones that do not belong.

Everything here is quick SQLite work in core.evaluation, so it runs on the UI thread; the
Evaluate tab reads the same questions back.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.errors import TalkSmallError
from gui.widgets.labels import error_label, hint_label

ID_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ("Question", "Role", "In scope", "Must contain", "Source")


class QuestionDialog(QDialog):
    """Type one question, with what a good answer says."""

    def __init__(self, roles: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an evaluation question")
        form = QFormLayout(self)
        self.question = QLineEdit()
        self.question.setPlaceholderText("What is the late rent fee?")
        self.reference = QPlainTextEdit()
        self.reference.setPlaceholderText("Optional: a good answer, to compare with")
        self.reference.setFixedHeight(70)
        self.role = QComboBox()
        self.role.addItems(roles or ["user"])
        self.in_scope = QCheckBox("The assistant should answer this itself (not escalate)")
        self.in_scope.setChecked(True)
        self.must_contain = QLineEdit()
        self.must_contain.setPlaceholderText("Optional, separated by ';' e.g. £30; 14 days")
        form.addRow("&Question:", self.question)
        form.addRow("&Reference:", self.reference)
        form.addRow("R&ole:", self.role)
        form.addRow("", self.in_scope)
        form.addRow("&Must contain:", self.must_contain)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, Any]:
        facts = [f.strip() for f in self.must_contain.text().split(";") if f.strip()]
        return {"question": self.question.text(),
                "reference": self.reference.toPlainText().strip() or None,
                "role": self.role.currentText(), "in_scope": self.in_scope.isChecked(),
                "must_contain": facts}


class EvalQuestionsPanel(QWidget):
    changed = Signal()  # the question set changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Hold out"))
        self.share = QDoubleSpinBox()
        self.share.setRange(1, 50)
        self.share.setValue(10)
        self.share.setSuffix(" %")
        self.share.setDecimals(0)
        self.share.setToolTip("Share of each role's generated conversations kept out of "
                              "training and used as test questions")
        row.addWidget(self.share)
        self.hold_button = QPushButton("&Hold out")
        self.hold_button.clicked.connect(self.hold_out)
        row.addWidget(self.hold_button)
        row.addSpacing(20)
        self.add_button = QPushButton("&Add question…")
        self.add_button.clicked.connect(self.ask_question)
        self.import_button = QPushButton("&Import questions…")
        self.import_button.setToolTip("A JSON Lines file: question, reference, role, intent, "
                                      "in_scope, must_contain (only question is required)")
        self.import_button.clicked.connect(self.ask_import)
        self.remove_button = QPushButton("&Remove selected")
        self.remove_button.clicked.connect(self.remove_selected)
        for button in (self.add_button, self.import_button):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.remove_button)
        layout.addLayout(row)
        self.status = hint_label()
        layout.addWidget(self.status)
        self.error = error_label()
        layout.addWidget(self.error)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table, 1)

    def show_project(self, project: Any) -> None:
        self.project = project
        self.error.hide()
        self.refresh()

    def refresh(self) -> None:
        from core.evaluation import list_questions

        questions = list_questions(self.project) if self.project is not None else []
        self.table.setRowCount(len(questions))
        for row, q in enumerate(questions):
            values = (q.question, q.role, "yes" if q.in_scope else "no (escalate)",
                      "; ".join(q.must_contain),
                      "held out" if q.source == "held_out" else "yours")
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setData(ID_ROLE, q.id)
                if column == 0 and q.reference:
                    item.setToolTip(f"Reference: {q.reference}")
                self.table.setItem(row, column, item)
        held = sum(1 for q in questions if q.source == "held_out")
        self.status.setText(
            f"{len(questions)} questions: {held} held out of the generated conversations "
            f"(kept out of training), {len(questions) - held} of your own." if questions else
            "No questions yet: hold out a share of the generated conversations, or add your "
            "own questions.")
        enabled = self.project is not None
        for widget in (self.hold_button, self.add_button, self.import_button,
                       self.remove_button):
            widget.setEnabled(enabled)

    # --- actions --------------------------------------------------------------------------
    def hold_out(self) -> None:
        from core.evaluation import hold_out

        result = self._do(hold_out, self.project, self.share.value() / 100)
        if result is not None:
            self.refresh()
            self.status.setText(f"{result.added} newly held out: {result.held_out} of "
                                f"{result.usable} usable conversations are now test "
                                f"questions, kept out of training.")
            self.changed.emit()

    def ask_question(self) -> None:
        dialog = QuestionDialog(list(self.project.profile().customer_roles), self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.add(**dialog.values())

    def add(self, question: str, **values: Any) -> bool:
        from core.evaluation import add_question

        if self._do(add_question, self.project, question, **values) is None:
            return False
        self.refresh()
        self.changed.emit()
        return True

    def ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import evaluation questions", "",
                                              "JSON Lines (*.jsonl *.json);;All files (*)")
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> bool:
        from core.evaluation import import_questions

        result = self._do(import_questions, self.project, path)
        if result is None:
            return False
        self.refresh()
        self.status.setText(f"Imported {result.added} new and {result.updated} updated "
                            f"questions from {path}.")
        self.changed.emit()
        return True

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        return [int(self.table.item(r, 0).data(ID_ROLE)) for r in rows]

    def remove_selected(self) -> None:
        from core.evaluation import remove_questions

        ids = self.selected_ids()
        if ids and self._do(remove_questions, self.project, ids) is not None:
            self.refresh()
            self.changed.emit()

    def _do(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.error.hide()
        try:
            return fn(*args, **kwargs)
        except TalkSmallError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return None
