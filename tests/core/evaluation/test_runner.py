"""End to end on the embedded model: base vs prompted on three questions of the sample
company, stored as they come; a re-run, the CLI and the job reuse them; cancelling keeps
what was made; the report shows them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.evaluation import EvalSettings, EvalTable, answers_for, eval_table, evaluate
from core.evaluation.questions import import_questions
from core.project import Project
from tests.core.chat.helpers import FEE_QUESTION, OFF_TOPIC, make_policies_project

pytestmark = pytest.mark.slow

SETTINGS = EvalSettings(max_tokens=24)
PETS = "How many pets can I keep in my flat?"
QUESTIONS = [
    {"question": FEE_QUESTION, "reference": "The late rent fee is £30, charged when rent is "
     "14 days or more overdue.", "role": "tenant", "must_contain": ["£30"]},
    {"question": OFF_TOPIC, "in_scope": False},
    {"question": PETS, "reference": "You can keep up to 2 pets, with written consent.",
     "must_contain": ["2 pets"]},
]


@dataclass
class Evaluated:
    project: Project
    questions_file: Path
    table: EvalTable
    progress: list[tuple[int, int, str]]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Evaluated]:
    folder = tmp_path_factory.mktemp("evaluation")
    project = make_policies_project(folder / "kestrel")
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    import_questions(project, path)
    calls: list[tuple[int, int, str]] = []
    table = evaluate(project, ["base", "prompted"], settings=SETTINGS,
                     progress=lambda d, t, m: calls.append((d, t, m)))
    yield Evaluated(project, path, table, calls)
    project.close()


def test_base_and_prompted_answer_every_question(evaluated: Evaluated) -> None:
    table = evaluated.table
    assert table.generated == 6 and not table.stopped and table.complete
    assert [(r.label, r.model, r.variant) for r in table.rows] == [
        ("base", "base", "bare"), ("prompted", "base", "prompted")]
    assert evaluated.progress[0][:2] == (0, 6) and evaluated.progress[-1][:2] == (6, 6)
    for row in table.rows:
        assert (row.answered, row.questions) == (3, 3)
        assert row.counts["similarity"] == row.counts["bleu"] == 2  # two have references
        assert row.counts["escalation_rate"] == 1 and row.counts["wrong_escalation_rate"] == 2
        assert row.counts["policy_adherence"] == 3
        assert row.metrics["retrieval_recall"] is None  # nothing was retrieved
        assert 0 < row.metrics["mean_words"] <= 24
        assert row.metrics["seconds_per_answer"] > 0
        assert -1 <= row.metrics["similarity"] <= 1 and 0 <= row.metrics["chrf"] <= 100
        assert list(row.by_role) == ["tenant"]  # every question was asked as a tenant
        assert row.by_role["tenant"] == row.metrics
    assert table.settings["temperature"] == 0.0 and table.settings["max_tokens"] == 24
    assert "system_prompt" in table.row("prompted").settings
    assert "system_prompt" not in table.row("base").settings

    stored = evaluated.project.store.query(
        "SELECT variant, settings, answer, raw, tokens FROM eval_answers ORDER BY id")
    assert len(stored) == 6
    assert all(json.loads(r["settings"])["seed"] == 0 and r["tokens"] <= 24 for r in stored)
    assert all(r["answer"] and "<intent>" not in r["answer"] for r in stored)


def test_every_number_opens_its_answers(evaluated: Evaluated) -> None:
    behind = answers_for(evaluated.project, "prompted", "similarity", settings=SETTINGS)
    assert sorted(d.question.question for d in behind) == sorted([FEE_QUESTION, PETS])
    assert behind[0].scores["similarity"] <= behind[1].scores["similarity"]  # worst first
    escalation = answers_for(evaluated.project, "prompted", "escalation_rate", settings=SETTINGS)
    assert [d.question.question for d in escalation] == [OFF_TOPIC]
    every = answers_for(evaluated.project, "base", settings=SETTINGS)
    assert [d.question.question for d in every] == [FEE_QUESTION, OFF_TOPIC, PETS]
    assert all(d.to_dict()["question"]["role"] == "tenant" for d in every)


def test_a_rerun_computes_nothing_new(evaluated: Evaluated) -> None:
    again = evaluate(evaluated.project, ["prompted", "base"], settings=SETTINGS)
    assert again.generated == 0
    assert again.row("base").metrics == evaluated.table.row("base").metrics
    assert again.row("prompted").metrics == evaluated.table.row("prompted").metrics
    assert len(evaluated.project.store.query("SELECT id FROM eval_answers")) == 6


def test_cli_json_prints_the_full_table(evaluated: Evaluated,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from core.cli import main

    code = main(["eval", str(evaluated.project.root), "--models", "base,prompted",
                 "--questions", str(evaluated.questions_file), "--max-tokens", "24", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads(out)
    assert data["generated"] == 0 and data["questions"] == 3 and data["complete"]
    assert [r["label"] for r in data["rows"]] == ["base", "prompted"]
    assert data["rows"][1]["metrics"] == evaluated.table.row("prompted").metrics
    assert {m["key"] for m in data["metrics"]} >= {"bleu", "chrf", "policy_adherence"}

    assert main(["eval", str(evaluated.project.root), "--models", "base",
                 "--max-tokens", "24"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split()[:3] == ["model", "answers", "read%"]
    assert text.splitlines()[1].split()[:2] == ["base", "3/3"]


def test_the_job_reuses_answers_and_writes_the_table(evaluated: Evaluated,
                                                      tmp_path: Path) -> None:
    from core.evaluation.job import TABLE_FILE, run_evaluate
    from core.jobs.context import JobContext
    from core.jobs.events import EventWriter, read_events
    from core.jobs.registry import resolve

    assert resolve("evaluate") is run_evaluate
    with EventWriter(tmp_path, io.StringIO()) as writer:
        summary = run_evaluate({"project": str(evaluated.project.root),
                                "models": ["base", "prompted"],
                                "settings": {"max_tokens": 24}}, JobContext(tmp_path, writer))
    assert "0 answers made" in summary
    table = json.loads((tmp_path / TABLE_FILE).read_text(encoding="utf-8"))
    assert [r["answered"] for r in table["rows"]] == [3, 3]
    assert any(e["type"] == "progress" for e in read_events(tmp_path / "events.jsonl"))


def test_cancel_between_answers_keeps_what_was_done(evaluated: Evaluated,
                                                    tmp_path: Path) -> None:
    from core.evaluation.job import run_evaluate
    from core.jobs.context import JobCancelled, JobContext
    from core.jobs.events import STOP_FILE, EventWriter

    project = evaluated.project
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 1  # yes from the second answer on

    short = EvalSettings(max_tokens=8)  # other settings: nothing stored for them yet
    table = evaluate(project, ["base"], settings=short, stop=stop)
    assert table.stopped and table.generated == 1 and not table.complete
    assert table.row("base").answered == 1
    assert eval_table(project, ["base"], settings=short).row("base").answered == 1

    (tmp_path / STOP_FILE).touch()
    with EventWriter(tmp_path, io.StringIO()) as writer, pytest.raises(JobCancelled):
        run_evaluate({"project": str(project.root), "models": ["base"],
                      "settings": {"max_tokens": 8}}, JobContext(tmp_path, writer))
    assert eval_table(project, ["base"], settings=short).row("base").answered == 1
    assert eval_table(project, ["base"], settings=SETTINGS).row("base").answered == 3


def test_report_is_self_contained_html_in_the_project(evaluated: Evaluated) -> None:
    from core.evaluation.report import reports_dir, write_report

    path = write_report(evaluated.project, evaluated.table)
    assert path.parent == reports_dir(evaluated.project) and path.suffix == ".html"
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "")
    assert page.count("<svg") == 5 and "ROUGE-L" in page and "Chat thumbs: 0 up" in page
    assert "The late rent fee is £30" in page  # a reference, in the example answers
    assert "What is the capital of Mongolia" in page


def test_the_model_card_carries_the_stored_evaluation(evaluated: Evaluated) -> None:
    from core.export.model_card import render_model_card, stored_evaluation

    rows = stored_evaluation(evaluated.project, "20261128T000000Z-train-unknown",
                             settings=SETTINGS)
    assert [row["model"] for row in rows] == ["base", "prompted"]
    assert all(row["answers"] == len(QUESTIONS) and "Readable" in row for row in rows)
    assert stored_evaluation(evaluated.project, "x") == []  # none at the default settings
    facts = {"base": "embedded", "method": "sft", "preset": "", "run_id": "r", "params": {},
             "split": {}, "examples": 0, "pairs": 0, "evaluation": rows}
    card = render_model_card(facts, company="Kestrel", name="k", created="today",
                             version="1", files=[])
    assert "| model | answers | Readable |" in card and "| prompted | 3 |" in card
    assert "Not evaluated yet" not in card
