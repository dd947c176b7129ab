"""Which column of a ticket export is the customer's message, the agent's reply, and so on.

Pre-filled from core's guess; the operator checks it against the first rows of the file.
The two message columns are required and must differ; the rest are optional.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.documents import TicketMapping
from core.documents.formats import format_of
from core.documents.tickets import read_table
from core.errors import TalkSmallError

# TicketMapping field -> (label, required)
FIELDS: dict[str, tuple[str, bool]] = {
    "customer_message": ("Customer message", True),
    "agent_reply": ("Agent reply", True),
    "ticket_id": ("Ticket id", False),
    "date": ("Date", False),
    "role": ("Customer role", False),
    "subject": ("Subject", False),
}
NONE = "(none)"
PREVIEW_CHARS = 80
MAPPED_BACKGROUND = QColor("#e8f0fd")


class TicketMappingDialog(QDialog):
    def __init__(self, path: str | Path, columns: list[str], guess: TicketMapping | None,
                 preview: list[dict] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.setWindowTitle(f"Ticket columns: {Path(path).name}")
        self.setModal(True)
        self.resize(760, 520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"<b>{Path(path).name}</b> looks like a support-ticket export. Choose which "
            "column holds what. Each row becomes one conversation; personal data in it is "
            "redacted.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        if guess is None:
            note = QLabel("The columns could not be recognised: choose at least the customer "
                          "message and the agent reply.")
            note.setObjectName("fieldError")
            note.setWordWrap(True)
            layout.addWidget(note)

        form = QFormLayout()
        self.combos: dict[str, QComboBox] = {}
        for field, (label, required) in FIELDS.items():
            combo = QComboBox()
            if not required:
                combo.addItem(NONE)
            combo.addItems(self.columns)
            if required:
                combo.setCurrentIndex(-1)
                combo.setPlaceholderText("choose a column")
            chosen = getattr(guess, field, None) if guess is not None else None
            if chosen in self.columns:
                combo.setCurrentText(chosen)
            combo.currentIndexChanged.connect(self._changed)
            self.combos[field] = combo
            form.addRow(f"{label}{' *' if required else ''}", combo)
        layout.addLayout(form)

        self.preview = QTableWidget(0, len(self.columns))
        self.preview.setHorizontalHeaderLabels(self.columns)
        self.preview.verticalHeader().hide()
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.setWordWrap(False)
        self.preview.setTabKeyNavigation(False)
        rows = preview or []
        self.preview.setRowCount(len(rows))
        for r, record in enumerate(rows):
            for c, column in enumerate(self.columns):
                value = "" if record.get(column) is None else str(record.get(column))
                flat = " ".join(value.split())
                item = QTableWidgetItem(flat[:PREVIEW_CHARS]
                                        + ("…" if len(flat) > PREVIEW_CHARS else ""))
                item.setToolTip(value[:1000])
                self.preview.setItem(r, c, item)
        self.preview.resizeColumnsToContents()
        for c in range(len(self.columns)):
            self.preview.setColumnWidth(c, min(max(self.preview.columnWidth(c), 140), 260))
        layout.addWidget(QLabel(f"The first {len(rows)} row{'' if len(rows) == 1 else 's'} "
                                "of the file:" if rows
                                else "No preview of the rows is available."))
        layout.addWidget(self.preview, 1)

        self.error = QLabel()
        self.error.setObjectName("fieldError")
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use these columns")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Skip this file")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._changed()

    def selected(self, field: str) -> str | None:
        text = self.combos[field].currentText()
        return None if not text or text == NONE else text

    def mapping(self) -> TicketMapping | None:
        """The chosen mapping, or None while the required columns are not chosen apart."""
        customer, agent = self.selected("customer_message"), self.selected("agent_reply")
        if not customer or not agent or customer == agent:
            return None
        return TicketMapping(customer_message=customer, agent_reply=agent,
                             **{f: self.selected(f) for f in FIELDS
                                if f not in ("customer_message", "agent_reply")})

    def _changed(self) -> None:
        customer, agent = self.selected("customer_message"), self.selected("agent_reply")
        if not customer or not agent:
            self.error.setText("Choose the customer message and the agent reply columns.")
        elif customer == agent:
            self.error.setText("The customer message and the agent reply must be different "
                               "columns.")
        else:
            self.error.setText("")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
            self.mapping() is not None)
        mapped = {self.selected(f): label for f, (label, _) in FIELDS.items()}
        for c, column in enumerate(self.columns):
            header = QTableWidgetItem(f"{column}\n→ {mapped[column]}" if column in mapped
                                      else column)
            self.preview.setHorizontalHeaderItem(c, header)
            for r in range(self.preview.rowCount()):
                item = self.preview.item(r, c)
                if item is not None:
                    item.setBackground(MAPPED_BACKGROUND if column in mapped else QColor("white"))


def ask_ticket_mapping(path: str | Path, columns: list[str], guess: TicketMapping | None,
                       preview: list[dict] | None = None,
                       parent: QWidget | None = None) -> TicketMapping | None:
    """Show the dialog modally: the chosen mapping, or None when the operator skipped."""
    dialog = TicketMappingDialog(path, columns, guess, preview, parent)
    try:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return dialog.mapping()
        return None
    finally:
        dialog.deleteLater()


def preview_rows(path: str | Path, limit: int = 5) -> list[dict]:
    """The first records of a ticket export as core reads them ([] if it cannot)."""
    path = Path(path)
    try:
        table = read_table(path.read_bytes(), path.name, format_of(path))
    except (OSError, TalkSmallError):
        return []
    return [record for _, record in table.records[:limit]]
