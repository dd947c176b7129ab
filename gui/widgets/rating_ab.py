"""Blind A/B rating: one question, two answers from two models in a random order (model
names hidden), and "1 is better", "2 is better" or "Tie" — buttons or the keys 1, 2 and 0
(also Left, Right and Down). The order is seeded per rater (core.ratings.ab_items), so two
raters see the same pair on different sides."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from core.errors import TalkSmallError
from gui.widgets.labels import error_label


class RatingABPanel(QWidget):
    rated = Signal()  # one choice was stored

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        self.rater = ""
        self.items: list[Any] = []
        self.total = 0
        layout = QVBoxLayout(self)
        pick = QHBoxLayout()
        self.model_a = QComboBox()
        self.model_b = QComboBox()
        for box in (self.model_a, self.model_b):
            box.setToolTip("Models with stored evaluation answers (Evaluate tab)")
            box.currentIndexChanged.connect(lambda _i: self.reload())
        pick.addWidget(QLabel("Compare"))
        pick.addWidget(self.model_a)
        pick.addWidget(QLabel("with"))
        pick.addWidget(self.model_b)
        pick.addStretch(1)
        self.progress = QLabel()
        self.progress.setObjectName("hint")
        pick.addWidget(self.progress)
        layout.addLayout(pick)
        self.question = QLabel()
        self.question.setWordWrap(True)
        self.question.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.question.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.question.setFont(font)
        layout.addWidget(self.question)
        grid = QGridLayout()
        self.answers = [QTextBrowser(), QTextBrowser()]
        for column, view in enumerate(self.answers):
            view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys choose, not scroll
            grid.addWidget(QLabel(f"<b>Answer {column + 1}</b>"), 0, column)
            grid.addWidget(view, 1, column)
        layout.addLayout(grid, 1)
        buttons = QHBoxLayout()
        self.choice_buttons = {
            "left": QPushButton("1 is better  [1]"), "tie": QPushButton("Tie  [0]"),
            "right": QPushButton("2 is better  [2]")}
        for side, button in self.choice_buttons.items():
            button.clicked.connect(lambda _c=False, s=side: self.choose(s))
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.error = error_label()
        layout.addWidget(self.error)
        for keys, side in ((("1", "Left"), "left"), (("2", "Right"), "right"),
                           (("0", "Down"), "tie")):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(lambda s=side: self.choose(s))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def show_project(self, project: Any, rater: str) -> None:
        self.project = project
        self.rater = rater
        self.fill_models()

    def set_rater(self, rater: str) -> None:
        self.rater = rater
        self.reload()

    def fill_models(self) -> None:
        from core.ratings import evaluated_labels

        labels = evaluated_labels(self.project) if self.project is not None else []
        first = labels.index("prompted") if "prompted" in labels else 0
        defaults = (first, len(labels) - 1 if len(labels) - 1 != first else 0)
        for box, default in zip((self.model_a, self.model_b), defaults, strict=True):
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems(labels)
            position = box.findText(current)
            box.setCurrentIndex(position if position >= 0 else default)
            box.blockSignals(False)
        self.reload()

    def models(self) -> list[str]:
        return [self.model_a.currentText(), self.model_b.currentText()]

    def reload(self) -> None:
        """The items this rater has not rated yet for the two chosen models."""
        self.error.hide()
        self.items, self.total = [], 0
        models = self.models()
        if self.project is not None and all(models) and models[0] != models[1] and self.rater:
            from core.ratings import ab_items

            try:
                every = ab_items(self.project, models, self.rater, include_rated=True)
            except TalkSmallError as exc:
                self._show_error(str(exc))
                every = []
            self.items = [item for item in every if not item.rated]
            self.total = len(every)
        self._show_item()

    def current(self) -> Any:
        return self.items[0] if self.items else None

    def _show_item(self) -> None:
        item = self.current()
        models = self.models()
        if not self.rater:
            message = "Type your name as the rater above to start."
        elif self.model_a.count() < 2:
            message = "Evaluate at least two models first (Evaluate tab): their answers are " \
                      "what you compare here."
        elif models[0] == models[1]:
            message = "Pick two different models."
        elif item is None:
            message = "All rated: nothing left to compare for these two models." \
                if self.total else "These two models have no answers to the same questions."
        else:
            message = ""
        self.question.setText(item.question if item is not None else message)
        self.answers[0].setPlainText(item.left_answer if item is not None else "")
        self.answers[1].setPlainText(item.right_answer if item is not None else "")
        for button in self.choice_buttons.values():
            button.setEnabled(item is not None)
        done = self.total - len(self.items)
        self.progress.setText(f"{done} of {self.total} rated" if self.total else "")

    def choose(self, side: str) -> bool:
        """Store the choice for the shown item ("left", "right" or "tie"), show the next."""
        item = self.current()
        if item is None or self.project is None:
            return False
        from core.ratings import record_ab

        choice = {"left": "a", "right": "b", "tie": "tie"}[side]
        try:
            record_ab(self.project, question_id=item.question_id, model_a=item.left_model,
                      answer_a=item.left_answer, model_b=item.right_model,
                      answer_b=item.right_answer, choice=choice, rater=self.rater)
        except TalkSmallError as exc:
            self._show_error(str(exc))
            return False
        self.items.pop(0)
        self._show_item()
        self.rated.emit()
        return True

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
