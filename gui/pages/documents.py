"""The Documents step: bring the company's documents and support tickets in, see what
became of each file, read what was extracted and correct what was redacted.

Files arrive by drag and drop (anywhere on the page) or from "Add files…" / "Add folder…";
both go through ``import_paths``. The import itself is core's ``import_files`` on the
thread pool, stoppable between files. The page only asks (ticket columns, confirmation
before forgetting) and shows; every rule lives in ``core.documents``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core import documents
from core.errors import TalkSmallError
from core.project import Project
from core.sample import INBOX
from gui.dialogs.confirm_forget import confirm_forget, impact_text
from gui.dialogs.ticket_mapping import ask_ticket_mapping, preview_rows
from gui.widgets.document_table import DocumentTable, table_rows
from gui.widgets.document_viewer import DocumentViewer
from gui.widgets.import_progress import ImportProgress
from gui.widgets.search_box import SearchBox
from gui.workers import tasks
from gui.workers.tasks import run_task

TICKET_SUFFIXES = frozenset({".csv", ".json", ".jsonl"})
FILE_FILTER = ("Documents and ticket exports ({});;All files (*)")
SUMMARY_ORDER = ("imported", "duplicate", "failed", "cancelled")


class DocumentsPage(QWidget):
    title = "Documents"
    subtitle_changed = Signal()
    import_progressed = Signal(int, int, str)
    import_finished = Signal(list)  # the ImportResult list, also kept in last_results

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.last_results: list[Any] = []
        self._task: tasks.Task | None = None
        self._stop_requested = False
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack)
        self.stack.addWidget(self._list_view())
        self.viewer = DocumentViewer()
        self.viewer.back_requested.connect(self.show_list)
        self.viewer.changed.connect(self.refresh)
        self.stack.addWidget(self.viewer)

    def _list_view(self) -> QWidget:
        view = QWidget()
        column = QVBoxLayout(view)
        column.setContentsMargins(0, 0, 0, 0)
        add = QGroupBox("Add documents")
        box = QVBoxLayout(add)
        row = QHBoxLayout()
        self.add_files_button = QPushButton("Add &files…")
        self.add_files_button.setObjectName("primary")
        self.add_files_button.setToolTip("Ctrl+O")
        self.add_files_button.clicked.connect(self.pick_files)
        self.add_folder_button = QPushButton("Add f&older…")
        self.add_folder_button.setToolTip("Every supported file in the folder and its "
                                          "subfolders (Ctrl+Shift+O)")
        self.add_folder_button.clicked.connect(self.pick_folder)
        self.sample_button = QPushButton("Import the sample documents")
        self.sample_button.clicked.connect(self.import_sample)
        self.check_columns = QCheckBox("Check ticket &columns before importing")
        self.check_columns.setToolTip("Ask which column is which for every CSV or JSON ticket "
                                      "export, not only when it cannot be recognised.")
        self.max_mb = QDoubleSpinBox()
        self.max_mb.setRange(1, 4096)
        self.max_mb.setDecimals(0)
        self.max_mb.setSuffix(" MB")
        self.max_mb.setKeyboardTracking(False)
        self.max_mb.setToolTip("Larger files are refused with a message, so a stray video or "
                               "database dump does not stall the import.")
        self.max_mb.valueChanged.connect(self._max_mb_changed)
        max_label = QLabel("&Largest file")
        max_label.setBuddy(self.max_mb)
        for widget in (self.add_files_button, self.add_folder_button, self.sample_button):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.check_columns)
        row.addSpacing(12)
        row.addWidget(max_label)
        row.addWidget(self.max_mb)
        box.addLayout(row)
        hint = QLabel("…or drop files and folders anywhere on this page. PDF, Word (DOCX), "
                      "text, Markdown and HTML documents; support tickets as CSV, JSON or "
                      "JSONL. Emails, phone numbers, card numbers, IBANs, addresses and names "
                      "are redacted before any later step reads the text.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        box.addWidget(hint)
        column.addWidget(add)

        self.progress = ImportProgress()
        self.progress.cancel_requested.connect(self.cancel_import)
        column.addWidget(self.progress)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("font-weight: 600;")
        self.summary.hide()
        column.addWidget(self.summary)
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        column.addWidget(self.error)

        self.table_stack = QStackedWidget()
        self.drop_zone = QLabel("Drop files or folders here\n\nor use “Add files…” above")
        self.drop_zone.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_zone.setStyleSheet("border: 2px dashed #c5cbd3; border-radius: 10px; "
                                     "color: #6b7280; font-size: 15px; background: white;")
        self.table = DocumentTable()
        self.table.open_requested.connect(self.open_document)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table_stack.addWidget(self.drop_zone)
        self.table_stack.addWidget(self.table)
        column.addWidget(self.table_stack, 1)
        self.search_box = SearchBox()  # collapsed until the operator opens it
        column.addWidget(self.search_box)

        actions = QHBoxLayout()
        self.view_button = QPushButton("&View")
        self.view_button.setToolTip("Read the extracted text and check the redactions (Enter)")
        self.view_button.clicked.connect(lambda: self.open_document(self.table.selected_row()))
        self.map_button = QPushButton("Ticket colu&mns…")
        self.map_button.setToolTip("Choose the columns of this ticket export and import it "
                                   "again")
        self.map_button.clicked.connect(self.remap_selected)
        self.forget_button = QPushButton("Forget this &document…")
        self.forget_button.setToolTip("Remove it and everything made from it (Delete)")
        self.forget_button.clicked.connect(self.forget_selected)
        self.totals = QLabel()
        self.totals.setObjectName("hint")
        for widget in (self.view_button, self.map_button, self.forget_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        actions.addWidget(self.totals)
        column.addLayout(actions)

        QShortcut(QKeySequence.StandardKey.Open, view, self.pick_files,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Ctrl+Shift+O"), view, self.pick_folder,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence.StandardKey.Delete, self.table, self.forget_selected,
                  context=Qt.ShortcutContext.WidgetShortcut)
        return view

    # --- the page protocol ------------------------------------------------------
    def subtitle(self) -> str:
        if self.stack.currentWidget() is self.viewer:
            return ("Only you see the original; the assistant reads the redacted text. "
                    "Select a highlight to un-redact it.")
        return ("Bring in what your assistant should know: handbooks, FAQs, policies and "
                "past support tickets. Personal data is redacted on the way in.")

    def show_project(self, project: Project | None) -> None:
        opened = project is not self.project
        if opened:
            self.last_results = []
            self.summary.hide()
            self._clear_error()
        self.project = project
        self.search_box.set_project(project)
        self.show_list()
        if project is None:
            return
        try:
            settings = documents.import_settings(project)
        except TalkSmallError as exc:
            self.show_error(exc)
            settings = {}
        self.max_mb.blockSignals(True)
        self.max_mb.setValue(float(settings.get("max_file_mb", 50)))
        self.max_mb.blockSignals(False)
        self.refresh()
        if opened:
            self.resume_interrupted()

    def resume_interrupted(self) -> bool:
        """Re-import files whose import was cut off (app killed, power lost): core replaces
        the half-written rows, so nothing is duplicated. False when there is nothing to do."""
        if self.project is None or self.is_busy():
            return False
        pending = [Path(d["source_path"]) for d in documents.list_documents(self.project)
                   if d["status"] == "importing" and Path(d["source_path"]).is_file()]
        if not pending:
            return False
        self.summary.setText(f"Resuming an interrupted import of {len(pending)} file(s)…")
        self.summary.show()
        return self.import_paths(pending)

    def is_busy(self) -> bool:
        return ((self._task is not None and not self._task.done) or self.viewer.is_busy()
                or self.search_box.is_busy())

    def shutdown(self) -> None:
        """Stop the import after its current file and wait, so the project can close."""
        if self.is_busy():
            self._stop_requested = True
            tasks.wait_for_all(120_000)

    # --- importing --------------------------------------------------------------
    def import_paths(self, paths: list[str | Path]) -> bool:
        """Import files and folders (what drops and pickers hand over); False if not started.

        Ticket exports whose columns core cannot recognise (or all of them, when "Check
        ticket columns" is on) are asked about first, on the GUI thread.
        """
        if self.project is None or not paths:
            return False
        if self.is_busy():
            self.show_error(TalkSmallError("An import is already running.",
                                           "Wait for it to finish or cancel it."))
            return False
        self._clear_error()
        self.show_list()
        paths = [Path(p) for p in paths]
        self._start_import(paths, self._ticket_mappings(paths))
        return True

    def cancel_import(self) -> None:
        """Stop after the file in hand; the rest are reported as cancelled."""
        self._stop_requested = True

    def import_sample(self) -> None:
        if self.project is not None:
            self.import_paths([self.project.root / INBOX])

    def pick_files(self) -> None:
        suffixes = " ".join(f"*{s}" for s in sorted(documents.SUPPORTED_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(self, "Add documents", "",
                                                FILE_FILTER.format(suffixes))
        if files:
            self.import_paths(files)

    def pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add every document in a folder")
        if folder:
            self.import_paths([folder])

    def ask_ticket_mapping(self, path: Path, columns: list[str],
                           guess: documents.TicketMapping | None) -> Any:
        """Ask which column is which (None: skipped). Tests may replace this method."""
        return ask_ticket_mapping(path, columns, guess, preview_rows(path), self)

    def _ticket_mappings(self, paths: list[Path]) -> dict[str, Any]:
        mappings: dict[str, Any] = {}
        for path in documents.expand_paths(paths):
            if path.suffix.lower() not in TICKET_SUFFIXES:
                continue
            try:
                columns = documents.ticket_columns(path)
            except TalkSmallError:
                continue  # the import reports it for this file, in its row
            guess = documents.guess_ticket_mapping(columns)
            if guess is not None and not self.check_columns.isChecked():
                continue
            mapping = self.ask_ticket_mapping(path, columns, guess)
            if mapping is not None:
                mappings[str(path)] = mapping
        return mappings

    def _start_import(self, paths: list[Path], mappings: dict[str, Any]) -> None:
        self._stop_requested = False
        self.summary.hide()
        self.progress.start()
        self._task = run_task(
            documents.import_files, self.project, [str(p) for p in paths],
            ticket_mappings=mappings or None, should_stop=self._should_stop,
            on_success=self._imported, on_error=self._import_failed,
            on_progress=self._progressed)
        self._task.finished.connect(self._update_buttons)
        self._update_buttons()

    def _should_stop(self) -> bool:  # called from the import's thread
        return self._stop_requested

    def _progressed(self, done: int, total: int, name: str) -> None:
        self.progress.update_progress(done, total, name)
        self.import_progressed.emit(done, total, name)

    def _imported(self, results: list[Any]) -> None:
        self.progress.finish()
        self.last_results = list(results)
        self.summary.setText(summary_text(results))
        self.summary.show()
        self.refresh()
        self.import_finished.emit(self.last_results)

    def _import_failed(self, exc: TalkSmallError) -> None:
        self.progress.finish()
        self.show_error(exc)
        self.refresh()
        self.import_finished.emit([])

    def _max_mb_changed(self, value: float) -> None:
        if self.project is None:
            return
        try:
            documents.set_max_file_mb(self.project, value)
        except TalkSmallError as exc:
            self.show_error(exc)
        else:
            self._clear_error()

    # --- the table --------------------------------------------------------------
    def refresh(self) -> None:
        """Read the documents back from the project."""
        if self.project is None:
            self.table.set_rows([])
            self.table_stack.setCurrentWidget(self.drop_zone)
            return
        try:
            docs = documents.list_documents(self.project)
        except TalkSmallError as exc:
            self.show_error(exc)
            return
        rows = table_rows(docs, self.last_results)
        self.table.set_rows(rows)
        self.table_stack.setCurrentWidget(self.table if rows else self.drop_zone)
        stored = [d for d in docs if d.get("status") == "imported"]
        self.totals.setText(
            f"{len(stored):,} document{'' if len(stored) == 1 else 's'} · "
            f"{sum(d.get('chunks') or 0 for d in stored):,} chunks · "
            f"{sum(d.get('redactions') or 0 for d in stored):,} redactions" if docs else "")
        self.sample_button.setVisible(not docs and (self.project.root / INBOX).is_dir())
        self._update_buttons()

    def open_document(self, row: dict | None) -> None:
        """Show a document in the viewer (a duplicate opens the document it duplicates)."""
        if self.project is None or row is None:
            return
        doc_id = row.get("id") or row.get("duplicate_of")
        if doc_id is None or (row.get("id") and row.get("status") != "imported"):
            self.show_error(TalkSmallError(
                f"{row.get('name')} has no text to show ({row.get('status')}).",
                row.get("message") or ""))
            return
        document = next((d for d in self.table.rows if d.get("id") == doc_id), row)
        self._clear_error()
        self.viewer.load(self.project, document)
        self.stack.setCurrentWidget(self.viewer)
        self.subtitle_changed.emit()

    def show_list(self) -> None:
        if self.stack.currentWidget() is not self.stack.widget(0):
            self.stack.setCurrentIndex(0)
            self.table.setFocus()
            self.subtitle_changed.emit()

    def forget_selected(self) -> None:
        row = self.table.selected_row()
        if self.project is None or row is None or row.get("id") is None or self.is_busy():
            return
        try:
            impact = documents.forget_impact(self.project, row["id"])
            if not self.confirm_forget(row, impact):
                return
            removed = documents.forget_document(self.project, row["id"])
        except TalkSmallError as exc:
            self.show_error(exc)
            return
        self._clear_error()
        self.last_results = [r for r in self.last_results
                             if _result_value(r, "document_id") != row["id"]]
        counts = impact_text(removed)
        self.summary.setText(f"Forgot {row['name']}" + (f": removed {counts}." if counts
                                                        else "."))
        self.summary.show()
        self.refresh()

    def confirm_forget(self, row: dict, impact: dict[str, int]) -> bool:
        """Ask before forgetting (a modal dialog that says how much will go)."""
        return confirm_forget(row["name"], impact, self)

    def remap_selected(self) -> None:
        """Choose a ticket file's columns again and re-import it with them."""
        row = self.table.selected_row()
        if self.project is None or row is None:
            return
        path = Path(row.get("source_path") or "")
        if not path.is_file():
            self.show_error(TalkSmallError(f"The original file is no longer at {path}.",
                                           "Add it again from where it is now."))
            return
        try:
            columns = documents.ticket_columns(path)
        except TalkSmallError as exc:
            self.show_error(exc)
            return
        mapping = self.ask_ticket_mapping(path, columns,
                                          documents.guess_ticket_mapping(columns))
        if mapping is None:
            return
        if row.get("status") == "imported":
            self.show_error(TalkSmallError(
                f"{row['name']} is already in the project.",
                "Forget it first, then add it again to use other columns."))
            return
        self._clear_error()
        self._start_import([path], {str(path): mapping})

    # --- drag and drop ----------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.project is not None and _local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self.project is not None and _local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_paths(event.mimeData())
        if self.project is None or not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.import_paths(paths)

    # --- helpers ----------------------------------------------------------------
    def show_error(self, exc: TalkSmallError) -> None:
        self.error.setText(str(exc))
        self.error.show()

    def _clear_error(self) -> None:
        self.error.clear()
        self.error.hide()

    def _update_buttons(self) -> None:
        busy = self.is_busy()
        row = self.table.selected_row()
        stored = row is not None and row.get("id") is not None
        for button in (self.add_files_button, self.add_folder_button, self.sample_button):
            button.setEnabled(self.project is not None and not busy)
        self.view_button.setEnabled(row is not None and (
            (stored and row.get("status") == "imported") or bool(row.get("duplicate_of"))))
        self.forget_button.setEnabled(stored and not busy)
        self.map_button.setEnabled(
            row is not None and not busy and row.get("status") != "imported"
            and Path(row.get("name") or "").suffix.lower() in TICKET_SUFFIXES)


def summary_text(results: list[Any]) -> str:
    """ "3 imported, 1 duplicate, 1 failed" for the results of one import."""
    if not results:
        return "No supported files were found in what you added."
    counts = Counter(_result_value(r, "status") for r in results)
    parts = [f"{counts[s]} {s}" for s in SUMMARY_ORDER if counts[s]]
    parts += [f"{n} {s}" for s, n in counts.items() if s not in SUMMARY_ORDER]
    return "Last import: " + ", ".join(parts) + "."


def _result_value(result: Any, key: str) -> Any:
    return result.get(key) if isinstance(result, dict) else getattr(result, key, None)


def _local_paths(mime: Any) -> list[str]:
    if mime is None or not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
