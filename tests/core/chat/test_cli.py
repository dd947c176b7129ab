"""``talksmall chat`` and ``talksmall serve`` on the command line (real model, real project)."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import pytest

from core.cli import main
from core.models.embedded import embedded_gguf_path
from tests.core.chat.helpers import FEE_QUESTION, make_empty_project

GGUF = str(embedded_gguf_path())


@pytest.mark.slow
def test_chat_prompt_json_answers_once(capsys: pytest.CaptureFixture[str]):
    code = main(["chat", GGUF, "--prompt", "Hello, who are you?", "--json", "--max-tokens", "8",
                 "--temperature", "0", "--role", "tenant"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["question"] == "Hello, who are you?" and out["text"] and 0 < out["tokens"] <= 8
    assert out["role"] == "tenant" and out["passages"] == [] and out["escalated"] is False
    assert out["model_path"] == GGUF


def test_chat_on_a_project_with_nothing_relevant_escalates(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]):
    make_empty_project(tmp_path / "p").close()
    code = main(["chat", str(tmp_path / "p"), "--prompt", FEE_QUESTION, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["escalated"] is True and out["tokens"] == 0
    assert out["model"] == "kestrel-quay-lettings" and out["role"] == "tenant"
    assert "Kestrel Quay Lettings" in out["text"]


@pytest.mark.slow
def test_the_repl_keeps_the_conversation_and_switches_roles(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]):
    monkeypatch.setattr("sys.stdin", io.StringIO("Hi there\n/role owner\nThanks\n"))
    assert main(["chat", GGUF, "--max-tokens", "4", "--temperature", "0"]) == 0
    out = capsys.readouterr().out
    assert "Chatting with" in out and "you> " in out and "owner> " in out


@pytest.mark.parametrize(("argv", "says"), [
    (["chat", GGUF, "--json"], "--json needs --prompt"),
    (["chat", "/no/such/folder", "--prompt", "Hi"], "neither a project folder nor a .gguf"),
    (["serve", GGUF, "--host", "0.0.0.0"], "--allow-remote"),
    (["serve", GGUF, "--host", "0.0.0.0", "--allow-remote"], "API key"),
])
def test_refusals_are_one_line_errors(argv: list[str], says: str,
                                      capsys: pytest.CaptureFixture[str]):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err and "Traceback" not in err


def test_serve_on_a_taken_port_names_the_port(capsys: pytest.CaptureFixture[str]):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", GGUF, "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"Port {port} on 127.0.0.1 is already in use" in err and "--port" in err
