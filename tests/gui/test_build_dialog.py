""""Build my assistant" from the main window: the plan and its estimate, the whole pipeline on
the tiny plan, the release gates stopping the export, and the explicit override."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThreadPool

from core.documents import import_files
from core.evaluation.questions import add_question
from core.pipeline.state import load_state, new_state, save_state
from core.sample import init_sample
from gui.main_window import MainWindow

BUILD_TIMEOUT_MS = 1_500_000  # the tiny plan takes minutes on 2 busy cores


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    folder = tmp_path / "kestrel"
    project = init_sample(folder)
    try:
        results = import_files(project, [folder / "sample-documents" / "policies.md",
                                         folder / "sample-documents" / "faq.docx"])
        assert {r.status for r in results} == {"imported"}
    finally:
        project.close()
    return folder


def _window(qtbot, folder: Path | None) -> MainWindow:
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    if folder is not None:
        win.open_project_folder(folder)
        assert win.project is not None
    return win


def test_the_button_waits_for_documents_and_shows_the_plan(qtbot, tmp_path: Path):
    win = _window(qtbot, None)
    assert not win.build_button.isEnabled()
    empty = tmp_path / "empty"
    init_sample(empty).close()  # profile filled in, no document imported yet
    win.open_project_folder(empty)
    assert not win.build_button.isEnabled()
    assert win.build_button.toolTip() == "Import documents first."


def test_plan_estimate_and_a_saved_state_offer_continue(qtbot, sample: Path):
    win = _window(qtbot, sample)
    assert win.build_button.isEnabled()
    qtbot.mouseClick(win.build_button, Qt.MouseButton.LeftButton)
    dialog = win.build_dialog
    assert dialog.isVisible() and dialog.start_button.text() == "&Build my assistant"
    dialog.plan_box.setCurrentIndex(dialog.plan_box.findData("cpu"))
    assert "Estimated time: about" in dialog.estimate.text()
    assert dialog.table.item(2, 0).text() == "Teach the tone (SFT)"
    assert dialog.table.item(2, 1).text().startswith("about")
    # a build paused earlier (or killed) is offered as Continue, with its plan fixed
    state = new_state("ci")
    state["status"] = "paused"
    state["stages"]["documents"]["status"] = "done"
    state["stages"]["conversations"]["status"] = "running"  # its process is gone
    save_state(win.project, state)
    dialog.refresh()
    assert dialog.start_button.text() == "&Continue"
    assert dialog.plan_name() == "ci"
    assert not dialog.plan_box.isEnabled()
    assert dialog.table.item(0, 2).text() == "✓ done"
    assert dialog.table.item(1, 2).text() == "paused"
    state["status"], state["error"] = "blocked", "The IPO model does not pass the gates."
    save_state(win.project, state)
    dialog.refresh()
    assert dialog.override_button.isVisibleTo(dialog)
    assert "does not pass" in dialog.error.text()


@pytest.mark.slow
def test_build_on_the_tiny_plan_stops_at_the_gates_then_exports_with_the_override(
        qtbot, sample: Path):
    win = _window(qtbot, sample)
    # a golden question no tiny model can pass: the build must stop before exporting
    add_question(win.project, "How much is the late rent fee?", role="tenant",
                 must_contain=["£987654"])
    qtbot.mouseClick(win.build_button, Qt.MouseButton.LeftButton)
    dialog = win.build_dialog
    dialog.plan_box.setCurrentIndex(dialog.plan_box.findData("ci"))
    with qtbot.waitSignal(dialog.build_finished, timeout=BUILD_TIMEOUT_MS) as done:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        assert dialog.pause_button.isEnabled() and not dialog.start_button.isEnabled()
    assert done.args == ["failed"]
    state = load_state(win.project)
    assert state["status"] == "blocked"
    assert state["stages"]["export"]["status"] == "blocked"
    assert [state["stages"][s]["status"] for s in ("documents", "conversations", "sft",
                                                   "evaluate")] == ["done"] * 4
    assert "Golden questions" in dialog.error.text()
    assert dialog.override_button.isVisible()
    assert not any(Path(win.project.exports_dir).iterdir())

    dialog.confirm_override = lambda: True
    with qtbot.waitSignal(dialog.build_finished, timeout=BUILD_TIMEOUT_MS) as done:
        qtbot.mouseClick(dialog.override_button, Qt.MouseButton.LeftButton)
    assert done.args == ["succeeded"]
    state = load_state(win.project)
    export = Path(state["export"])
    assert (export / "model-f16.gguf").stat().st_size > 100_000_000
    assert state["stages"]["export"]["overridden"] is True
    assert dialog.table.item(5, 2).text() == "✓ done"
    assert "Your assistant is ready" in dialog.detail.text()
    assert dialog.overall.value() == 1000
    # the wizard's pages now show what the build made, the gates included
    panel = win.export_page.export_panel
    assert panel.run_box.count() >= 1
    qtbot.waitUntil(lambda: panel.gates.report is not None, timeout=120_000)
    assert "FAILED" in panel.gates.verdict.text()  # the golden question still fails
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0,
                    timeout=120_000)
