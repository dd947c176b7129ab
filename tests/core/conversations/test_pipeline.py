"""End to end on the embedded teacher: a small real dataset from the sample company.

One run is stopped part-way (as the job does on STOP) and run again: it continues from the
work list without duplicates. Then a document is forgotten (its examples and pairs go with
it) and the dataset goes out and back in as JSONL. Slow: real llama.cpp generation.
"""

from __future__ import annotations

import json

import pytest

from core.conversations import datasets, store
from core.conversations.intents import strip_hidden
from core.conversations.pipeline import generate_conversations
from core.conversations.plan import SOURCES
from core.conversations.settings import GenerationSettings
from core.documents import forget_document, list_documents

pytestmark = pytest.mark.slow
LIMIT = 14


def test_a_small_real_dataset_resumes_and_follows_its_documents(sample_project, embedded,
                                                                tmp_path) -> None:
    settings = GenerationSettings(limit=LIMIT, intents=True, seed=11)
    events = []
    first = generate_conversations(sample_project, embedded, settings,
                                   progress=events.append,
                                   should_stop=lambda: len([e for e in events if e.item]) >= 5)
    assert first.stopped and first.processed == 5
    assert [e.done for e in events if e.item] == [1, 2, 3, 4, 5]
    assert all(e.total == LIMIT for e in events)

    second = generate_conversations(sample_project, embedded, settings)
    assert not second.stopped and second.done_before == 5
    assert second.processed == LIMIT - 5
    summary = store.summary(sample_project)
    assert summary["work"] == {"planned": LIMIT, "done": LIMIT, "todo": 0}
    assert summary["examples"]["total"] == LIMIT  # one example per item: no duplicates
    assert set(summary["by_source"]) == set(SOURCES)  # every source, even at a small limit
    assert "error" not in summary["rejected_by_gate"]
    print("\n[embedded e2e] first run", first.to_dict(), "\nsecond run", second.to_dict(),
          "\nsummary", json.dumps(summary, indent=1))

    examples = store.list_examples(sample_project)
    kept = [e for e in examples if e.status == "kept"]
    assert len(kept) >= 5
    for example in kept:
        assert example.teacher.startswith("embedded:") and example.seed is not None
        assert example.flesch >= sample_project.profile().tone_target
        assert example.messages[0]["role"] in ("tenant", "owner", "prospect")
        assert example.messages[-1]["role"] == "assistant"
        assert example.intent and example.analysis
        if example.source not in ("off_topic", "account"):
            assert example.chunk_id is not None and example.grounding >= 0.65
    for example in examples:
        if example.status == "dropped":
            assert example.gate and example.reason
    assert summary["pairs"]["total"] >= 3

    # forget the FAQ: what was made from it goes too
    faq = next(d for d in list_documents(sample_project) if d["name"] == "faq.docx")
    impact = store.document_impact(sample_project, faq["id"])
    assert impact["examples"] >= 1
    before = store.summary(sample_project)
    forget_document(sample_project, faq["id"])
    after = store.summary(sample_project)
    assert after["examples"]["total"] == before["examples"]["total"] - impact["examples"]
    assert after["pairs"]["total"] == before["pairs"]["total"] - impact["pairs"]
    assert "faq.docx" not in after["by_document"]

    # JSONL out and back in
    chat, preference = tmp_path / "chat.jsonl", tmp_path / "pairs.jsonl"
    written = datasets.export_chat(sample_project, chat)
    assert written == after["examples"]["usable"]
    lines = [json.loads(line) for line in chat.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        messages = line["messages"]
        assert messages[0] == {"role": "system",
                               "content": sample_project.profile().system_prompt()}
        assert all(m["content"].startswith("<analysis>") for m in messages
                   if m["role"] == "assistant")  # intents on in these settings
    pairs_written = datasets.export_preference(sample_project, preference)
    report = datasets.import_dataset(sample_project, chat, "chat")
    assert report.imported == written and report.skipped_count == 0
    imported = store.list_examples(sample_project, source="import")
    originals = [e for e in store.list_examples(sample_project, status=("kept", "accepted"))
                 if e.source != "import"]
    assert [e.messages for e in imported] == [e.messages for e in originals]
    assert [strip_hidden(m["content"]) for m in lines[0]["messages"][1:]] == \
        [m["content"] for m in imported[0].messages]
    if pairs_written:
        assert datasets.import_dataset(sample_project, preference,
                                       "preference").imported == pairs_written
