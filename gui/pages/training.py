"""The Training step: choose base, method and preset, check the estimate, train, watch, resume.

The run is a detached child process (``python -m core.jobs train``, core.training), followed
through its run folder by ``DetachedJob``, so the operator may close the app and leave it
running; opening the project again re-attaches and redraws the charts from the run's events.
This page never imports torch: the pre-flight estimate (device, memory, time) runs in a
worker thread through core, and the training itself in the child.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.errors import TalkSmallError
from core.jobs.events import read_events
from core.project import Project
from gui.widgets.param_form import ParamForm
from gui.widgets.run_history import RunHistoryTable, duration_text, metrics_text
from gui.widgets.training_charts import TrainingCharts
from gui.workers.close_guard import CloseGuard, ask_stop_or_leave
from gui.workers.detached_job import DetachedJob
from gui.workers.tasks import run_task

JOB = "train"
STOP_GRACE_MS = 60000  # a CPU step can take a while; the child saves a checkpoint first
ESTIMATE_DELAY_MS = 400
LOG_LINES = 2000


class TrainingPage(QWidget, CloseGuard):
    run_finished = Signal(str)  # status
    estimate_ready = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from core.training import params, presets

        self.project: Project | None = None
        self._presets = presets.load_presets()
        self._method_help = presets.METHOD_HELP
        self._preference_methods = presets.PREFERENCE_METHODS
        self._params = params
        self.job = DetachedJob(self)
        self.job.started.connect(self._on_started)
        self.job.progress.connect(self._on_progress)
        self.job.metric.connect(self.charts_add)
        self.job.log.connect(self._on_log)
        self.job.error.connect(self._on_error)
        self.job.event.connect(self._on_event)
        self.job.finished.connect(self._on_finished)
        self.child_command: Any = None  # tests: a callable(run_dir) -> argv (the fake child)
        self.close_choice = ""  # stop | leave: how a close while running was answered
        # The estimate loads the tokenizer and detects the device (seconds, in a thread);
        # tests that do not look at it switch it off.
        self.auto_estimate = True
        self.estimate: dict[str, Any] = {}
        self._estimate_task: Any = None
        self._estimate_again = False
        self._stopping = False
        self._run_started = 0.0
        self._estimate_timer = QTimer(self)
        self._estimate_timer.setSingleShot(True)
        self._estimate_timer.setInterval(ESTIMATE_DELAY_MS)
        self._estimate_timer.timeout.connect(self.update_estimate)

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self._run_bar())
        self.tabs = QTabWidget()
        self.tabs.addTab(self._setup_tab(), "Set &up")
        self.tabs.addTab(self._live_tab(), "&Live run")
        self.tabs.addTab(self._history_tab(), "&History")
        column.addWidget(self.tabs, 1)
        self._fill_methods()
        self._update_buttons()

    # --- layout -------------------------------------------------------------------------------
    def _run_bar(self) -> QWidget:
        bar = QWidget()
        column = QVBoxLayout(bar)
        column.setContentsMargins(0, 0, 0, 6)
        row = QHBoxLayout()
        self.train_button = QPushButton("&Train")
        self.train_button.setObjectName("primary")
        self.train_button.clicked.connect(self.train)
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.setToolTip("Stop after the current step; a checkpoint is saved and "
                                      "Resume continues from it")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel()
        self.status.setObjectName("hint")
        row.addWidget(self.train_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.status, 2)
        column.addLayout(row)
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        column.addWidget(self.error)
        return bar

    def _setup_tab(self) -> QWidget:
        tab = QWidget()
        column = QVBoxLayout(tab)
        form = QFormLayout()
        self.base = QComboBox()
        self.base.currentIndexChanged.connect(self._settings_changed)
        pick = QPushButton("Other folder…")
        pick.clicked.connect(self.pick_base_folder)
        base_row = QHBoxLayout()
        base_row.addWidget(self.base, 1)
        base_row.addWidget(pick)
        form.addRow("&Base model", base_row)
        self.method = QComboBox()
        self.method.currentIndexChanged.connect(self._method_changed)
        form.addRow("&Method", self.method)
        self.method_help = QLabel()
        self.method_help.setObjectName("hint")
        self.method_help.setWordWrap(True)
        form.addRow("", self.method_help)
        self.preset = QComboBox()
        self.preset.currentIndexChanged.connect(self._preset_changed)
        form.addRow("&Preset", self.preset)
        self.preset_help = QLabel()
        self.preset_help.setObjectName("hint")
        self.preset_help.setWordWrap(True)
        form.addRow("", self.preset_help)
        self.max_steps = QSpinBox()
        self.max_steps.setRange(0, 1_000_000)
        self.max_steps.setSpecialValueText("as the preset says")
        self.max_steps.valueChanged.connect(self._settings_changed)
        form.addRow("Stop after &steps", self.max_steps)
        self.grounded = QCheckBox("Answer from company &information (recommended)")
        self.grounded.setToolTip("Train on conversations that carry passages from your "
                                 "documents, exactly as chat and the server send them, so the "
                                 "assistant answers from them; off trains closed-book "
                                 "(Advanced: grounded ratio)")
        self.grounded.toggled.connect(self._grounded_toggled)
        form.addRow("", self.grounded)
        self.data_label = QLabel()
        form.addRow("Data", self.data_label)
        column.addLayout(form)

        self.estimate_box = QGroupBox("Before you start")
        estimate_column = QVBoxLayout(self.estimate_box)
        self.estimate_label = QLabel("Checking this computer…")
        self.estimate_label.setWordWrap(True)
        estimate_column.addWidget(self.estimate_label)
        self.refusal = QLabel()
        self.refusal.setObjectName("fieldError")
        self.refusal.setWordWrap(True)
        self.refusal.hide()
        estimate_column.addWidget(self.refusal)
        column.addWidget(self.estimate_box)

        self.advanced_box = QGroupBox("&Advanced settings")
        self.advanced_box.setCheckable(True)
        self.advanced_box.setChecked(False)
        advanced_column = QVBoxLayout(self.advanced_box)
        self.advanced = ParamForm(self._params.schema(), self._params.validate_value)
        self.advanced.changed.connect(self._settings_changed)
        self.advanced.setVisible(False)
        self.advanced_box.toggled.connect(self.advanced.setVisible)
        advanced_column.addWidget(self.advanced)
        column.addWidget(self.advanced_box, 1)
        return tab

    def _live_tab(self) -> QWidget:
        tab = QWidget()
        column = QVBoxLayout(tab)
        self.stage = QLabel()
        self.stage.setObjectName("hint")
        column.addWidget(self.stage)
        split = QSplitter(Qt.Orientation.Vertical)
        self.charts = TrainingCharts()
        split.addWidget(self.charts)
        lower = QSplitter(Qt.Orientation.Horizontal)
        self.samples = QPlainTextEdit()
        self.samples.setReadOnly(True)
        self.samples.setPlaceholderText("Every few steps the model answers three sample "
                                        "questions; its answers appear here.")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setPlaceholderText("The run's log.")
        lower.addWidget(self.samples)
        lower.addWidget(self.log)
        split.addWidget(lower)
        split.setSizes([420, 200])
        column.addWidget(split, 1)
        return tab

    def _history_tab(self) -> QWidget:
        tab = QWidget()
        column = QVBoxLayout(tab)
        self.history = RunHistoryTable()
        self.history.run_selected.connect(self._run_selected)
        column.addWidget(self.history, 1)
        self.run_details = QLabel()
        self.run_details.setWordWrap(True)
        self.run_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.run_details)
        actions = QHBoxLayout()
        self.resume_button = QPushButton("&Resume")
        self.resume_button.setToolTip("Continue this run from its newest checkpoint")
        self.resume_button.clicked.connect(self.resume_selected)
        self.show_run_button = QPushButton("Show &charts")
        self.show_run_button.clicked.connect(self.show_selected)
        actions.addWidget(self.resume_button)
        actions.addWidget(self.show_run_button)
        actions.addStretch(1)
        column.addLayout(actions)
        return tab

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.project is not None and not self.estimate and self.auto_estimate:
            self._estimate_timer.start()

    # --- the page protocol ------------------------------------------------------------------
    def subtitle(self) -> str:
        return ("Teach the model your tone: supervised fine-tuning on your conversations, then "
                "preference training. It runs in the background; you may close the app.")

    def show_project(self, project: Project | None) -> None:
        if project is not self.project and self.job.is_running():
            self.job.detach()
        self.project = project
        self.charts.clear()
        self.samples.clear()
        self.log.clear()
        self._clear_error()
        self.status.clear()
        if project is None:
            self.history.set_records([])
            self._update_buttons()
            return
        self._fill_bases()
        self._refresh_data()
        self.refresh_history()
        running = next((r for r in self.history.records if r["status"] == "running"), None)
        if running is not None:
            self._follow_existing(Path(running["path"]))
        self._settings_changed()
        self._update_buttons()

    def is_busy(self) -> bool:
        return self.job.is_running()

    def ask_close_choice(self) -> str:
        """stop | leave | cancel. Tests may replace this."""
        return ask_stop_or_leave(
            self, "Training is running", "A training run is still going. Stop it (a "
            "checkpoint is saved, Resume continues later) or leave it running in the "
            "background? It shows here again when you reopen the project.",
            "&Stop the run", "&Leave it running")

    # --- setup ----------------------------------------------------------------------------------
    def _fill_methods(self) -> None:
        labels = {"sft": "SFT (full fine-tuning)", "sft-lora": "SFT with LoRA",
                  "ipo": "IPO (frozen reference)", "ipo-ema": "IPO-EMA",
                  "ipo-checkpoint": "IPO-checkpoint", "dpo": "DPO"}
        self.method.blockSignals(True)
        for method in self._method_help:
            self.method.addItem(labels.get(method, method), method)
        self.method.blockSignals(False)
        self._method_changed()

    def _fill_bases(self) -> None:
        from core.project.model_choice import base_model
        from core.training.history import list_training_runs

        assert self.project is not None
        current = self.base.currentData()
        self.base.blockSignals(True)
        self.base.clear()
        chosen = base_model(self.project)
        self.base.addItem(f"The project's base model ({_base_label(chosen)})", "")
        self.base.addItem("Built-in SmolLM2-135M-Instruct", "embedded")
        for record in list_training_runs(self.project):
            if record["status"] == "succeeded" and record.get("output"):
                self.base.addItem(f"Result of run {record['id']} ({record['method']})",
                                  f"run:{record['id']}")
        self.base.addItem("From scratch (expert: needs a large corpus)", "scratch")
        index = self.base.findData(current)
        self.base.setCurrentIndex(max(index, 0))
        self.base.blockSignals(False)

    def pick_base_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A Hugging Face model folder")
        if folder:
            self.set_base(folder)

    def set_base(self, value: str) -> None:
        index = self.base.findData(value)
        if index < 0:
            self.base.addItem(f"Folder: {value}", value)
            index = self.base.count() - 1
        self.base.setCurrentIndex(index)

    def _method_changed(self, *_args: Any) -> None:
        method = self.method.currentData()
        self.method_help.setText(self._method_help.get(method, ""))
        current = self.preset.currentData()
        self.preset.blockSignals(True)
        self.preset.clear()
        for slug, preset in self._presets.items():
            if method in preset.methods:
                self.preset.addItem(preset.name, slug)
        index = self.preset.findData(current)
        if index < 0:
            index = self.preset.findData("quick-cpu")
        self.preset.setCurrentIndex(max(index, 0))
        self.preset.blockSignals(False)
        self._preset_changed()

    def _preset_changed(self, *_args: Any) -> None:
        preset = self._presets.get(self.preset.currentData())
        self.preset_help.setText(preset.description if preset else "")
        self._settings_changed(reset_advanced=True)

    def _settings_changed(self, *_args: Any, reset_advanced: bool = False) -> None:
        from core.training.presets import resolve_params

        method, preset = self.method.currentData(), self.preset.currentData()
        if not method or not preset:
            return
        try:
            resolved = resolve_params(method, preset, {})
        except TalkSmallError as exc:
            self.show_error(exc)
            return
        self.advanced.set_values(resolved, keep_overrides=not reset_advanced)
        stages = {"all", "preference" if method in self._preference_methods else "sft"}
        if resolved.get("lora") or self.advanced.overrides().get("lora") or method == "sft-lora":
            stages.add("lora")
        self.advanced.show_stages(stages)
        self.grounded.blockSignals(True)
        self.grounded.setChecked(float(self.advanced.value("grounded_ratio")) > 0)
        self.grounded.blockSignals(False)
        self._refresh_data()
        self.estimate = {}
        if self.isVisible() and self.auto_estimate:  # not for a page nobody looks at
            self._estimate_timer.start()
        self._update_buttons()

    def _grounded_toggled(self, on: bool) -> None:
        """The switch sets the Advanced ratio: the default share on, closed-book off."""
        self.advanced.set_value("grounded_ratio",
                                self._params.defaults()["grounded_ratio"] if on else 0.0)

    def _refresh_data(self) -> None:
        if self.project is None:
            self.data_label.clear()
            return
        from core.conversations import store

        counts = store.summary(self.project)
        usable, pairs = counts["examples"]["usable"], counts["pairs"]["usable"]
        self.data_label.setText(f"{usable:,} conversations and {pairs:,} preference pairs ready "
                                "(kept or accepted in Conversations)")
        self._data = {"examples": usable, "pairs": pairs}

    def spec(self) -> dict[str, Any]:
        """The spec a Train click would start (raises TalkSmallError naming the field)."""
        from core.training.spec import build_spec

        if self.project is None:
            raise TalkSmallError("Open a project first.", "")
        errors = self.advanced.errors()
        if errors:
            name, message = next(iter(errors.items()))
            raise TalkSmallError(f"Advanced setting {name.replace('_', ' ')}: {message}",
                                 "Correct it or untick Advanced settings to see the preset's "
                                 "values.")
        return build_spec(self.project.root, self.method.currentData(),
                          preset=self.preset.currentData(), base=self.base.currentData() or "",
                          params=self.advanced.overrides(),
                          max_steps=self.max_steps.value() or None)

    def why_not_train(self) -> str:
        if self.project is None:
            return "Open a project first."
        if self.job.is_running():
            return "A run is going; cancel it or wait for it to finish."
        data = getattr(self, "_data", {})
        preference = self.method.currentData() in self._preference_methods
        if preference and not data.get("pairs"):
            return "Preference training needs preference pairs: generate them in Conversations."
        if not preference and not data.get("examples"):
            return "Generate or import conversations first."
        if self.advanced.errors():
            return "Correct the Advanced settings marked in red."
        if self.estimate.get("refusal"):
            return self.estimate["refusal"]["message"]
        return ""

    # --- the estimate -----------------------------------------------------------------------
    def update_estimate(self) -> None:
        """Device, memory and time for the current choice, worked out off the UI thread."""
        from core.training.preflight import preflight

        if self.project is None:
            return
        if self._estimate_task is not None:
            self._estimate_again = True
            return
        try:
            spec = self.spec()
        except TalkSmallError as exc:
            self._show_estimate({"error": {"message": exc.message, "hint": exc.hint}})
            return
        self.estimate_label.setText("Working out memory and time…")
        self._estimate_task = run_task(preflight, spec, on_success=self._show_estimate,
                                       on_error=lambda exc: self._show_estimate(
                                           {"error": {"message": exc.message, "hint": exc.hint}}))
        self._estimate_task.finished.connect(self._estimate_done)

    def _estimate_done(self) -> None:
        self._estimate_task = None
        if self._estimate_again:
            self._estimate_again = False
            self.update_estimate()

    def _show_estimate(self, result: dict[str, Any]) -> None:
        self.estimate = dict(result)
        error = result.get("refusal") or result.get("error")
        self.refusal.setVisible(bool(error))
        if error:
            self.refusal.setText(f"{error['message']} {error.get('hint', '')}".strip())
        if "estimate" in result:
            estimate, device = result["estimate"], result.get("device", {})
            self.estimate_label.setText(
                f"Device: {device.get('description', device.get('kind', '?'))}. "
                f"About {estimate['memory_gib']:.1f} GiB of memory "
                f"({device.get('memory_available_gib', 0):.1f} GiB free) and "
                f"{_duration(estimate['seconds'])} for {estimate['steps']:,} steps on "
                f"{result.get('rows', 0):,} training rows.")
        elif error:
            self.estimate_label.setText("No estimate: see below.")
        self._update_buttons()
        self.estimate_ready.emit(self.estimate)

    # --- running ----------------------------------------------------------------------------
    def train(self) -> bool:
        """Start a new run with the current settings; False, with the reason shown, if not."""
        from core.training.launch import prepare_run

        why = self.why_not_train()
        if why:
            self.show_error(TalkSmallError(why, ""))
            return False
        assert self.project is not None
        try:
            spec = self.spec()
            run_dir, command = prepare_run(self.project, spec)
        except TalkSmallError as exc:
            self.show_error(exc)
            return False
        self._begin(run_dir, spec, command, replay=False)
        return True

    def resume_selected(self) -> bool:
        record = self.history.selected()
        if not record or self.project is None or self.job.is_running():
            return False
        return self.resume(Path(record["path"]))

    def resume(self, run_dir: Path) -> bool:
        from core.training.launch import resume_command

        try:
            command = resume_command(run_dir)
        except TalkSmallError as exc:
            self.show_error(exc)
            return False
        spec = json.loads((run_dir / "spec.json").read_text(encoding="utf-8"))
        self._begin(run_dir, spec, command, replay=True)
        return True

    def _begin(self, run_dir: Path, spec: dict[str, Any], command: list[str],
               replay: bool) -> None:
        self._clear_error()
        self.charts.clear()
        self.samples.clear()
        self.log.clear()
        if replay:  # a resumed run continues its charts
            for event in read_events(run_dir):
                self._replay(event)
        if self.child_command is not None:
            command = self.child_command(run_dir)
        self._stopping = False
        self._run_started = time.monotonic()
        self.progress.setRange(0, 0)
        self.status.setText("Starting…")
        self.tabs.setCurrentIndex(1)
        self.job.start(JOB, spec, run_dir, command)
        self.refresh_history()
        self._update_buttons()

    def _follow_existing(self, run_dir: Path) -> None:
        self.charts.clear()
        self.samples.clear()
        self.log.clear()
        self.job.attach(run_dir, JOB)
        if self.job.is_running():
            self.status.setText("Training (started earlier)…")
            self.tabs.setCurrentIndex(1)

    def show_selected(self) -> None:
        record = self.history.selected()
        if not record or self.job.is_running():
            return
        self.charts.clear()
        self.samples.clear()
        self.log.clear()
        for event in read_events(Path(record["path"])):
            self._replay(event)
        self.tabs.setCurrentIndex(1)

    def _replay(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "metric":
            self.charts_add(event)
        elif kind in ("sample", "log", "stage", "error"):
            self._on_event(event)
            if kind == "log":
                self._on_log(str(event.get("level", "info")), str(event.get("message", "")))

    def cancel(self) -> None:
        if self.job.is_running():
            self._stopping = True
            self.status.setText("Stopping after this step and saving a checkpoint…")
            self.job.cancel(grace_ms=STOP_GRACE_MS)
            self._update_buttons()

    def charts_add(self, event: dict[str, Any]) -> None:
        self.charts.add_metric(event)

    def _on_started(self, event: dict[str, Any]) -> None:
        self.status.setText("Preparing the data and the model…")

    def _on_progress(self, step: int, total: int, eta_s: float) -> None:
        if total <= 0:
            return
        self.progress.setRange(0, total)
        self.progress.setValue(min(step, total))
        if self._stopping:
            return
        eta = "estimating the time left…" if eta_s < 0 else f"{_duration(eta_s)} left"
        self.status.setText(f"Step {step:,} of {total:,} · {eta}")

    def _on_log(self, level: str, message: str) -> None:
        self.log.appendPlainText(f"{level}: {message}" if level != "info" else message)

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "sample":
            self.samples.appendPlainText(f"Step {event.get('step')} · {event.get('question')}\n"
                                         f"    {event.get('answer')}\n")
        elif kind == "stage":
            self.stage.setText(f"Stage {event.get('index')} of {event.get('of')}: "
                               f"{event.get('name')}")

    def _on_error(self, code: str, message: str, hint: str) -> None:
        self.show_error(TalkSmallError(message, hint))
        self._on_log("error", f"{message} {hint}".strip())

    def _on_finished(self, status: str, output: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if status == "succeeded" else 0)
        if status == "succeeded":
            self.status.setText(f"Done: the trained model is in {output}." if output else
                                "Done.")
        elif status == "cancelled":
            self.status.setText("Stopped. Resume it from the History tab.")
        else:
            self.status.setText("The run failed; the reason is shown below.")
            if not self.error.isVisible():
                record = self._record_of(self.job.run_dir)
                error = (record or {}).get("error") or {}
                self.show_error(TalkSmallError(error.get("message", "The run failed."),
                                               error.get("hint", "")))
        self._stopping = False
        self.refresh_history()
        if self.project is not None:
            self._fill_bases()
        self._update_buttons()
        self.run_finished.emit(status)

    # --- history ----------------------------------------------------------------------------
    def refresh_history(self) -> None:
        from core.training.history import list_training_runs

        records = list_training_runs(self.project) if self.project is not None else []
        self.history.set_records(records)

    def _record_of(self, run_dir: Path | None) -> dict[str, Any] | None:
        if run_dir is None:
            return None
        return next((r for r in self.history.records if r["id"] == run_dir.name), None)

    def _run_selected(self, record: dict[str, Any]) -> None:
        if not record:
            self.run_details.clear()
        else:
            lines = [f"Run {record['id']}: {record['status']}, {record.get('method')}, "
                     f"{duration_text(record.get('duration_s')) or 'no duration'}."]
            metrics = metrics_text(record.get("final_metrics"))
            if metrics:
                lines.append(f"Final figures: {metrics}.")
            if record.get("error"):
                error = record["error"]
                lines.append(f"Why it failed: {error.get('message', '')} "
                             f"What to do: {error.get('hint', '')}")
            if record.get("output"):
                lines.append(f"Model: {record['output']}")
            self.run_details.setText("\n".join(lines))
        self._update_buttons()

    # --- helpers ----------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        running = self.job.is_running()
        why = self.why_not_train() if self.project is not None else "Open a project."
        self.train_button.setEnabled(not running and not why)
        self.train_button.setToolTip(why)
        self.cancel_button.setEnabled(running and not self._stopping)
        from core.training.engine import newest_checkpoint

        record = self.history.selected()
        resumable = bool(record) and record["status"] in ("cancelled", "failed") and \
            newest_checkpoint(Path(record["path"])) is not None
        self.resume_button.setEnabled(not running and resumable)
        self.show_run_button.setEnabled(not running and bool(record))

    def show_error(self, exc: TalkSmallError) -> None:
        self.error.setText(exc.message + (f" {exc.hint}" if exc.hint else ""))
        self.error.show()

    def _clear_error(self) -> None:
        self.error.clear()
        self.error.hide()


def _base_label(choice: str) -> str:
    if choice in ("", "embedded"):
        return "built-in SmolLM2-135M"
    return Path(choice).name or choice


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 5400:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"
