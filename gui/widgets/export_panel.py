"""Export a trained run as files other programs can run: GGUF models, Modelfile, model card, zip.

The export is core's ``export-assistant`` job in a child process (JobRunner): it takes a
minute or two, can be cancelled (nothing half-written is left), and a crash of the exporter
never takes the app down. When it finishes, every file is listed with its size, and the
folder can be opened. Earlier exports are listed below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.errors import TalkSmallError
from core.export.model_card import human_size
from core.jobs.launch import new_run_dir
from gui.widgets.gates_view import GatesView
from gui.widgets.labels import error_label, hint_label
from gui.workers.job_runner import JobRunner

QUANTS = (("q4_k_m", "q4_k_m — smallest, for laptops (recommended)"),
          ("q8_0", "q8_0 — near-original quality, twice the size"),
          ("f16", "f16 — original quality, largest"))
JOB = "export-assistant"


class ExportPanel(QWidget):
    exported = Signal(str)  # the export folder

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        self.folder: Path | None = None
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.log.connect(lambda _level, message: self.status.setText(message))
        self.runner.error.connect(self._on_error)
        self.runner.finished.connect(self._on_finished)
        self._error_shown = False

        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.run_box = QComboBox()
        self.run_box.setToolTip("The trained run to export (its LoRA is already merged)")
        self.run_box.currentIndexChanged.connect(self._judge_run)
        form.addRow("&Run:", self.run_box)
        types = QHBoxLayout()
        self.quant_boxes: dict[str, QCheckBox] = {}
        for quant, label in QUANTS:
            box = QCheckBox(label)
            box.setChecked(quant == "q4_k_m")
            box.toggled.connect(self._update)
            self.quant_boxes[quant] = box
            types.addWidget(box)
        types.addStretch(1)
        form.addRow("GGUF types:", types)
        self.zip_box = QCheckBox("Also make one .zip to send or copy (with a README)")
        self.zip_box.setChecked(True)
        form.addRow("", self.zip_box)
        layout.addLayout(form)
        self.gates = GatesView()
        self.gates.judged.connect(self._update)
        layout.addWidget(self.gates)
        self.override_box = QCheckBox("Export &anyway: this model fails the release gates (or "
                                      "was not evaluated) and I accept the risk")
        self.override_box.toggled.connect(self._update)
        layout.addWidget(self.override_box)
        row = QHBoxLayout()
        self.export_button = QPushButton("&Export")
        self.export_button.setObjectName("primary")
        self.export_button.clicked.connect(self.export)
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        self.open_button = QPushButton("&Open folder")
        self.open_button.clicked.connect(self.open_folder)
        for widget in (self.export_button, self.cancel_button):
            row.addWidget(widget)
        row.addWidget(self.bar, 1)
        row.addWidget(self.open_button)
        layout.addLayout(row)
        self.status = hint_label()
        layout.addWidget(self.status)
        self.error = error_label()
        layout.addWidget(self.error)
        note = QLabel("Ollama, LM Studio and llama.cpp get the tone only, without company "
                      "facts; 'talksmall serve' on the exported folder answers from the "
                      "company's documents too (the folder carries its search index).")
        note.setWordWrap(True)
        note.setObjectName("hint")
        layout.addWidget(note)
        self.files = QTableWidget(0, 2)
        self.files.setHorizontalHeaderLabels(["File", "Size"])
        self.files.verticalHeader().hide()
        self.files.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.files.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.files, 1)
        self._update()

    # --- project --------------------------------------------------------------------------
    def show_project(self, project: Any) -> None:
        self.project = project
        self.refresh()

    def refresh(self) -> None:
        """Reload the runs that can be exported and the newest export's files."""
        current = self.run_box.currentData()
        self.run_box.blockSignals(True)
        self.run_box.clear()
        self.run_box.blockSignals(False)
        if self.project is None:
            self.gates.show_run(None, None)
            self._update()
            return
        from core.training.history import list_training_runs

        try:
            runs = [r for r in list_training_runs(self.project) if r["status"] == "succeeded"
                    and (Path(r["path"]) / "final" / "config.json").is_file()]
        except TalkSmallError as exc:
            self._show_error(exc.code, str(exc), exc.hint)
            runs = []
        self.run_box.blockSignals(True)
        for record in runs:
            self.run_box.addItem(f"{record['id']} ({record.get('method') or 'trained'})",
                                 record["id"])
        index = self.run_box.findData(current)
        self.run_box.setCurrentIndex(max(index, 0))
        self.run_box.blockSignals(False)
        self._judge_run()
        if not runs:
            self.status.setText("Train a run first (Training step): there is nothing to "
                                "export yet.")
        elif self.folder is None:
            self._show_newest()
        self._update()

    # --- actions --------------------------------------------------------------------------
    def quants(self) -> list[str]:
        return [quant for quant, box in self.quant_boxes.items() if box.isChecked()]

    def export(self) -> bool:
        if self.project is None or self.runner.is_running() or not self.quants() \
                or self.run_box.count() == 0:
            return False
        if not self.gates_allow():
            return False
        spec = {"project": str(self.project.root), "run": self.run_box.currentData(),
                "quants": self.quants(), "zip": self.zip_box.isChecked(),
                "override_gates": self.override_box.isChecked()}
        self.error.hide()
        self._error_shown = False
        self.files.setRowCount(0)
        self.bar.setValue(0)
        self.status.setText("Exporting…")
        self.runner.start(JOB, spec, new_run_dir(self.project.runs_dir, "export"))
        self._update()
        return True

    def gates_allow(self) -> bool:
        report = self.gates.report
        return (report is not None and report.passed) or self.override_box.isChecked()

    def _judge_run(self, *_args: Any) -> None:
        self.override_box.setChecked(False)
        self.gates.show_run(self.project, self.run_box.currentData())

    def cancel(self) -> None:
        if self.runner.is_running():
            self.status.setText("Cancelling…")
            self.runner.cancel(grace_ms=5000)

    def open_folder(self) -> None:
        if self.folder is not None and self.folder.is_dir():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))

    def is_busy(self) -> bool:
        return self.runner.is_running()

    def shutdown(self) -> None:
        if self.runner.is_running():
            self.runner.kill()  # an export leaves nothing half-written: safe to stop now

    # --- job events -----------------------------------------------------------------------
    def _on_progress(self, step: int, total: int, eta_s: float) -> None:
        self.bar.setValue(round(100 * step / max(total, 1)))

    def _on_error(self, code: str, message: str, hint: str) -> None:
        self._show_error(code, message, hint)

    def _on_finished(self, status: str, output: str) -> None:
        if status == "succeeded" and output:
            self.folder = Path(output)
            self.bar.setValue(100)
            self._show_files(self.folder)
            self.status.setText(f"Exported to {self.folder}")
            self.exported.emit(str(self.folder))
        elif status == "cancelled":
            self.bar.setValue(0)
            self.status.setText("Export cancelled; nothing was written.")
        else:
            self.status.setText("The export failed; nothing was written.")
            if not self._error_shown:
                self._show_error("failed", "The export stopped without saying why.",
                                 "Try again; if it keeps failing, see the run's stderr.log.")
        self._update()

    # --- showing ----------------------------------------------------------------------------
    def _show_newest(self) -> None:
        from core.export.bundle import list_exports

        try:
            exports = list_exports(self.project)
        except TalkSmallError:
            return
        if exports:
            self.folder = Path(exports[0].folder)
            self._show_files(self.folder)
            self.status.setText(f"Latest export: {self.folder}")

    def _show_files(self, folder: Path) -> None:
        rows = [(p.name, p.stat().st_size) for p in sorted(folder.iterdir()) if p.is_file()]
        bundle = folder.with_suffix(".zip")
        if bundle.is_file():
            rows.append((f"../{bundle.name}", bundle.stat().st_size))
        self.files.setRowCount(len(rows))
        for row, (name, size) in enumerate(rows):
            self.files.setItem(row, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(human_size(size))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.files.setItem(row, 1, item)

    def file_sizes(self) -> dict[str, str]:
        return {self.files.item(r, 0).text(): self.files.item(r, 1).text()
                for r in range(self.files.rowCount())}

    def _show_error(self, code: str, message: str, hint: str) -> None:
        self._error_shown = True
        self.error.setText(f"{message} {hint}".strip())
        self.error.show()

    def _update(self, *_args: Any) -> None:
        running = self.runner.is_running()
        self.export_button.setEnabled(not running and self.project is not None
                                      and self.run_box.count() > 0 and bool(self.quants())
                                      and self.gates_allow())
        report = self.gates.report
        self.override_box.setVisible(self.run_box.count() > 0 and
                                     (report is None or not report.passed))
        self.cancel_button.setEnabled(running)
        self.bar.setTextVisible(running or self.bar.value() > 0)
        self.open_button.setEnabled(self.folder is not None and not running)
        self.run_box.setEnabled(not running)
