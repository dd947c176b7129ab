"""The viewer's text: a document's chunks one after another, each under a separator that
says where it comes from, with every redaction highlighted in its kind's colour.

Two ways to show it: the original (operator only), with the personal data highlighted in
place, or as the assistant sees it, with placeholders where the data was. The redacted view
is rebuilt from the original with core's own ``apply_redactions`` piece by piece, and
checked against the stored redacted text: if they ever disagree, the stored text is shown
as it is (never a guess at what the assistant reads). The redactor is imported when a
document is first shown, not at start-up (its pattern libraries are not small).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextBrowser, QToolTip, QWidget

from gui.widgets import redaction_colours as colours

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Anchor:
    """Where one redaction sits in the shown text (document positions)."""

    start: int
    end: int
    redaction: dict
    chunk_seq: int


class ChunkTextView(QTextBrowser):
    """Read-only; the caret moves with the keyboard. ``redaction_at_cursor`` follows it."""

    redaction_at_cursor = Signal(object)  # the redaction dict under the caret, or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setTabChangesFocus(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.anchors: list[Anchor] = []
        self.redacted = False
        self._last: dict | None = None
        self.cursorPositionChanged.connect(self._on_cursor)

    # --- rendering --------------------------------------------------------------
    def show_chunks(self, chunks: list[dict], redacted: bool) -> None:
        """Render ``chunks`` (from core's document_chunks), keeping the scroll position."""
        scroll = self.verticalScrollBar().value()
        self.redacted = redacted
        self.anchors = []
        self.clear()
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        for number, chunk in enumerate(chunks, start=1):
            self._separator(cursor, chunk, number, len(chunks), first=number == 1)
            self._chunk(cursor, chunk)
        if not chunks:
            cursor.insertText("No text was extracted from this document.", _muted())
        cursor.endEditBlock()
        self.moveCursor(QTextCursor.MoveOperation.Start)
        self.verticalScrollBar().setValue(scroll)

    def select_anchor(self, redaction_id: int) -> bool:
        """Select a redaction's text and scroll to it; False when it is not shown."""
        for anchor in self.anchors:
            if anchor.redaction["id"] == redaction_id:
                cursor = QTextCursor(self.document())
                cursor.setPosition(anchor.start)
                cursor.setPosition(anchor.end, QTextCursor.MoveMode.KeepAnchor)
                self.setTextCursor(cursor)
                self.ensureCursorVisible()
                return True
        return False

    def anchor_at(self, position: int) -> Anchor | None:
        return next((a for a in self.anchors if a.start <= position < a.end), None)

    def shown_text(self) -> str:
        return self.toPlainText()

    def _separator(self, cursor: QTextCursor, chunk: dict, number: int, total: int,
                   first: bool) -> None:
        block = QTextBlockFormat()
        block.setBackground(QColor("#eef1f5"))
        block.setTopMargin(0 if first else 14)
        block.setBottomMargin(6)
        block.setLeftMargin(0)
        if first:
            cursor.setBlockFormat(block)
        else:
            cursor.insertBlock(block)
        parts = [f"Chunk {number} of {total}"]
        if chunk.get("kind") == "ticket":
            parts.append("support ticket")
        if chunk.get("section"):
            parts.append(str(chunk["section"]).replace(" > ", " › "))
        if chunk.get("page") is not None:
            unit = "row" if chunk.get("kind") == "ticket" else "page"
            parts.append(f"{unit} {chunk['page']}")
        parts.append(f"{chunk.get('token_count', 0):,} tokens")
        fmt = _muted()
        fmt.setFontWeight(QFont.Weight.DemiBold)
        cursor.insertText("  " + "  ·  ".join(parts), fmt)
        cursor.insertBlock(QTextBlockFormat())

    def _chunk(self, cursor: QTextCursor, chunk: dict) -> None:
        from core.documents.redact import Span, apply_redactions  # the redactor loads late

        original = chunk.get("original_text") or ""
        spans = _non_overlapping(chunk.get("redactions") or [])
        pieces: list[tuple[str, dict | None]] = []  # (text, redaction or None)
        at = 0
        for red in spans:
            pieces.append((original[at:red["start"]], None))
            shown = original[red["start"]:red["end"]]
            if self.redacted and red["active"]:
                shown = apply_redactions(shown, [Span(red["kind"], 0, len(shown), shown)])
            pieces.append((shown, red))
            at = red["end"]
        pieces.append((original[at:], None))
        if self.redacted and "".join(text for text, _ in pieces) != chunk.get("text", ""):
            log.warning("redacted view of chunk %s differs from the stored text; showing "
                        "the stored text", chunk.get("id"))
            cursor.insertText(chunk.get("text", ""), QTextCharFormat())
            return
        plain = QTextCharFormat()
        for text, red in pieces:
            if not text:
                continue
            if red is None:
                cursor.insertText(text, plain)
                continue
            start = cursor.position()
            cursor.insertText(text, _highlight(red))
            self.anchors.append(Anchor(start, cursor.position(), red, chunk.get("seq", 0)))

    # --- caret and tooltips -----------------------------------------------------
    def _on_cursor(self) -> None:
        cursor = self.textCursor()
        anchor = self.anchor_at(min(cursor.position(), cursor.anchor()))
        redaction = anchor.redaction if anchor is not None else None
        if redaction is not self._last:
            self._last = redaction
            self.redaction_at_cursor.emit(redaction)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            position = self.cursorForPosition(event.pos()).position()
            anchor = self.anchor_at(position)
            if anchor is not None:
                QToolTip.showText(event.globalPos(), tooltip(anchor.redaction), self.viewport())
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().viewportEvent(event)


def tooltip(redaction: dict) -> str:
    kind = colours.label(redaction["kind"])
    if redaction["active"]:
        return f"{kind}: “{redaction['original']}” — redacted, the assistant never sees it"
    return f"{kind}: “{redaction['original']}” — un-redacted by you, the assistant sees it"


def _highlight(redaction: dict) -> QTextCharFormat:
    fmt = QTextCharFormat()
    kind = redaction["kind"]
    if redaction["active"]:
        fmt.setBackground(colours.background(kind))
        fmt.setForeground(QColor("#111827"))
        fmt.setFontWeight(QFont.Weight.DemiBold)
    else:  # un-redacted: no fill, a dotted line in the kind's colour
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
        fmt.setUnderlineColor(colours.strong(kind))
    fmt.setToolTip(tooltip(redaction))
    return fmt


def _muted() -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor("#4b5563"))
    fmt.setFontPointSize(8.5)
    return fmt


def _non_overlapping(redactions: list[dict]) -> list[dict]:
    """Sorted by start; a span overlapping an earlier one is left out of the text."""
    kept: list[dict] = []
    for red in sorted(redactions, key=lambda r: (r["start"], -r["end"])):
        if kept and red["start"] < kept[-1]["end"]:
            continue
        kept.append(red)
    return kept
