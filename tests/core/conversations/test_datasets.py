"""JSONL import and export: formats, role encodings, bad lines reported by number."""

from __future__ import annotations

import json

import pytest

from core.conversations import datasets, store
from core.errors import ValidationError


def test_chat_round_trip_keeps_every_conversation(generated_project, tmp_path) -> None:
    path = tmp_path / "chat.jsonl"
    written = datasets.export_chat(generated_project, path, with_intents=False)
    usable = store.summary(generated_project)["examples"]["usable"]
    assert written == usable
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(line["messages"][0]["role"] == "system" for line in lines)
    assert all(line["messages"][1]["role"] in ("tenant", "owner", "prospect") for line in lines)
    report = datasets.import_dataset(generated_project, path)
    assert report.imported == written
    imported = store.list_examples(generated_project, source="import")
    originals = [e for e in store.list_examples(generated_project, status="kept")
                 if e.source != "import"]
    assert [e.messages for e in imported] == [e.messages for e in originals]
    assert all(e.flesch is not None for e in imported)


def test_system_role_encoding(generated_project, tmp_path) -> None:
    path = tmp_path / "chat.jsonl"
    datasets.export_chat(generated_project, path, role_encoding="system")
    line = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert line["messages"][1]["role"] == "user"
    assert line["messages"][0]["content"].endswith(
        ".") and "The customer is a" in line["messages"][0]["content"]


def test_preference_round_trip(generated_project, tmp_path) -> None:
    path = tmp_path / "pairs.jsonl"
    written = datasets.export_preference(generated_project, path)
    assert written == len(store.list_pairs(generated_project))
    line = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert set(line) == {"prompt", "chosen", "rejected"}
    assert line["prompt"][0]["role"] == "system" and line["chosen"][0]["role"] == "assistant"
    report = datasets.import_dataset(generated_project, path, "preference")
    assert report.imported == written


def test_other_tools_formats_and_bad_lines(sample_project, tmp_path) -> None:
    path = tmp_path / "mixed.jsonl"
    good_chat = {"messages": [{"role": "user", "content": "Do you take pets?"},
                              {"role": "assistant", "content": "Yes, with written consent."}]}
    sharegpt = {"conversations": [{"from": "human", "value": "Is there a viewing fee?"},
                                  {"from": "gpt", "value": "No, viewings are free."}]}
    lines = [json.dumps(good_chat), "not json", json.dumps({"messages": []}),
             json.dumps(sharegpt),
             json.dumps({"messages": [{"role": "alien", "content": "hi"},
                                      {"role": "assistant", "content": "hello"}]}),
             json.dumps({"messages": [{"role": "user", "content": "hi"}]})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = datasets.import_dataset(sample_project, path)
    assert report.imported == 2 and report.lines == 6
    assert [n for n, _ in report.skipped] == [2, 3, 5, 6]
    assert "not one of the project's customer roles" in dict(report.skipped)[5]
    rows = store.list_examples(sample_project)
    assert [r.role for r in rows] == ["tenant", "tenant"]  # user -> the first profile role

    prefs = tmp_path / "prefs.jsonl"
    prefs.write_text(json.dumps({"prompt": "How much is a key?", "chosen": "£45.",
                                 "rejected": "Free!"}) + "\n", encoding="utf-8")
    assert datasets.import_dataset(sample_project, prefs, "preference").imported == 1
    assert store.list_pairs(sample_project)[0].prompt == [{"role": "tenant",
                                                           "content": "How much is a key?"}]


def test_a_file_without_valid_lines_is_refused(sample_project, tmp_path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("{}\nnope\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        datasets.import_dataset(sample_project, path)
    assert "line 1" in caught.value.message and caught.value.hint
    with pytest.raises(ValidationError):
        datasets.import_dataset(sample_project, tmp_path / "missing.jsonl")
    with pytest.raises(ValidationError):
        datasets.export_dataset(sample_project, tmp_path / "x.jsonl", "weird")
