"""`talksmall import PROJECT PATH... [--json] [--max-file-mb N]`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.project import Project

REPO = Path(__file__).resolve().parents[3]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_prints_one_line_per_file(project: Project, sample_files: dict[str, Path],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "import", str(project.root),
                          *(str(p) for p in sample_files.values()))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 4
    assert re.fullmatch(r"imported   handbook\.pdf  \(15 pages, \d+ chunks, \d+ redactions\)",
                        lines[0])
    assert re.fullmatch(r"imported   tickets\.csv  \(60 rows, 60 chunks, [1-9]\d* redactions\)",
                        lines[3])

    code, out, _ = _run(capsys, "import", str(project.root), str(sample_files["faq.docx"]))
    assert code == 0
    assert out == "duplicate  faq.docx  (same content as faq.docx, already imported)\n"


def test_a_failure_exits_1_after_importing_the_rest(
        project: Project, sample_files: dict[str, Path], corrupt_pdf: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "import", str(project.root), str(corrupt_pdf),
                        str(sample_files["policies.md"]))
    assert code == 1
    failed, imported = out.splitlines()
    assert failed.startswith("failed     corrupt.pdf  (corrupt.pdf is damaged or not a PDF")
    assert imported.startswith("imported   policies.md  (")


def test_json_output_and_size_limit(project: Project, sample_files: dict[str, Path],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "import", str(project.root), str(sample_files["handbook.pdf"]),
                        "--json", "--max-file-mb", "0.01")
    assert code == 1
    results = json.loads(out)
    assert results[0]["status"] == "failed"
    assert results[0]["message"].startswith("handbook.pdf is ")
    assert "MB, over the 0.01 MB limit; raise the limit" in results[0]["message"]

    code, out, _ = _run(capsys, "import", str(project.root), str(sample_files["policies.md"]),
                        "--json")
    assert code == 0
    (result,) = json.loads(out)
    assert result["status"] == "imported" and result["chunks"] > 0


@pytest.mark.parametrize(("args", "fragment"), [
    (["import", "{tmp}/nowhere", "{tmp}"], "does not exist"),
    (["import", "{project}", "{tmp}/empty-folder"], "No files to import"),
    (["import", "{project}", "x.md", "--max-file-mb", "0"], "--max-file-mb must be above 0"),
])
def test_errors_are_one_line(project: Project, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str], args: list[str],
                             fragment: str) -> None:
    (tmp_path / "empty-folder").mkdir()
    args = [a.format(tmp=tmp_path, project=project.root) for a in args]
    code, out, err = _run(capsys, *args)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and fragment in err and len(err.splitlines()) == 1


def test_console_script_runs_in_its_own_process(project: Project,
                                                sample_files: dict[str, Path]) -> None:
    project.close()  # the child opens the project itself
    done = subprocess.run([sys.executable, "-m", "core.cli", "import", str(project.root),
                           str(sample_files["policies.md"]), "/no/such/file.pdf"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stdout.splitlines()[0].startswith("imported   policies.md")
    assert done.stdout.splitlines()[1].startswith("failed     file.pdf  (file.pdf does not exist")
