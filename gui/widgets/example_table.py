"""The review table of generated examples: one row per example, many selectable.

The question and answer cells are edited in place (double-click or F2) in a multi-line
editor; the table only reports the edit (``turn_edited``) and the page saves it through
core. A / R on the keyboard ask to accept / reject the selected rows, as the buttons do.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QPlainTextEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

COLUMNS = ("Role", "Question", "Answer", "Flesch", "Source", "Status", "Intent", "Document")
ROLE, QUESTION, ANSWER, FLESCH, SOURCE, STATUS, INTENT, DOCUMENT = range(len(COLUMNS))
EDITABLE = (QUESTION, ANSWER)
STATUS_COLOURS = {"kept": "#374151", "accepted": "#15803d", "rejected": "#c62828",
                  "dropped": "#9ca3af"}


def turn_index(messages: list[dict[str, str]], column: int) -> int:
    """Which turn a cell shows: the first customer turn, or the last assistant turn."""
    if column == QUESTION:
        return next((i for i, m in enumerate(messages) if m["role"] != "assistant"), 0)
    return next((i for i in range(len(messages) - 1, -1, -1)
                 if messages[i]["role"] == "assistant"), len(messages) - 1)


class _TurnEditor(QStyledItemDelegate):
    """A plain-text editor, so answers keep their line breaks while edited."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex) -> QWidget:
        editor = QPlainTextEdit(parent)
        editor.setTabChangesFocus(True)
        editor.setMinimumHeight(90)
        return editor

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:
        assert isinstance(editor, QPlainTextEdit)
        editor.setPlainText(str(index.data(Qt.ItemDataRole.EditRole) or ""))

    def setModelData(self, editor: QWidget, model: Any, index: QModelIndex) -> None:
        assert isinstance(editor, QPlainTextEdit)
        model.setData(index, editor.toPlainText(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem,
                             index: QModelIndex) -> None:
        rect = option.rect
        rect.setHeight(max(rect.height(), 110))
        editor.setGeometry(rect)


class ExampleTable(QTableWidget):
    turn_edited = Signal(int, int, str)  # example id, turn index, new text
    accept_requested = Signal()
    reject_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.rows: list[Any] = []  # ExampleRow, in table order
        self._filling = False
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setItemDelegateForColumn(QUESTION, _TurnEditor(self))
        self.setItemDelegateForColumn(ANSWER, _TurnEditor(self))
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(QUESTION, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ANSWER, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        self.itemChanged.connect(self._on_item_changed)

    def set_rows(self, rows: list[Any]) -> None:
        """Replace the contents, keeping the selected examples selected where they remain."""
        keep = set(self.selected_ids())
        current = self.current_id()
        self._filling = True
        try:
            self.rows = list(rows)
            self.setRowCount(len(self.rows))
            for index, row in enumerate(self.rows):
                for column, item in enumerate(_items(row)):
                    self.setItem(index, column, item)
        finally:
            self._filling = False
        if keep:
            selection = self.selectionModel()
            for index, row in enumerate(self.rows):
                if row.id in keep:
                    selection.select(self.model().index(index, 0),
                                     selection.SelectionFlag.Select
                                     | selection.SelectionFlag.Rows)
                if row.id == current:
                    self.setCurrentCell(index, 0, selection.SelectionFlag.NoUpdate)

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [self.rows[r].id for r in rows if r < len(self.rows)]

    def current_id(self) -> int | None:
        index = self.currentRow()
        return self.rows[index].id if 0 <= index < len(self.rows) else None

    def row_of(self, example_id: int) -> int:
        return next((i for i, row in enumerate(self.rows) if row.id == example_id), -1)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        plain = event.modifiers() in (Qt.KeyboardModifier.NoModifier,
                                      Qt.KeyboardModifier.KeypadModifier)
        if plain and self.state() != QAbstractItemView.State.EditingState:
            if event.key() == Qt.Key.Key_A:
                self.accept_requested.emit()
                return
            if event.key() == Qt.Key.Key_R:
                self.reject_requested.emit()
                return
        super().keyPressEvent(event)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() not in EDITABLE or item.row() >= len(self.rows):
            return
        row = self.rows[item.row()]
        turn = turn_index(row.messages, item.column())
        if item.text() != row.messages[turn]["content"]:
            self.turn_edited.emit(row.id, turn, item.text())


def _items(row: Any) -> list[QTableWidgetItem]:
    flesch = "" if row.flesch is None else f"{row.flesch:.0f}"
    reason = f"{row.gate}: {row.reason}" if row.status == "dropped" and row.reason else ""
    question = row.messages[turn_index(row.messages, QUESTION)]["content"]
    answer = row.messages[turn_index(row.messages, ANSWER)]["content"]
    turns = len([m for m in row.messages if m["role"] != "assistant"])
    texts = [row.role, question, answer, flesch, row.source.replace("_", " "),
             row.status + (" ✎" if row.edited else ""), row.intent or "", row.document or ""]
    items = []
    for column, text in enumerate(texts):
        item = QTableWidgetItem(text)
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if column in EDITABLE:
            flags |= Qt.ItemFlag.ItemIsEditable
            item.setToolTip(text + ("\n\n(double-click to edit)"))
        item.setFlags(flags)
        items.append(item)
    if turns > 1:
        items[QUESTION].setToolTip(f"{turns} customer turns; the first is shown.\n\n{question}")
    items[STATUS].setForeground(QBrush(QColor(STATUS_COLOURS.get(row.status, "#374151"))))
    if reason:
        items[STATUS].setToolTip(reason)
    items[FLESCH].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    items[FLESCH].setData(Qt.ItemDataRole.UserRole, row.flesch)
    return items


PAIR_COLUMNS = ("Role", "Question", "Chosen", "Rejected", "Made by", "Status", "Document")
P_ROLE, P_QUESTION, P_CHOSEN, P_REJECTED, P_SOURCE, P_STATUS, P_DOCUMENT = range(
    len(PAIR_COLUMNS))


class PairTable(QTableWidget):
    """Preference pairs: the kept answer beside the worse variant the pipeline made.

    Chosen and rejected are edited in place like turns (``pair_edited(id, field, text)``).
    """

    pair_edited = Signal(int, str, str)  # pair id, "chosen" or "rejected", new text

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(PAIR_COLUMNS), parent)
        self.rows: list[Any] = []  # PairRow
        self._filling = False
        self.setHorizontalHeaderLabels(PAIR_COLUMNS)
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        for column in (P_CHOSEN, P_REJECTED):
            self.setItemDelegateForColumn(column, _TurnEditor(self))
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for column in (P_QUESTION, P_CHOSEN, P_REJECTED):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.itemChanged.connect(self._on_item_changed)

    def set_rows(self, rows: list[Any]) -> None:
        self._filling = True
        try:
            self.rows = list(rows)
            self.setRowCount(len(self.rows))
            for index, row in enumerate(self.rows):
                question = next((m["content"] for m in row.prompt
                                 if m["role"] not in ("assistant", "system")), "")
                texts = [row.role, question, row.chosen, row.rejected,
                         row.source.replace("_", " "),
                         row.status + (" ✎" if row.edited else ""), row.document or ""]
                for column, text in enumerate(texts):
                    item = QTableWidgetItem(text)
                    flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                    if column in (P_CHOSEN, P_REJECTED):
                        flags |= Qt.ItemFlag.ItemIsEditable
                    item.setFlags(flags)
                    item.setToolTip(text)
                    self.setItem(index, column, item)
                self.item(index, P_STATUS).setForeground(
                    QBrush(QColor(STATUS_COLOURS.get(row.status, "#374151"))))
        finally:
            self._filling = False

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [self.rows[r].id for r in rows if r < len(self.rows)]

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() not in (P_CHOSEN, P_REJECTED):
            return
        row = self.rows[item.row()]
        field = "chosen" if item.column() == P_CHOSEN else "rejected"
        if item.text() != getattr(row, field):
            self.pair_edited.emit(row.id, field, item.text())
