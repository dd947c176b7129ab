"""Horizontal bars of two shares per model (readable answers, similarity to the reference),
painted with QPainter: a chart this small is not worth loading a plotting library."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

SERIES = (("readable_share", "Readable (Flesch >= 60)", QColor("#4a78b0")),
          ("similarity", "Similarity to the reference", QColor("#e39b3b")))
BAR_H, GAP, LABEL_W = 12, 10, 170


class EvalBars(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, dict[str, float | None]]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_rows(self, rows: list[tuple[str, dict[str, float | None]]]) -> None:
        """(model label, metrics) per model, in table order."""
        self.rows = rows
        self.updateGeometry()
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(520, 28 + len(self.rows) * (len(SERIES) * BAR_H + GAP))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = painter.fontMetrics()
        width = max(60, self.width() - LABEL_W - 60)
        x = 0
        for _key, label, colour in SERIES:  # legend
            painter.fillRect(QRectF(x, 4, 10, 10), colour)
            painter.drawText(int(x) + 14, 14, label)
            x += 24 + metrics.horizontalAdvance(label)
        y = 24
        for name, values in self.rows:
            painter.setPen(self.palette().text().color())
            painter.drawText(QRectF(0, y, LABEL_W - 8, len(SERIES) * BAR_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             metrics.elidedText(name, Qt.TextElideMode.ElideMiddle,
                                                LABEL_W - 10))
            for index, (key, _label, colour) in enumerate(SERIES):
                value = values.get(key)
                top = y + index * BAR_H
                length = 0.0 if value is None else max(0.0, min(1.0, float(value))) * width
                painter.fillRect(QRectF(LABEL_W, top + 1, length, BAR_H - 2), colour)
                text = "-" if value is None else (f"{value:.0%}" if key == "readable_share"
                                                  else f"{value:.2f}")
                painter.drawText(int(LABEL_W + length + 4), int(top + BAR_H - 2), text)
            y += len(SERIES) * BAR_H + GAP
        painter.end()
