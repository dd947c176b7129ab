"""The Conversations step: choose the teacher and how much to make, generate in the background,
then review every example (filter, edit in place, accept / reject) and see the summary.

Generation is core's ``generate`` job in a child process (JobRunner), so the GUI stays
responsive and a crash or kill loses at most the item in flight. The work list lives in the
project: Pause stops after the item in flight, Resume starts the job again and it continues
where it was — also after the app was closed. Every rule lives in ``core.conversations``.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.conversations import datasets, store
from core.conversations.settings import GenerationSettings, load_settings, save_settings
from core.errors import TalkSmallError
from core.jobs.launch import new_run_dir
from core.project import Project
from gui.widgets.example_table import ExampleTable, PairTable
from gui.widgets.generation_summary import GenerationSummary, gate_label
from gui.widgets.teacher_panel import TeacherPanel
from gui.workers.job_runner import JobRunner
from gui.workers.tasks import run_task

ALL = "All"
SHUTDOWN_GRACE_MS = 60_000


class ConversationsPage(QWidget):
    title = "Conversations"
    subtitle_changed = Signal()
    generation_finished = Signal(str)  # the job's status: succeeded / cancelled / failed
    dataset_done = Signal(str)  # the message shown after an import or export

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.event.connect(self._on_event)
        self.runner.error.connect(self._on_job_error)
        self.runner.finished.connect(self._on_finished)
        self.kept = 0
        self.dropped: Counter[str] = Counter()
        self._pausing = False
        self._stopping = False
        self._work: dict[str, int] = {}
        self._started = 0.0
        self._loading = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(400)
        self._refresh_timer.timeout.connect(self.refresh)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._run_bar())
        self.tabs = QTabWidget()
        self.tabs.addTab(self._setup_tab(), "&Teacher and amount")
        self.tabs.addTab(self._review_tab(), "&Review")
        self.tabs.addTab(self._pairs_tab(), "Preference pa&irs")
        self.summary = GenerationSummary()
        self.tabs.addTab(self.summary, "&Summary")
        layout.addWidget(self.tabs, 1)

    # --- building -------------------------------------------------------------------------
    def _run_bar(self) -> QWidget:
        bar = QWidget()
        column = QVBoxLayout(bar)
        column.setContentsMargins(0, 0, 0, 6)
        row = QHBoxLayout()
        self.generate_button = QPushButton("&Generate")
        self.generate_button.setObjectName("primary")
        self.generate_button.clicked.connect(self.generate)
        self.pause_button = QPushButton("&Pause")
        self.pause_button.setToolTip("Stop after the item in flight; Resume continues")
        self.pause_button.clicked.connect(self.pause)
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.setToolTip("Stop now; what was made so far is kept")
        self.cancel_button.clicked.connect(self.cancel)
        self.start_over_button = QPushButton("Start &over…")
        self.start_over_button.setToolTip("Discard the generated examples and the work list; "
                                          "what you accepted, rejected or imported stays")
        self.start_over_button.clicked.connect(self.start_over)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.status = QLabel()
        self.status.setObjectName("hint")
        for widget in (self.generate_button, self.pause_button, self.cancel_button):
            row.addWidget(widget)
        row.addWidget(self.bar, 1)
        row.addWidget(self.status, 2)
        row.addWidget(self.start_over_button)
        column.addLayout(row)
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        self.counts.hide()
        column.addWidget(self.counts)
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        column.addWidget(self.error)
        return bar

    def _setup_tab(self) -> QWidget:
        tab = QWidget()
        row = QHBoxLayout(tab)
        teacher_box = QGroupBox("Teacher: the model that writes the conversations")
        box = QVBoxLayout(teacher_box)
        self.teacher = TeacherPanel()
        self.teacher.changed.connect(self._update_buttons)
        box.addWidget(self.teacher)
        row.addWidget(teacher_box, 3)

        amount = QGroupBox("How much to generate")
        self.form = QFormLayout(amount)
        self.per_chunk = QSpinBox()
        self.per_chunk.setRange(1, 20)
        self.per_chunk.setToolTip("The document's own question plus this many minus one "
                                  "written by the teacher, for every chunk and role")
        self.form.addRow("Questions per &chunk", self.per_chunk)
        self.role_box = QWidget()
        self.role_form = QFormLayout(self.role_box)
        self.role_form.setContentsMargins(0, 0, 0, 0)
        self.role_spins: dict[str, QSpinBox] = {}
        self.form.addRow("Per customer role", self.role_box)
        self.limit = QSpinBox()
        self.limit.setRange(0, 100_000)
        self.limit.setSpecialValueText("No limit")
        self.limit.setToolTip("At most this many items (a small limit still covers every "
                              "document)")
        self.form.addRow("&Limit", self.limit)
        self.out_of_scope = QDoubleSpinBox()
        self.out_of_scope.setRange(0, 50)
        self.out_of_scope.setDecimals(0)
        self.out_of_scope.setSuffix(" %")
        self.out_of_scope.setToolTip("Questions no document answers, answered with a polite "
                                     "hand-over to a person")
        self.form.addRow("&Out-of-scope share", self.out_of_scope)
        self.intents = QCheckBox("Add a hidden intent label to each answer")
        self.form.addRow(self.intents)
        self.settings_error = QLabel()
        self.settings_error.setObjectName("fieldError")
        self.settings_error.setWordWrap(True)
        self.form.addRow(self.settings_error)
        for spin in (self.per_chunk, self.limit):
            spin.valueChanged.connect(self._settings_changed)
        self.out_of_scope.valueChanged.connect(self._settings_changed)
        self.intents.toggled.connect(self._settings_changed)
        row.addWidget(amount, 2)
        return tab

    def _review_tab(self) -> QWidget:
        tab = QWidget()
        column = QVBoxLayout(tab)
        filters = QHBoxLayout()
        self.role_filter, self.document_filter = QComboBox(), QComboBox()
        self.intent_filter, self.status_filter = QComboBox(), QComboBox()
        for label, combo in (("Role", self.role_filter), ("Document", self.document_filter),
                             ("Intent", self.intent_filter), ("Status", self.status_filter)):
            filters.addWidget(QLabel(label))
            combo.setMinimumWidth(90)
            combo.currentIndexChanged.connect(self._filters_changed)
            filters.addWidget(combo)
        self.flesch_filter = QSpinBox()
        self.flesch_filter.setRange(0, 100)
        self.flesch_filter.setSpecialValueText("any")
        self.flesch_filter.valueChanged.connect(self._filters_changed)
        filters.addWidget(QLabel("Flesch ≥"))
        filters.addWidget(self.flesch_filter)
        filters.addStretch(1)
        self.shown = QLabel()
        self.shown.setObjectName("hint")
        filters.addWidget(self.shown)
        column.addLayout(filters)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.table = ExampleTable()
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.turn_edited.connect(self.edit_turn)
        self.table.accept_requested.connect(self.accept_selected)
        self.table.reject_requested.connect(self.reject_selected)
        split.addWidget(self.table)
        self.source = QPlainTextEdit()
        self.source.setReadOnly(True)
        self.source.setPlaceholderText("Select an example to see the document text it was "
                                       "made from.")
        split.addWidget(self.source)
        split.setSizes([700, 260])
        column.addWidget(split, 1)

        actions = QHBoxLayout()
        self.accept_button = QPushButton("&Accept")
        self.accept_button.setToolTip("Accept the selected examples (A)")
        self.accept_button.clicked.connect(self.accept_selected)
        self.reject_button = QPushButton("Re&ject")
        self.reject_button.setToolTip("Reject the selected examples (R)")
        self.reject_button.clicked.connect(self.reject_selected)
        self.kind = QComboBox()
        self.kind.addItem("Chat (messages)", "chat")
        self.kind.addItem("Preference (prompt / chosen / rejected)", "preference")
        self.import_button = QPushButton("&Import JSONL…")
        self.import_button.clicked.connect(self.pick_import)
        self.export_button = QPushButton("E&xport JSONL…")
        self.export_button.clicked.connect(self.pick_export)
        for widget in (self.accept_button, self.reject_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        for widget in (self.kind, self.import_button, self.export_button):
            actions.addWidget(widget)
        column.addLayout(actions)
        return tab

    def _pairs_tab(self) -> QWidget:
        tab = QWidget()
        column = QVBoxLayout(tab)
        hint = QLabel("Preference pairs teach the model which of two answers is better: the "
                      "kept answer (chosen) against a formal, ungrounded or off-policy one. "
                      "Double-click an answer to edit it.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        column.addWidget(hint)
        self.pairs = PairTable()
        self.pairs.pair_edited.connect(self.edit_pair)
        column.addWidget(self.pairs, 1)
        actions = QHBoxLayout()
        accept = QPushButton("Accept pairs")
        accept.clicked.connect(lambda: self._set_pair_status("accepted"))
        reject = QPushButton("Reject pairs")
        reject.clicked.connect(lambda: self._set_pair_status("rejected"))
        actions.addWidget(accept)
        actions.addWidget(reject)
        actions.addStretch(1)
        column.addLayout(actions)
        return tab

    # --- the page protocol ----------------------------------------------------------------
    def subtitle(self) -> str:
        return ("Make training conversations from your documents: the teacher writes "
                "questions and plain-language answers; check them before training.")

    def show_project(self, project: Project | None) -> None:
        if project is not self.project and self.runner.is_running():
            self.shutdown()
        self.project = project
        self.teacher.show_project(project)
        self.kept, self.dropped = 0, Counter()
        self.counts.clear()
        self.counts.hide()
        self._clear_error()
        if project is not None:
            self._load_settings()
        self.refresh()

    def is_busy(self) -> bool:
        return self.runner.is_running() or self.teacher.is_busy()

    def shutdown(self) -> None:
        """Ask the job to stop after the item in flight and wait; kill it if it will not."""
        if not self.runner.is_running():
            return
        self._pausing = self._stopping = True
        loop = QEventLoop()
        self.runner.finished.connect(loop.quit)
        QTimer.singleShot(SHUTDOWN_GRACE_MS, loop.quit)
        self.runner.cancel(grace_ms=SHUTDOWN_GRACE_MS // 2)
        if self.runner.is_running():
            loop.exec()
        if self.runner.is_running():
            process = self.runner._process
            self.runner.kill()
            if process is not None:
                process.waitForFinished(5000)
        self.runner.finished.disconnect(loop.quit)

    # --- settings -------------------------------------------------------------------------
    def _load_settings(self) -> None:
        assert self.project is not None
        settings = load_settings(self.project)
        self._loading = True
        try:
            self.per_chunk.setValue(settings.per_chunk)
            self.limit.setValue(settings.limit or 0)
            self.out_of_scope.setValue(round(settings.out_of_scope_share * 100))
            self.intents.setChecked(settings.intents)
            while self.role_form.rowCount():
                self.role_form.removeRow(0)
            self.role_spins = {}
            for role in self.project.profile().customer_roles:
                spin = QSpinBox()
                spin.setRange(0, 20)
                spin.setValue(settings.count_for(role))
                spin.setToolTip(f"Questions per chunk for a {role} (0 leaves them out)")
                spin.valueChanged.connect(self._settings_changed)
                self.role_spins[role] = spin
                self.role_form.addRow(role, spin)
        finally:
            self._loading = False

    def settings(self) -> GenerationSettings:
        """The form's settings on top of what the project saved (advanced fields kept)."""
        assert self.project is not None
        settings = load_settings(self.project)
        settings.per_chunk = self.per_chunk.value()
        settings.per_role = {role: spin.value() for role, spin in self.role_spins.items()
                             if spin.value() != settings.per_chunk}
        settings.limit = self.limit.value() or None
        settings.out_of_scope_share = self.out_of_scope.value() / 100
        settings.intents = self.intents.isChecked()
        return settings

    def _settings_changed(self, *_args: Any) -> None:
        if self._loading or self.project is None:
            return
        settings = self.settings()
        errors = settings.validate(list(self.project.profile().customer_roles))
        self.settings_error.setText(" ".join(errors.values()))
        if not errors:
            save_settings(self.project, settings)
        self._update_buttons()

    # --- generating -----------------------------------------------------------------------
    def generate(self) -> bool:
        """Start (or resume) generation; False with the reason shown when it cannot."""
        if self.project is None or self.runner.is_running():
            return False
        why = self.why_not_generate()
        if why:
            self.show_error(TalkSmallError(why, ""))
            return False
        settings = self.settings()
        try:
            save_settings(self.project, settings)
            self.teacher.store_key()
        except TalkSmallError as exc:
            self.show_error(exc)
            return False
        self._clear_error()
        spec = {"project": str(self.project.root), "teacher": self.teacher.spec(),
                "settings": settings.to_dict()}
        self.kept, self.dropped = 0, Counter()
        self._pausing = self._stopping = False
        self._started = time.monotonic()
        self.bar.setRange(0, 0)
        self.status.setText("Starting the teacher…")
        self._show_counts()
        self.runner.start("generate", spec, new_run_dir(self.project.runs_dir, "generate"))
        self._update_buttons()
        return True

    def why_not_generate(self) -> str:
        if self.project is None:
            return "Open a project first."
        errors = self.settings().validate(list(self.project.profile().customer_roles))
        if errors:
            return next(iter(errors.values()))
        return self.teacher.why_not_ready()

    def pause(self) -> None:
        """Stop after the item in flight; the work list keeps the rest for Resume."""
        if self.runner.is_running():
            self._pausing = self._stopping = True
            self.status.setText("Pausing after the item in flight…")
            self.runner.cancel(grace_ms=SHUTDOWN_GRACE_MS)
            self._update_buttons()

    def cancel(self) -> None:
        if self.runner.is_running():
            self._pausing, self._stopping = False, True
            self.status.setText("Stopping…")
            self.runner.cancel(grace_ms=5000)
            self._update_buttons()

    def start_over(self) -> bool:
        """Discard generated items (reviewed and imported ones stay) after asking."""
        if self.project is None or self.runner.is_running():
            return False
        counts = store.summary(self.project)["examples"]["by_status"]
        generated = sum(n for status, n in counts.items() if status in ("kept", "dropped"))
        if not self.ask_start_over(generated):
            return False
        removed = store.forget_generated(self.project)
        self._clear_error()
        self.status.setText(f"Started over: {removed['examples']} generated examples and "
                            f"{removed['pairs']} pairs discarded.")
        self.refresh()
        return True

    def ask_start_over(self, generated: int) -> bool:
        """Ask before discarding; the safe answer is the default. Tests may replace this."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Start over?",
                          f"Discard {generated:,} generated examples and the plan of work? "
                          "Examples you accepted, rejected or imported are kept. This cannot "
                          "be undone.", parent=self)
        discard = box.addButton("&Discard and start over",
                                QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(box.addButton("&Keep them", QMessageBox.ButtonRole.RejectRole))
        box.exec()
        return box.clickedButton() is discard

    def _on_progress(self, done: int, total: int, eta_s: float) -> None:
        if total <= 0:
            return
        self.bar.setRange(0, total)
        self.bar.setValue(min(done, total))
        if self._pausing:
            return
        eta = "estimating the time left…" if eta_s < 0 else _eta(eta_s)
        self.status.setText(f"{done} of {total} items · {eta}")

    def _on_event(self, event: dict) -> None:
        if event.get("type") != "item":
            return
        if event.get("kept"):
            self.kept += 1
        else:
            self.dropped[gate_label(event.get("gate"))] += 1
        self._show_counts()
        self._refresh_timer.start()

    def _show_counts(self) -> None:
        reasons = ", ".join(f"{why} {n}" for why, n in self.dropped.most_common())
        text = f"This run: kept {self.kept} · rejected {sum(self.dropped.values())}"
        self.counts.setText(text + (f" ({reasons})" if reasons else ""))
        self.counts.show()

    def _on_job_error(self, code: str, message: str, hint: str) -> None:
        self.show_error(TalkSmallError(message, hint))

    def _on_finished(self, status: str, output: str) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(1 if status == "succeeded" else 0)
        if status == "succeeded":
            self.status.setText(f"Done: {output}" if output else "Done.")
        elif status == "cancelled":
            self.status.setText("Paused: press Resume to continue." if self._pausing else
                                "Stopped. Generate again to continue where it was.")
        else:
            self.status.setText("Generation failed; see the message below.")
        self._pausing = self._stopping = False
        self.refresh()
        self.generation_finished.emit(status)

    # --- reviewing ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read examples, filters and the summary back from the project."""
        if self.project is None:
            self.table.set_rows([])
            self.pairs.set_rows([])
            self.summary.set_summary(None)
            self._update_buttons()
            return
        try:
            self._fill_filters(store.filter_options(self.project))
            rows = store.list_examples(self.project, **self.filters())
            data = store.summary(self.project)
        except TalkSmallError as exc:
            self.show_error(exc)
            return
        self.table.set_rows(rows)
        self.pairs.set_rows(store.list_pairs(self.project))
        self.shown.setText(f"{len(rows)} of {data['examples']['total']} shown")
        self.summary.set_summary(data, self.project.profile().tone_target)
        self._work = data["work"]
        self._update_buttons()
        self._selection_changed()

    def filters(self) -> dict[str, Any]:
        chosen: dict[str, Any] = {}
        for key, combo in (("role", self.role_filter), ("document_id", self.document_filter),
                           ("intent", self.intent_filter), ("status", self.status_filter)):
            value = combo.currentData()
            if value is not None:
                chosen[key] = value
        if self.flesch_filter.value() > 0:
            chosen["flesch_min"] = float(self.flesch_filter.value())
        return chosen

    def _fill_filters(self, options: dict[str, Any]) -> None:
        choices = (
            (self.role_filter, [(r, r) for r in options["roles"]]),
            (self.document_filter, [(d["name"], d["id"]) for d in options["documents"]]),
            (self.intent_filter, [(i, i) for i in options["intents"]]),
            (self.status_filter, [(s, s) for s in options["statuses"]]),
        )
        for combo, items in choices:
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(ALL, None)
            for text, value in items:
                combo.addItem(text, value)
            index = combo.findData(current) if current is not None else 0
            combo.setCurrentIndex(max(index, 0))
            combo.blockSignals(False)

    def _filters_changed(self, *_args: Any) -> None:
        if self.project is not None:
            rows = store.list_examples(self.project, **self.filters())
            self.table.set_rows(rows)
            self.shown.setText(f"{len(rows)} of {store.count_examples(self.project)} shown")
            self._selection_changed()

    def _selection_changed(self) -> None:
        example_id = self.table.current_id()
        has = bool(self.table.selected_ids())
        self.accept_button.setEnabled(has)
        self.reject_button.setEnabled(has)
        if self.project is None or example_id is None or not has:
            self.source.clear()
            return
        try:
            chunks = store.source_chunks(self.project, example_id)
        except TalkSmallError:
            chunks = []
        if not chunks:
            self.source.setPlainText("This example was not made from a document chunk "
                                     "(an out-of-scope question or an imported example).")
            return
        self.source.setPlainText("\n\n".join(
            f"{c['document']} · {c['section'] or 'chunk'}\n\n{c['text']}" for c in chunks))

    def edit_turn(self, example_id: int, turn: int, text: str) -> None:
        if self.project is None:
            return
        try:
            store.edit_turn(self.project, example_id, turn, text)
        except TalkSmallError as exc:
            self.show_error(exc)
        else:
            self._clear_error()
        QTimer.singleShot(0, self.refresh)  # not while the table is still closing its editor

    def accept_selected(self) -> int:
        return self._set_status(store.accept)

    def reject_selected(self) -> int:
        return self._set_status(store.reject)

    def _set_status(self, action: Any) -> int:
        ids = self.table.selected_ids()
        if self.project is None or not ids:
            return 0
        try:
            changed = action(self.project, ids)
        except TalkSmallError as exc:
            self.show_error(exc)
            return 0
        self.refresh()
        return changed

    def edit_pair(self, pair_id: int, field: str, text: str) -> None:
        if self.project is None:
            return
        if not text.strip():
            self.show_error(TalkSmallError(f"The {field} answer cannot be empty.",
                                           "Type the text, or reject the pair instead."))
            QTimer.singleShot(0, self.refresh)
            return
        try:
            store.edit_pair(self.project, pair_id, **{field: text})
        except TalkSmallError as exc:
            self.show_error(exc)
        else:
            self._clear_error()
        QTimer.singleShot(0, self.refresh)

    def _set_pair_status(self, status: str) -> int:
        ids = self.pairs.selected_ids()
        if self.project is None or not ids:
            return 0
        changed = store.set_pair_status(self.project, ids, status)
        self.refresh()
        return changed

    # --- datasets -------------------------------------------------------------------------
    def pick_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a dataset", "",
                                              "JSON Lines (*.jsonl);;All files (*)")
        if path:
            self.import_file(path, self.kind.currentData())

    def pick_export(self) -> None:
        kind = self.kind.currentData()
        start = str(self.project.exports_dir / f"{kind}.jsonl") if self.project else ""
        path, _ = QFileDialog.getSaveFileName(self, "Export the dataset", start,
                                              "JSON Lines (*.jsonl)")
        if path:
            self.export_file(path, kind)

    def import_file(self, path: str | Path, kind: str = "chat") -> None:
        if self.project is not None:
            run_task(datasets.import_dataset, self.project, str(path), kind,
                     on_success=lambda r: self._dataset_done(
                         f"Imported {r.imported} of {r.lines} lines from {Path(path).name}"
                         + (f" ({r.skipped_count} skipped)" if r.skipped_count else "") + "."),
                     on_error=self._dataset_failed)

    def export_file(self, path: str | Path, kind: str = "chat") -> None:
        if self.project is not None:
            run_task(datasets.export_dataset, self.project, str(path), kind,
                     on_success=lambda n: self._dataset_done(
                         f"Exported {n} {kind} lines to {path}."),
                     on_error=self._dataset_failed)

    def _dataset_done(self, message: str) -> None:
        self._clear_error()
        self.status.setText(message)
        self.refresh()
        self.dataset_done.emit(message)

    def _dataset_failed(self, exc: TalkSmallError) -> None:
        self.show_error(exc)
        self.dataset_done.emit("")

    # --- helpers --------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        running = self.runner.is_running()
        stopping = running and self._stopping
        work = self._work
        resumable = bool(work.get("todo")) and work.get("done", 0) > 0
        self.generate_button.setText("&Resume" if resumable and not running else "&Generate")
        why = self.why_not_generate() if self.project is not None else "Open a project."
        self.generate_button.setEnabled(not running and not why)
        self.generate_button.setToolTip(why)
        self.pause_button.setEnabled(running and not stopping)
        self.cancel_button.setEnabled(running and not stopping)
        self.start_over_button.setEnabled(not running and self.project is not None
                                          and bool(work.get("planned")))
        for widget in (self.import_button, self.export_button):
            widget.setEnabled(self.project is not None)
        if not running and not self.status.text() and resumable:
            self.status.setText(f"{work['todo']} items left from an earlier run.")

    def show_error(self, exc: TalkSmallError) -> None:
        self.error.setText(exc.message + (f" {exc.hint}" if exc.hint else ""))
        self.error.show()

    def _clear_error(self) -> None:
        self.error.clear()
        self.error.hide()


def _eta(seconds: float) -> str:
    if seconds < 1:
        return "almost done"
    if seconds < 90:
        return f"about {seconds:.0f} s left"
    return f"about {seconds / 60:.0f} min left"
