"""The Evaluation & rating step: a held-out question set, automatic metrics side by side,
and rating screens for people whose choices become preference pairs.

Four tabs over one project: Questions (hold out, add, import, remove), Evaluate (the
"evaluate" job, the comparison table, bars, the answers behind every number, the report),
Rate A/B (blind, keyboard-driven) and Rate answers (1-5 scales, sentence flags, progress and
agreement per rater). Below the rating tabs: the rater's name (remembered in the project)
and "Make preference pairs from ratings", which the next IPO / DPO run then uses.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.errors import TalkSmallError
from core.project import Project
from gui.widgets.eval_questions import EvalQuestionsPanel
from gui.widgets.eval_results import EvalResultsPanel
from gui.widgets.labels import hint_label
from gui.widgets.rating_ab import RatingABPanel
from gui.widgets.rating_scale import RatingScalePanel
from gui.widgets.rating_summary import RatingSummary

RATER_SETTING = "rating.rater"


class EvaluationPage(QWidget):
    title = "Evaluation & rating"
    subtitle_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.questions = EvalQuestionsPanel()
        self.results = EvalResultsPanel()
        self.ab = RatingABPanel()
        self.scale = RatingScalePanel()
        self.summary = RatingSummary()
        rate = QWidget()
        rate_row = QHBoxLayout(rate)
        rate_row.setContentsMargins(0, 0, 0, 0)
        rate_row.addWidget(self.scale, 3)
        rate_row.addWidget(self.summary, 1)
        self.tabs.addTab(self.questions, "&Questions")
        self.tabs.addTab(self.results, "E&valuate")
        self.tabs.addTab(self.ab, "Rate &A/B")
        self.tabs.addTab(rate, "Rate a&nswers")
        layout.addWidget(self.tabs, 1)

        self.rating_bar = QWidget()
        bar = QHBoxLayout(self.rating_bar)
        bar.setContentsMargins(0, 6, 0, 6)
        bar.addWidget(QLabel("Ra&ter:"))
        self.rater = QLineEdit()
        self.rater.setPlaceholderText("your name")
        self.rater.setMaximumWidth(200)
        self.rater.setToolTip("Several people can rate; each sees the answers in their own "
                              "order, and their agreement is shown")
        bar.itemAt(0).widget().setBuddy(self.rater)
        self.rater.editingFinished.connect(self._rater_changed)
        bar.addWidget(self.rater)
        bar.addSpacing(16)
        self.pairs_button = QPushButton()
        self.pairs_button.setToolTip("Blind A/B winners and thumbs up vs down on the same "
                                     "question become accepted preference pairs")
        self.pairs_button.clicked.connect(self.make_pairs)
        bar.addWidget(self.pairs_button)
        self.pairs_message = hint_label()
        bar.addWidget(self.pairs_message, 1)
        layout.addWidget(self.rating_bar)

        self.questions.changed.connect(self.results.refresh)
        self.results.evaluated.connect(lambda _status: self._after_evaluation())
        self.ab.rated.connect(self._after_rating)
        self.scale.rated.connect(self._after_rating)
        self.tabs.currentChanged.connect(self._tab_changed)
        self._tab_changed(self.tabs.currentIndex())

    # --- StepPage ---------------------------------------------------------------------------
    def subtitle(self) -> str:
        if self.results.is_busy():
            return "Evaluating: the models are answering the test questions."
        return ("Compare the base model, prompting, retrieval and your trained runs on "
                "held-out questions, and rate answers blind; ratings become training pairs.")

    def show_project(self, project: Project | None) -> None:
        if project is not self.project:
            self.results.shutdown()
        self.project = project
        rater = ""
        if project is not None:
            rater = str(project.store.get_setting(RATER_SETTING, "") or "")
        self.rater.setText(rater)
        self.questions.show_project(project)
        self.results.show_project(project)
        self.ab.show_project(project, rater)
        self.scale.show_project(project, rater)
        self._after_rating()

    def is_busy(self) -> bool:
        return self.results.is_busy()

    def shutdown(self) -> None:
        self.results.shutdown()

    # --- rating -----------------------------------------------------------------------------
    def set_rater(self, name: str) -> None:
        self.rater.setText(name)
        self._rater_changed()

    def _rater_changed(self) -> None:
        name = self.rater.text().strip()
        if self.project is None or name == self.ab.rater:
            return
        self.project.store.set_setting(RATER_SETTING, name)
        self.ab.set_rater(name)
        self.scale.set_rater(name)
        self._tab_changed(self.tabs.currentIndex())  # the keys go to the rating screen

    def _after_evaluation(self) -> None:
        self.subtitle_changed.emit()
        self.ab.fill_models()
        self.scale.reload()

    def _after_rating(self) -> None:
        self.summary.refresh(self.project)
        self._update_pairs_button()

    def _update_pairs_button(self) -> None:
        count = 0
        if self.project is not None:
            from core.ratings import pending_pairs

            count = pending_pairs(self.project)
        self.pairs_button.setText(f"Make preference pairs from ratings ({count} new)")
        self.pairs_button.setEnabled(count > 0)

    def make_pairs(self) -> int:
        if self.project is None:
            return 0
        from core.ratings import ratings_to_pairs

        try:
            added = ratings_to_pairs(self.project)
        except TalkSmallError as exc:
            self.pairs_message.setText(str(exc))
            return 0
        self.pairs_message.setText(
            f"{added} preference pairs added (accepted). The next IPO / DPO run on the "
            f"Training step uses them; see them under Conversations > Preference pairs.")
        self._update_pairs_button()
        return added

    def _tab_changed(self, index: int) -> None:
        self.rating_bar.setVisible(index >= 2)
        if index == 2:
            self.ab.setFocus()
        elif index == 3 and self.scale.current() is not None:
            next(iter(self.scale.scales.values())).setFocus()
