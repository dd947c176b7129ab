"""One model's side of the in-app chat: its model picker, the conversation, passages, thumbs.

The chat page shows one column, or two side by side that get the same question. A column
keeps its own conversation (each model answers its own earlier replies), opens its model on
a worker thread the first time it is asked (a trained run is exported to GGUF once, with
progress), and streams the answer token by token. Thumbs up / down rate the latest answer
and are stored as ratings for the rating step.
"""

from __future__ import annotations

import html
import threading
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from core.chat.choices import ChatChoice
from core.errors import TalkSmallError
from gui.widgets.labels import hint_label
from gui.workers.chat_stream import open_engine_for, stream_answer
from gui.workers.tasks import Task, run_task


class ChatColumn(QWidget):
    busy_changed = Signal(bool)
    answered = Signal(object)  # the Answer, once streamed to its end
    rated = Signal(int)  # +1 / -1
    streamed = Signal(str)  # each piece of visible text as it arrives

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        self.engines: dict[str, Any] = {}  # choice key -> ChatEngine (loaded)
        self.messages: list[dict[str, str]] = []  # the conversation: user / assistant turns
        self.roles: list[str] = []  # the customer role of each user turn
        self.answers: list[Any] = []  # the Answer of each assistant turn
        self.show_hidden = False
        self.show_passages = True
        self._partial: str | None = None  # the answer being streamed
        self._task: Task | None = None
        self._stop = threading.Event()
        self._pending: tuple[str, dict[str, Any]] | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel(title))
        self.model_box = QComboBox()
        self.model_box.setToolTip("The model that answers in this column")
        # Long run ids must not widen the window: two columns share its width.
        self.model_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_box.setMinimumContentsLength(16)
        self.model_box.currentIndexChanged.connect(self._model_changed)
        top.addWidget(self.model_box, 1)
        layout.addLayout(top)
        split = QSplitter(Qt.Orientation.Vertical)
        self.transcript = QTextBrowser()
        self.transcript.setOpenLinks(False)
        self.transcript.setPlaceholderText("Ask a question below; the answer appears here.")
        self.passages = QTextBrowser()
        self.passages.setPlaceholderText("Passages from the company's documents that the "
                                         "answer was given appear here.")
        split.addWidget(self.transcript)
        split.addWidget(self.passages)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)
        row = QHBoxLayout()
        self.up_button = QPushButton("✓ Good answer")
        self.up_button.clicked.connect(lambda: self.rate(True))
        self.down_button = QPushButton("✗ Bad answer")
        self.down_button.clicked.connect(lambda: self.rate(False))
        self.status = hint_label()
        row.addWidget(self.up_button)
        row.addWidget(self.down_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        self._update_buttons()

    # --- models ---------------------------------------------------------------------------
    def set_choices(self, project: Any, choices: list[ChatChoice], selected: str = "") -> None:
        if project is not self.project:
            self.close_engines()
            self.clear()
        self.project = project
        current = selected or self.current_key()
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for choice in choices:
            self.model_box.addItem(choice.label, choice.key)
        index = self.model_box.findData(current)
        self.model_box.setCurrentIndex(max(index, 0))
        self.model_box.blockSignals(False)

    def current_key(self) -> str:
        return str(self.model_box.currentData() or "")

    def model_label(self) -> str:
        return self.model_box.currentText()

    def _model_changed(self, _index: int) -> None:
        self.clear()  # another model: a new conversation, so answers are not mixed

    # --- asking ---------------------------------------------------------------------------
    def is_busy(self) -> bool:
        return self._task is not None

    def ask(self, question: str, **options: Any) -> bool:
        """Add the customer's turn and stream this column's answer; False when busy."""
        if self.is_busy() or self.project is None or not question.strip():
            return False
        key = self.current_key()
        self.messages.append({"role": "user", "content": question.strip()})
        self.roles.append(str(options.get("role") or ""))
        self._partial = ""
        self._render()
        self._stop.clear()
        if key in self.engines:
            self._start_stream(self.engines[key], options)
        else:
            self._pending = (key, options)
            self._say("Opening the model… (the first time, a trained run is prepared for chat)")
            self._task = run_task(open_engine_for, self.project, key,
                                  on_success=self._engine_ready, on_error=self._failed,
                                  on_progress=self._on_progress)
        self.busy_changed.emit(True)
        self._update_buttons()
        return True

    def stop(self) -> None:
        self._stop.set()

    def _engine_ready(self, engine: Any) -> None:
        key, options = self._pending or ("", {})
        self._pending = None
        self.engines[key] = engine
        if self._stop.is_set() or key != self.current_key():
            self._finish(None)
            return
        self._start_stream(engine, options)

    def _start_stream(self, engine: Any, options: dict[str, Any]) -> None:
        self._say("Answering…")
        self._task = run_task(stream_answer, engine, list(self.messages), self._stop,
                              on_success=self._finish, on_error=self._failed,
                              on_progress=self._on_progress, **options)

    def _on_progress(self, kind: str, *args: Any) -> None:
        if kind == "delta" and self._partial is not None:
            self._partial += args[0]
            self._render()
            self.streamed.emit(args[0])
        elif kind == "passages":
            self._show_passages(args[0])
        elif kind == "export":
            self._say(f"Preparing the model for chat: {args[1]} ({round(100 * args[0])}%)")

    def _finish(self, answer: Any) -> None:
        self._task = None
        text = self._partial or ""
        self._partial = None
        if answer is None:  # stopped: keep what arrived, marked as cut short
            if text:
                self.messages.append({"role": "assistant", "content": text})
                self.answers.append(None)
            else:
                self.messages.pop()
                self.roles.pop()
            self._say("Stopped.")
        else:
            self.messages.append({"role": "assistant", "content": answer.text})
            self.answers.append(answer)
            self._show_passages(answer.passages)
            escalated = " (no relevant passage: escalated)" if answer.escalated else ""
            speed = f"{answer.tokens} tokens in {answer.seconds:.1f} s" if answer.tokens else ""
            first = (f", first token after {answer.first_token_s:.2f} s"
                     if answer.first_token_s is not None and answer.tokens else "")
            self._say(f"{speed}{first}{escalated}".strip(", "))
        self._render()
        self._update_buttons()
        self.busy_changed.emit(False)
        if answer is not None:
            self.answered.emit(answer)

    def _failed(self, error: TalkSmallError) -> None:
        self._task = None
        self._pending = None
        self._partial = None
        if self.messages and self.messages[-1]["role"] == "user":
            self.messages.pop()
            self.roles.pop()
        self._render()
        hint = f" {error.hint}" if getattr(error, "hint", "") else ""
        self._say(f"{error}{hint}", error=True)
        self._update_buttons()
        self.busy_changed.emit(False)

    # --- rating -----------------------------------------------------------------------------
    def last_answer(self) -> Any:
        return self.answers[-1] if self.answers else None

    def rate(self, up: bool) -> int | None:
        """Store a thumbs rating of the latest answer; returns the rating id."""
        answer = self.last_answer()
        if answer is None or self.project is None or self.is_busy():
            return None
        from core.chat.engine import passage_dict
        from core.ratings import rate_answer

        prompt = self.messages[:-1]
        try:
            rating = rate_answer(self.project, prompt=prompt, role=answer.role,
                                 model=self.current_key(), answer=answer.text, up=up,
                                 passages=[passage_dict(p) for p in answer.passages])
        except TalkSmallError as exc:
            self._say(f"{exc} {exc.hint}", error=True)
            return None
        self._say("Saved: thumbs up. It counts as a rating in the Evaluation step." if up else
                  "Saved: thumbs down. It counts as a rating in the Evaluation step.")
        self.rated.emit(1 if up else -1)
        return rating

    # --- showing ------------------------------------------------------------------------------
    def clear(self) -> None:
        if self.is_busy():
            self.stop()
            return
        self.messages, self.roles, self.answers = [], [], []
        self.passages.clear()
        self._render()
        self._say("")
        self._update_buttons()

    def set_show_hidden(self, show: bool) -> None:
        self.show_hidden = show
        self._render()

    def set_show_passages(self, show: bool) -> None:
        self.show_passages = show
        self.passages.setVisible(show)

    def transcript_text(self) -> str:
        return self.transcript.toPlainText()

    def _render(self) -> None:
        parts: list[str] = []
        answers = iter(self.answers)
        roles = iter(self.roles)
        for message in self.messages:
            text = html.escape(message["content"]).replace("\n", "<br>")
            if message["role"] == "user":
                who = html.escape(next(roles, "") or "customer").capitalize()
                parts.append(f"<p><b>{who}:</b> {text}</p>")
                continue
            answer = next(answers, None)
            parts.append(f"<p><b>Assistant:</b> {text}</p>")
            if self.show_hidden and answer is not None:
                parts.append(_hidden_html(answer))
        if self._partial is not None:
            parts.append(f"<p><b>Assistant:</b> {html.escape(self._partial)}▍</p>")
        self.transcript.setHtml("".join(parts))
        bar = self.transcript.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _show_passages(self, hits: list[Any]) -> None:
        from core.chat.engine import passage_dict

        if not hits:
            self.passages.setHtml("<p><i>No passage was used for this answer.</i></p>")
            return
        blocks = []
        for number, hit in enumerate(hits, start=1):
            data = passage_dict(hit)
            source = html.escape(str(data.get("document") or data.get("source") or "document"))
            section = html.escape(str(data.get("section") or ""))
            similarity = data.get("similarity")
            scored = (f" · similarity {similarity:.2f}" if isinstance(similarity, float)
                      else "")
            blocks.append(f"<p><b>[{number}] {source}</b> {section}{scored}<br>"
                          f"{html.escape(str(data.get('text', '')))}</p>")
        self.passages.setHtml("".join(blocks))

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setObjectName("fieldError" if error else "hint")
        self.status.setStyleSheet("")  # re-polish for the new object name
        self.status.setText(text)

    def _update_buttons(self) -> None:
        can_rate = self.last_answer() is not None and not self.is_busy()
        self.up_button.setEnabled(can_rate)
        self.down_button.setEnabled(can_rate)

    def close_engines(self) -> None:
        for engine in self.engines.values():
            engine.close()
        self.engines.clear()


def _hidden_html(answer: Any) -> str:
    analysis, intent = answer.hidden
    if not analysis and not intent:
        return "<p style='color:#777'><i>(no hidden analysis or intent in this answer)</i></p>"
    rows = []
    if intent:
        rows.append(f"intent: {html.escape(intent)}")
    if analysis:
        rows.append(f"analysis: {html.escape(analysis)}")
    return f"<p style='color:#777'><i>{'<br>'.join(rows)}</i></p>"
