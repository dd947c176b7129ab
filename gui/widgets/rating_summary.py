"""Who rated how much, and how far raters agree on the same blind A/B items (share of equal
choices and Cohen's kappa, from core.ratings.agreement)."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


def summary_html(progress: dict[str, dict[str, int]], agreed: dict[str, Any]) -> str:
    esc = html.escape
    if not progress:
        return "<p>No ratings yet.</p>"
    rows = "".join(f"<tr><td>{esc(rater or '(chat)')}</td><td align='right'>{n['ab']}</td>"
                   f"<td align='right'>{n['scale']}</td></tr>"
                   for rater, n in progress.items())
    parts = ["<b>Ratings per rater</b><table cellspacing='0' cellpadding='3'>"
             f"<tr><th align='left'>Rater</th><th>A/B</th><th>1-5</th></tr>{rows}</table>"]
    if agreed.get("agreement") is None:
        parts.append("<p><b>Agreement</b>: shown once two raters have compared the same "
                     "answers.</p>")
    else:
        kappa = agreed.get("kappa")
        parts.append(f"<p><b>Agreement</b> on {agreed['items']} shared A/B items: "
                     f"{agreed['agreement']:.0%} the same choice; Cohen's kappa "
                     f"{'-' if kappa is None else f'{kappa:.2f}'} (1 = full agreement, "
                     f"0 = no better than chance).</p>")
        for pair in agreed.get("pairs", []):
            k = pair["kappa"]
            parts.append(f"<p style='margin:0'>{esc(' & '.join(pair['raters']))}: "
                         f"{pair['items']} items, {pair['agreement']:.0%} agree, kappa "
                         f"{'-' if k is None else f'{k:.2f}'}</p>")
    return "".join(parts)


class RatingSummary(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        layout.addWidget(self.label)
        layout.addStretch(1)

    def refresh(self, project: Any) -> None:
        if project is None:
            self.label.setText("")
            return
        from core.ratings import agreement, rater_progress

        self.label.setText(summary_html(rater_progress(project), agreement(project)))
