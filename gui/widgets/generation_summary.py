"""The Conversations step's summary: what was generated, what was kept, and why items fell out.

It shows ``core.conversations.store.summary()`` as it is: counts per status, role, document
and intent, the yield per source, rejections per gate, and the Flesch histogram of usable
examples (a small QPainter bar chart: eleven bars do not need a plotting library).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

GATE_LABELS = {
    "flesch": "unreadable after retries",
    "dedup": "duplicate",
    "grounding": "not grounded in the document",
    "facts": "facts not in the document",
    "policy": "off-policy",
    "scope": "out of scope",
    "format": "teacher did not follow the format",
    "length": "too long or too short",
    "teacher": "teacher failed",
}
STATUS_LABELS = {"kept": "Kept", "accepted": "Accepted", "rejected": "Rejected",
                 "dropped": "Dropped by a gate"}


def gate_label(gate: str | None) -> str:
    return GATE_LABELS.get(gate or "", (gate or "other").replace("_", " "))


class FleschHistogram(QWidget):
    """Bars of usable examples per Flesch band, with the project's target as a line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bins: list[int] = list(range(0, 101, 10))
        self.counts: list[int] = [0] * 10
        self.target: float | None = None
        self.setMinimumSize(320, 160)
        self.setToolTip("Flesch reading ease of kept and accepted examples: higher is easier "
                        "to read. The dashed line is the project's target.")

    def set_data(self, bins: list[int], counts: list[int], target: float | None) -> None:
        self.bins, self.counts, self.target = list(bins), list(counts), target
        self.update()

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        left, bottom, top, right = 30.0, 22.0, 8.0, 8.0
        plot = QRectF(left, top, self.width() - left - right, self.height() - top - bottom)
        painter.fillRect(self.rect(), QColor("white"))
        painter.setPen(QPen(QColor("#9ca3af")))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        highest = max(self.counts, default=0) or 1
        painter.drawText(QRectF(0, top - 6, left - 4, 14),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         str(highest))
        n = max(len(self.counts), 1)
        width = plot.width() / n
        for i, count in enumerate(self.counts):
            height = plot.height() * count / highest
            bar = QRectF(plot.left() + i * width + 2, plot.bottom() - height, width - 4, height)
            painter.fillRect(bar, QColor("#2f6fde"))
            if i < len(self.bins) and i % 2 == 0:
                painter.setPen(QPen(QColor("#6b7280")))
                painter.drawText(QRectF(plot.left() + i * width - 10, plot.bottom() + 2, 40, 16),
                                 Qt.AlignmentFlag.AlignLeft, str(self.bins[i]))
        if self.target is not None and self.bins:
            span = (self.bins[-1] - self.bins[0]) or 1
            x = plot.left() + plot.width() * (self.target - self.bins[0]) / span
            pen = QPen(QColor("#c62828"))
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLine(int(x), int(plot.top()), int(x), int(plot.bottom()))
        painter.end()


class GenerationSummary(QWidget):
    """Counts and the histogram; ``set_summary(store.summary(project), target)``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.labels: dict[str, QLabel] = {}
        boxes = (("status", "Examples", 0, 0), ("role", "Per role (usable)", 0, 1),
                 ("document", "Per document (usable)", 0, 2), ("intent", "Per intent", 1, 0),
                 ("source", "Yield per source", 1, 1), ("gates", "Why items were dropped", 1, 2))
        for key, title, row, column in boxes:
            box = QGroupBox(title)
            layout = QVBoxLayout(box)
            label = QLabel("—")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
            layout.addStretch(1)
            self.labels[key] = label
            grid.addWidget(box, row, column)
        chart = QGroupBox("Flesch reading ease (usable examples)")
        chart_layout = QVBoxLayout(chart)
        self.histogram = FleschHistogram()
        self.mean = QLabel()
        self.mean.setObjectName("hint")
        chart_layout.addWidget(self.histogram, 1)
        chart_layout.addWidget(self.mean)
        grid.addWidget(chart, 0, 3, 2, 1)
        grid.setColumnStretch(3, 2)

    def set_summary(self, data: dict[str, Any] | None, target: float | None = None) -> None:
        if not data:
            for label in self.labels.values():
                label.setText("—")
            self.histogram.set_data(list(range(0, 101, 10)), [0] * 10, target)
            self.mean.setText("")
            return
        examples = data["examples"]
        lines = [f"{STATUS_LABELS.get(s, s)}: {n}" for s, n in examples["by_status"].items()]
        lines.append(f"<b>Usable: {examples['usable']} of {examples['total']}</b>")
        work = data.get("work") or {}
        if work.get("planned"):
            lines.append(f"Work list: {work['done']} of {work['planned']} done")
        self.labels["status"].setText("<br>".join(lines))
        self.labels["role"].setText(_counts(data["by_role"]))
        self.labels["document"].setText(_counts(data["by_document"]))
        self.labels["intent"].setText(_counts(data["by_intent"]))
        self.labels["source"].setText("<br>".join(
            f"{source.replace('_', ' ')}: {v['kept']} of {v['items']} ({v['yield']:.0%})"
            for source, v in data["by_source"].items()) or "—")
        self.labels["gates"].setText("<br>".join(
            f"{gate_label(gate)}: {v['count']} ({v['share']:.0%})"
            for gate, v in data["rejected_by_gate"].items()) or "None dropped")
        histogram = data["flesch_histogram"]
        self.histogram.set_data(histogram["bins"], histogram["counts"], target)
        mean = data.get("flesch_mean")
        self.mean.setText(f"Mean {mean}" + (f" · target {target:g}" if target is not None
                                            else "") if mean is not None else "No usable "
                          "examples yet.")


def _counts(counts: dict[str, int]) -> str:
    if not counts:
        return "—"
    return "<br>".join(f"{key}: {value}" for key, value in
                       sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
