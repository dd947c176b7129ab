"""The answers behind one number of the comparison table, worst first, so the operator sees
why a model scores what it scores (core.evaluation.answers_for)."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from core.evaluation.table import ANSWER_KEYS


def answers_html(details: list[Any], metric: str | None) -> str:
    esc = html.escape
    if not details:
        return "<p>No stored answer counts for this number.</p>"
    key = ANSWER_KEYS.get(metric or "")
    parts = []
    for detail in details:
        question = detail.question
        value = detail.scores.get(key) if key else None
        score = "" if value is None else f" — <b>{esc(_fmt(value))}</b>"
        parts.append(
            f"<h3>{esc(question.question)}</h3><p style='color:#666'>{esc(question.role)}"
            f"{'' if question.in_scope else ', out of scope (should be escalated)'}{score}</p>"
            f"<p>{esc(detail.answer)}</p>"
            + (f"<p style='color:#666'><i>Reference:</i> {esc(question.reference)}</p>"
               if question.reference else "") + "<hr>")
    return "".join(parts)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


class AnswersDialog(QDialog):
    def __init__(self, label: str, metric_label: str, metric: str | None, details: list[Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{label}: {metric_label} — {len(details)} answers, worst first")
        self.resize(720, 560)
        self.details = details
        layout = QVBoxLayout(self)
        self.view = QTextBrowser()
        self.view.setHtml(answers_html(details, metric))
        layout.addWidget(self.view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
