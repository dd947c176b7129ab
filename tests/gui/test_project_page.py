"""The Project step, clicked through: create, fill the profile, hit a validation error,
close, reopen from the recent list, and find every value; bad folders; models."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.project import open_project
from core.project.store import DB_NAME
from gui.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def _create(qtbot, window: MainWindow, folder: Path, company: str = "") -> None:
    welcome = window.project_page.welcome
    welcome.folder_edit.setText(str(folder))
    if company:
        qtbot.keyClicks(welcome.company_edit, company)
    qtbot.mouseClick(welcome.create_button, Qt.MouseButton.LeftButton)


def test_sidebar_lists_six_steps_and_says_why_they_wait(window: MainWindow) -> None:
    assert window.steps.count() == 6
    assert window.steps.is_step_enabled(0)
    assert not any(window.steps.is_step_enabled(i) for i in range(1, 6))
    tip = window.steps.item(4).toolTip()  # every step is built: the tooltip says what and why
    assert "Compare models" in tip and "Create or open a project first." in tip
    assert not window.next_button.isEnabled()


def test_create_fill_validate_close_reopen(qtbot, window: MainWindow, tmp_path: Path) -> None:
    _create(qtbot, window, tmp_path / "acme", "Acme Lettings")
    assert window.project is not None
    form = window.project_page.form
    assert form.company_name.text() == "Acme Lettings"
    assert form.isVisible()
    assert window.windowTitle() == "Acme Lettings — TalkSmall Studio"

    qtbot.keyClicks(form.description,
                    "We let and manage family homes for private landlords in Leeds.")
    form.customer_roles.clear()
    qtbot.keyClicks(form.customer_roles, "tenant, landlord")
    form.tone_target.setValue(70)
    qtbot.keyClicks(form.policies, "The late rent fee is £30 after 5 days.")
    qtbot.waitUntil(lambda: form.saved_label.text() == "All changes saved.", timeout=3000)
    assert "landlord" in form.preview.toPlainText()
    assert "Flesch reading ease" in form.preview_stats.text()
    assert window.flow.state.profile_valid

    # A validation error: a reserved role name is refused with a message on that field.
    form.customer_roles.clear()
    qtbot.keyClicks(form.customer_roles, "tenant, system")
    error = form.errors["customer_roles"]
    assert error.isVisible() and "reserved" in error.text()
    assert not window.flow.state.profile_valid
    form.customer_roles.clear()
    qtbot.keyClicks(form.customer_roles, "tenant, landlord")
    assert not error.isVisible()
    qtbot.waitUntil(lambda: not form.has_pending_save(), timeout=3000)

    window.close_action.trigger()
    assert window.project is None
    assert window.windowTitle() == "TalkSmall Studio"
    welcome = window.project_page.welcome
    first = welcome.recent_list.item(0)
    assert "Acme Lettings" in first.text()
    welcome.recent_list.setCurrentItem(first)
    qtbot.mouseClick(welcome.open_recent_button, Qt.MouseButton.LeftButton)

    assert window.project is not None
    assert form.company_name.text() == "Acme Lettings"
    assert form.description.toPlainText().startswith("We let and manage family homes")
    assert form.customer_roles.text() == "tenant, landlord"
    assert form.tone_target.value() == 70
    assert form.policies.toPlainText() == "The late rent fee is £30 after 5 days."


def test_closing_the_window_saves_what_was_typed(qtbot, window: MainWindow,
                                                 tmp_path: Path) -> None:
    _create(qtbot, window, tmp_path / "p", "Quick Close Ltd")
    qtbot.keyClicks(window.project_page.form.policies, "Keys cost £15 to replace.")
    window.close()  # before the save timer fires
    project = open_project(tmp_path / "p")
    assert project.profile().policies == "Keys cost £15 to replace."
    project.close()


def test_create_without_folder_shows_error(qtbot, window: MainWindow) -> None:
    qtbot.mouseClick(window.project_page.welcome.create_button, Qt.MouseButton.LeftButton)
    assert "Choose a folder" in window.project_page.welcome.create_error.text()
    assert window.project is None


def test_create_in_existing_project_shows_error(qtbot, window: MainWindow,
                                                tmp_path: Path) -> None:
    _create(qtbot, window, tmp_path / "p", "First")
    window.close_action.trigger()
    _create(qtbot, window, tmp_path / "p", "Second")
    assert window.project is None
    assert "already holds" in window.project_page.welcome.create_error.text()


def test_opening_a_damaged_project_explains_and_keeps_the_file(
        window: MainWindow, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / DB_NAME).write_bytes(b"garbage" * 50)
    window.open_project_folder(folder)
    assert window.project is None
    assert "damaged or not a database" in window.project_page.welcome.open_error.text()
    assert (folder / DB_NAME).read_bytes() == b"garbage" * 50


def test_sample_company_opens_with_a_valid_profile(qtbot, window: MainWindow,
                                                   tmp_path: Path) -> None:
    welcome = window.project_page.welcome
    welcome.folder_edit.setText(str(tmp_path / "sample"))
    qtbot.mouseClick(welcome.sample_button, Qt.MouseButton.LeftButton)
    assert window.project is not None
    assert window.flow.state.profile_valid
    assert window.project_page.form.policies.toPlainText().strip()


def test_models_panel_lists_embedded_and_rejects_a_fake_gguf(qtbot, window: MainWindow,
                                                             tmp_path: Path) -> None:
    _create(qtbot, window, tmp_path / "p", "Models Ltd")
    panel = window.project_page.models
    assert panel.table.rowCount() == 1
    assert panel.table.item(0, 1).text() == "SmolLM2-135M-Instruct"
    assert panel.table.item(0, 0).text() == "●"
    fake = tmp_path / "model.gguf"
    fake.write_text("not a model")
    panel.add_model(fake)
    qtbot.waitUntil(lambda: "not a GGUF" in panel.status.text(), timeout=10000)
    assert panel.table.rowCount() == 1
