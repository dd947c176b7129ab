"""The sidebar's list of wizard steps: number, title, and for steps not built yet a
one-line description of what they will do, shown greyed out and not selectable."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from gui.wizard import WizardFlow


class StepList(QListWidget):
    step_chosen = Signal(int)

    def __init__(self, flow: WizardFlow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("steps")
        self.flow = flow
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self._cards: list[_StepCard] = []
        for number, step in enumerate(flow.steps, start=1):
            item = QListWidgetItem(self)
            card = _StepCard(number, step.title, step.summary, step.built)
            item.setSizeHint(card.sizeHint().expandedTo(QSize(200, 56)))
            self.setItemWidget(item, card)
            self._cards.append(card)
        self.currentRowChanged.connect(self._on_row)
        self.refresh()

    def refresh(self) -> None:
        """Re-evaluate which steps can be entered; keep the current selection."""
        for index, card in enumerate(self._cards):
            item = self.item(index)
            reason = self.flow.why_not(index)
            enabled = not reason
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            item.setFlags(flags if enabled else Qt.ItemFlag.NoItemFlags)
            item.setToolTip(self.flow.steps[index].summary + (f"\n{reason}" if reason else ""))
            card.set_enabled(enabled)
        self.blockSignals(True)
        self.setCurrentRow(self.flow.current)
        self.blockSignals(False)

    def is_step_enabled(self, index: int) -> bool:
        return bool(self.item(index).flags() & Qt.ItemFlag.ItemIsEnabled)

    def _on_row(self, row: int) -> None:
        if row >= 0:
            self.step_chosen.emit(row)


class _StepCard(QWidget):
    def __init__(self, number: int, title: str, summary: str, built: bool) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 8, 12, 8)
        layout.setSpacing(1)
        self.title = QLabel(f"{number}   {title}")
        self.title.setStyleSheet("font-size: 14px; font-weight: 600; background: transparent;")
        layout.addWidget(self.title)
        self.summary = QLabel(summary if not built else "")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("font-size: 11px; background: transparent;")
        self.summary.setVisible(not built)
        layout.addWidget(self.summary)

    def set_enabled(self, enabled: bool) -> None:
        color = "#f9fafb" if enabled else "#6b7280"
        self.title.setStyleSheet(
            f"font-size: 14px; font-weight: 600; color: {color}; background: transparent;")
        self.summary.setStyleSheet("font-size: 11px; color: #6b7280; background: transparent;")
