"""The main window: the sidebar of six wizard steps, the current step's page, Back / Next.

Every built step has its own page widget (see gui/pages/step_page.py) in one stacked widget;
the window shows the page of the flow's current step and takes title and subtitle from it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core import __version__
from core.project import Project, remember_project
from gui.dialogs.build_dialog import BuildDialog
from gui.pages.conversations import ConversationsPage
from gui.pages.documents import DocumentsPage
from gui.pages.evaluation import EvaluationPage
from gui.pages.export_chat import ExportChatPage
from gui.pages.project import ProjectPage
from gui.pages.step_page import StepPage
from gui.pages.training import TrainingPage
from gui.widgets.step_list import StepList
from gui.wizard import WizardFlow, needs_documents


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("TalkSmall Studio")
        self.resize(1180, 760)
        self.flow = WizardFlow()
        self.project: Project | None = None

        root = QWidget()
        row = QHBoxLayout(root)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.setCentralWidget(root)

        sidebar = QWidget()
        sidebar.setObjectName("sidebar")
        sidebar.setFixedWidth(260)
        side = QVBoxLayout(sidebar)
        side.setContentsMargins(0, 0, 0, 12)
        brand = QLabel("TalkSmall Studio")
        brand.setObjectName("brand")
        side.addWidget(brand)
        self.project_label = QLabel("No project open")
        self.project_label.setObjectName("brandSub")
        side.addWidget(self.project_label)
        self.steps = StepList(self.flow)
        self.steps.step_chosen.connect(self.go_to)
        side.addWidget(self.steps, 1)
        self.build_dialog = BuildDialog(self)
        self.build_dialog.build_finished.connect(self._on_build_finished)
        self.build_button = QPushButton("Build my &assistant…")
        self.build_button.setObjectName("primary")
        self.build_button.setToolTip("Run every step in one go, with the defaults that fit "
                                     "this computer (after the profile and the documents)")
        self.build_button.clicked.connect(self.open_build)
        build_row = QHBoxLayout()
        build_row.setContentsMargins(16, 0, 16, 0)
        build_row.addWidget(self.build_button)
        side.addLayout(build_row)
        row.addWidget(sidebar)

        body = QWidget()
        body.setObjectName("page")
        column = QVBoxLayout(body)
        column.setContentsMargins(28, 22, 28, 0)
        column.setSpacing(4)
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.subtitle = QLabel()
        self.subtitle.setObjectName("pageSubtitle")
        self.subtitle.setWordWrap(True)
        column.addWidget(self.title)
        column.addWidget(self.subtitle)
        column.addSpacing(10)
        self.pages = QStackedWidget()
        self.project_page = ProjectPage()
        self.project_page.project_opened.connect(self.set_project)
        self.project_page.validity_changed.connect(self._on_validity)
        self.documents_page = DocumentsPage()
        self.documents_page.import_finished.connect(lambda _results: self._refresh_nav())
        self.conversations_page = ConversationsPage()
        self.conversations_page.generation_finished.connect(lambda _status: self._refresh_nav())
        self.training_page = TrainingPage()
        self.export_page = ExportChatPage()
        # Step key -> its page; steps without a page are not built (and cannot be entered).
        self.step_pages: dict[str, StepPage] = {
            "project": self.project_page,
            "documents": self.documents_page,
            "conversations": self.conversations_page,
            "training": self.training_page,
            "evaluation": EvaluationPage(),
            "export": self.export_page,
        }
        for page in self.step_pages.values():
            self.pages.addWidget(page)
            changed = getattr(page, "subtitle_changed", None)
            if changed is not None:
                changed.connect(self._refresh)
        column.addWidget(self.pages, 1)

        nav = QWidget()
        nav.setObjectName("navBar")
        nav_row = QHBoxLayout(nav)
        nav_row.setContentsMargins(0, 10, 0, 12)
        self.nav_hint = QLabel()
        self.nav_hint.setObjectName("hint")
        self.back_button = QPushButton("Back")
        self.back_button.clicked.connect(self.go_back)
        self.next_button = QPushButton("Next")
        self.next_button.setObjectName("primary")
        self.next_button.clicked.connect(self.go_next)
        nav_row.addWidget(self.nav_hint, 1)
        nav_row.addWidget(self.back_button)
        nav_row.addWidget(self.next_button)
        column.addWidget(nav)
        row.addWidget(body, 1)

        self._build_menu()
        self.statusBar().showMessage(f"TalkSmall Studio {__version__}")
        self._refresh()

    # --- project ----------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        if self.project is not None and project is not self.project:
            self._shutdown_pages()
            self.project.close()
        self.project = project
        self.flow.state.project = project
        if project is not None:
            remember_project(project.root, project.name)
            self.flow.state.profile_valid = not project.profile().validate()
            self._show_name(project.name)
            self.statusBar().showMessage(f"Opened {project.root}", 5000)
        else:
            self.flow.state.profile_valid = False
            self._show_name(None)
        for page in self.step_pages.values():
            page.show_project(project)
        self.build_dialog.show_project(project)
        self.close_action.setEnabled(project is not None)
        self.flow.current = 0
        self._refresh()

    def open_project_folder(self, folder: str | Path) -> None:
        self.project_page.welcome.open_folder(folder)

    def close_project(self) -> None:
        if self.confirm_close():
            self.set_project(None)

    def open_build(self) -> None:
        self.build_dialog.refresh()
        self.build_dialog.show()
        self.build_dialog.raise_()

    def _on_build_finished(self, _status: str) -> None:
        for page in self.step_pages.values():
            page.show_project(self.project)  # new conversations, runs, answers and exports
        self._refresh()

    def confirm_close(self) -> bool:
        """Ask the pages with long work whether closing may go ahead (False: stay open)."""
        if not self.build_dialog.confirm_close():
            return False
        for page in self.step_pages.values():
            confirm = getattr(page, "confirm_close", None)
            if confirm is not None and not confirm():
                return False
        return True

    # --- navigation -------------------------------------------------------------
    def current_page(self) -> StepPage:
        """The page of the current step (the Project page for a step with none)."""
        return self.step_pages.get(self.flow.steps[self.flow.current].key, self.project_page)

    def go_to(self, index: int) -> None:
        if not self.flow.go(index):
            self.statusBar().showMessage(self.flow.why_not(index), 5000)
        self._refresh()

    def go_next(self) -> None:
        target = self.flow.next_index()
        if target is not None:
            self.go_to(target)

    def go_back(self) -> None:
        target = self.flow.previous_index()
        if target is not None:
            self.go_to(target)

    def _on_validity(self, valid: bool) -> None:
        self.flow.state.profile_valid = valid
        if self.project is not None:
            self._show_name(self.project_page.form.company_name.text().strip()
                            or self.project.root.name)
        self._refresh()

    def _show_name(self, name: str | None) -> None:
        """The open project's name (None: no project) in the sidebar and the title bar."""
        if name is None or self.project is None:
            self.project_label.setText("No project open")
            self.setWindowTitle("TalkSmall Studio")
        else:
            self.project_label.setText(f"{name}\n{_short(self.project.root)}")
            self.setWindowTitle(f"{name} — TalkSmall Studio")

    def _refresh(self) -> None:
        step = self.flow.steps[self.flow.current]
        page = self.current_page()
        if self.pages.currentWidget() is not page:
            self.pages.setCurrentWidget(page)  # type: ignore[arg-type]
        self.title.setText(step.title)
        self.subtitle.setText(page.subtitle())
        self._refresh_nav()

    def _refresh_nav(self) -> None:
        """Steps and Back / Next: what may be entered can change with the project's data."""
        self.steps.refresh()
        blocked = needs_documents(self.flow.state)
        self.build_button.setEnabled(not blocked)
        self.build_button.setToolTip(blocked or "Run every step in one go, with the defaults "
                                     "that fit this computer")
        self.back_button.setEnabled(self.flow.previous_index() is not None)
        target = self.flow.next_index()
        self.next_button.setEnabled(target is not None)
        if target is None:
            following = self.flow.current + 1
            reason = self.flow.why_not(following) if following < len(self.flow.steps) else ""
            self.nav_hint.setText(reason)
        else:
            self.nav_hint.setText("")

    # --- menu and closing -------------------------------------------------------
    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        new = QAction("&New or open project…", self)
        new.setShortcut(QKeySequence.StandardKey.New)
        new.triggered.connect(self.close_project)
        menu.addAction(new)
        self.close_action = QAction("&Close project", self)
        self.close_action.triggered.connect(self.close_project)
        menu.addAction(self.close_action)
        menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About TalkSmall Studio", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def _about(self) -> None:
        QMessageBox.about(
            self, "About TalkSmall Studio",
            f"<b>TalkSmall Studio {__version__}</b><p>Turn your company's documents into a "
            "small, private customer-support assistant that runs on your own computer.</p>")

    def _shutdown_pages(self) -> None:
        if any(page.is_busy() for page in self.step_pages.values()):
            self.statusBar().showMessage("Stopping background work…")
        self.build_dialog.shutdown()
        for page in self.step_pages.values():
            page.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_close():
            event.ignore()
            return
        if self.project is not None:
            self.set_project(None)  # stops the pages' work, closes it, and pages forget it
        else:
            self._shutdown_pages()
        event.accept()


def _short(path: Path) -> str:
    text = str(path)
    home = str(Path.home())
    if text.startswith(home):
        text = "~" + text[len(home):]
    return text if len(text) <= 38 else "…" + text[-37:]
