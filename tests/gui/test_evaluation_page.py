"""The Evaluation & rating page, clicked and typed through on small real projects: the
question set, a real evaluation of base vs prompted on the embedded model, the answers
behind a number, and both rating screens by keyboard, ending in preference pairs that the
preference export (what an IPO / DPO run trains on) contains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt, QThreadPool

from core.conversations.datasets import export_dataset
from core.project import Project, create_project
from gui.pages.evaluation import EvaluationPage
from tests.core.chat.helpers import FEE_QUESTION, make_policies_project

PETS = "How many pets can I keep?"
STORED = {("base", "bare"): "Pets are animals. Some are big.",
          ("base", "prompted"): "You can keep up to 2 pets. Ask us first."}


def show(qtbot, project: Project) -> EvaluationPage:
    page = EvaluationPage()
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.results.table_shown, timeout=60_000):
        page.show_project(project)
    page.show()
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    return page


@pytest.fixture
def answered(tmp_path: Path):
    """Two questions and the stored answers of base and prompted (rows as evaluate stores
    them; the slow test below makes real ones)."""
    from core.evaluation import add_question
    from core.sample import sample_profile

    project = create_project(tmp_path / "kestrel", company_name="Kestrel Quay Lettings")
    project.save_profile(sample_profile())
    for question in (PETS, "Who fixes a broken boiler?"):
        qid = add_question(project, question, role="tenant").id
        with project.store.transaction() as conn:
            for (model, variant), answer in STORED.items():
                conn.execute(
                    "INSERT INTO eval_answers (model, variant, question_id, settings_hash, "
                    "settings, answer, raw) VALUES (?, ?, ?, 'h', '{}', ?, ?)",
                    (model, variant, qid, f"{answer} ({question})", answer))
    yield project
    project.close()


def test_hold_out_add_and_remove_questions(qtbot, answered: Project) -> None:
    with answered.store.transaction() as conn:
        for n in range(4):
            conn.execute(
                "INSERT INTO examples (source, role, messages, status) VALUES "
                "('faq', 'tenant', ?, 'kept')",
                (json.dumps([{"role": "user", "content": f"Question {n}?"},
                             {"role": "assistant", "content": f"It costs £{n}0."}]),))
    page = show(qtbot, answered)
    panel = page.questions
    assert panel.table.rowCount() == 2
    panel.share.setValue(25)
    with qtbot.waitSignal(page.results.table_shown, timeout=60_000):
        qtbot.mouseClick(panel.hold_button, Qt.MouseButton.LeftButton)
    assert panel.table.rowCount() == 3  # 25% of 4 tenant conversations
    assert "1 newly held out" in panel.status.text()
    sources = {panel.table.item(r, 4).text() for r in range(panel.table.rowCount())}
    assert sources == {"held out", "yours"}
    with qtbot.waitSignal(page.results.table_shown, timeout=60_000):
        assert panel.add("Can I paint my walls?", role="tenant", in_scope=True,
                         must_contain=["written consent"])
    questions = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())]
    assert "Can I paint my walls?" in questions
    assert not panel.add("  ", role="tenant")
    assert panel.error.isVisibleTo(page) and "question" in panel.error.text().lower()
    panel.table.selectRow(questions.index("Can I paint my walls?"))
    with qtbot.waitSignal(page.results.table_shown, timeout=60_000):
        qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert panel.table.rowCount() == 3
    page.shutdown()


def test_rate_by_keyboard_then_make_pairs(qtbot, answered: Project, tmp_path: Path) -> None:
    page = show(qtbot, answered)
    assert page.results.table.rowCount() == 3  # base, prompted, retrieval
    page.tabs.setCurrentIndex(2)
    assert page.rating_bar.isVisible()
    ab = page.ab
    assert ab.question.text().startswith("Type your name")
    page.set_rater("ann")
    assert answered.store.get_setting("rating.rater") == "ann"
    assert ab.models() == ["prompted", "base"]  # the evaluated models, prompted first
    ab.model_a.setCurrentText("base")
    ab.model_b.setCurrentText("prompted")
    assert ab.progress.text() == "0 of 2 rated" and ab.question.text() == PETS
    assert "prompted" not in ab.question.text()  # blind: no model names shown
    for _ in range(2):
        item = ab.current()
        key = Qt.Key.Key_1 if item.left_model == "prompted" else Qt.Key.Key_2
        qtbot.keyClick(ab, key)
    assert ab.progress.text() == "2 of 2 rated" and ab.current() is None
    assert "2 new" in page.pairs_button.text()

    page.tabs.setCurrentIndex(3)
    scale = page.scale
    assert scale.progress.text() == "0 of 4 answers rated by ann"
    first = scale.current()
    qtbot.keyClick(scale.scales["human_likeness"], Qt.Key.Key_4)
    qtbot.keyClick(scale.scales["human_likeness"], Qt.Key.Key_Tab)
    assert scale.scales["consistency"].hasFocus()
    qtbot.keyClick(scale.scales["consistency"], Qt.Key.Key_5)
    qtbot.keyClick(scale.scales["consistency"], Qt.Key.Key_Return)
    assert "relevance" in scale.error.text().lower()  # not saved until every scale is set
    qtbot.keyClick(scale.scales["consistency"], Qt.Key.Key_Tab)
    qtbot.keyClick(scale.scales["relevance"], Qt.Key.Key_2)
    scale.answer.linkActivated.emit("1")  # a click on the second sentence flags it
    qtbot.keyClick(scale.scales["relevance"], Qt.Key.Key_Return)
    assert scale.progress.text() == "1 of 4 answers rated by ann"
    assert scale.current() is not first
    stored = answered.store.query("SELECT model, scores FROM ratings WHERE kind = 'scale'")
    scores = json.loads(stored[0]["scores"])
    assert {k: scores[k] for k in ("human_likeness", "consistency", "relevance")} == {
        "human_likeness": 4, "consistency": 5, "relevance": 2}
    assert len(scores["flagged_sentences"]) == 1
    assert scores["flagged_sentences"][0] in first.answer
    assert "ann" in page.summary.label.text()

    qtbot.mouseClick(page.pairs_button, Qt.MouseButton.LeftButton)
    assert "2 preference pairs added" in page.pairs_message.text()
    assert "0 new" in page.pairs_button.text() and not page.pairs_button.isEnabled()
    path = tmp_path / "preference.jsonl"
    assert export_dataset(answered, path, "preference") == 2
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(line["chosen"][0]["content"].startswith(STORED[("base", "prompted")])
               for line in lines)
    page.shutdown()


@pytest.mark.slow
def test_evaluate_drill_down_rate_and_train_on_it(qtbot, tmp_path: Path) -> None:
    project = make_policies_project(tmp_path / "kestrel")
    page = None
    try:
        from core.evaluation import add_question

        add_question(project, FEE_QUESTION, role="tenant", reference="The late rent fee is "
                     "£30, charged when rent is 14 days or more overdue.", must_contain=["£30"])
        add_question(project, "Can I keep a cat?", role="tenant",
                     reference="Yes, with written consent.")
        page = show(qtbot, project)
        results = page.results
        results.max_tokens = 16
        page.tabs.setCurrentIndex(1)
        results.set_models(["base", "prompted"])
        assert results.models() == ["base", "prompted"]
        # About a minute on 2 idle cores; llama.cpp slows down a lot when the cores are busy.
        with qtbot.waitSignal(results.evaluated, timeout=480_000) as finished:
            qtbot.mouseClick(results.evaluate_button, Qt.MouseButton.LeftButton)
            assert page.is_busy() and "Evaluating" in page.subtitle()
        assert finished.args == ["succeeded"], results.error.text()
        qtbot.waitUntil(lambda: results.table.item(1, 0) is not None
                        and results.table.item(1, 0).text() == "2/2", timeout=120_000)
        readable = 1 + next(i for i, m in enumerate(_metrics()) if m.key == "similarity")
        assert all(results.table.item(r, readable).text() != "-" for r in (0, 1))
        assert any(results.table.item(r, readable).font().bold() for r in (0, 1))
        assert results.chart.rows and results.chart.rows[0][0] == "base"
        with qtbot.waitSignal(results.answers_shown, timeout=60_000) as opened:
            results.table.cellDoubleClicked.emit(1, readable)
        dialog = opened.args[0]
        assert len(dialog.details) == 2 and dialog.details[0].label == "prompted"
        assert dialog.details[0].scores["similarity"] <= dialog.details[1].scores["similarity"]
        dialog.close()
        page.activateWindow()  # the rating keys are shortcuts of the page's window
        qtbot.waitUntil(page.isActiveWindow)
        opened_urls = []
        results.open_url = opened_urls.append
        report = results.open_report()
        assert report is not None and report.is_file() and opened_urls

        page.tabs.setCurrentIndex(2)
        page.set_rater("bob")
        page.ab.model_a.setCurrentText("base")
        page.ab.model_b.setCurrentText("prompted")
        assert page.ab.progress.text() == "0 of 2 rated"
        for _ in range(2):
            key = Qt.Key.Key_Left if page.ab.current().left_model == "prompted" \
                else Qt.Key.Key_Right
            qtbot.keyClick(page.ab, key)
        assert page.ab.progress.text() == "2 of 2 rated"
        assert page.make_pairs() >= 1
        path = tmp_path / "preference.jsonl"
        assert export_dataset(project, path, "preference") >= 1
        first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert first["prompt"][-1]["content"] in (FEE_QUESTION, "Can I keep a cat?")
    finally:
        if page is not None:
            page.shutdown()
        QThreadPool.globalInstance().waitForDone(120_000)  # table reads use the project
        QCoreApplication.processEvents()
        project.close()


def _metrics():
    from core.evaluation import METRICS

    return METRICS
