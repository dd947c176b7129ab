"""The release gates of one trained run: each gate passed or failed, with the failing answers.

The thresholds are edited here and saved to the project at once; the verdict is recomputed
from the answers the Evaluation step stored (core.pipeline.gates; nothing is generated), off
the UI thread because scoring loads the similarity model the first time.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.errors import TalkSmallError
from gui.widgets.labels import hint_label
from gui.workers.tasks import run_task

VERDICTS = {"passed": "✓ passed", "failed": "✗ failed", "not_applicable": "– nothing to judge"}
_FIELDS = (  # key, short label, what it means (tooltip)
    ("golden_min_share", "Golden right ≥", "Share of golden questions whose answer states "
     "every required fact, at least"),
    ("min_readable_share", "Readable ≥", "Share of answers with Flesch reading ease >= 60, "
     "at least"),
    ("max_unescalated_share", "Out of scope answered ≤", "Share of out-of-scope questions "
     "answered instead of handed to a person, at most"),
)


class GatesView(QWidget):
    judged = Signal(object)  # the GateReport, or None when there is nothing to judge

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        self.run_id: str | None = None
        self.report: Any = None
        self._generation = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.verdict = QLabel("Release gates")
        self.verdict.setObjectName("sectionTitle")
        layout.addWidget(self.verdict)
        row = QHBoxLayout()
        self.spins: dict[str, QSpinBox] = {}
        for key, label, meaning in _FIELDS:
            spin = QSpinBox()
            spin.setRange(0, 100)
            spin.setSuffix("%")
            spin.setToolTip(meaning)
            spin.editingFinished.connect(self._save_settings)
            self.spins[key] = spin
            caption = QLabel(label)
            caption.setToolTip(meaning)
            row.addWidget(caption)
            row.addWidget(spin)
        row.addStretch(1)
        layout.addLayout(row)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Gate", "Result", "Detail"])
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.tree.setMinimumHeight(90)
        self.tree.setMaximumHeight(170)
        layout.addWidget(self.tree, 1)
        self.hint = hint_label("Golden questions are evaluation questions with facts the "
                               "answer must contain: add them on the Evaluation step.")
        layout.addWidget(self.hint)

    def show_run(self, project: Any, run_id: str | None) -> None:
        self.project, self.run_id = project, run_id
        self._load_settings()
        self.judge()

    def judge(self) -> None:
        """Recompute the verdict for the current run (in the background)."""
        from core.pipeline.gates import check_gates

        self._generation += 1
        generation = self._generation
        self.tree.clear()
        self.report = None
        if self.project is None or not self.run_id:
            self.verdict.setText("Release gates: no trained run to judge")
            self.judged.emit(None)
            return
        self.verdict.setText("Release gates: checking…")
        run_task(check_gates, self.project, self.run_id,
                 on_success=lambda report: self._show(report, generation),
                 on_error=lambda exc: self._failed(exc, generation))

    # --- internals -------------------------------------------------------------------------
    def _load_settings(self) -> None:
        if self.project is None:
            return
        from core.pipeline.gates import load_gate_settings

        values = load_gate_settings(self.project).to_dict()
        for key, spin in self.spins.items():
            spin.blockSignals(True)
            spin.setValue(round(100 * values[key]))
            spin.blockSignals(False)

    def set_threshold(self, key: str, percent: int) -> None:
        """Set one threshold as the operator would (tests, keyboard)."""
        self.spins[key].setValue(percent)
        self._save_settings()

    def _save_settings(self) -> None:
        if self.project is None:
            return
        from core.pipeline.gates import GateSettings, save_gate_settings

        values = {key: spin.value() / 100 for key, spin in self.spins.items()}
        save_gate_settings(self.project, GateSettings(**values))
        self.judge()

    def _show(self, report: Any, generation: int) -> None:
        if generation != self._generation:
            return  # an older request for another run or other thresholds
        self.report = report
        self.verdict.setText(f"Release gates for run {self.run_id}: "
                             f"{'all passed' if report.passed else 'FAILED'}")
        for gate in report.gates:
            item = QTreeWidgetItem([gate.label, VERDICTS.get(gate.status, gate.status),
                                    gate.detail])
            for failure in gate.failures:
                child = QTreeWidgetItem([failure.question, "", f"{failure.reason}: "
                                         f"{failure.answer[:200]}"])
                child.setToolTip(2, failure.answer)
                item.addChild(child)
            self.tree.addTopLevelItem(item)
            item.setExpanded(not gate.passed)
        self.judged.emit(report)

    def _failed(self, exc: TalkSmallError, generation: int) -> None:
        if generation != self._generation:
            return
        self.verdict.setText(f"Release gates: could not be checked ({exc})")
        self.judged.emit(None)
