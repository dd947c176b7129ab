"""The talksmall command line: outputs, --json, and one-line errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_then_info_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "init", str(tmp_path / "p"), "--company", "Acme Lets")
    assert code == 0 and "created project 'Acme Lets'" in out
    code, out, _ = _run(capsys, "info", str(tmp_path / "p"), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["profile"]["company_name"] == "Acme Lets"
    assert info["profile_valid"] is False
    assert "description" in info["profile_errors"]
    assert info["base_model"] == "embedded"


def test_init_sample_gives_a_valid_profile_and_documents(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "init", str(tmp_path / "s"), "--sample", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["profile_valid"] is True, info["profile_errors"]
    assert len(info["profile"]["customer_roles"]) >= 2
    documents = sorted(p.name for p in (tmp_path / "s" / "sample-documents").iterdir())
    assert documents == ["faq.docx", "handbook.pdf", "policies.md", "tickets.csv"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["info", "{tmp}/missing"], "does not exist"),
        (["info", "{tmp}"], "not a TalkSmall project"),
        (["bogus"], "invalid choice"),
        (["info"], "required"),
        (["models", "--add", "{tmp}"], "--project"),
    ],
)
def test_errors_are_one_line_and_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         args: list[str], fragment: str) -> None:
    args = [a.format(tmp=tmp_path) for a in args]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse usage errors exit through SystemExit
        code = exc.code
    out, err = capsys.readouterr()
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in err + out


def test_existing_project_is_not_overwritten(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "init", str(tmp_path / "p"), "--company", "First")
    code, _, err = _run(capsys, "init", str(tmp_path / "p"), "--company", "Second")
    assert code == 1 and "already holds" in err
    _, out, _ = _run(capsys, "info", str(tmp_path / "p"), "--json")
    assert json.loads(out)["profile"]["company_name"] == "First"


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("talksmall")
    result = subprocess.run([str(exe), "info", str(tmp_path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
