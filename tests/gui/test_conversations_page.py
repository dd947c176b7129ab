"""The Conversations step, driven like an operator: it opens once documents exist, the
teacher is chosen (an endpoint needs its opt-in; "Test connection" says what happened),
examples are reviewed (filters, accept / reject by button and key, edits in place), and a
real generation with the embedded teacher runs through the child job, pauses and resumes.
Real core, real sample documents; the endpoint is the fake OpenAI-compatible server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QPlainTextEdit

from core.conversations import store
from core.project import open_project
from core.sample import init_sample
from gui.main_window import MainWindow
from gui.pages.conversations import ConversationsPage
from gui.widgets.example_table import ANSWER, QUESTION
from tests.fakes.openai_server import FakeOpenAIServer, closed_port_url

GENERATE_TIMEOUT_MS = 400_000
LIMIT = 6


@pytest.fixture(scope="module")
def imported_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample company with its four documents imported (once per module)."""
    from core.documents import import_files

    folder = tmp_path_factory.mktemp("conv-template") / "kestrel"
    project = init_sample(folder)
    try:
        results = import_files(project, [project.root / "sample-documents"])
        assert [r.status for r in results] == ["imported"] * 4
    finally:
        project.close()
    return folder


@pytest.fixture(scope="module")
def generated_template(imported_template: Path, tmp_path_factory: pytest.TempPathFactory
                       ) -> Path:
    """The imported sample plus 20 items made through the fake endpoint (fast)."""
    from core.conversations.pipeline import generate_conversations
    from core.conversations.settings import GenerationSettings
    from core.teachers import endpoint_teacher
    from tests.core.conversations.scripted import helpful

    folder = tmp_path_factory.mktemp("conv-generated") / "kestrel"
    shutil.copytree(imported_template, folder)
    project = open_project(folder)
    try:
        with FakeOpenAIServer(responder=helpful) as server:
            teacher = endpoint_teacher(server.url, "fake", max_retries=0)
            try:
                generate_conversations(project, teacher,
                                       GenerationSettings(limit=20, intents=True, seed=3))
            finally:
                teacher.close()
    finally:
        project.close()
    return folder


def _window(qtbot, folder: Path) -> MainWindow:
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.open_project_folder(folder)
    assert win.project is not None and win.flow.state.profile_valid
    return win


