""""Build my assistant": one button for the whole pipeline, with one view over its stages.

Before starting it shows the plan that fits this computer with each stage's time estimate;
while the build job runs (detached, core.pipeline.job) it shows the overall progress, each
stage's status and the current stage's detail. Pause saves where it is (a training run
saves a checkpoint); closing the app asks whether to pause or leave the build running;
reopening the project re-attaches to a running build or offers Continue. When the chosen
model fails the release gates the build stops before exporting, and "Export anyway" is the
explicit override.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.pipeline.plan import PLANS, STAGE_TITLES, STAGES, format_duration, get_plan
from gui.widgets.labels import error_label, hint_label
from gui.workers.close_guard import CloseGuard, ask_stop_or_leave
from gui.workers.detached_job import DetachedJob

PLAN_CHOICES = (("auto", "Automatic: the GPU plan where there is a GPU, else the CPU plan"),
                ("cpu", "CPU plan (a laptop, about half an hour)"),
                ("gpu", "GPU plan (every conversation, full-size training)"),
                ("ci", "Tiny check (a few minutes; teaches next to nothing)"))
STATUS_TEXT = {"pending": "waiting", "running": "running…", "done": "✓ done",
               "skipped": "skipped", "paused": "paused", "failed": "✗ failed",
               "blocked": "✗ gates failed"}
PAUSE_GRACE_MS = 240_000  # a training run saves a checkpoint before it stops


class BuildDialog(QDialog, CloseGuard):
    build_finished = Signal(str)  # status

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Build my assistant")
        self.resize(760, 520)
        self.project: Any = None
        self.close_choice = ""
        self.job = DetachedJob(self)
        self.job.event.connect(self._on_event)
        self.job.finished.connect(self._on_finished)
        self._stage_index = 0
        self._stages_of = len(STAGES)

        layout = QVBoxLayout(self)
        intro = hint_label("One button for every step: check the documents, write training "
                           "conversations, teach the tone (SFT), prefer the better answers "
                           "(IPO), evaluate, check the release gates and export. You can "
                           "pause, close the app or restart the computer: it continues where "
                           "it stopped.")
        layout.addWidget(intro)
        row = QHBoxLayout()
        row.addWidget(QLabel("&Plan:"))
        self.plan_box = QComboBox()
        for key, label in PLAN_CHOICES:
            self.plan_box.addItem(label, key)
        self.plan_box.currentIndexChanged.connect(self._show_estimate)
        row.itemAt(0).widget().setBuddy(self.plan_box)
        row.addWidget(self.plan_box, 1)
        layout.addLayout(row)
        self.estimate = QLabel()
        self.estimate.setObjectName("sectionTitle")
        layout.addWidget(self.estimate)
        self.table = QTableWidget(len(STAGES), 3)
        self.table.setHorizontalHeaderLabels(["Stage", "Estimate", "Status"])
        self.table.verticalHeader().hide()
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for row_index, name in enumerate(STAGES):
            self.table.setItem(row_index, 0, QTableWidgetItem(STAGE_TITLES[name]))
            self.table.setItem(row_index, 1, QTableWidgetItem(""))
            self.table.setItem(row_index, 2, QTableWidgetItem(""))
        layout.addWidget(self.table, 1)
        self.overall = QProgressBar()
        self.overall.setRange(0, 1000)
        self.overall.setFormat("Overall %p%")
        layout.addWidget(self.overall)
        self.stage_bar = QProgressBar()
        self.stage_bar.setRange(0, 100)
        layout.addWidget(self.stage_bar)
        self.detail = hint_label()
        layout.addWidget(self.detail)
        self.error = error_label()
        layout.addWidget(self.error)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("&Build my assistant")
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(lambda: self.start())
        self.restart_button = QPushButton("Start &over")
        self.restart_button.clicked.connect(lambda: self.start(restart=True))
        self.pause_button = QPushButton("&Pause")
        self.pause_button.clicked.connect(self.pause)
        self.override_button = QPushButton("Export &anyway…")
        self.override_button.setToolTip("Export the chosen model although it fails the "
                                        "release gates: you accept the risk")
        self.override_button.clicked.connect(self.export_anyway)
        self.close_button = QPushButton("&Close")
        self.close_button.clicked.connect(self.hide)
        for button in (self.start_button, self.restart_button, self.pause_button,
                       self.override_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self._update()

    # --- project ----------------------------------------------------------------------------
    def show_project(self, project: Any) -> None:
        if self.job.is_running():
            self.job.detach()
        self.project = project
        self.error.hide()
        self.detail.clear()
        self.overall.setValue(0)
        self.stage_bar.setValue(0)
        if project is not None:
            running = self._running_build()
            if running is not None:
                self.job.attach(running, "build")
        self.refresh()

    def refresh(self) -> None:
        """Stage statuses and the estimate from the project's saved build state."""
        state = self._state()
        if state is not None:
            index = self.plan_box.findData(state.get("plan"))
            if index >= 0 and not self.job.is_running():
                self.plan_box.blockSignals(True)
                self.plan_box.setCurrentIndex(index)
                self.plan_box.blockSignals(False)
        self._show_estimate()
        for row_index, name in enumerate(STAGES):
            entry = (state or {}).get("stages", {}).get(name, {"status": "pending"})
            status = entry.get("status", "pending")
            if status == "running" and not self.job.is_running():
                status = "paused"  # the process that ran it is gone; Continue resumes it
            self.table.item(row_index, 2).setText(STATUS_TEXT.get(status, status))
        if state is not None and state.get("status") == "blocked" and state.get("error"):
            self._show_error(state["error"], "Look at the gates on the Export step, or "
                             "export anyway.")
        elif state is not None and state.get("status") == "done" and state.get("export"):
            self.detail.setText(f"Your assistant is ready: {state['export']}")
            self.overall.setValue(1000)
        self._update()

    # --- actions ----------------------------------------------------------------------------
    def plan_name(self) -> str:
        return str(self.plan_box.currentData())

    def start(self, restart: bool = False, override_gates: bool = False) -> bool:
        if self.project is None or self.job.is_running():
            return False
        from core.pipeline.launch import prepare_build

        self.error.hide()
        self.close_choice = ""
        run_dir, spec, command = prepare_build(self.project, plan=self.plan_name(),
                                               restart=restart, override_gates=override_gates)
        self.detail.setText("Starting…")
        started = self.job.start("build", spec, run_dir, command)
        self._update()
        return started

    def pause(self) -> None:
        if self.job.is_running():
            self.detail.setText("Pausing: the stage in progress saves what it has…")
            self.job.cancel(grace_ms=PAUSE_GRACE_MS)
            self._update()

    def export_anyway(self) -> None:
        if self.confirm_override():
            self.start(override_gates=True)

    def confirm_override(self) -> bool:
        """Tests may replace this."""
        answer = QMessageBox.warning(
            self, "Export a model that fails the release gates?",
            "The chosen model does not pass the release gates you set. Its answers may be "
            "wrong, hard to read or not hand out-of-scope questions to a person. Export it "
            "anyway?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def is_busy(self) -> bool:
        return self.job.is_running()

    def ask_close_choice(self) -> str:
        """stop (pause) | leave | cancel. Tests may replace this."""
        return ask_stop_or_leave(
            self, "Your assistant is being built", "Pause the build (it continues where it "
            "stopped when you press Continue) or leave it running in the background? It "
            "shows here again when you reopen the project.", "&Pause it", "&Leave it running",
            default="stop")

    # --- job events -------------------------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "stage":
            self._stage_index = int(event["index"])
            self._stages_of = int(event["of"])
            self.stage_bar.setValue(0)
            self.detail.setText(STAGE_TITLES.get(str(event["name"]), str(event["name"])))
            self.overall.setValue(round(1000 * (self._stage_index - 1) / self._stages_of))
            self.refresh()
        elif kind == "progress":
            fraction = int(event["step"]) / max(int(event["total"]), 1)
            self.stage_bar.setValue(round(100 * fraction))
            if self._stage_index:
                self.overall.setValue(round(1000 * (self._stage_index - 1 + fraction)
                                            / self._stages_of))
        elif kind == "log":
            self.detail.setText(str(event.get("message", ""))[:200])
        elif kind == "error":
            self._show_error(str(event.get("message", "")), str(event.get("hint", "")))

    def _on_finished(self, status: str, output: str) -> None:
        if status == "succeeded":
            self.overall.setValue(1000)
            self.stage_bar.setValue(100)
        elif status == "cancelled":
            self.detail.setText("Paused. Press Continue to go on from here.")
        self.refresh()
        if status == "succeeded" and output:
            self.detail.setText(f"Your assistant is ready: {output}")
        self.build_finished.emit(status)

    # --- showing ----------------------------------------------------------------------------
    def _state(self) -> dict[str, Any] | None:
        if self.project is None:
            return None
        from core.pipeline.state import load_state

        return load_state(self.project)

    def _show_estimate(self) -> None:
        plan = get_plan(self.plan_name()) if self.plan_name() != "auto" else \
            PLANS[_auto_plan()]
        estimate = plan.estimate()
        self.estimate.setText(f"{plan.description} Estimated time: "
                              f"{format_duration(sum(estimate.values()))}.")
        for row_index, name in enumerate(STAGES):
            self.table.item(row_index, 1).setText(format_duration(estimate[name]))

    def _show_error(self, message: str, hint: str) -> None:
        self.error.setText(f"{message} {hint}".strip())
        self.error.show()

    def _running_build(self) -> Path | None:
        """The newest build run of the project if its process is still alive."""
        from core.jobs.events import run_status

        root = Path(self.project.runs_dir)
        if not root.is_dir():
            return None
        builds = sorted((p for p in root.iterdir() if p.is_dir() and "-build-" in p.name),
                        key=lambda p: p.name, reverse=True)
        if builds and run_status(builds[0]) == "running":
            return builds[0]
        return None

    def _update(self) -> None:
        from core.pipeline.state import can_continue, is_complete

        running = self.job.is_running()
        state = self._state()
        self.start_button.setText("&Continue" if can_continue(state) else
                                  "&Build again" if is_complete(state) else
                                  "&Build my assistant")
        self.start_button.setEnabled(self.project is not None and not running)
        self.restart_button.setVisible(state is not None)
        self.restart_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.plan_box.setEnabled(not running and not can_continue(state))
        self.override_button.setVisible(state is not None and state.get("status") == "blocked")
        self.override_button.setEnabled(not running)
        self.stage_bar.setVisible(running)
        self.setWindowTitle("Build my assistant" + (" (running)" if running else ""))


def _auto_plan() -> str:
    """What "auto" will most likely pick, without importing torch in the app: an NVIDIA
    driver means the GPU plan (the build job itself asks torch)."""
    import shutil

    nvidia = Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi")
    return "gpu" if nvidia else "cpu"
