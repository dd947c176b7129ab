"""The training run history: one row per run, newest first, from core.training.history.

A failed run shows its plain-language reason and what to change; a run still going shows as
running. The table only displays records; the page decides what Resume and Attach do.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from gui.style import ERROR, MUTED, SUCCESS

COLUMNS = ("Started", "Status", "Method", "Preset", "Base", "Data", "Steps", "Duration",
           "Final metrics")
STATUS_COLOURS = {"succeeded": SUCCESS, "failed": ERROR, "cancelled": MUTED}
METRIC_ORDER = ("loss", "eval_loss", "reward_accuracy", "reward_margin", "tokens_per_s",
                "peak_memory_gib")


def duration_text(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def data_text(data: Any) -> str:
    if not isinstance(data, dict) or not data:
        return ""
    train, validation = data.get("train"), data.get("validation")
    if isinstance(train, int) and isinstance(validation, int):
        return f"{train} + {validation} held out"
    return ", ".join(f"{k} {v}" for k, v in data.items() if isinstance(v, int | float))


def metrics_text(metrics: Any) -> str:
    if not isinstance(metrics, dict):
        return ""
    keys = [k for k in METRIC_ORDER if isinstance(metrics.get(k), int | float)]
    return ", ".join(f"{k.replace('_', ' ')} {metrics[k]:.3g}" for k in keys)


class RunHistoryTable(QTableWidget):
    run_selected = Signal(dict)  # the record of the selected run ({} when none)

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.records: list[dict[str, Any]] = []
        self.itemSelectionChanged.connect(self._selection_changed)

    def set_records(self, records: list[dict[str, Any]]) -> None:
        selected = self.selected()
        self.records = list(records)
        self.blockSignals(True)
        self.setRowCount(len(records))
        for row, record in enumerate(records):
            started = str(record.get("started") or record["id"][:15])
            values = (started.replace("T", " ")[:19], record["status"], record.get("method") or "",
                      record.get("preset") or "", record.get("base") or "",
                      data_text(record.get("data_size")), str(record.get("steps") or ""),
                      duration_text(record.get("duration_s")),
                      metrics_text(record.get("final_metrics")))
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column == 1 and value in STATUS_COLOURS:
                    item.setForeground(QColor(STATUS_COLOURS[value]))
                if column == 1 and record.get("error"):
                    error = record["error"]
                    item.setToolTip(f"{error.get('message', '')} {error.get('hint', '')}".strip())
                item.setData(Qt.ItemDataRole.UserRole, record["id"])
                self.setItem(row, column, item)
        self.blockSignals(False)
        ids = [r["id"] for r in records]
        if selected and selected["id"] in ids:
            self.selectRow(ids.index(selected["id"]))
        self._selection_changed()

    def selected(self) -> dict[str, Any]:
        rows = {index.row() for index in self.selectedIndexes()}
        if len(rows) != 1:
            return {}
        row = rows.pop()
        return self.records[row] if row < len(self.records) else {}

    def select_run(self, run_id: str) -> None:
        for row, record in enumerate(self.records):
            if record["id"] == run_id:
                self.selectRow(row)
                return

    def _selection_changed(self) -> None:
        self.run_selected.emit(self.selected())
