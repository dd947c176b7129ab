"""The Documents step, driven like an operator: open the sample company, go to Documents in
the sidebar, add files (by the page's method and by a real drop), read the statuses, open
the viewer, un-redact and always-redact, forget a document, cancel an import, map ticket
columns. Real core, real files."""

from __future__ import annotations

import shutil
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QTextCursor
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox

from core import documents
from core.documents import importer
from core.documents.redact import PLACEHOLDERS
from core.sample import init_sample, sample_documents
from gui.dialogs.confirm_forget import ConfirmForgetDialog
from gui.dialogs.ticket_mapping import TicketMappingDialog
from gui.main_window import MainWindow
from gui.pages.documents import DocumentsPage
from gui.widgets import redaction_colours as colours
from gui.widgets.document_table import DETAILS, STATUS

IMPORT_TIMEOUT_MS = 180_000
SAMPLE = {path.name: path for path in sample_documents()}


@pytest.fixture
def window(qtbot, tmp_path: Path):
    """The app with the sample company open (a valid profile), on the Project step."""
    folder = tmp_path / "kestrel"
    init_sample(folder).close()
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.open_project_folder(folder)
    assert win.project is not None and win.flow.state.profile_valid
    yield win
    win.close()


def go_to_documents(qtbot, window: MainWindow) -> DocumentsPage:
    steps = window.steps
    rect = steps.visualItemRect(steps.item(1))
    qtbot.mouseClick(steps.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    page = window.documents_page
    assert window.pages.currentWidget() is page
    return page


def import_and_wait(qtbot, page: DocumentsPage, paths: list) -> list:
    with qtbot.waitSignal(page.import_finished, timeout=IMPORT_TIMEOUT_MS) as blocker:
        assert page.import_paths(paths)
    return blocker.args[0]


def when_modal(dialog_type: type, act: Callable[[QDialog], None]) -> list[QDialog]:
    """Run ``act`` on the next modal dialog of this type once it is showing."""
    seen: list[QDialog] = []

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, dialog_type) and dialog.isVisible():
            seen.append(dialog)
            act(dialog)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    return seen


def body_text(page: DocumentsPage) -> str:
    """The viewer's text without the chunk separators (which name sections)."""
    return "\n".join(line for line in page.viewer.text.toPlainText().splitlines()
                     if not line.startswith("  Chunk "))


