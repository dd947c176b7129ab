"""The document viewer: what was extracted, how it was cut into chunks, and what personal
data was found; the operator corrects the redaction here.

Every change goes to core (un-redact one span, redact it again, always / never redact a
term) and the view is read back from the project, so what is shown is what is stored.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core import documents
from core.errors import TalkSmallError
from core.project import Project
from gui.widgets import redaction_colours as colours
from gui.widgets.chunk_text_view import ChunkTextView, tooltip
from gui.workers.tasks import run_task


class DocumentViewer(QWidget):
    back_requested = Signal()
    changed = Signal()  # redactions changed: the page's counts are out of date

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.document: dict = {}
        self.chunks: list[dict] = []
        self.redactions: list[dict] = []
        self.selected: dict | None = None
        self._rule_task = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        top = QHBoxLayout()
        self.back_button = QPushButton("← &All documents")
        self.back_button.setToolTip("Back to the list of documents (Esc)")
        self.back_button.clicked.connect(self.back_requested)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.back_requested.emit,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.heading = QLabel()
        self.heading.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.facts = QLabel()
        self.facts.setObjectName("hint")
        top.addWidget(self.back_button)
        top.addSpacing(10)
        top.addWidget(self.heading)
        top.addSpacing(8)
        top.addWidget(self.facts, 1)
        self.original_radio = QRadioButton("&Original (operator only)")
        self.original_radio.setToolTip("The text as extracted, personal data highlighted. "
                                       "Only you see this.")
        self.redacted_radio = QRadioButton("As the a&ssistant sees it")
        self.redacted_radio.setToolTip("The text every later step reads: personal data "
                                       "replaced by placeholders such as [EMAIL].")
        self.mode = QButtonGroup(self)
        self.mode.addButton(self.original_radio)
        self.mode.addButton(self.redacted_radio)
        self.original_radio.setChecked(True)
        self.redacted_radio.toggled.connect(self._render)
        top.addWidget(self.original_radio)
        top.addWidget(self.redacted_radio)
        layout.addLayout(top)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.text = ChunkTextView()
        self.text.redaction_at_cursor.connect(self._on_text_redaction)
        self.text.selectionChanged.connect(self._on_text_selection)
        split.addWidget(self.text)
        split.addWidget(self._side_panel())
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([640, 300])
        layout.addWidget(split, 1)

        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.status)
        layout.addWidget(self.error)

    def _side_panel(self) -> QWidget:
        panel = QWidget()
        column = QVBoxLayout(panel)
        column.setContentsMargins(8, 0, 0, 0)
        found = QGroupBox("Personal data found")
        box = QVBoxLayout(found)
        self.redaction_list = QListWidget()
        self.redaction_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.redaction_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.redaction_list.currentRowChanged.connect(self._on_list_row)
        box.addWidget(self.redaction_list, 1)
        row = QHBoxLayout()
        self.unredact_button = QPushButton("&Un-redact")
        self.unredact_button.setToolTip("A false positive: let the assistant see this text.")
        self.unredact_button.clicked.connect(lambda: self.set_selected_active(False))
        self.redact_button = QPushButton("&Redact again")
        self.redact_button.clicked.connect(lambda: self.set_selected_active(True))
        row.addWidget(self.unredact_button)
        row.addWidget(self.redact_button)
        box.addLayout(row)
        column.addWidget(found, 3)

        rules = QGroupBox("Rules for every document")
        form = QVBoxLayout(rules)
        self.term_edit = QLineEdit()
        self.term_edit.setPlaceholderText("A name or word; select text to fill this in")
        self.term_edit.textChanged.connect(self._update_buttons)
        self.term_edit.returnPressed.connect(self.always_redact_term)
        form.addWidget(self.term_edit)
        buttons = QHBoxLayout()
        self.always_button = QPushButton("Al&ways redact")
        self.always_button.setToolTip("Redact this term wherever it appears, in every "
                                      "document, now and in later imports.")
        self.always_button.clicked.connect(self.always_redact_term)
        self.never_button = QPushButton("&Never redact")
        self.never_button.setToolTip("This term is not personal data: stop redacting it "
                                     "everywhere.")
        self.never_button.clicked.connect(self.never_redact_term)
        buttons.addWidget(self.always_button)
        buttons.addWidget(self.never_button)
        form.addLayout(buttons)
        self.rules_label = QLabel()
        self.rules_label.setObjectName("hint")
        self.rules_label.setWordWrap(True)
        form.addWidget(self.rules_label)
        column.addWidget(rules)

        legend = QLabel(" ".join(
            f'<span style="background:{bg}; color:#111827;">&nbsp;{name}&nbsp;</span>'
            for name, bg, _ in colours.KINDS.values()))
        legend.setWordWrap(True)
        legend.setToolTip("Colours of the kinds of personal data. Dotted underline: "
                          "un-redacted by you.")
        column.addWidget(legend)
        return panel

    # --- public -----------------------------------------------------------------
    def load(self, project: Project, document: dict) -> None:
        self.project = project
        self.document = document
        self.selected = None
        self.status.clear()
        self.term_edit.clear()
        self.refresh()
        self.text.setFocus()

    def refresh(self) -> None:
        """Read the document back from the project and show it, keeping the selection."""
        if self.project is None:
            return
        from core.documents.redact import load_rules  # the redactor loads late

        self._clear_error()
        try:
            self.chunks = documents.document_chunks(self.project, self.document["id"])
            rules = load_rules(self.project)
        except TalkSmallError as exc:
            self.show_error(exc)
            return
        self.redactions = [dict(red, chunk_seq=chunk.get("seq", 0), chunk_number=number)
                           for number, chunk in enumerate(self.chunks, start=1)
                           for red in chunk.get("redactions") or []]
        active = sum(1 for red in self.redactions if red["active"])
        self.heading.setText(self.document.get("name", ""))
        self.facts.setText(f"{len(self.chunks):,} chunks · "
                           f"{sum(c.get('token_count', 0) for c in self.chunks):,} tokens · "
                           f"{active:,} redacted")
        self.rules_label.setText(_rules_text(rules.always, rules.never))
        self._fill_list()
        self._render()

    def is_redacted_view(self) -> bool:
        return self.redacted_radio.isChecked()

    def set_redacted_view(self, redacted: bool) -> None:
        (self.redacted_radio if redacted else self.original_radio).setChecked(True)

    def select_redaction(self, redaction_id: int) -> None:
        for row in range(self.redaction_list.count()):
            if self.redaction_list.item(row).data(Qt.ItemDataRole.UserRole) == redaction_id:
                self.redaction_list.setCurrentRow(row)
                return

    def set_selected_active(self, active: bool) -> None:
        """Un-redact (False) or redact again (True) the selected span."""
        red = self.selected
        if self.project is None or red is None or bool(red["active"]) == active:
            return
        try:
            documents.set_redaction_active(self.project, red["id"], active)
        except TalkSmallError as exc:
            self.show_error(exc)
            return
        what = f"“{red['original']}” in chunk {red['chunk_number']}"
        self.status.setText(f"Redacted {what} again." if active else
                            f"Un-redacted {what}: the assistant now sees it.")
        self.refresh()
        self.select_redaction(red["id"])
        self.changed.emit()

    def always_redact_term(self) -> None:
        self._rule(documents.always_redact, "always")

    def never_redact_term(self) -> None:
        self._rule(documents.never_redact, "never")

    def is_busy(self) -> bool:
        return self._rule_task is not None and not self._rule_task.done

    def show_error(self, exc: TalkSmallError) -> None:
        self.error.setText(str(exc))
        self.error.show()

    # --- internals --------------------------------------------------------------
    def _rule(self, fn: Callable[[Project, str], int], which: str) -> None:
        term = " ".join(self.term_edit.text().split())
        if self.project is None or self.is_busy():
            return
        if not term:
            self.show_error(TalkSmallError("Type a term first.",
                                           "Or select it in the text."))
            return
        self._clear_error()
        self.status.setText(f"Scanning every document for “{term}”…")
        self._update_buttons()

        def done(count: int) -> None:
            if which == "always":
                self.status.setText(f"“{term}” is always redacted now: {count:,} new "
                                    f"redaction{'' if count == 1 else 's'} in the project.")
            else:
                self.status.setText(f"“{term}” is never redacted now: {count:,} "
                                    f"redaction{'' if count == 1 else 's'} lifted.")
            self.term_edit.clear()
            self.refresh()
            self.changed.emit()

        def failed(exc: TalkSmallError) -> None:
            self.status.clear()
            self.show_error(exc)
            self._update_buttons()

        self._rule_task = run_task(fn, self.project, term, on_success=done, on_error=failed)
        self._rule_task.finished.connect(self._update_buttons)

    def _fill_list(self) -> None:
        keep = self.selected["id"] if self.selected else None
        self.redaction_list.blockSignals(True)
        self.redaction_list.clear()
        for red in self.redactions:
            state = "" if red["active"] else "   (shown to the assistant)"
            item = QListWidgetItem(colours.swatch(red["kind"]),
                                   f"{colours.label(red['kind'])}: {red['original']}{state}")
            item.setData(Qt.ItemDataRole.UserRole, red["id"])
            item.setToolTip(tooltip(red) + f"\nChunk {red['chunk_number']}")
            self.redaction_list.addItem(item)
        if not self.redactions:
            item = QListWidgetItem("No personal data found in this document.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.redaction_list.addItem(item)
        self.redaction_list.blockSignals(False)
        self.selected = next((r for r in self.redactions if r["id"] == keep), None)
        if self.selected is not None:
            self.select_redaction(self.selected["id"])
        self._update_buttons()

    def _render(self) -> None:
        self.text.show_chunks(self.chunks, redacted=self.redacted_radio.isChecked())
        if self.selected is not None:
            self.text.select_anchor(self.selected["id"])

    def _on_list_row(self, row: int) -> None:
        if 0 <= row < len(self.redactions):
            self.selected = self.redactions[row]
            self.term_edit.setText(self.selected["original"])
            self.term_edit.setCursorPosition(0)
            self.text.select_anchor(self.selected["id"])
        self._update_buttons()

    def _on_text_redaction(self, redaction: dict | None) -> None:
        if redaction is not None and (self.selected is None
                                      or self.selected["id"] != redaction["id"]):
            self.select_redaction(redaction["id"])

    def _on_text_selection(self) -> None:
        selected = self.text.textCursor().selectedText().replace("\u2029", " ").strip()
        if (selected and len(selected) <= 80
                and (self.selected is None or selected != self.selected["original"])
                and self.text.anchor_at(self.text.textCursor().selectionStart()) is None):
            self.term_edit.setText(selected)

    def _update_buttons(self) -> None:
        red = self.selected
        self.unredact_button.setEnabled(red is not None and bool(red["active"]))
        self.redact_button.setEnabled(red is not None and not red["active"])
        has_term = bool(self.term_edit.text().strip())
        self.always_button.setEnabled(has_term and not self.is_busy())
        self.never_button.setEnabled(has_term and not self.is_busy())

    def _clear_error(self) -> None:
        self.error.clear()
        self.error.hide()


def _rules_text(always: list[str], never: list[str]) -> str:
    parts = []
    if always:
        parts.append("Always redacted: " + ", ".join(always))
    if never:
        parts.append("Never redacted: " + ", ".join(never))
    return " · ".join(parts) or "No rules yet: what is found is redacted."
