"""The Project step's Models section: the embedded model, the operator's own, the choice.

Validation of an added model runs off the UI thread; preparing the embedded model for
training (a one-time conversion that imports torch) runs as a child job, so the GUI process
never loads the training stack.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
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

from core.jobs.launch import new_run_dir
from core.paths import cache_dir
from core.project import Project, model_choice
from gui.workers.job_runner import JobRunner
from gui.workers.tasks import run_task

COLUMNS = ("", "Model", "Kind", "Parameters", "Size", "Licence", "Status")
KIND_LABELS = {"embedded": "Built in", "hf": "Hugging Face", "gguf": "GGUF"}


class ModelsPanel(QGroupBox):
    models_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Base model for training", parent)
        self.project: Project | None = None
        self.models: list[dict] = []
        self.runner: JobRunner | None = None
        column = QVBoxLayout(self)
        intro = QLabel("The base model your assistant is trained from. The built-in "
                       "SmolLM2-135M-Instruct runs on any computer; a larger local model "
                       "gives better answers but needs more memory and time.")
        intro.setObjectName("hint")
        intro.setWordWrap(True)
        column.addWidget(intro)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(110)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        column.addWidget(self.table)

        buttons = QHBoxLayout()
        self.use_button = QPushButton("Use for training")
        self.use_button.clicked.connect(self.use_selected)
        self.add_folder_button = QPushButton("Add model folder…")
        self.add_folder_button.clicked.connect(self._browse_folder)
        self.add_gguf_button = QPushButton("Add GGUF file…")
        self.add_gguf_button.clicked.connect(self._browse_gguf)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.prepare_button = QPushButton("Prepare built-in model")
        self.prepare_button.setToolTip("Converts the built-in model for training once "
                                       "(about a minute); later runs reuse it.")
        self.prepare_button.clicked.connect(self.prepare_embedded)
        for button in (self.use_button, self.add_folder_button, self.add_gguf_button,
                       self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.prepare_button)
        column.addLayout(buttons)
        status_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("hint")
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.progress)
        column.addLayout(status_row)

    # --- public -----------------------------------------------------------------
    def load(self, project: Project) -> None:
        self.project = project
        self.refresh()

    def refresh(self) -> None:
        if self.project is None:
            return
        self.models = model_choice.list_models(self.project)
        self.table.setRowCount(len(self.models))
        for row, model in enumerate(self.models):
            values = (
                "●" if model.get("selected") else "",
                model["name"],
                KIND_LABELS.get(model["kind"], model["kind"]),
                f"{model['parameters'] / 1e6:,.0f} M" if model.get("parameters") else "?",
                _size(model["size_bytes"]),
                model.get("licence") or "unknown",
                _status(model),
            )
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(model["path"])
                if col == 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, col, item)
        self._update_buttons()

    def add_model(self, path: str | Path) -> None:
        """Validate in the background, then record; errors are shown, nothing is saved."""
        if self.project is None:
            return
        project = self.project
        self._busy(f"Checking {Path(path).name}…")
        run_task(model_choice.add_model, project, str(path),
                 on_success=lambda info: self._done(f"Added {info['name']}."),
                 on_error=lambda exc: self._done(str(exc), error=True))

    def use_selected(self) -> None:
        row = self.table.currentRow()
        if self.project is None or row < 0:
            return
        model = self.models[row]
        choice = "embedded" if model["kind"] == "embedded" else model["path"]
        model_choice.set_base_model(self.project, choice)
        self.status.setText(f"{model['name']} will be used for training.")
        self.refresh()
        self.models_changed.emit()

    def remove_selected(self) -> None:
        row = self.table.currentRow()
        if self.project is None or row < 0 or self.models[row]["kind"] == "embedded":
            return
        model_choice.remove_model(self.project, self.models[row]["path"])
        self.status.setText(f"Removed {self.models[row]['name']} from this project "
                            "(the files were not touched).")
        self.refresh()
        self.models_changed.emit()

    def prepare_embedded(self) -> None:
        if self.runner is not None and self.runner.is_running():
            return
        run_dir = new_run_dir(cache_dir() / "jobs", "convert-model")
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.log.connect(lambda _level, message: self.status.setText(message))
        self.runner.error.connect(lambda _c, message, hint: self.status.setText(
            f"{message} {hint}".strip()))
        self.runner.finished.connect(self._on_prepared)
        self._busy("Preparing the built-in model for training…")
        self.progress.setValue(0)
        self.progress.show()
        self.runner.start("convert-model", {}, run_dir)

    def shutdown(self) -> None:
        if self.runner is not None and self.runner.is_running():
            self.runner.cancel(grace_ms=3000)

    # --- internals --------------------------------------------------------------
    def _on_progress(self, step: int, total: int, _eta: float) -> None:
        self.progress.setValue(int(100 * step / max(total, 1)))

    def _on_prepared(self, status: str, _output: str) -> None:
        self.progress.hide()
        if status == "succeeded":
            self._done("The built-in model is ready for training.")
        elif status == "cancelled":
            self._done("Preparation was cancelled; it will start again next time.")
        else:
            self._done(self.status.text() or "Preparing the model failed.", error=True)
        self.refresh()

    def _busy(self, message: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(message)
        for button in (self.add_folder_button, self.add_gguf_button, self.prepare_button):
            button.setEnabled(False)

    def _done(self, message: str, error: bool = False) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #c62828;" if error else "")
        self.add_folder_button.setEnabled(True)
        self.add_gguf_button.setEnabled(True)
        self.refresh()
        self.models_changed.emit()

    def _update_buttons(self) -> None:
        row = self.table.currentRow()
        model = self.models[row] if 0 <= row < len(self.models) else None
        self.use_button.setEnabled(bool(model) and not model.get("selected"))
        self.remove_button.setEnabled(bool(model) and model["kind"] != "embedded")
        embedded = self.models[0] if self.models else {}
        running = self.runner is not None and self.runner.is_running()
        self.prepare_button.setEnabled(not embedded.get("ready_for_training") and not running)
        self.prepare_button.setText("Built-in model ready" if embedded.get(
            "ready_for_training") else "Prepare built-in model")

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A Hugging Face model folder")
        if folder:
            self.add_model(folder)

    def _browse_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "A GGUF model file", "",
                                              "GGUF models (*.gguf);;All files (*)")
        if path:
            self.add_model(path)


def _size(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:,.0f} MB"


def _status(model: dict) -> str:
    if model.get("available") is False:
        return "Missing"
    if model["kind"] == "embedded" and not model.get("ready_for_training"):
        return "Ready to chat · prepare to train"
    return "Ready"
