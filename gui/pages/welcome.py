"""Project step, before a project is open: create one, try the sample, or open a recent one."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import TalkSmallError
from core.project import Project, create_project, lock_opened, open_locked, recent_projects
from core.sample import init_sample


class WelcomeView(QWidget):
    """Emits ``project_opened`` with an open ``Project``; shows every failure in place."""

    project_opened = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(16)

        create = QGroupBox("New project")
        form = QFormLayout(create)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("A new or empty folder for this assistant")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_new)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        form.addRow("Folder", row)
        self.company_edit = QLineEdit()
        self.company_edit.setPlaceholderText("e.g. Harbourview Lettings")
        form.addRow("Company name", self.company_edit)
        buttons = QHBoxLayout()
        self.create_button = QPushButton("Create project")
        self.create_button.setObjectName("primary")
        self.create_button.clicked.connect(self.create_clicked)
        self.sample_button = QPushButton("Create with the sample company")
        self.sample_button.setToolTip(
            "A fictional property-rental business with a handbook, an FAQ, policies and "
            "support tickets, to try every step on.")
        self.sample_button.clicked.connect(self.sample_clicked)
        buttons.addWidget(self.create_button)
        buttons.addWidget(self.sample_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        self.create_error = QLabel()
        self.create_error.setObjectName("fieldError")
        self.create_error.setWordWrap(True)
        form.addRow(self.create_error)
        intro = QLabel(
            "A project is one folder holding your documents, the conversations made from "
            "them, training runs and exported models. Nothing leaves this computer unless "
            "you choose a remote teacher later.")
        intro.setObjectName("hint")
        intro.setWordWrap(True)
        form.addRow(intro)
        layout.addWidget(create, 3)

        recent = QGroupBox("Open a project")
        column = QVBoxLayout(recent)
        self.recent_list = QListWidget()
        self.recent_list.itemActivated.connect(self._open_item)
        self.recent_list.itemDoubleClicked.connect(self._open_item)
        column.addWidget(QLabel("Recent projects"))
        column.addWidget(self.recent_list, 1)
        open_row = QHBoxLayout()
        self.open_recent_button = QPushButton("Open selected")
        self.open_recent_button.clicked.connect(
            lambda: self._open_item(self.recent_list.currentItem()))
        open_other = QPushButton("Open another folder…")
        open_other.clicked.connect(self._browse_open)
        open_row.addWidget(self.open_recent_button)
        open_row.addWidget(open_other)
        open_row.addStretch(1)
        column.addLayout(open_row)
        self.open_error = QLabel()
        self.open_error.setObjectName("fieldError")
        self.open_error.setWordWrap(True)
        column.addWidget(self.open_error)
        layout.addWidget(recent, 2)
        self.refresh_recent()

    # --- actions ----------------------------------------------------------------
    def create_clicked(self) -> None:
        self._create(sample=False)

    def sample_clicked(self) -> None:
        self._create(sample=True)

    def open_folder(self, folder: str | Path) -> None:
        """Open with the window lock: a project open in another window is refused here."""
        self.open_error.clear()
        try:
            project = open_locked(folder)
        except TalkSmallError as exc:
            self.open_error.setText(str(exc))
            return
        self.project_opened.emit(project)

    def refresh_recent(self) -> None:
        self.recent_list.clear()
        for entry in recent_projects():
            label = f"{entry.get('name') or Path(entry['path']).name}\n{entry['path']}"
            item = QListWidgetItem(label if entry["exists"] else label + "   (missing)")
            item.setData(Qt.ItemDataRole.UserRole, entry["path"])
            if not entry["exists"]:
                item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent_list.addItem(item)
        if self.recent_list.count() == 0:
            item = QListWidgetItem("No recent projects yet.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent_list.addItem(item)
        self.open_recent_button.setEnabled(any(
            e["exists"] for e in recent_projects()))

    # --- helpers ----------------------------------------------------------------
    def _create(self, sample: bool) -> None:
        self.create_error.clear()
        folder = self.folder_edit.text().strip()
        if not folder:
            self.create_error.setText("Choose a folder for the project (Browse…).")
            self.folder_edit.setProperty("invalid", True)
            self.folder_edit.style().polish(self.folder_edit)
            return
        self.folder_edit.setProperty("invalid", False)
        self.folder_edit.style().polish(self.folder_edit)
        name = self.company_edit.text().strip()
        project: Project
        try:
            if sample:
                project = lock_opened(init_sample(folder, company_name=name))
            else:
                project = lock_opened(create_project(folder, company_name=name))
        except TalkSmallError as exc:
            self.create_error.setText(str(exc))
            return
        self.project_opened.emit(project)

    def _browse_new(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the new project")
        if folder:
            self.folder_edit.setText(folder)

    def _browse_open(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a TalkSmall project folder")
        if folder:
            self.open_folder(folder)

    def _open_item(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        path = item.data(Qt.ItemDataRole.UserRole)
        if path:
            self.open_folder(path)