def drop(page: DocumentsPage, paths: list[Path]) -> None:
    """A real drag-enter and drop of file URLs onto the page."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = QPoint(page.width() // 2, page.height() // 2)
    with warnings.catch_warnings():  # PySide6 6.12 prefers a QPointF that 6.11 refuses
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(point), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, event)
    assert event.isAccepted()


def test_documents_step_is_entered_from_the_sidebar(qtbot, tmp_path: Path) -> None:
    win = MainWindow()
    qtbot.addWidget(win)
    assert not win.steps.is_step_enabled(1)  # no project yet
    assert "project first" in win.flow.why_not(1)
    assert not any(win.steps.is_step_enabled(i) for i in range(2, 6))
    init_sample(tmp_path / "k").close()
    win.open_project_folder(tmp_path / "k")
    assert win.steps.is_step_enabled(1) and win.next_button.isEnabled()
    page = go_to_documents(qtbot, win)
    assert win.title.text() == "Documents"
    assert win.subtitle.text() == page.subtitle()
    assert win.flow.why_not(2) == "Import documents first."
    qtbot.mouseClick(win.back_button, Qt.MouseButton.LeftButton)
    assert win.pages.currentWidget() is win.project_page
    win.close()


def test_import_shows_imported_duplicate_and_failed(qtbot, window: MainWindow,
                                                    tmp_path: Path) -> None:
    page = go_to_documents(qtbot, window)
    assert page.table_stack.currentWidget() is page.drop_zone
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    copy = tmp_path / "policies copy.md"
    shutil.copy(SAMPLE["policies.md"], copy)
    results = import_and_wait(qtbot, page, [SAMPLE["policies.md"], SAMPLE["faq.docx"],
                                            SAMPLE["tickets.csv"], copy, empty])
    assert [r.status for r in results] == [
        "imported", "imported", "imported", "duplicate", "failed"]
    assert page.summary.text() == "Last import: 3 imported, 1 duplicate, 1 failed."

    table = page.table
    assert table.status_of("policies.md") == "imported"
    assert table.status_of("policies copy.md") == "duplicate"
    assert table.status_of("empty.txt") == "failed"
    failed = table.row_named("empty.txt")
    assert "empty" in table.item(failed, DETAILS).text()
    assert "empty" in table.item(failed, STATUS).toolTip()
    assert "same content as policies.md" in table.item(
        table.row_named("policies copy.md"), DETAILS).text()
    tickets = table.rows[table.row_named("tickets.csv")]
    assert tickets["kind"] == "tickets" and tickets["chunks"] > 10
    assert tickets["redactions"] > 20  # the planted personal data
    assert table.item(table.row_named("tickets.csv"), 3).text().endswith("rows")
    assert not page.progress.isVisible()


def test_a_real_drop_of_a_folder_imports_its_files(qtbot, window: MainWindow,
                                                   tmp_path: Path) -> None:
    page = go_to_documents(qtbot, window)
    folder = tmp_path / "dropped"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.md").write_text("# Keys\n\nSpare keys cost £15. Call Dana Whitfield on "
                                     "07700 900123.\n", encoding="utf-8")
    (folder / "sub" / "hours.txt").write_text("The office opens at 9am.\n", encoding="utf-8")
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    with qtbot.waitSignal(page.import_finished, timeout=IMPORT_TIMEOUT_MS) as blocker:
        drop(page, [folder])
    assert sorted(r.name for r in blocker.args[0]) == ["hours.txt", "notes.md"]
    assert page.table.status_of("notes.md") == "imported"
    assert page.table.status_of("hours.txt") == "imported"


def test_viewer_highlights_unredacts_and_always_redacts(qtbot, window: MainWindow,
                                                       tmp_path: Path) -> None:
    page = go_to_documents(qtbot, window)
    import_and_wait(qtbot, page, [SAMPLE["tickets.csv"]])
    row = page.table.row_named("tickets.csv")
    page.table.setFocus()
    page.table.selectRow(row)
    qtbot.keyClick(page.table, Qt.Key.Key_Return)  # Enter opens the viewer
    viewer = page.viewer
    assert page.stack.currentWidget() is viewer
    assert window.subtitle.text() == page.subtitle() and "Only you" in page.subtitle()

    email = next(r for r in viewer.redactions if r["kind"] == "email" and r["active"])
    viewer.select_redaction(email["id"])
    anchor = next(a for a in viewer.text.anchors if a.redaction["id"] == email["id"])
    cursor = QTextCursor(viewer.text.document())
    cursor.setPosition(anchor.start + 1)
    assert cursor.charFormat().background().color() == colours.background("email")
    assert viewer.text.toPlainText()[anchor.start:anchor.end] == email["original"]
    assert "Email" in viewer.redaction_list.currentItem().text()

    viewer.set_redacted_view(True)  # as the assistant sees it
    shown = viewer.text.toPlainText()
    assert email["original"] not in shown and PLACEHOLDERS["email"] in shown
    assert "Chunk 1 of" in shown and "tokens" in shown  # chunk boundaries are visible
    assert viewer.unredact_button.isEnabled()
    qtbot.mouseClick(viewer.unredact_button, Qt.MouseButton.LeftButton)
    assert email["original"] in viewer.text.toPlainText()
    assert "Un-redacted" in viewer.status.text()
    stored = [r for c in documents.document_chunks(window.project, page.table.rows[row]["id"])
              for r in c["redactions"] if r["id"] == email["id"]]
    assert stored and stored[0]["active"] is False
    qtbot.mouseClick(viewer.redact_button, Qt.MouseButton.LeftButton)
    assert email["original"] not in viewer.text.toPlainText()

    # Always redact a word that is not personal data, typed into the rules box.
    assert "boiler" in body_text(page)
    viewer.term_edit.clear()
    qtbot.keyClicks(viewer.term_edit, "boiler")
    with qtbot.waitSignal(viewer.changed, timeout=30_000):
        qtbot.mouseClick(viewer.always_button, Qt.MouseButton.LeftButton)
    assert "boiler" not in body_text(page).lower()
    assert PLACEHOLDERS["term"] in body_text(page)
    assert "always redacted" in viewer.status.text()
    assert "boiler" in viewer.rules_label.text()
    assert any(r["kind"] == "term" for r in viewer.redactions)

    # Never redact it again: the spans are lifted.
    viewer.term_edit.setText("boiler")
    with qtbot.waitSignal(viewer.changed, timeout=30_000):
        qtbot.mouseClick(viewer.never_button, Qt.MouseButton.LeftButton)
    assert "boiler" in body_text(page)

    # An error from core is shown in place, not as a traceback.
    viewer.term_edit.setText("x")
    qtbot.mouseClick(viewer.always_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: viewer.error.isVisible(), timeout=10_000)
    assert "at least 2 characters" in viewer.error.text()

    qtbot.keyClick(viewer.text, Qt.Key.Key_Escape)
    assert page.stack.currentWidget() is not viewer


def test_forget_asks_with_the_counts_then_removes(qtbot, window: MainWindow) -> None:
    page = go_to_documents(qtbot, window)
    import_and_wait(qtbot, page, [SAMPLE["policies.md"], SAMPLE["faq.docx"]])
    project = window.project
    doc = page.table.rows[page.table.row_named("policies.md")]
    impact = documents.forget_impact(project, doc["id"])
    stored_files = sorted(p.name for p in project.files_dir.iterdir())

    # "Keep it" keeps it.
    page.table.selectRow(page.table.row_named("policies.md"))
    when_modal(ConfirmForgetDialog, lambda d: d.keep_button.click())
    qtbot.mouseClick(page.forget_button, Qt.MouseButton.LeftButton)
    assert page.table.row_named("policies.md") >= 0

    messages: list[str] = []

    def forget(dialog: QDialog) -> None:
        messages.append(dialog.message.text())
        dialog.forget_button.click()

    seen = when_modal(ConfirmForgetDialog, forget)
    qtbot.mouseClick(page.forget_button, Qt.MouseButton.LeftButton)
    assert seen, "the confirmation was not shown"
    assert f"{impact['chunks']} chunks" in messages[0]
    assert f"{impact['redactions']} redaction" in messages[0] or not impact["redactions"]
    assert page.table.row_named("policies.md") == -1
    assert page.table.row_named("faq.docx") >= 0
    assert [d["name"] for d in documents.list_documents(project)] == ["faq.docx"]
    assert len(list(project.files_dir.iterdir())) == len(stored_files) - 1
    assert page.summary.text().startswith("Forgot policies.md")


def test_cancel_midway_marks_the_rest_cancelled_and_resumes(
        qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = go_to_documents(qtbot, window)
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(120):
        (folder / f"note-{i:03}.txt").write_text(
            f"Note {i}. The bins go out on day {i % 7}. " * 20, encoding="utf-8")

    # The import thread waits before its fourth file until the click has landed, so a fast
    # machine cannot finish all 120 files before the queued progress signal reaches the GUI.
    clicked = threading.Event()
    started = iter(range(1_000_000))
    import_one = importer._import_one

    def import_one_after_the_click(*args, **kwargs):
        if next(started) == 3:
            clicked.wait(timeout=60)
        return import_one(*args, **kwargs)

    monkeypatch.setattr(importer, "_import_one", import_one_after_the_click)

    def cancel_after_a_few(done: int, _total: int, _name: str) -> None:
        if done >= 3 and page.progress.cancel_button.isEnabled() and not clicked.is_set():
            assert page.progress.isVisible() and "left" in page.progress.label.text()
            qtbot.mouseClick(page.progress.cancel_button, Qt.MouseButton.LeftButton)
            clicked.set()

    page.import_progressed.connect(cancel_after_a_few)
    results = import_and_wait(qtbot, page, [folder])
    page.import_progressed.disconnect(cancel_after_a_few)
    monkeypatch.undo()
    statuses = [r.status for r in results]
    assert len(statuses) == 120
    assert 3 <= statuses.count("imported") < 120
    assert statuses.count("cancelled") == 120 - statuses.count("imported")
    assert "cancelled" in page.summary.text()
    assert page.table.status_of(results[-1].name) == "cancelled"
    imported = statuses.count("imported")

    again = import_and_wait(qtbot, page, [folder])  # resumes: no second copies
    assert [r.status for r in again].count("duplicate") == imported
    assert [r.status for r in again].count("imported") == 120 - imported
    names = [d["name"] for d in documents.list_documents(window.project)]
    assert len(names) == len(set(names)) == 120


def test_ticket_mapping_dialog_shows_the_guess_and_asks_for_unknown_columns(
        qtbot, window: MainWindow, tmp_path: Path) -> None:
    page = go_to_documents(qtbot, window)
    page.check_columns.setChecked(True)
    chosen: dict[str, str] = {}

    def check_guess(dialog: QDialog) -> None:
        chosen.update({field: combo.currentText() for field, combo in dialog.combos.items()})
        chosen["rows"] = str(dialog.preview.rowCount())
        dialog.accept()

    when_modal(TicketMappingDialog, check_guess)
    results = import_and_wait(qtbot, page, [SAMPLE["tickets.csv"]])
    assert chosen == {"customer_message": "customer_message", "agent_reply": "agent_reply",
                      "ticket_id": "ticket_id", "date": "created_at",
                      "role": "customer_role", "subject": "subject", "rows": "5"}
    assert results[0].status == "imported"

    # Columns nobody could guess: the dialog asks, OK waits for the two message columns.
    odd = tmp_path / "export.csv"
    odd.write_text("ref;q;a\n1;My sink leaks, help;A plumber comes on Monday.\n"
                   "2;Can I paint the walls?;Yes, in neutral colours.\n", encoding="utf-8")
    page.check_columns.setChecked(False)

    def choose(dialog: QDialog) -> None:
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert not ok.isEnabled() and "Choose the customer message" in dialog.error.text()
        dialog.combos["customer_message"].setCurrentText("q")
        dialog.combos["agent_reply"].setCurrentText("q")
        assert not ok.isEnabled() and "different" in dialog.error.text()
        dialog.combos["agent_reply"].setCurrentText("a")
        assert ok.isEnabled()
        dialog.accept()

    seen = when_modal(TicketMappingDialog, choose)
    results = import_and_wait(qtbot, page, [odd])
    assert seen and results[0].status == "imported" and results[0].chunks == 2

    # Skipped: the file fails with core's message and can be mapped later from its row.
    other = tmp_path / "other.csv"
    other.write_text("x,y\nhello there,hi\n", encoding="utf-8")
    when_modal(TicketMappingDialog, lambda d: d.reject())
    results = import_and_wait(qtbot, page, [other])
    assert results[0].status == "failed" and "choose the columns" in results[0].message
    page.table.selectRow(page.table.row_named("other.csv"))
    assert page.map_button.isEnabled()

    def map_it(dialog: QDialog) -> None:
        dialog.combos["customer_message"].setCurrentText("x")
        dialog.combos["agent_reply"].setCurrentText("y")
        dialog.accept()

    when_modal(TicketMappingDialog, map_it)
    with qtbot.waitSignal(page.import_finished, timeout=IMPORT_TIMEOUT_MS):
        qtbot.mouseClick(page.map_button, Qt.MouseButton.LeftButton)
    assert page.table.status_of("other.csv") == "imported"


def test_file_size_limit_is_a_setting(qtbot, window: MainWindow, tmp_path: Path) -> None:
    page = go_to_documents(qtbot, window)
    assert page.max_mb.value() == 50
    page.max_mb.setValue(1)
    assert documents.import_settings(window.project)["max_file_mb"] == 1.0
    big = tmp_path / "big.txt"
    big.write_text("Rent is due on the first of the month.\n" * 40_000, encoding="utf-8")
    results = import_and_wait(qtbot, page, [big])
    assert results[0].status == "failed" and "limit" in results[0].message
    assert "limit" in page.table.item(page.table.row_named("big.txt"), DETAILS).text()


def test_closing_during_an_import_stops_it(qtbot, window: MainWindow, tmp_path: Path) -> None:
    page = go_to_documents(qtbot, window)
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        (folder / f"n{i}.txt").write_text(f"Note number {i}. " * 50, encoding="utf-8")
    assert page.import_paths([folder])
    assert page.is_busy()
    window.close()  # the conftest fails the test if the import thread is still running
    assert not page.is_busy()
    assert window.project is None


def test_redrawing_the_viewer_keeps_python_alive(qtbot, window: MainWindow) -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to None on every call of a Qt method
    that returns nothing; the viewer makes ~1,700 such calls per redraw of the sample tickets,
    so a few dozen redraws abort the app ("deallocating None"). PySide6 6.11 does not."""
    import sys

    page = go_to_documents(qtbot, window)
    import_and_wait(qtbot, page, [SAMPLE["tickets.csv"]])
    page.open_document(page.table.rows[page.table.row_named("tickets.csv")])
    before = sys.getrefcount(None)
    for redacted in (True, False, True, False):
        page.viewer.set_redacted_view(redacted)
    assert sys.getrefcount(None) > before - 500, "Qt calls are leaking references to None"


def test_an_import_cut_off_by_a_crash_resumes_when_the_project_opens(qtbot,
                                                                      tmp_path: Path) -> None:
    from core.documents import import_files, list_documents
    from core.project import open_project

    folder = tmp_path / "crashed"
    project = init_sample(folder)
    policies = folder / "sample-documents" / "policies.md"
    [done] = import_files(project, [policies])
    # What a kill between the document row and its chunks' transaction leaves behind.
    with project.store.transaction() as conn:
        conn.execute("DELETE FROM chunks WHERE document_id = ?", (done.document_id,))
        conn.execute("UPDATE documents SET status = 'importing' WHERE id = ?",
                     (done.document_id,))
    project.close()

    win = MainWindow()
    qtbot.addWidget(win)
    page = win.documents_page
    with qtbot.waitSignal(page.import_finished, timeout=IMPORT_TIMEOUT_MS):
        win.open_project_folder(folder)
    win.close()
    project = open_project(folder)
    [row] = list_documents(project)
    assert row["status"] == "imported" and row["chunks"] == done.chunks
    project.close()
