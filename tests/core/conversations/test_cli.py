"""``talksmall generate`` and ``talksmall dataset`` through the real command line entry."""

from __future__ import annotations

import json

from core.cli import main
from tests.core.conversations.scripted import helpful
from tests.fakes.openai_server import FakeOpenAIServer


def test_generate_prints_yield_per_source_and_gate_shares(sample_project, capsys) -> None:
    root = str(sample_project.root)
    with FakeOpenAIServer(responder=helpful) as server:
        code = main(["generate", root, "--teacher", server.url, "--teacher-model", "fake",
                     "--limit", "8", "--json"])
        out = capsys.readouterr().out
        assert code == 0
        result = json.loads(out)
        assert result["run"]["processed"] == 8
        assert result["teacher"] == f"endpoint:fake@{server.url}"
        assert sum(s["items"] for s in result["summary"]["by_source"].values()) == 8

        code = main(["generate", root, "--teacher", server.url, "--teacher-model", "fake",
                     "--limit", "10"])
        text = capsys.readouterr().out
    assert code == 0
    assert "this run  2 items" in text and "yield" in text and "rejected by gate" in text


def test_generate_needs_a_model_for_an_endpoint(sample_project, capsys) -> None:
    code = main(["generate", str(sample_project.root), "--teacher", "http://127.0.0.1:9/v1"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: --teacher URL needs --teacher-model")


def test_dataset_export_and_import(generated_project, tmp_path, capsys) -> None:
    root = str(generated_project.root)
    chat = tmp_path / "chat.jsonl"
    assert main(["dataset", "export", root, str(chat), "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["lines"] == len(chat.read_text(encoding="utf-8").splitlines()) > 0
    assert main(["dataset", "import", root, str(chat)]) == 0
    assert capsys.readouterr().out.startswith(f"imported {exported['lines']} of")
    prefs = tmp_path / "prefs.jsonl"
    assert main(["dataset", "export", root, str(prefs), "--kind", "preference"]) == 0
    assert "preference lines" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n", encoding="utf-8")
    assert main(["dataset", "import", root, str(bad)]) == 1
    assert "has no valid chat lines" in capsys.readouterr().err
