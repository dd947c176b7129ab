"""The Project step: welcome (create / sample / open / recent) until a project is open,
then the company profile and the models section."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QScrollArea, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from core.project import Project
from gui.pages.company_form import CompanyForm
from gui.pages.models_panel import ModelsPanel
from gui.pages.welcome import WelcomeView


class ProjectPage(QWidget):
    title = "Project"
    project_opened = Signal(object)
    validity_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack)

        self.welcome = WelcomeView()
        self.welcome.project_opened.connect(self.project_opened)
        self.stack.addWidget(self.welcome)

        self.tabs = QTabWidget()
        self.form = CompanyForm()
        self.form.validity_changed.connect(self.validity_changed)
        self.tabs.addTab(_scrolling(self.form), "Company profile")
        self.models = ModelsPanel()
        self.tabs.addTab(_scrolling(self.models), "Models")
        self.stack.addWidget(self.tabs)

    def subtitle(self) -> str:
        if self.project is None:
            return "Create a project for your company, try the sample, or open one you made."
        return "Describe the company once; every later step uses it. Changes save as you type."

    def show_project(self, project: Project | None) -> None:
        self.project = project
        if project is None:
            self.welcome.refresh_recent()
            self.stack.setCurrentIndex(0)
            return
        self.form.load(project)
        self.models.load(project)
        self.tabs.setCurrentIndex(0)
        self.stack.setCurrentIndex(1)

    def is_valid(self) -> bool:
        return self.project is not None and self.form.is_valid()

    def is_busy(self) -> bool:
        runner = self.models.runner
        return runner is not None and runner.is_running()

    def save(self) -> None:
        self.form.save_now()

    def shutdown(self) -> None:
        if self.project is not None:
            self.form.save_now()
        self.models.shutdown()


def _scrolling(widget: QWidget) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(widget)
    return scroll
