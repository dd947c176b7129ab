"""The Documents page's table: every document in the project, plus what the last import
said about files that did not become a document of their own (duplicates, cancelled
files, failures core did not record), so the operator sees the fate of every file dropped.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

COLUMNS = ("Name", "Type", "Status", "Pages / rows", "Chunks", "Redacted", "Size", "Details")
NAME, TYPE, STATUS, PAGES, CHUNKS, REDACTED, SIZE, DETAILS = range(len(COLUMNS))

STATUS_LABELS = {
    "imported": "Imported",
    "duplicate": "Duplicate",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "importing": "Importing",
}
STATUS_COLOURS = {
    "imported": "#15803d",
    "duplicate": "#b45309",
    "failed": "#c62828",
    "cancelled": "#6b7280",
    "importing": "#2f6fde",
}
# What documents.pages counts, by format: pages of a PDF, rows of tickets, else sections.
_UNITS = {"pdf": "page", "tickets": "row"}


def table_rows(documents: list[dict], last_results: list[Any]) -> list[dict]:
    """Project documents first, then last-import outcomes that have no row of their own.

    ``last_results`` are ``ImportResult`` objects (or their ``to_dict()``): a duplicate points
    at the document it duplicates, a cancelled file or an unrecorded failure points nowhere.
    """
    known = {doc["id"]: doc for doc in documents}
    rows = [dict(doc, transient=False, message=_details(doc)) for doc in documents]
    for result in last_results:
        data = result if isinstance(result, dict) else result.to_dict()
        doc = known.get(data.get("document_id"))
        if doc is not None and doc.get("status") == data["status"]:
            continue  # already in the table as itself
        message = data.get("message") or ""
        if data["status"] == "duplicate" and doc is not None and not message:
            message = f"same content as {doc['name']}"
        rows.append({
            "id": None,
            "duplicate_of": doc["id"] if doc is not None else None,
            "name": data.get("name") or data.get("path", ""),
            "source_path": data.get("path", ""),
            "format": _suffix(data.get("name") or data.get("path", "")),
            "kind": doc.get("kind") if doc is not None else "",
            "status": data["status"],
            "message": message,
            "pages": None,
            "chunks": None,
            "redactions": None,
            "size_bytes": None,
            "transient": True,
        })
    return rows


class DocumentTable(QTableWidget):
    """One row per document (or per file of the last import); Enter or double-click opens."""

    open_requested = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.rows: list[dict] = []
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(False)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)  # Tab leaves the table; arrows move within it
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(DETAILS, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        self.activated.connect(self._on_activated)

    def set_rows(self, rows: list[dict]) -> None:
        """Replace the contents, keeping the selected document selected where it remains."""
        selected = self.selected_row()
        key = (selected.get("id"), selected.get("name")) if selected else None
        self.rows = rows
        self.setRowCount(len(rows))
        for index, row in enumerate(rows):
            for column, item in enumerate(_items(row)):
                self.setItem(index, column, item)
        if key is not None:
            for index, row in enumerate(rows):
                if (row.get("id"), row.get("name")) == key:
                    self.selectRow(index)
                    break

    def selected_row(self) -> dict | None:
        index = self.currentRow()
        if 0 <= index < len(self.rows) and self.selectionModel().hasSelection():
            return self.rows[index]
        return None

    def row_named(self, name: str) -> int:
        """Index of the first row with this file name, or -1."""
        return next((i for i, row in enumerate(self.rows) if row["name"] == name), -1)

    def status_of(self, name: str) -> str:
        index = self.row_named(name)
        return self.rows[index]["status"] if index >= 0 else ""

    def _on_activated(self, index: Any) -> None:
        row = self.rows[index.row()] if 0 <= index.row() < len(self.rows) else None
        if row is not None:
            self.open_requested.emit(row)


def _items(row: dict) -> list[QTableWidgetItem]:
    status = row.get("status") or ""
    message = row.get("message") or ""
    values = [
        row.get("name") or "",
        _type_label(row),
        STATUS_LABELS.get(status, status.capitalize()),
        _pages_label(row),
        _count(row.get("chunks")),
        _count(row.get("redactions")),
        _size_label(row.get("size_bytes")),
        message,
    ]
    tip_lines = [row.get("source_path") or row.get("name") or ""]
    if message:
        tip_lines.append(f"{STATUS_LABELS.get(status, status)}: {message}")
    if row.get("transient"):
        tip_lines.append("From the last import; not stored in the project.")
    tip = "\n".join(line for line in tip_lines if line)
    items = []
    for column, value in enumerate(values):
        item = QTableWidgetItem(value)
        item.setToolTip(tip)
        if column in (PAGES, CHUNKS, REDACTED, SIZE):
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if column in (STATUS, DETAILS) and status in STATUS_COLOURS:
            item.setForeground(QBrush(QColor(STATUS_COLOURS[status])))
        if column == STATUS:
            font = QFont(item.font())
            font.setBold(True)
            item.setFont(font)
        if row.get("transient"):
            font = QFont(item.font())
            font.setItalic(True)
            item.setFont(font)
        items.append(item)
    return items


def _details(doc: dict) -> str:
    """A failure's reason, or what the import had to say about a stored document."""
    if doc.get("error"):
        return str(doc["error"])
    meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
    return "; ".join(str(w) for w in meta.get("warnings") or [])


def _suffix(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _type_label(row: dict) -> str:
    fmt = (row.get("format") or "").upper()
    if row.get("kind") == "tickets":
        return f"Tickets · {fmt}" if fmt else "Tickets"
    return fmt


def _pages_label(row: dict) -> str:
    pages = row.get("pages")
    if pages is None:
        return ""
    unit = _UNITS.get("tickets" if row.get("kind") == "tickets" else row.get("format") or "",
                      "section")
    return f"{pages:,} {unit}{'' if pages == 1 else 's'}"


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _size_label(size: int | None) -> str:
    if size is None:
        return ""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"
