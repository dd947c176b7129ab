"""Live charts of a training run: loss (train and validation), learning rate, preference
reward margin and accuracy, tokens per second.

The series are kept here as plain lists, so they exist (and tests can read them) before the
charts are drawn; pyqtgraph is imported only when the widget is first shown, because it
costs ~0.8 s and the app's start-up must not pay for a page nobody opened.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

# chart title -> the metric keys drawn in it, with their colours
CHARTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Loss": (("loss", "#2563eb"), ("eval_loss", "#dc2626")),
    "Learning rate": (("lr", "#7c3aed"),),
    "Reward margin / accuracy": (("reward_margin", "#059669"), ("reward_accuracy", "#d97706")),
    "Tokens per second": (("tokens_per_s", "#0891b2"),),
}
LABELS = {"loss": "training", "eval_loss": "validation", "lr": "learning rate",
          "reward_margin": "reward margin", "reward_accuracy": "reward accuracy",
          "tokens_per_s": "tokens/s"}


class TrainingCharts(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: dict[str, list[tuple[float, float]]] = {
            key: [] for series in CHARTS.values() for key, _ in series}
        self._curves: dict[str, Any] = {}
        self._plots: dict[str, Any] = {}
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._placeholder = QLabel("Charts appear when a run reports its first figures.")
        self._placeholder.setObjectName("hint")
        self._layout.addWidget(self._placeholder, 0, 0)

    def add_metric(self, event: dict[str, Any]) -> None:
        step = event.get("step")
        if not isinstance(step, int | float):
            return
        for key, points in self.data.items():
            value = event.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                points.append((float(step), float(value)))
                curve = self._curves.get(key)
                if curve is not None:
                    curve.setData([p[0] for p in points], [p[1] for p in points])
        self._show_preference_chart()

    def clear(self) -> None:
        for key, points in self.data.items():
            points.clear()
            if key in self._curves:
                self._curves[key].setData([], [])
        self._show_preference_chart()

    def has_charts(self) -> bool:
        return bool(self._plots)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._plots:
            self._build()

    def _build(self) -> None:
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=True, background="w", foreground="#334155")
        self._placeholder.hide()
        for title, series in CHARTS.items():
            plot = pg.PlotWidget(title=title)
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setLabel("bottom", "step")
            if len(series) > 1:
                plot.addLegend(offset=(-10, 10))
            for key, colour in series:
                points = self.data[key]
                self._curves[key] = plot.plot([p[0] for p in points], [p[1] for p in points],
                                              pen=pg.mkPen(colour, width=2), name=LABELS[key],
                                              symbol="o" if key == "eval_loss" else None,
                                              symbolSize=5, symbolBrush=colour)
            self._plots[title] = plot
        self._show_preference_chart()

    def _show_preference_chart(self) -> None:
        """The reward chart only for preference runs; the visible charts fill a 2 x 2 grid."""
        if not self._plots:
            return
        preference = bool(self.data["reward_margin"] or self.data["reward_accuracy"])
        visible = [title for title in CHARTS
                   if preference or title != "Reward margin / accuracy"]
        for title, plot in self._plots.items():
            self._layout.removeWidget(plot)
            plot.setVisible(title in visible)
        for position, title in enumerate(visible):
            span = 2 if len(visible) == 3 and position == 2 else 1  # fill the bottom row
            self._layout.addWidget(self._plots[title], position // 2, position % 2, 1, span)