def go_to_conversations(qtbot, win: MainWindow) -> ConversationsPage:
    steps = win.steps
    rect = steps.visualItemRect(steps.item(2))
    qtbot.mouseClick(steps.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    page = win.conversations_page
    assert win.pages.currentWidget() is page
    assert win.title.text() == "Conversations"
    return page


@pytest.fixture
def generated(qtbot, generated_template: Path, tmp_path: Path):
    folder = tmp_path / "kestrel"
    shutil.copytree(generated_template, folder)
    win = _window(qtbot, folder)
    yield win, go_to_conversations(qtbot, win)
    win.close()


def test_blocked_until_documents_are_imported(qtbot, tmp_path: Path) -> None:
    init_sample(tmp_path / "k").close()
    win = _window(qtbot, tmp_path / "k")
    assert win.flow.why_not(2) == "Import documents first."
    assert not win.steps.is_step_enabled(2)
    docs = win.documents_page
    win.go_to(1)
    with qtbot.waitSignal(docs.import_finished, timeout=180_000):
        docs.import_sample()
    assert win.steps.is_step_enabled(2) and win.flow.why_not(2) == ""
    page = go_to_conversations(qtbot, win)
    assert win.subtitle.text() == page.subtitle()
    assert page.generate_button.isEnabled()  # embedded teacher: ready as it is
    assert page.table.rowCount() == 0
    win.close()


def _ids_with(page: ConversationsPage, status: str) -> list[int]:
    return [row.id for row in page.table.rows if row.status == status]


def test_accept_reject_by_button_and_key(qtbot, generated) -> None:
    win, page = generated
    page.tabs.setCurrentIndex(1)
    kept = _ids_with(page, "kept")
    assert len(kept) >= 4
    table = page.table
    table.clearSelection()
    for example_id in kept[:2]:
        table.selectionModel().select(
            table.model().index(table.row_of(example_id), 0),
            table.selectionModel().SelectionFlag.Select
            | table.selectionModel().SelectionFlag.Rows)
    assert page.accept_button.isEnabled()
    qtbot.mouseClick(page.accept_button, Qt.MouseButton.LeftButton)
    assert {store.get_example(win.project, i).status for i in kept[:2]} == {"accepted"}

    table.setFocus()
    table.selectRow(table.row_of(kept[2]))
    qtbot.keyClick(table, Qt.Key.Key_R)
    assert store.get_example(win.project, kept[2]).status == "rejected"
    table.selectRow(table.row_of(kept[3]))
    qtbot.keyClick(table, Qt.Key.Key_A)
    assert store.get_example(win.project, kept[3]).status == "accepted"
    assert table.item(table.row_of(kept[3]), 5).text().startswith("accepted")
    # the source chunk is shown beside the selected example
    chosen = store.get_example(win.project, kept[3])
    if chosen.chunk_id is not None:
        assert chosen.document in page.source.toPlainText()
    summary = page.summary.labels["status"].text()
    assert "Accepted: 3" in summary and "Rejected: 1" in summary


def test_edit_a_turn_in_place(qtbot, generated) -> None:
    win, page = generated
    page.tabs.setCurrentIndex(1)
    table = page.table
    row = table.row_of(_ids_with(page, "kept")[0])
    example_id = table.rows[row].id
    item = table.item(row, ANSWER)
    rect = table.visualItemRect(item)
    table.setFocus()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert table.state() == QAbstractItemView.State.EditingState
    editor = table.findChild(QPlainTextEdit)
    assert editor is not None and editor.isVisible()
    editor.setPlainText("You can pay your rent online.\nIt is easy.")
    table.setFocus()  # leaving the editor commits it
    qtbot.waitUntil(lambda: store.get_example(win.project, example_id).edited)
    saved = store.get_example(win.project, example_id)
    assert saved.answer == "You can pay your rent online.\nIt is easy."
    # the question cell edits the first customer turn
    qtbot.waitUntil(lambda: table.row_of(example_id) >= 0)
    question = table.item(table.row_of(example_id), QUESTION)
    question.setText("How do I pay my rent?")
    assert store.get_example(win.project, example_id).question == "How do I pay my rent?"
    # an empty turn is refused with core's message
    qtbot.waitUntil(lambda: table.item(table.row_of(example_id), QUESTION) is not None)
    table.item(table.row_of(example_id), QUESTION).setText("   ")
    assert page.error.isVisible() and "cannot be empty" in page.error.text()
    assert store.get_example(win.project, example_id).question == "How do I pay my rent?"


def test_filters_narrow_the_table(qtbot, generated) -> None:
    win, page = generated
    everything = page.table.rowCount()
    assert everything == store.count_examples(win.project)
    page.status_filter.setCurrentIndex(page.status_filter.findData("dropped"))
    dropped = store.count_examples(win.project, status="dropped")
    assert page.table.rowCount() == dropped < everything
    assert {r.status for r in page.table.rows} <= {"dropped"}
    page.status_filter.setCurrentIndex(0)
    role = page.role_filter.itemData(1)
    page.role_filter.setCurrentIndex(1)
    assert {r.role for r in page.table.rows} == {role}
    page.role_filter.setCurrentIndex(0)
    document = page.document_filter.itemData(1)
    page.document_filter.setCurrentIndex(1)
    assert page.table.rowCount() < everything
    assert {r.document_id for r in page.table.rows} == {document}
    page.document_filter.setCurrentIndex(0)
    page.flesch_filter.setValue(90)
    assert all(r.flesch is not None and r.flesch >= 90 for r in page.table.rows)
    assert page.table.rowCount() < everything
    page.flesch_filter.setValue(0)
    if page.intent_filter.count() > 1:
        page.intent_filter.setCurrentIndex(1)
        assert {r.intent for r in page.table.rows} == {page.intent_filter.itemData(1)}
    assert "shown" in page.shown.text()


def test_export_then_import_jsonl(qtbot, generated, tmp_path: Path) -> None:
    win, page = generated
    out = tmp_path / "chat.jsonl"
    with qtbot.waitSignal(page.dataset_done, timeout=30_000) as blocker:
        page.export_file(out, "chat")
    usable = store.summary(win.project)["examples"]["usable"]
    assert f"Exported {usable} chat lines" in blocker.args[0]
    assert len(out.read_text(encoding="utf-8").splitlines()) == usable
    before = store.count_examples(win.project)
    with qtbot.waitSignal(page.dataset_done, timeout=30_000) as blocker:
        page.import_file(out, "chat")
    assert f"Imported {usable} of {usable}" in blocker.args[0]
    assert page.table.rowCount() == before + usable
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    with qtbot.waitSignal(page.dataset_done, timeout=30_000):
        page.import_file(bad, "chat")
    assert page.error.isVisible() and "bad.jsonl" in page.error.text()


def test_endpoint_needs_opt_in_and_tests_its_connection(qtbot, generated) -> None:
    win, page = generated
    panel = page.teacher
    panel.endpoint.setChecked(True)
    assert not page.generate_button.isEnabled()
    with FakeOpenAIServer() as server:
        panel.base_url.setText(server.url)
        panel.model.setText("fake-model")
        assert "Send document text" in page.why_not_generate()
        assert not page.generate_button.isEnabled()
        assert not page.generate()  # refused, with the reason shown
        assert page.error.isVisible() and "Send document text" in page.error.text()
        assert not page.runner.is_running()
        assert "on this computer" in panel.where.text()

        with qtbot.waitSignal(panel.connection_tested, timeout=30_000) as blocker:
            qtbot.mouseClick(panel.test_button, Qt.MouseButton.LeftButton)
        assert blocker.args[0] is True
        assert "Connected" in panel.test_result.text() and "fake-model" in panel.test_result.text()
        assert server.requests == 1

        panel.allow_remote.setChecked(True)
        assert page.why_not_generate() == "" and page.generate_button.isEnabled()
        assert page.teacher.spec() == {"kind": "endpoint", "base_url": server.url,
                                       "model": "fake-model", "allow_remote": True}
        panel.model.setText("other-model")  # consent was for what it was given for
        assert not panel.allow_remote.isChecked()

    panel.base_url.setText(closed_port_url())
    with qtbot.waitSignal(panel.connection_tested, timeout=60_000) as blocker:
        panel.test_connection()
    assert blocker.args[0] is False
    assert panel.test_result.text() and "Connected" not in panel.test_result.text()
    assert panel.test_button.isEnabled()
    # the choice (never the key) is kept in the project
    saved = win.project.store.get_setting("generation_teacher")
    assert saved["kind"] == "endpoint" and saved["model"] == "other-model"


@pytest.mark.slow
def test_generate_pause_resume_with_the_embedded_teacher(qtbot, imported_template: Path,
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "kestrel"
    shutil.copytree(imported_template, folder)
    win = _window(qtbot, folder)
    page = go_to_conversations(qtbot, win)
    page.limit.setValue(LIMIT)
    assert page.settings().limit == LIMIT
    assert page.generate()
    assert page.runner.is_running() and page.pause_button.isEnabled()
    assert not page.generate_button.isEnabled()
    # progress arrives and the table fills as items are made
    qtbot.waitUntil(lambda: page.bar.maximum() == LIMIT, timeout=GENERATE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: page.kept + sum(page.dropped.values()) >= 1,
                    timeout=GENERATE_TIMEOUT_MS)
    with qtbot.waitSignal(page.generation_finished, timeout=GENERATE_TIMEOUT_MS) as blocker:
        page.pause()
    assert blocker.args[0] == "cancelled"
    assert "Paused" in page.status.text()
    work = store.summary(win.project)["work"]
    assert 1 <= work["done"] < LIMIT and work["planned"] == LIMIT
    assert page.table.rowCount() == work["done"]
    assert page.generate_button.text() == "&Resume" and page.generate_button.isEnabled()
    assert "This run: kept" in page.counts.text()

    with qtbot.waitSignal(page.generation_finished, timeout=GENERATE_TIMEOUT_MS) as blocker:
        assert page.generate()
    assert blocker.args[0] == "succeeded"
    summary = store.summary(win.project)
    assert summary["work"] == {"planned": LIMIT, "done": LIMIT, "todo": 0}
    assert summary["examples"]["total"] == LIMIT  # resumed without duplicates
    assert page.table.rowCount() == LIMIT
    assert page.kept + sum(page.dropped.values()) == LIMIT - work["done"]
    assert page.generate_button.text() == "&Generate"
    assert "Done" in page.status.text()
    win.close()


@pytest.mark.slow
def test_closing_while_generating_stops_the_job(qtbot, imported_template: Path,
                                                tmp_path: Path) -> None:
    folder = tmp_path / "kestrel"
    shutil.copytree(imported_template, folder)
    win = _window(qtbot, folder)
    page = go_to_conversations(qtbot, win)
    page.limit.setValue(LIMIT)
    assert page.generate()
    qtbot.waitUntil(lambda: page.bar.maximum() == LIMIT, timeout=GENERATE_TIMEOUT_MS)
    win.close()  # shutdown() asks the job to stop and waits for it
    assert not page.runner.is_running()
    project = open_project(folder)
    try:
        work = store.summary(project)["work"]
        assert work["planned"] == LIMIT and work["done"] < LIMIT
        assert store.count_examples(project) == work["done"]
    finally:
        project.close()


def test_pairs_are_reviewed_and_edited(qtbot, generated) -> None:
    win, page = generated
    pairs = page.pairs
    assert pairs.rowCount() == store.summary(win.project)["pairs"]["total"] > 0
    first = pairs.rows[0].id
    pairs.selectRow(0)
    page._set_pair_status("rejected")
    assert store.list_pairs_by_id(win.project, [first])[0].status == "rejected"
    pairs.item(0, 2).setText("A clear, kind answer.")
    qtbot.waitUntil(lambda: store.list_pairs_by_id(win.project, [first])[0].edited)
    assert store.list_pairs_by_id(win.project, [first])[0].chosen == "A clear, kind answer."
    qtbot.waitUntil(lambda: pairs.item(0, 3) is not None)
    pairs.item(0, 3).setText("  ")
    assert "cannot be empty" in page.error.text()
    assert store.list_pairs_by_id(win.project, [first])[0].rejected.strip()


def test_start_over_asks_then_keeps_only_reviewed_examples(qtbot, generated,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    win, page = generated
    kept = _ids_with(page, "kept")
    store.accept(win.project, kept[:1])
    page.refresh()
    generated_count = sum(e.status in ("kept", "dropped") for e in store.list_examples(win.project))
    asked: list[int] = []
    answers = iter([False, True])

    def answer(count: int) -> bool:
        asked.append(count)
        return next(answers)

    monkeypatch.setattr(page, "ask_start_over", answer)
    assert page.start_over_button.isEnabled()
    qtbot.mouseClick(page.start_over_button, Qt.MouseButton.LeftButton)  # "Keep them"
    assert len(store.list_examples(win.project)) == len(page.table.rows) > 1
    qtbot.mouseClick(page.start_over_button, Qt.MouseButton.LeftButton)  # "Discard"
    assert asked == [generated_count, generated_count]
    assert [e.id for e in store.list_examples(win.project)] == kept[:1]
    assert [row.id for row in page.table.rows] == kept[:1]
    assert "Started over" in page.status.text()
    assert not page.start_over_button.isEnabled()
    assert page.generate_button.text() == "&Generate"
