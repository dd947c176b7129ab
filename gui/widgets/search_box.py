""""See what a question would retrieve": a question box over the company index, showing the
passages the assistant would answer from, with their similarity and whether they clear the
relevance threshold (below it, the assistant escalates).

A collapsible panel, closed by default; opening it builds the index in the background (the
first time MiniLM embeds the chunks). Every search is ``core.retrieval.search`` on the thread
pool through ``run_task``; the widget only asks and shows. A result that arrives after a newer
question was asked is dropped.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core import retrieval
from core.errors import TalkSmallError
from gui.workers import tasks
from gui.workers.tasks import run_task

COLUMNS = ("Similarity", "Relevant", "Document", "Section", "Passage")
SIMILARITY, RELEVANT, DOCUMENT, SECTION, PASSAGE = range(len(COLUMNS))
PREVIEW_CHARS = 220
RELEVANT_COLOUR = "#15803d"
BELOW_COLOUR = "#6b7280"


class SearchBox(QGroupBox):
    results_shown = Signal(list)  # the Hit list now on screen
    search_failed = Signal(str)
    index_ready = Signal(dict)  # update_index's summary

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("See what a question would retrieve", parent)
        self.project: Any = None
        self.hits: list[Any] = []
        self._task: tasks.Task | None = None
        self._warm_task: tasks.Task | None = None
        self._warmed: set[str] = set()
        self._serial = 0
        self.setCheckable(True)
        self.setChecked(False)
        self.toggled.connect(self._toggled)

        self.body = QWidget()
        column = QVBoxLayout(self.body)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.query = QLineEdit()
        self.query.setPlaceholderText("Type a customer's question, e.g. How much is the deposit?")
        self.query.setClearButtonEnabled(True)
        self.query.returnPressed.connect(self.search)
        self.k = QSpinBox()
        self.k.setRange(1, 20)
        self.k.setValue(4)
        self.k.setPrefix("top ")
        self.k.setToolTip("How many passages to show")
        self.search_button = QPushButton("&Search")
        self.search_button.clicked.connect(self.search)
        row.addWidget(self.query, 1)
        row.addWidget(self.k)
        row.addWidget(self.search_button)
        column.addLayout(row)
        self.status = QLabel(
            f"Passages with similarity of at least {retrieval.RELEVANCE_THRESHOLD:.2f} are "
            "relevant: the assistant answers from them. Below it, it hands over to a person.")
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        column.addWidget(self.status)
        self.results = QTreeWidget()
        self.results.setHeaderLabels(list(COLUMNS))
        self.results.setRootIsDecorated(False)
        self.results.setAlternatingRowColors(True)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setWordWrap(True)
        header = self.results.header()
        header.setSectionResizeMode(PASSAGE, QHeaderView.ResizeMode.Stretch)
        self.results.setColumnWidth(SIMILARITY, 110)
        self.results.setColumnWidth(RELEVANT, 110)
        self.results.setColumnWidth(DOCUMENT, 120)
        self.results.setColumnWidth(SECTION, 220)
        self.results.setMinimumHeight(160)
        column.addWidget(self.results)
        outer = QVBoxLayout(self)
        outer.addWidget(self.body)
        self.body.setVisible(False)

    # --- protocol ---------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        if project is self.project:
            return
        self.project = project
        self._serial += 1  # results for the previous project are dropped
        self.show_hits([])
        if self.isChecked():
            self.warm_up()

    def is_busy(self) -> bool:
        return any(t is not None and not t.done for t in (self._task, self._warm_task))

    def warm_up(self) -> None:
        """Embed what the index lacks, in the background, so the first search is quick."""
        if self.project is None or str(self.project.root) in self._warmed:
            return
        if self._warm_task is not None and not self._warm_task.done:
            return
        self._warmed.add(str(self.project.root))
        self.status.setText("Preparing the search index…")
        self._warm_task = run_task(retrieval.update_index, self.project,
                                   on_success=self._warmed_up, on_error=self._warm_failed,
                                   on_progress=self._warm_progress)

    def search(self) -> bool:
        """Search for the typed question; False (with a message) when it cannot start."""
        text = self.query.text().strip()
        if self.project is None:
            self._show_error("Open a project first.")
            return False
        if not text:
            self._show_error("Type a question first.")
            return False
        self._serial += 1
        serial = self._serial
        self.status.setText("Searching…")
        self._task = run_task(
            retrieval.search, self.project, text, k=self.k.value(),
            on_success=lambda hits: self._searched(serial, hits),
            on_error=lambda exc: self._failed(serial, exc))
        return True

    # --- showing ----------------------------------------------------------------------
    def show_hits(self, hits: list[Any]) -> None:
        self.hits = list(hits)
        self.results.clear()
        for hit in self.hits:
            item = QTreeWidgetItem()
            relevant = bool(hit.relevant)
            item.setText(RELEVANT, "✓ relevant" if relevant else "below threshold")
            item.setForeground(RELEVANT, QBrush(QColor(RELEVANT_COLOUR if relevant
                                                       else BELOW_COLOUR)))
            item.setText(DOCUMENT, hit.document)
            item.setText(SECTION, hit.section)
            preview = " ".join(hit.text.split())
            if len(preview) > PREVIEW_CHARS:
                preview = preview[:PREVIEW_CHARS].rsplit(" ", 1)[0] + " …"
            item.setText(PASSAGE, preview)
            ranks = (f"full-text rank {hit.bm25_rank or '-'}, meaning rank "
                     f"{hit.vector_rank or '-'}, fused score {hit.score:.4f}")
            item.setToolTip(SIMILARITY, ranks)
            item.setToolTip(PASSAGE, hit.text)
            item.setData(SIMILARITY, Qt.ItemDataRole.UserRole, hit.chunk_id)
            self.results.addTopLevelItem(item)
            self.results.setItemWidget(item, SIMILARITY, _similarity_bar(hit.similarity))

    def _searched(self, serial: int, hits: list[Any]) -> None:
        if serial != self._serial:
            return
        self.show_hits(hits)
        relevant = sum(1 for h in hits if h.relevant)
        if not hits:
            self.status.setText("Nothing to search yet: import documents first.")
        elif relevant:
            self.status.setText(f"{relevant} of {len(hits)} passages are relevant: the "
                                "assistant would answer from them.")
        else:
            self.status.setText("No passage is relevant enough: the assistant would hand this "
                                "question over to a person.")
        self.results_shown.emit(self.hits)

    def _failed(self, serial: int, exc: TalkSmallError) -> None:
        if serial == self._serial:
            self._show_error(str(exc))

    def _warmed_up(self, summary: dict) -> None:
        self.status.setText(f"Search index ready: {summary['chunks']:,} passages.")
        self.index_ready.emit(summary)

    def _warm_failed(self, exc: TalkSmallError) -> None:
        if self.project is not None:
            self._warmed.discard(str(self.project.root))
        self._show_error(str(exc))

    def _warm_progress(self, done: int, total: int, message: str) -> None:
        self.status.setText(f"Preparing the search index: {message} ({done}/{total})…")

    def _show_error(self, message: str) -> None:
        self.status.setText(message)
        self.search_failed.emit(message)

    def _toggled(self, on: bool) -> None:
        self.body.setVisible(on)
        if on:
            self.warm_up()
            self.query.setFocus()


def _similarity_bar(similarity: float) -> QProgressBar:
    bar = QProgressBar()
    bar.setRange(0, 100)
    bar.setValue(max(0, min(100, round(similarity * 100))))
    bar.setFormat(f"{similarity:.2f}")
    bar.setTextVisible(True)
    bar.setMaximumHeight(18)
    colour = RELEVANT_COLOUR if similarity >= retrieval.RELEVANCE_THRESHOLD else BELOW_COLOUR
    bar.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
    return bar
