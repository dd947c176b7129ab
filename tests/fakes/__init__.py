"""Test doubles: a fake job child that replays recorded event streams (see fake_child)."""

from __future__ import annotations

import sys
from pathlib import Path

RECORDINGS = Path(__file__).parent / "recordings"


def recording(name: str) -> Path:
    """A recorded event stream by name: "train_short", "crashed" or "out_of_memory"."""
    path = RECORDINGS / f"{name}.jsonl"
    if not path.exists():
        raise FileNotFoundError(path)
    return path


def fake_child_command(name: str, run_dir: Path | None = None, *options: str) -> list[str]:
    """The command line that replays recording ``name`` as a job child would."""
    command = [sys.executable, "-m", "tests.fakes.fake_child", "--events", str(recording(name))]
    if run_dir is not None:
        command += ["--run-dir", str(run_dir)]
    return [*command, *options]
