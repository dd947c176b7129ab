"""The search box: type a question, see the passages the assistant would answer from.

Real core search on a small real project (two Markdown files imported with import_files);
the search runs on the thread pool, and the tests wait on signals, never sleep.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.documents import import_files, list_documents
from core.project import Project, create_project
from gui.widgets.search_box import DOCUMENT, RELEVANT, SearchBox

PETS = ("# Pets\n\nTenants may keep up to 2 pets with the owner's written consent. Pet rent is "
        "£25 a month for each pet. Assistance dogs are always allowed.\n")
KEYS = ("# Keys\n\nA replacement key costs £45. A lost fob for the block costs £25. If you are "
        "locked out outside office hours, call the emergency line and we send a locksmith.\n")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    proj = create_project(tmp_path / "p", company_name="Test Lets")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "pets.md").write_text(PETS, encoding="utf-8")
    (inbox / "keys.md").write_text(KEYS, encoding="utf-8")
    assert [r.status for r in import_files(proj, [inbox])] == ["imported", "imported"]
    yield proj
    proj.close()


@pytest.mark.slow  # loads MiniLM (torch) in the worker thread
def test_typing_a_question_shows_passages_with_scores(qtbot, project: Project) -> None:
    box = SearchBox()
    qtbot.addWidget(box)
    box.set_project(project)
    assert not box.body.isVisible()
    box.show()
    with qtbot.waitSignal(box.index_ready, timeout=120_000) as ready:
        box.setChecked(True)  # opening the panel builds the index in the background
    assert ready.args[0]["chunks"] == 2
    qtbot.keyClicks(box.query, "Can I have a dog in my flat?")
    with qtbot.waitSignal(box.results_shown, timeout=60_000) as shown:
        qtbot.keyClick(box.query, Qt.Key.Key_Return)
    hits = shown.args[0]
    assert box.results.topLevelItemCount() == len(hits) == 2
    top = box.results.topLevelItem(0)
    assert top.text(DOCUMENT) == "pets.md"
    assert top.text(RELEVANT) == "✓ relevant"
    bar = box.results.itemWidget(top, 0)
    assert bar.format() == f"{hits[0].similarity:.2f}" and bar.value() > 40
    assert "relevant" in box.status.text()

    box.query.setText("What is the capital of Peru?")
    with qtbot.waitSignal(box.results_shown, timeout=60_000) as shown:
        box.search_button.click()
    assert not any(hit.relevant for hit in shown.args[0])
    assert all(box.results.topLevelItem(i).text(RELEVANT) == "below threshold"
               for i in range(box.results.topLevelItemCount()))
    assert "hand this question over" in box.status.text()


@pytest.mark.slow
def test_a_newer_question_wins_and_forgotten_documents_vanish(qtbot, project: Project) -> None:
    from core.documents import forget_document

    box = SearchBox()
    qtbot.addWidget(box)
    box.set_project(project)
    box.query.setText("How much is a replacement key?")
    assert box.search()
    box.query.setText("Can I keep a cat?")
    with qtbot.waitSignal(box.results_shown, timeout=120_000) as shown:
        assert box.search()
    qtbot.waitUntil(lambda: not box.is_busy(), timeout=60_000)
    assert shown.args[0][0].document == "pets.md" and box.hits == shown.args[0]
    pets = next(d["id"] for d in list_documents(project) if d["name"] == "pets.md")
    forget_document(project, pets)
    with qtbot.waitSignal(box.results_shown, timeout=60_000) as shown:
        box.search()
    assert [h.document for h in shown.args[0]] == ["keys.md"]


def test_empty_question_or_no_project_says_what_to_do(qtbot, project: Project) -> None:
    box = SearchBox()
    qtbot.addWidget(box)
    with qtbot.waitSignal(box.search_failed) as failed:
        assert not box.search()
    assert "project" in failed.args[0]
    box.set_project(project)
    box.query.setText("   ")
    with qtbot.waitSignal(box.search_failed) as failed:
        assert not box.search()
    assert "question" in failed.args[0]
    assert not box.is_busy()


def test_documents_page_has_the_search_panel_closed(qtbot, project: Project) -> None:
    from gui.pages.documents import DocumentsPage

    page = DocumentsPage()
    qtbot.addWidget(page)
    page.show_project(project)
    assert page.search_box.project is project
    assert not page.search_box.isChecked() and not page.search_box.is_busy()
