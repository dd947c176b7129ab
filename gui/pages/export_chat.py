"""The Export & chat step: talk to the assistant, export it as files, serve it on this computer.

Three tabs over one project: Chat (any trained run, the base model or an exported GGUF,
streaming, role switch, hidden analysis, passages, two models side by side, thumbs that
become ratings), Export (GGUF types, Modelfile, model card, zip; a child-process job) and
Serve (the OpenAI-compatible server, key shown once, curl example). Everything model-related
lives in core (chat, export, serve); this page only arranges it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QMessageBox, QTabWidget, QVBoxLayout, QWidget

from core.project import Project
from gui.widgets.chat_panel import ChatPanel
from gui.widgets.export_panel import ExportPanel
from gui.widgets.serve_panel import ServePanel


class ExportChatPage(QWidget):
    title = "Export & chat"
    subtitle_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.chat = ChatPanel()
        self.export_panel = ExportPanel()
        self.serve = ServePanel()
        self.tabs.addTab(self.chat, "&Chat")
        self.tabs.addTab(self.export_panel, "E&xport")
        self.tabs.addTab(self.serve, "Ser&ve")
        layout.addWidget(self.tabs, 1)
        self.export_panel.exported.connect(lambda _folder: self._refresh_lists())
        self.serve.running_changed.connect(lambda _running: self.subtitle_changed.emit())

    # --- StepPage ---------------------------------------------------------------------------
    def subtitle(self) -> str:
        if self.serve.is_running():
            return "Your assistant is being served on this computer (Serve tab)."
        return ("Chat with your assistant as a customer would, export it as a GGUF file with "
                "a Modelfile and model card, or serve it on this computer.")

    def show_project(self, project: Project | None) -> None:
        if project is not self.project:
            self.shutdown_work()
        self.project = project
        self.chat.show_project(project)
        self.export_panel.show_project(project)
        self.serve.show_project(project)

    def is_busy(self) -> bool:
        return self.chat.is_busy() or self.export_panel.is_busy() or self.serve.is_busy()

    def shutdown(self) -> None:
        self.shutdown_work()

    def confirm_close(self) -> bool:
        """Closing stops the server and an export: ask first (False keeps the app open)."""
        work = []
        if self.serve.is_running():
            work.append("the server stops (clients can no longer connect)")
        if self.export_panel.is_busy():
            work.append("the export is cancelled (nothing half-written is kept)")
        if not work:
            return True
        return self.ask_close("If you close now, " + " and ".join(work) + ". Close anyway?")

    def ask_close(self, question: str) -> bool:
        """The question before closing; a test replaces this."""
        answer = QMessageBox.question(self, "Close TalkSmall Studio?", question)
        return answer == QMessageBox.StandardButton.Yes

    def shutdown_work(self) -> None:
        """Stop answering, exporting and serving; free the models."""
        self.chat.stop()
        self.export_panel.shutdown()
        self.serve.stop(wait=True)
        self.chat.close_engines()

    # --- events -------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh_lists()  # a run may have finished since the page was last shown

    def _refresh_lists(self) -> None:
        if self.project is None:
            return
        if not self.chat.is_busy():
            self.chat.refresh()
        self.export_panel.refresh()
        if not self.serve.is_busy():
            self.serve.refresh()
