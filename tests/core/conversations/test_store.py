"""The review table's core: filter, edit a turn, accept / reject many, summary counts."""

from __future__ import annotations

import pytest

from core.conversations import store
from core.errors import ValidationError


def test_filters_combine(generated_project) -> None:
    everything = store.list_examples(generated_project)
    assert len(everything) == 24
    options = store.filter_options(generated_project)
    assert set(options["statuses"]) == set(store.STATUSES)
    for role in options["roles"]:
        rows = store.list_examples(generated_project, role=role)
        assert rows and all(r.role == role for r in rows)
    for document in options["documents"]:
        rows = store.list_examples(generated_project, document_id=document["id"])
        assert rows and all(r.document == document["name"] for r in rows)
    kept = store.list_examples(generated_project, status="kept")
    dropped = store.list_examples(generated_project, status="dropped")
    assert len(kept) + len(dropped) == 24
    assert store.count_examples(generated_project, status=("kept", "dropped")) == 24
    readable = store.list_examples(generated_project, flesch_min=80)
    assert all(r.flesch >= 80 for r in readable)
    intent = options["intents"][0]
    assert all(r.intent == intent for r in store.list_examples(generated_project, intent=intent))
    page = store.list_examples(generated_project, limit=5, offset=5)
    assert [r.id for r in page] == [r.id for r in everything[5:10]]
    assert store.list_examples(generated_project, search="deposit")


def test_edit_a_turn_recomputes_flesch_and_marks_it_edited(generated_project) -> None:
    example = store.list_examples(generated_project, status="kept")[0]
    answer_turn = len(example.messages) - 1
    edited = store.edit_turn(generated_project, example.id, answer_turn,
                             "Notwithstanding the aforementioned obligations, remuneration is "
                             "disbursed quarterly.")
    assert edited.edited and edited.flesch < 30
    assert edited.answer.startswith("Notwithstanding")
    with pytest.raises(ValidationError):
        store.edit_turn(generated_project, example.id, 99, "x")
    with pytest.raises(ValidationError):
        store.edit_turn(generated_project, example.id, 0, "   ")


def test_accept_and_reject_many(generated_project) -> None:
    ids = [e.id for e in store.list_examples(generated_project)][:6]
    assert store.accept(generated_project, ids[:3]) == 3
    assert store.accept(generated_project, ids[:3]) == 0  # already accepted
    assert store.reject(generated_project, ids[3:]) == 3
    summary = store.summary(generated_project)
    assert summary["examples"]["by_status"]["accepted"] == 3
    assert summary["examples"]["by_status"]["rejected"] == 3
    with pytest.raises(ValidationError):
        store.set_status(generated_project, ids, "maybe")


def test_summary_counts_and_histogram(generated_project) -> None:
    summary = store.summary(generated_project)
    usable = summary["examples"]["usable"]
    assert sum(summary["flesch_histogram"]["counts"]) == usable
    assert summary["flesch_histogram"]["bins"] == list(range(0, 101, 10))
    assert sum(summary["by_role"].values()) == usable
    assert sum(summary["by_document"].values()) == usable
    assert sum(summary["by_intent"].values()) == usable
    sources = summary["by_source"]
    assert sum(s["items"] for s in sources.values()) == 24
    assert all(0 <= s["yield"] <= 1 for s in sources.values())
    dropped = summary["examples"]["by_status"]["dropped"]
    assert sum(g["count"] for g in summary["rejected_by_gate"].values()) == dropped
    assert summary["work"] == {"planned": 24, "done": 24, "todo": 0}


def test_source_chunks_and_pairs(generated_project) -> None:
    example = next(e for e in store.list_examples(generated_project) if e.chunk_id)
    chunks = store.source_chunks(generated_project, example.id)
    assert chunks[0]["id"] == example.chunk_id and chunks[0]["text"]
    assert "[" not in chunks[0]["text"] or "[NAME]" not in chunks[0]["text"]
    pairs = store.list_pairs(generated_project)
    assert pairs and all(p.chosen != p.rejected for p in pairs)
    changed = store.edit_pair(generated_project, pairs[0].id, rejected="A worse answer.")
    assert changed.rejected == "A worse answer." and changed.edited
    with pytest.raises(ValidationError) as blank:
        store.edit_pair(generated_project, pairs[0].id, chosen="   ")
    assert blank.value.field == "chosen"
    assert store.list_pairs_by_id(generated_project, [pairs[0].id])[0].chosen == pairs[0].chosen
    assert store.set_pair_status(generated_project, [pairs[0].id], "rejected") == 1


def test_forget_generated_keeps_reviewed_items(generated_project) -> None:
    ids = [e.id for e in store.list_examples(generated_project)][:2]
    store.accept(generated_project, ids)
    removed = store.forget_generated(generated_project)
    assert removed["examples"] == 22 and removed["work"] == 24
    assert [e.id for e in store.list_examples(generated_project)] == ids
