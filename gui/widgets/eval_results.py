"""Evaluate models and compare them: pick the models, run core's "evaluate" job in a child
process (progress, Cancel; a re-run only makes the missing answers), then the table of every
metric (best value per column bold), two bars per model, and the answers behind any number
(double-click). "Open report" writes the HTML report and opens it in the browser.

Reading the table scores the stored answers (MiniLM similarity among them), so it runs off
the UI thread through run_task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.errors import TalkSmallError
from core.evaluation.metrics import METRICS, format_metric
from core.jobs.launch import new_run_dir
from gui.widgets.eval_answers import AnswersDialog
from gui.widgets.eval_chart import EvalBars
from gui.widgets.labels import error_label, hint_label
from gui.workers.job_runner import JobRunner
from gui.workers.tasks import run_task

JOB = "evaluate"
TOKENS_SETTING = "evaluation.max_tokens"
LABEL_ROLE = Qt.ItemDataRole.UserRole


def best_rows(key: str, values: list[float | None]) -> set[int]:
    """Rows holding the best value of a column (none for length and time-neutral columns)."""
    info = next(m for m in METRICS if m.key == key)
    known = [v for v in values if v is not None]
    if info.higher_is_better is None or len(set(known)) < 2:
        return set()  # nothing to compare, or every model is equal
    best = max(known) if info.higher_is_better else min(known)
    return {i for i, v in enumerate(values) if v is not None and v == best}


class EvalResultsPanel(QWidget):
    evaluated = Signal(str)  # the job's final status
    table_shown = Signal()
    answers_shown = Signal(object)  # the AnswersDialog

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        self.limit: int | None = None
        self.table_data: Any = None
        self._loading = 0  # the newest table request; older answers are dropped
        self._filling = False
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.log.connect(lambda _level, message: self.status.setText(message))
        self.runner.error.connect(self._show_error)
        self.runner.finished.connect(self._on_finished)

        layout = QVBoxLayout(self)
        self.model_row = QHBoxLayout()
        self.model_row.addWidget(QLabel("Models:"))
        self.model_boxes: dict[str, QCheckBox] = {}
        self.model_row.addStretch(1)
        self.model_row.addWidget(QLabel("Answer length:"))
        self.tokens = QSpinBox()
        self.tokens.setRange(8, 1024)
        self.tokens.setValue(160)
        self.tokens.setSuffix(" tokens")
        self.tokens.setToolTip("At most this many tokens per answer (fixed, greedy decoding; "
                               "answers are stored per setting, so changing it makes new ones)")
        self.tokens.valueChanged.connect(self._tokens_changed)
        self.model_row.addWidget(self.tokens)
        layout.addLayout(self.model_row)
        # The models in a grid of three columns: run ids are long, a row would widen the window.
        models_host = QWidget()
        self.model_grid = QGridLayout(models_host)
        self.model_grid.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(models_host)
        row = QHBoxLayout()
        self.evaluate_button = QPushButton("&Evaluate")
        self.evaluate_button.setObjectName("primary")
        self.evaluate_button.clicked.connect(self.evaluate)
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        self.report_button = QPushButton("Open &report")
        self.report_button.clicked.connect(self.open_report)
        for widget in (self.evaluate_button, self.cancel_button):
            row.addWidget(widget)
        row.addWidget(self.bar, 1)
        row.addWidget(self.report_button)
        layout.addLayout(row)
        self.status = hint_label()
        layout.addWidget(self.status)
        self.error = error_label()
        layout.addWidget(self.error)
        self.table = QTableWidget(0, len(METRICS) + 1)
        self.table.setHorizontalHeaderLabels(
            ["Answers", *[m.label.replace(" (", "\n(") for m in METRICS]])
        for column, info in enumerate(METRICS, start=1):
            self.table.horizontalHeaderItem(column).setToolTip(
                info.description + ("" if info.higher_is_better is not False
                                    else " (lower is better)"))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellDoubleClicked.connect(self.show_answers)
        self.table.setToolTip("Double-click a number to see the answers behind it")
        layout.addWidget(self.table, 1)
        self.chart = EvalBars()
        layout.addWidget(self.chart)
        self._update()

    # --- project --------------------------------------------------------------------------
    @property
    def max_tokens(self) -> int:
        return self.tokens.value()

    @max_tokens.setter
    def max_tokens(self, value: int) -> None:
        self.tokens.setValue(value)

    def _tokens_changed(self, value: int) -> None:
        if self.project is not None and not self._filling:
            self.project.store.set_setting(TOKENS_SETTING, value)
            self.refresh()

    def show_project(self, project: Any) -> None:
        self.project = project
        self.table_data = None
        self._filling = True
        self.tokens.setValue(int(project.store.get_setting(TOKENS_SETTING, 160))
                             if project is not None else 160)
        self._filling = False
        self.error.hide()
        self._fill_models()
        self.refresh()

    def _fill_models(self) -> None:
        for box in self.model_boxes.values():
            self.model_grid.removeWidget(box)
            box.deleteLater()
        self.model_boxes = {}
        if self.project is None:
            return
        self._filling = True
        from core.evaluation import default_models

        labels = list(default_models(self.project))
        for run_id in self._trained_runs():
            labels += [f"run:{run_id}", f"run:{run_id}+retrieval"]
        for label in dict.fromkeys(labels):
            box = QCheckBox(label)
            box.setChecked(label in ("base", "prompted", "retrieval")
                           or label in labels[3:5])
            box.setToolTip(_model_tooltip(label))
            box.toggled.connect(self._models_changed)
            index = len(self.model_boxes)
            self.model_boxes[label] = box
            self.model_grid.addWidget(box, index // 3, index % 3)
        self._filling = False

    def _trained_runs(self) -> list[str]:
        from core.training.history import list_training_runs

        try:
            return [r["id"] for r in list_training_runs(self.project)
                    if r["status"] == "succeeded"
                    and (Path(r["path"]) / "final" / "config.json").is_file()]
        except TalkSmallError:
            return []

    def _models_changed(self, _checked: bool) -> None:
        if not self._filling:
            self.refresh()

    def models(self) -> list[str]:
        return [label for label, box in self.model_boxes.items() if box.isChecked()]

    def set_models(self, labels: list[str]) -> None:
        for label, box in self.model_boxes.items():
            box.setChecked(label in labels)

    def settings(self) -> Any:
        from core.evaluation import EvalSettings

        return EvalSettings(max_tokens=self.max_tokens)

    # --- the table --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Score what is stored for the chosen models (off the UI thread)."""
        if self.project is None or not self.models():
            self._show_table(None)
            return
        from core.evaluation import eval_table

        self._loading += 1
        request = self._loading
        run_task(eval_table, self.project, self.models(), limit=self.limit,
                 settings=self.settings(),
                 on_success=lambda table: request == self._loading and self._show_table(table),
                 on_error=lambda exc: self._show_error(exc.code, str(exc), ""))
        self._update()

    def _show_table(self, table: Any) -> None:
        self.table_data = table
        rows = table.rows if table is not None else []
        self.table.setRowCount(len(rows))
        self.table.setVerticalHeaderLabels([r.label for r in rows])
        for r, row in enumerate(rows):
            item = QTableWidgetItem(f"{row.answered}/{row.questions}")
            item.setData(LABEL_ROLE, row.label)
            self.table.setItem(r, 0, item)
        bold = QFont(self.table.font())
        bold.setBold(True)
        for column, info in enumerate(METRICS, start=1):
            values = [row.metrics.get(info.key) for row in rows]
            best = best_rows(info.key, values)
            for r, value in enumerate(values):
                item = QTableWidgetItem(format_metric(info.key, value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
                item.setData(LABEL_ROLE, rows[r].label)
                item.setToolTip(f"{info.description}; over {rows[r].counts.get(info.key, 0)} "
                                f"answers. Double-click for the answers.")
                if r in best:
                    item.setFont(bold)
                self.table.setItem(r, column, item)
        self.chart.set_rows([(row.label, row.metrics) for row in rows])
        if table is not None and not self.runner.is_running():
            missing = sum(r.questions - r.answered for r in rows)
            self.status.setText(
                "No questions yet: add some on the Questions tab." if not table.question_ids
                else f"{len(table.question_ids)} questions; {missing} answers still to make: "
                     f"press Evaluate." if missing
                else f"{len(table.question_ids)} questions, every answer made.")
        self._update()
        self.table_shown.emit()

    def show_answers(self, row: int, column: int) -> None:
        item = self.table.item(row, column)
        if item is None or self.project is None:
            return
        label = item.data(LABEL_ROLE)
        metric = METRICS[column - 1] if column > 0 else None
        from core.evaluation import answers_for

        run_task(answers_for, self.project, label, metric.key if metric else None,
                 limit=self.limit, settings=self.settings(),
                 on_success=lambda details: self._open_answers(label, metric, details),
                 on_error=lambda exc: self._show_error(exc.code, str(exc), ""))

    def _open_answers(self, label: str, metric: Any, details: list[Any]) -> None:
        dialog = AnswersDialog(label, metric.label if metric else "all answers",
                               metric.key if metric else None, details, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.answers_shown.emit(dialog)

    # --- actions --------------------------------------------------------------------------
    def evaluate(self) -> bool:
        if self.project is None or self.runner.is_running() or not self.models():
            return False
        spec: dict[str, Any] = {"project": str(self.project.root), "models": self.models(),
                                "settings": self.settings().to_dict()}
        if self.limit is not None:
            spec["limit"] = self.limit
        self.error.hide()
        self.bar.setValue(0)
        self.status.setText("Loading the model…")
        self.runner.start(JOB, spec, new_run_dir(self.project.runs_dir, "evaluate"))
        self._update()
        return True

    def cancel(self) -> None:
        if self.runner.is_running():
            self.status.setText("Stopping after the answer in progress…")
            self.runner.cancel(grace_ms=30000)

    def open_report(self) -> Path | None:
        if self.table_data is None or self.project is None:
            return None
        from core.evaluation.report import write_report

        try:
            path = write_report(self.project, self.table_data)
        except TalkSmallError as exc:
            self._show_error(exc.code, str(exc), "")
            return None
        self.status.setText(f"Report saved: {path}")
        self.open_url(QUrl.fromLocalFile(str(path)))
        return path

    def open_url(self, url: QUrl) -> None:
        """Open in the browser (a test replaces this)."""
        QDesktopServices.openUrl(url)

    def is_busy(self) -> bool:
        return self.runner.is_running()

    def shutdown(self) -> None:
        if self.runner.is_running():
            self.runner.kill()  # answers are stored one by one: nothing is lost but the last

    # --- job events -----------------------------------------------------------------------
    def _on_progress(self, step: int, total: int, eta_s: float) -> None:
        self.bar.setValue(round(100 * step / max(total, 1)))
        left = f", about {eta_s / 60:.0f} min left" if eta_s > 90 else \
            (f", about {eta_s:.0f} s left" if eta_s > 0 else "")
        self.status.setText(f"{step} of {total} answers made{left}")

    def _show_error(self, code: str, message: str, hint: str) -> None:
        self.error.setText(f"{message} {hint}".strip())
        self.error.show()

    def _on_finished(self, status: str, output: str) -> None:
        if status == "succeeded":
            self.bar.setValue(100)
            self.status.setText(output or "Evaluation finished.")
        elif status == "cancelled":
            self.status.setText("Stopped. The answers made so far are kept: Evaluate again "
                                "to make the rest.")
        else:
            self.status.setText("The evaluation failed; the answers made so far are kept.")
        self._update()
        self.evaluated.emit(status)
        self.refresh()

    def _update(self, *_args: Any) -> None:
        running = self.runner.is_running()
        self.evaluate_button.setEnabled(not running and self.project is not None
                                        and bool(self.models()))
        self.cancel_button.setEnabled(running)
        self.report_button.setEnabled(self.table_data is not None and not running)
        self.bar.setTextVisible(running or self.bar.value() > 0)
        for box in self.model_boxes.values():
            box.setEnabled(not running)
        self.tokens.setEnabled(not running)


def _model_tooltip(label: str) -> str:
    if label == "base":
        return "The base model alone: no system prompt, no company documents"
    if label == "prompted":
        return "The base model with the company's system prompt"
    if label == "retrieval":
        return "The base model with the system prompt and the most relevant passages"
    if label.endswith("+retrieval"):
        return "This trained run, also given the most relevant passages"
    return "This trained run, closed book (as it was trained)"
