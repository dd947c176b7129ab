"""1-5 ratings of one answer at a time: human-likeness, consistency and relevance.

Keyboard first: the keys 1-5 score the focused scale, Tab moves to the next, Enter saves and
shows the next answer. Clicking a sentence of the answer flags it (clicking again unflags):
the paper judged answers both as a whole and sentence by sentence. Model names are hidden,
so a rater judges the answer, not its maker.
"""

from __future__ import annotations

import html
import re
from itertools import pairwise
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import TalkSmallError
from gui.widgets.labels import error_label

CRITERIA = (("human_likeness", "Human-likeness", "Does it read like a person wrote it?"),
            ("consistency", "Consistency", "Does it agree with itself and the company's facts?"),
            ("relevance", "Relevance", "Does it answer what was asked?"))
_SENTENCE_RE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")


def sentences(text: str) -> list[str]:
    """The answer cut into sentences, each exactly as it appears in the text."""
    return [m.group(0).strip() for m in _SENTENCE_RE.finditer(text) if m.group(0).strip()]


class ScaleInput(QFrame):
    """One 1-5 scale: five buttons, and the keys 1-5 while it has the focus."""

    changed = Signal(int)

    def __init__(self, label: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ratingScale")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip(f"{tooltip} Keys 1-5 while focused; Tab moves on.")
        self.setStyleSheet("QFrame#ratingScale { border: 2px solid transparent; "
                           "border-radius: 6px; } QFrame#ratingScale:focus { "
                           "border-color: #4a78b0; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        name = QLabel(f"<b>{html.escape(label)}</b>")
        name.setMinimumWidth(130)
        row.addWidget(name)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        for value in range(1, 6):
            button = QPushButton(str(value))
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setFixedWidth(40)
            self.group.addButton(button, value)
            row.addWidget(button)
        self.group.idClicked.connect(self.changed.emit)
        hint = QLabel(tooltip)
        hint.setTextFormat(Qt.TextFormat.PlainText)
        hint.setObjectName("hint")
        row.addWidget(hint, 1)

    def value(self) -> int | None:
        value = self.group.checkedId()
        return value if value > 0 else None

    def set_value(self, value: int | None) -> None:
        if value is None:
            self.group.setExclusive(False)
            for button in self.group.buttons():
                button.setChecked(False)
            self.group.setExclusive(True)
        else:
            self.group.button(value).setChecked(True)
        self.changed.emit(value or 0)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        if text in ("1", "2", "3", "4", "5"):
            self.set_value(int(text))
        else:
            super().keyPressEvent(event)


class RatingScalePanel(QWidget):
    rated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        self.rater = ""
        self.items: list[Any] = []
        self.total = 0
        self.flags: set[int] = set()
        self.parts: list[str] = []
        layout = QVBoxLayout(self)
        self.progress = QLabel()
        self.progress.setObjectName("hint")
        layout.addWidget(self.progress)
        self.question = QLabel()
        self.question.setWordWrap(True)
        font = self.question.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.question.setFont(font)
        layout.addWidget(self.question)
        self.answer = QLabel()
        self.answer.setWordWrap(True)
        self.answer.setTextFormat(Qt.TextFormat.RichText)
        self.answer.setObjectName("ratedAnswer")
        self.answer.setStyleSheet("QLabel#ratedAnswer { background: palette(base); "
                                  "padding: 10px; border-radius: 6px; }")
        self.answer.linkActivated.connect(lambda link: self.toggle_sentence(int(link)))
        self.answer.setToolTip("Click a sentence to flag it (click again to unflag)")
        layout.addWidget(self.answer)
        self.scales: dict[str, ScaleInput] = {}
        for key, label, tooltip in CRITERIA:
            scale = ScaleInput(label, tooltip)
            scale.changed.connect(lambda _v: self._update())
            self.scales[key] = scale
            layout.addWidget(scale)
        order = list(self.scales.values())
        for first, second in pairwise(order):
            QWidget.setTabOrder(first, second)
        row = QHBoxLayout()
        self.save_button = QPushButton("&Save and next  [Enter]")
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self.save)
        self.skip_button = QPushButton("S&kip")
        self.skip_button.clicked.connect(self.skip)
        row.addWidget(self.save_button)
        row.addWidget(self.skip_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.error = error_label()
        layout.addWidget(self.error)
        layout.addStretch(1)
        for key in ("Return", "Enter"):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.save)

    def show_project(self, project: Any, rater: str) -> None:
        self.project = project
        self.rater = rater
        self.reload()

    def set_rater(self, rater: str) -> None:
        self.rater = rater
        self.reload()

    def reload(self) -> None:
        self.error.hide()
        self.items = []
        if self.project is not None and self.rater:
            from core.ratings import scale_items

            try:
                self.items = scale_items(self.project, self.rater)
            except TalkSmallError as exc:
                self._show_error(str(exc))
        done = 0
        if self.project is not None and self.rater:
            from core.ratings import rater_progress

            done = rater_progress(self.project).get(self.rater, {}).get("scale", 0)
        self.total = done + len(self.items)
        self._show_item()

    def current(self) -> Any:
        return self.items[0] if self.items else None

    def _show_item(self) -> None:
        item = self.current()
        self.flags = set()
        self.parts = sentences(item.answer) if item is not None else []
        for scale in self.scales.values():
            scale.set_value(None)
        if not self.rater:
            self.question.setText("Type your name as the rater below to start.")
        elif item is None:
            self.question.setText("Nothing left to rate: evaluate models first (Evaluate "
                                  "tab), or every answer has your rating." if not self.total
                                  else "All rated: thank you.")
        else:
            self.question.setText(item.question)
        self._render_answer()
        self.progress.setText(f"{self.total - len(self.items)} of {self.total} answers rated "
                              f"by {self.rater}" if self.total and self.rater else "")
        if item is not None and self.isVisible():
            next(iter(self.scales.values())).setFocus()
        self._update()

    def _render_answer(self) -> None:
        if not self.parts:
            self.answer.setText("")
            return
        spans = []
        for index, sentence in enumerate(self.parts):
            style = ("background:#f6d365;color:#000;text-decoration:line-through"
                     if index in self.flags else "color:palette(text);text-decoration:none")
            spans.append(f"<a href='{index}' style='{style}'>{html.escape(sentence)}</a>")
        self.answer.setText(" ".join(spans))

    def toggle_sentence(self, index: int) -> None:
        self.flags ^= {index}
        self._render_answer()

    def flagged(self) -> list[str]:
        return [self.parts[i] for i in sorted(self.flags)]

    def scores(self) -> dict[str, int | None]:
        return {key: scale.value() for key, scale in self.scales.items()}

    def save(self) -> bool:
        item = self.current()
        if item is None or self.project is None:
            return False
        scores = self.scores()
        missing = [label for key, label, _t in CRITERIA if scores[key] is None]
        if missing:
            self._show_error(f"Give {missing[0].lower()} a score from 1 to 5 first "
                             f"(keys 1-5; Tab moves to the next scale).")
            return False
        from core.ratings import record_scale

        try:
            record_scale(self.project, prompt=item.prompt, role=item.role, model=item.model,
                         answer=item.answer, scores=scores, flagged_sentences=self.flagged(),
                         rater=self.rater)
        except TalkSmallError as exc:
            self._show_error(str(exc))
            return False
        self.error.hide()
        self.items.pop(0)
        self._show_item()
        self.rated.emit()
        return True

    def skip(self) -> None:
        if self.items:
            self.items.append(self.items.pop(0))
            self._show_item()

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _update(self) -> None:
        has_item = self.current() is not None
        self.save_button.setEnabled(has_item)
        self.skip_button.setEnabled(len(self.items) > 1)
        for scale in self.scales.values():
            scale.setEnabled(has_item)
