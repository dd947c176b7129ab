"""End to end on the embedded tiny model: the headless pipeline as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_headless_demo_runs_every_built_step(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("talksmall")
    result = subprocess.run(
        [str(exe), "demo", "--size", "ci", "--dir", str(tmp_path / "demo"), "--json"],
        capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    steps = {s["step"]: s for s in report["steps"]}
    assert list(steps) == ["project", "documents", "model", "build", "chat"]
    assert [f["status"] for f in steps["documents"]["files"]] == ["imported"] * 4
    assert sum(f["redactions"] for f in steps["documents"]["files"]) > 50
    answer = steps["model"]["answers"][0]
    assert answer["tokens"] > 0 and answer["answer"].strip()
    build = steps["build"]
    assert build["status"] == "succeeded"
    assert list(build["stage_seconds"]) == ["documents", "conversations", "sft", "ipo",
                                            "evaluate", "export"]
    selection = report["build"]["selection"]
    assert selection["method"] in ("SFT", "IPO")
    gates = selection["reports"][selection["run"]]["gates"]
    golden = next(g for g in gates if g["key"] == "golden")
    assert golden["status"] in ("passed", "failed")  # the sample's golden questions count
    export = Path(report["export"])
    assert (export / "model-f16.gguf").stat().st_size > 100_000_000
    manifest = json.loads((export / "talksmall-export.json").read_text(encoding="utf-8"))
    assert manifest["run_id"] == selection["run"]
    assert manifest["release_gates"]  # the verdict, or the override, is on record
    assert steps["chat"]["answer"].strip()
    info = subprocess.run([str(exe), "info", str(tmp_path / "demo"), "--json"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(info.stdout)["profile_valid"] is True


def test_demo_refuses_to_replace_a_real_project(tmp_path: Path) -> None:
    from core.cli import main
    from core.project import create_project

    create_project(tmp_path / "mine", company_name="Mine").close()
    assert main(["demo", "--dir", str(tmp_path / "mine")]) == 1
    assert (tmp_path / "mine" / "project.sqlite").is_file()
