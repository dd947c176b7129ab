"""The question set: operator questions from JSONL (with errors naming file and line), and the
seeded, stable hold-out of generated conversations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ValidationError
from core.evaluation import (
    add_question,
    held_out_example_ids,
    hold_out,
    import_questions,
    list_questions,
    parse_models,
    remove_questions,
)
from core.project import Project
from tests.core.chat.helpers import make_empty_project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    made = make_empty_project(tmp_path / "kestrel")
    yield made
    made.close()


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line)
                              for line in lines) + "\n", encoding="utf-8")
    return path


def _add_examples(project: Project, count: int, *, start: int = 0) -> None:
    """Usable conversations as the generator stores them, for three sources and two roles."""
    with project.store.transaction() as conn:
        for n in range(start, start + count):
            role = ("tenant", "owner")[n % 2]
            source = "off_topic" if n % 5 == 4 else "faq"
            messages = [{"role": role, "content": f"Question number {n}?"},
                        {"role": "assistant", "content": f"Answer {n}: it costs £{n + 10} "
                         "and takes 5 working days."}]
            conn.execute("INSERT INTO examples (source, role, messages, intent, status) "
                         "VALUES (?, ?, ?, ?, 'kept')",
                         (source, role, json.dumps(messages), "fees"))


def test_import_reads_every_field_and_updates_on_a_second_import(project: Project,
                                                                 tmp_path: Path) -> None:
    path = _write(tmp_path / "questions.jsonl", [
        {"question": "What is the late rent fee?", "reference": "It is £30.", "role": "tenant",
         "intent": "fees", "in_scope": True, "must_contain": ["£30"]},
        "",
        {"question": "Who won the 1998 world cup?", "in_scope": False},
        {"question": "How long is the deposit held?", "must_contain": "5 weeks"},
    ])
    result = import_questions(project, path)
    assert (result.added, result.updated, len(result.ids)) == (3, 0, 3)
    questions = list_questions(project)
    assert [q.question for q in questions] == ["What is the late rent fee?",
                                               "Who won the 1998 world cup?",
                                               "How long is the deposit held?"]
    first, second, third = questions
    assert (first.reference, first.role, first.intent, first.must_contain) == \
        ("It is £30.", "tenant", "fees", ["£30"])
    assert second.in_scope is False and second.role == "tenant"  # the first role by default
    assert third.must_contain == ["5 weeks"] and third.source == "operator"
    _write(path, [{"question": "What is the late rent fee?", "reference": "£30 a time.",
                   "role": "tenant"}])
    again = import_questions(project, path)
    assert (again.added, again.updated, again.ids) == (0, 1, [first.id])
    assert list_questions(project)[0].reference == "£30 a time."


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "line 2: not valid JSON"),
    ({"reference": "no question"}, "line 2: 'question' must be a non-empty text"),
    ({"question": "Hi?", "role": "landlord"}, "line 2: role 'landlord' is not one of"),
    ({"question": "Hi?", "in_scope": "yes"}, "line 2: 'in_scope' must be true or false"),
    ({"question": "Hi?", "must_contain": [3]}, "line 2: 'must_contain' must be a list"),
    ({"question": "Hi?", "answer": "typo"}, "line 2: unknown field 'answer'"),
    ([1, 2], "line 2: a line must be a JSON object"),
])
def test_a_bad_line_is_named_and_nothing_is_stored(project: Project, tmp_path: Path,
                                                   line: object, message: str) -> None:
    path = _write(tmp_path / "bad.jsonl", [{"question": "Fine?"}, line])
    with pytest.raises(ValidationError) as info:
        import_questions(project, path)
    assert info.value.field == "questions"
    assert info.value.message.startswith("bad.jsonl: ")
    assert message in info.value.message
    assert "question" in info.value.hint
    assert list_questions(project) == []


def test_an_unreadable_or_empty_file_is_refused(project: Project, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="Cannot read"):
        import_questions(project, tmp_path / "missing.jsonl")
    with pytest.raises(ValidationError, match="holds no questions"):
        import_questions(project, _write(tmp_path / "empty.jsonl", [""]))


def test_typed_questions_and_removal(project: Project) -> None:
    added = add_question(project, "  Can I keep a cat? ", role="owner", must_contain=["consent"])
    assert (added.question, added.role, added.must_contain) == ("Can I keep a cat?", "owner",
                                                                ["consent"])
    with pytest.raises(ValidationError, match="role 'pilot'"):
        add_question(project, "Can I fly?", role="pilot")
    assert remove_questions(project, [added.id]) == 1
    assert list_questions(project) == []


def test_hold_out_is_seeded_stable_and_tops_up(project: Project, tmp_path: Path) -> None:
    _add_examples(project, 40)
    first = hold_out(project, share=0.1, seed=7)
    # 20 per role: ceil(0.1 * 20) = 2 each
    assert (first.added, first.held_out, first.usable) == (4, 4, 40)
    picked = held_out_example_ids(project)
    assert len(picked) == 4
    assert hold_out(project, share=0.1, seed=7).added == 0  # nothing new: nothing added

    twin = make_empty_project(tmp_path / "twin")
    try:
        _add_examples(twin, 40)
        hold_out(twin, share=0.1, seed=7)
        assert held_out_example_ids(twin) == picked  # same data, same seed, same choice
        other = make_empty_project(tmp_path / "other")
        try:
            _add_examples(other, 40)
            hold_out(other, share=0.1, seed=8)
            assert held_out_example_ids(other) != picked
        finally:
            other.close()
    finally:
        twin.close()

    _add_examples(project, 40, start=40)
    more = hold_out(project, share=0.1, seed=7)
    assert (more.added, more.held_out, more.usable) == (4, 8, 80)  # 40 per role: 4 each
    assert picked <= held_out_example_ids(project)  # once held out, always held out

    questions = {q.example_id: q for q in list_questions(project, "held_out")}
    for example_id, question in questions.items():
        n = int(question.question.split()[-1].rstrip("?"))
        assert question.reference.startswith(f"Answer {n}:")
        assert question.intent == "fees"
        assert question.in_scope is (n % 5 != 4)  # off-topic ones should be escalated
        assert question.must_contain == ([f"£{n + 10}", "5 working days"]
                                         if question.in_scope else [])
        assert example_id is not None


def test_held_out_conversations_are_not_training_data(project: Project, tmp_path: Path) -> None:
    from core.conversations.datasets import export_dataset
    from core.training.grounding import row_sources

    _add_examples(project, 20)
    before = export_dataset(project, tmp_path / "before.jsonl", "chat")
    hold_out(project, share=0.1, seed=7)
    held = held_out_example_ids(project)
    after = export_dataset(project, tmp_path / "after.jsonl", "chat")
    assert after == before - len(held) == 20 - len(held)
    text = (tmp_path / "after.jsonl").read_text(encoding="utf-8")
    for question in list_questions(project, "held_out"):
        assert json.dumps(question.question)[1:-1] not in text
    rows = [json.loads(line) for line in text.splitlines()]
    sources = row_sources(project, "chat", rows)
    assert all(source is not None and source.row_id not in held for source in sources)
    kept = min({s.row_id for s in sources})
    with project.store.transaction() as conn:
        for example_id in (min(held), kept):
            conn.execute("INSERT INTO pairs (example_id, source, role, prompt, chosen, rejected,"
                         " status) VALUES (?, 'judge', 'tenant', ?, 'Good.', 'Bad.', 'kept')",
                         (example_id, json.dumps([{"role": "tenant", "content": "Q?"}])))
    assert export_dataset(project, tmp_path / "pairs.jsonl", "preference") == 1


def test_hold_out_refuses_a_share_out_of_range(project: Project) -> None:
    with pytest.raises(ValidationError, match="between 0 and 1"):
        hold_out(project, share=1.5)


def test_model_labels(project: Project) -> None:
    (project.runs_dir / "20260101-000000-train-abc123").mkdir()
    specs = parse_models(project, ["base", "prompted", "retrieval", "base+retrieval",
                                   "20260101-000000-train-abc123",
                                   "run:20260101-000000-train-abc123+retrieval"])
    assert [(s.label, s.model, s.variant) for s in specs] == [
        ("base", "base", "bare"), ("prompted", "base", "prompted"),
        ("retrieval", "base", "retrieval"),
        ("run:20260101-000000-train-abc123", "run:20260101-000000-train-abc123", "prompted"),
        ("run:20260101-000000-train-abc123+retrieval", "run:20260101-000000-train-abc123",
         "retrieval")]
    with pytest.raises(ValidationError, match="Unknown model 'gpt-5'") as info:
        parse_models(project, ["gpt-5"])
    assert info.value.field == "models"
    with pytest.raises(ValidationError, match=r"not a \.gguf"):
        parse_models(project, ["file:/tmp/model.bin"])


def test_stored_answers_are_keyed_by_what_changes_them(project: Project) -> None:
    from core.evaluation.models import EvalSettings, answer_settings, settings_hash

    base, prompted, retrieval = parse_models(project, ["base", "prompted", "retrieval"])

    def digest(spec: object, settings: EvalSettings | None = None) -> str:
        values = answer_settings(project, spec, settings or EvalSettings())  # type: ignore
        return settings_hash(values)

    before = {s.label: digest(s) for s in (base, prompted, retrieval)}
    assert len(set(before.values())) == 3
    assert "k" not in answer_settings(project, prompted, EvalSettings())
    assert digest(prompted, EvalSettings(max_tokens=32)) != before["prompted"]
    profile = project.profile()
    profile.policies += "\nA new policy line."
    project.save_profile(profile)
    assert digest(base) == before["base"]  # no system prompt: unchanged
    assert digest(prompted) != before["prompted"]
    assert digest(retrieval) != before["retrieval"]
