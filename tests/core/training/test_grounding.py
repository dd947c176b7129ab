"""Retrieval-augmented training data on a real small project: the sample company's policies.md
imported and indexed, a few chats and pairs imported as an operator would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.chat import PASSAGES_HEADING, ChatEngine
from core.conversations.datasets import import_dataset
from core.conversations.escalation import escalation_answer
from core.errors import ValidationError
from core.models.embedded import embedded_gguf_path
from core.project import Project
from core.retrieval import Hit, search
from core.training.data import grounded_split, load_rows, split_rows
from core.training.grounding import RowSource, ground_rows, row_sources
from core.training.params import defaults, validate_params, validate_value
from core.training.presets import resolve_params
from tests.core.chat.helpers import (
    FEE_QUESTION,
    OFF_TOPIC,
    make_empty_project,
    make_policies_project,
)

DOG = "Can I keep a dog?"  # the Pets section answers it, yet it scores below the threshold
CHATS = [
    ("tenant", FEE_QUESTION, "The late rent fee is £30, once rent is 14 days overdue."),
    ("tenant", "How much is the holding deposit?", "It is one week's rent."),
    ("tenant", DOG, "Ask us first; we usually say yes."),
    ("owner", "What are your management fees?", "Our fees are listed in the owner terms."),
    ("tenant", OFF_TOPIC, "Ulaanbaatar, and France."),
    ("prospect", "Do I pay anything to apply?", "No, applying is free."),
    ("owner", "How often do you inspect my property?", "We inspect it twice a year."),
    ("tenant", "Can you recommend a good pizza place near the harbour?", "Try Luigi's."),
]
PAIRS = [
    ("tenant", FEE_QUESTION, "The late rent fee is £30.", "Fees are set by clause 7(b)."),
    ("tenant", OFF_TOPIC, "Sorry, I can only help with your home.", "Ulaanbaatar."),
    ("owner", "What are your management fees?", "See the owner fees.", "No idea."),
]


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    folder = tmp_path_factory.mktemp("grounding")
    made = make_policies_project(folder / "kestrel")
    chats = [{"messages": [{"role": r, "content": q}, {"role": "assistant", "content": a}]}
             for r, q, a in CHATS]
    import_dataset(made, _write(folder / "chats.jsonl", chats), "chat")
    pairs = [{"prompt": [{"role": r, "content": q}], "chosen": good, "rejected": bad}
             for r, q, good, bad in PAIRS]
    import_dataset(made, _write(folder / "pairs.jsonl", pairs), "preference")
    pets = _chunk_id(made, "Pets")
    with made.store.transaction() as conn:  # as if generated from the Pets section
        conn.execute("UPDATE examples SET chunk_id = ?, source = 'faq' WHERE messages LIKE ?",
                     (pets, f"%{DOG}%"))
    yield made
    made.close()


def _chunk_id(project: Project, section_end: str) -> int:
    rows = project.store.query("SELECT id, section FROM chunks ORDER BY id")
    return next(r["id"] for r in rows if r["section"].endswith(section_end))


def _question(row: dict[str, Any]) -> str:
    turns = row.get("messages") or row["prompt"]
    return next(t["content"] for t in turns if t["role"] not in ("system", "assistant"))


def _passage_chunks(project: Project, system: str) -> list[int]:
    """The chunks whose text the system turn carries, in the order it shows them."""
    rows = project.store.query("SELECT id, text FROM chunks")
    found = [(system.find(r["text"].strip()), r["id"]) for r in rows
             if r["text"].strip() and r["text"].strip() in system]
    return [chunk_id for _, chunk_id in sorted(found)]


def _hits(project: Project, ids: list[int]) -> list[Hit]:
    rows = {r["id"]: r for r in project.store.query(
        "SELECT c.id, c.document_id, c.section, c.text, d.name FROM chunks c "
        "JOIN documents d ON d.id = c.document_id")}
    return [Hit(chunk_id=i, document_id=rows[i]["document_id"], document=rows[i]["name"],
                section=rows[i]["section"], text=rows[i]["text"], score=0.0, similarity=1.0,
                bm25_rank=None, vector_rank=None, relevant=True) for i in ids]


def _grounded(project: Project, ratio: float = 1.0, seed: int = 3) -> tuple[list, list, Any]:
    rows = load_rows(project, "chat")
    out, stats = ground_rows(project, rows, ratio=ratio, seed=seed,
                             sources=row_sources(project, "chat", rows))
    return rows, out, stats


def test_the_ratio_picks_an_exact_seeded_share(project: Project) -> None:
    rows, out, stats = _grounded(project, ratio=0.5, seed=11)
    changed = [i for i, (a, b) in enumerate(zip(rows, out, strict=True)) if a != b]
    assert len(changed) == stats.grounded == 4 and stats.closed_book == 4
    assert stats.rows == 8 and stats.skipped == ""
    assert all(PASSAGES_HEADING in out[i]["messages"][0]["content"] for i in changed)
    assert all(PASSAGES_HEADING not in out[i]["messages"][0]["content"]
               for i in set(range(8)) - set(changed))
    assert _grounded(project, ratio=0.5, seed=11)[1] == out  # same seed, same rows
    assert _grounded(project, ratio=0.75, seed=11)[2].grounded == 6
    picks = {tuple(a != b for a, b in zip(rows, _grounded(project, 0.5, s)[1], strict=True))
             for s in range(6)}
    assert len(picks) > 1  # the seed chooses which rows


def test_a_grounded_system_turn_is_what_chat_sends(project: Project) -> None:
    rows, out, _ = _grounded(project)
    row = next(r for r in out if _question(r) == FEE_QUESTION)
    system = row["messages"][0]["content"]
    shown = _passage_chunks(project, system)
    assert len(shown) == 2 and _chunk_id(project, "Rent") in shown
    engine = ChatEngine(embedded_gguf_path(), project=project,
                        retriever=lambda _project, _query, _k: _hits(project, shown))
    turn = engine.prepare([{"role": "user", "content": FEE_QUESTION}], role="tenant")
    assert turn.escalation is None
    assert turn.messages[0] == row["messages"][0]  # byte for byte, passages included
    assert row["messages"][1:] == next(r for r in rows
                                       if _question(r) == FEE_QUESTION)["messages"][1:]


def test_the_second_passage_is_the_one_retrieval_shows_next(project: Project) -> None:
    """Chat shows the two best hits; a training row shows its answer's passage beside the
    best other hit for its question, so the model learns to pick within what it will see."""
    _, out, stats = _grounded(project)
    answered = [r for r in out if _question(r) in (FEE_QUESTION, "How much is the holding "
                                                   "deposit?", "What are your management fees?")]
    assert len(answered) == 3 and stats.grounded == 8
    for row in answered:
        shown = _passage_chunks(project, row["messages"][0]["content"])
        hits = search(project, _question(row), k=4)
        relevant = next(h for h in hits if h.relevant)
        assert relevant.chunk_id in shown and len(shown) == 2
        runner_up = next(h for h in hits if h.chunk_id != relevant.chunk_id)
        assert set(shown) == {relevant.chunk_id, runner_up.chunk_id}
    rent = _chunk_id(project, "Rent")
    places = {_passage_chunks(project, next(r for r in _grounded(project, seed=s)[1]
                                            if _question(r) == FEE_QUESTION)
                              ["messages"][0]["content"]).index(rent) for s in range(8)}
    assert places == {0, 1}  # the seed puts the relevant passage first or second


def test_a_source_chunk_sits_beside_its_questions_best_other_hit(project: Project) -> None:
    """Office hours is split over two chunks: a row written from the second shows the best
    other hit for its question (the first half, as chat would) whatever the seed."""
    office = [r["id"] for r in project.store.query("SELECT id, section FROM chunks ORDER BY id")
              if r["section"].endswith("Office hours and contact channels")]
    assert len(office) == 2
    question = "Where do I collect my keys?"
    row = {"messages": [{"role": "system", "content": project.profile().system_prompt()},
                        {"role": "tenant", "content": question},
                        {"role": "assistant", "content": "At our office, with photo ID."}]}
    source = RowSource(row_id=0, chunk_id=office[1], source="faq", question=question)
    runner_up = next(h.chunk_id for h in search(project, question, k=4)
                     if h.chunk_id != office[1])
    orders = set()
    for seed in range(12):
        out, stats = ground_rows(project, [row], ratio=1.0, seed=seed, sources=[source])
        shown = _passage_chunks(project, out[0]["messages"][0]["content"])
        assert sorted(shown) == sorted([office[1], runner_up]) and stats.source_chunks == 1
        orders.add(tuple(shown))
    assert len(orders) == 2


def test_an_account_request_is_handed_over_beside_passages_that_do_not_answer(
        project: Project) -> None:
    """A request only a person can carry out keeps its hand-over answer, but never next to a
    passage that answers its question: beside one, the model learned to hand over questions
    the passage answers (decisions.md, Facts through retrieval)."""
    question = "Please take the late fee off my account."
    handover = "I can't change accounts from here. I'll pass this to a team member."
    row = {"messages": [{"role": "system", "content": project.profile().system_prompt()},
                        {"role": "tenant", "content": question},
                        {"role": "assistant", "content": handover}]}
    source = RowSource(row_id=0, chunk_id=_chunk_id(project, "Rent"), source="account",
                       question=question)
    out, stats = ground_rows(project, [row], ratio=1.0, seed=5, sources=[source])
    shown = _passage_chunks(project, out[0]["messages"][0]["content"])
    assert len(shown) == 2 and stats.escalation == 1 and stats.source_chunks == 0
    assert source.chunk_id not in shown  # not even the chunk it was written from
    assert not {h.chunk_id for h in search(project, question, k=4)} & set(shown)
    assert out[0]["messages"][1:] == row["messages"][1:]  # its own hand-over answer, kept


def test_a_row_uses_its_own_source_chunk(project: Project) -> None:
    rows = load_rows(project, "chat")
    sources = row_sources(project, "chat", rows)
    dog = next(i for i, r in enumerate(rows) if _question(r) == DOG)
    assert sources[dog] is not None and sources[dog].chunk_id == _chunk_id(project, "Pets")
    assert not any(h.relevant for h in search(project, DOG, k=4))  # search alone escalates
    out, stats = ground_rows(project, rows, ratio=1.0, seed=3, sources=sources)
    assert _chunk_id(project, "Pets") in _passage_chunks(project, out[dog]["messages"][0]
                                                         ["content"])
    assert out[dog]["messages"][-1] == rows[dog]["messages"][-1]  # the answer is kept
    assert stats.source_chunks == 1


def test_an_off_topic_question_teaches_the_chat_engines_escalation(project: Project) -> None:
    _, out, stats = _grounded(project)
    company = project.profile().company_name
    answers = {escalation_answer("off_topic", company, seed)[0] for seed in range(50)}
    engine = ChatEngine(embedded_gguf_path(), project=project)
    for question in (OFF_TOPIC, "Can you recommend a good pizza place near the harbour?"):
        row = next(r for r in out if _question(r) == question)
        assert row["messages"][-1]["role"] == "assistant"
        assert row["messages"][-1]["content"] in answers
        system = row["messages"][0]["content"]
        shown = _passage_chunks(project, system)
        assert len(shown) == 2 and PASSAGES_HEADING in system  # distractors only
        assert not {h.chunk_id for h in search(project, question, k=4)} & set(shown)
        assert engine.prepare([{"role": "user", "content": question}]).escalation in answers
    assert stats.escalation >= 2


def test_an_escalated_conversation_keeps_one_exchange_and_says_out_of_scope(
        project: Project) -> None:
    system = {"role": "system", "content": project.profile().system_prompt()}
    row = {"messages": [system, {"role": "owner", "content": OFF_TOPIC},
                        {"role": "assistant", "content": "<analysis>The owner asks about "
                         "geography.</analysis><intent>other</intent>Ulaanbaatar."},
                        {"role": "owner", "content": "And the football?"},
                        {"role": "assistant", "content": "France won."}]}
    out, stats = ground_rows(project, [row], ratio=1.0, seed=0)
    messages = out[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "owner", "assistant"]
    assert "<intent>out_of_scope</intent>" in messages[2]["content"]
    assert "Ulaanbaatar" not in messages[2]["content"] and stats.escalation == 1
    assert stats.message() == ("Grounded 1 of 1 conversations in company passages; "
                               "1 teaches escalation")


def test_the_operators_sample_questions_are_asked_without_another_rows_passages(
        project: Project) -> None:
    from core.training.trainers import _spec_prompts

    _, out, _ = _grounded(project)
    prompts = _spec_prompts(["Is there parking?"], out)
    assert prompts == [[{"role": "system", "content": project.profile().system_prompt()},
                        {"role": out[0]["messages"][1]["role"],
                         "content": "Is there parking?"}]]


def test_ratio_zero_changes_nothing(project: Project) -> None:
    rows = load_rows(project, "chat")
    split, stats = grounded_split(project, rows, kind="chat", fraction=0.25, seed=5,
                                  ratio=0.0, template="t")
    plain = split_rows(rows, 0.25, 5, "t")
    assert (split.train, split.validation, split.data_hash) == (plain.train, plain.validation,
                                                                plain.data_hash)
    assert stats.grounded == 0 and stats.closed_book == 8 and "0" in stats.skipped
    assert stats.message().startswith("Training closed-book on 8 conversations")


def test_both_splits_are_grounded_and_hashed(project: Project) -> None:
    rows = load_rows(project, "chat")
    split, stats = grounded_split(project, rows, kind="chat", fraction=0.25, seed=5,
                                  ratio=0.5, template="t")
    assert len(split.train) == 6 and len(split.validation) == 2
    assert stats.rows == 8 and stats.grounded == 3 + 1 and stats.closed_book == 4
    heading = [PASSAGES_HEADING in r["messages"][0]["content"] for r in split.validation]
    assert heading.count(True) == 1
    assert split.data_hash != split_rows(rows, 0.25, 5, "t").data_hash
    assert stats.message().startswith("Grounded 4 of 8 conversations in company passages; ")
    assert json.dumps(stats.to_dict())  # goes into config.json and summary.json


def test_preference_prompts_carry_the_same_passages_for_both_answers(project: Project) -> None:
    rows = load_rows(project, "preference")
    sources = row_sources(project, "preference", rows)
    out, stats = ground_rows(project, rows, ratio=1.0, seed=2, kind="preference",
                             sources=sources)
    fee = next(r for r in out if _question(r) == FEE_QUESTION)
    assert PASSAGES_HEADING in fee["prompt"][0]["content"]
    assert _chunk_id(project, "Rent") in _passage_chunks(project, fee["prompt"][0]["content"])
    assert fee["chosen"] == rows[0]["chosen"] and fee["rejected"] == rows[0]["rejected"]
    off = next(r for r in out if _question(r) == OFF_TOPIC)
    assert PASSAGES_HEADING not in off["prompt"][0]["content"]  # in-scope answer: kept closed
    assert (stats.grounded, stats.closed_book) == (2, 1) and stats.kind == "preference"
    assert "preference pairs" in stats.message()


def test_a_project_without_documents_trains_closed_book(tmp_path: Path) -> None:
    empty = make_empty_project(tmp_path / "empty")
    try:
        chats = [{"messages": [{"role": r, "content": q}, {"role": "assistant", "content": a}]}
                 for r, q, a in CHATS[:4]]
        import_dataset(empty, _write(tmp_path / "chats.jsonl", chats), "chat")
        rows = load_rows(empty, "chat")
        split, stats = grounded_split(empty, rows, kind="chat", fraction=0.25, seed=1,
                                      ratio=0.75)
    finally:
        empty.close()
    plain = split_rows(rows, 0.25, 1)
    assert (split.train, split.validation) == (plain.train, plain.validation)
    assert stats.grounded == 0 and stats.closed_book == 4
    assert "no documents" in stats.skipped and "Documents step" in stats.skipped
    assert stats.message().startswith("Training closed-book on 4 conversations: ")


def test_grounded_ratio_is_a_validated_training_setting() -> None:
    assert defaults()["grounded_ratio"] == 0.75
    assert validate_value("grounded_ratio", "0.5") == 0.5
    for bad in (1.5, -0.1, "most"):
        with pytest.raises(ValidationError) as info:
            validate_value("grounded_ratio", bad)
        assert info.value.field == "grounded_ratio"
    with pytest.raises(ValidationError):
        validate_params({"grounded_ratio": 2})
    assert resolve_params("sft", "quick-cpu")["grounded_ratio"] == 0.75
    assert resolve_params("sft", "quick-cpu")["max_length"] >= 2048  # two passages fit
    assert resolve_params("sft", "from-scratch")["grounded_ratio"] == 0.0  # 1,024 context


@pytest.mark.slow
def test_a_quick_sft_run_on_grounded_data_records_the_stats(tmp_path: Path, run_ctx,
                                                            embedded_dir: Path) -> None:
    """One real step; the company is described briefly so its rows stay short (CPU time)."""
    from core.project.profile import CompanyProfile
    from core.training.engine import run_training
    from tests.core.training.conftest import tiny_spec

    short = make_policies_project(tmp_path / "short")
    try:
        short.save_profile(CompanyProfile(company_name="Kestrel Quay Lettings",
                                          customer_roles=["tenant", "owner", "prospect"]))
        chats = [{"messages": [{"role": r, "content": q}, {"role": "assistant", "content": a}]}
                 for r, q, a in CHATS]
        import_dataset(short, _write(tmp_path / "chats.jsonl", chats), "chat")
    finally:
        short.close()
    ctx = run_ctx("grounded")
    spec = tiny_spec(short.root, "sft", max_steps=1, batch_size=2, max_length=1024,
                     eval_fraction=0.25, grounded_ratio=0.5)
    final = run_training(spec, ctx)
    config = json.loads((ctx.run_dir / "config.json").read_text())
    summary = json.loads((ctx.run_dir / "summary.json").read_text())
    assert final.is_dir() and summary["status"] == "succeeded"
    assert config["grounding"] == summary["grounding"]
    assert summary["grounding"]["grounded"] == 4 and summary["grounding"]["rows"] == 8
    logs = [json.loads(line) for line in (ctx.run_dir / "stdout.jsonl").read_text()
            .splitlines()]
    assert any(e.get("message", "").startswith("Grounded 4 of 8 conversations") for e in logs)
    assert not any("cut short" in e.get("message", "") for e in logs)
