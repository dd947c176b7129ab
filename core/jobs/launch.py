"""How a parent starts a job child: the command line, its environment, and the run folder.

The GUI's job runner and the CLI both use these, so a run started either way looks the same
on disk: runs/<run-id>/spec.json, events.jsonl, pid, stderr.log.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.atomic import atomic_write_json

SPEC_FILE = "spec.json"
WORKER_NAME = "talksmall-worker"
STUDIO_NAME = "talksmall-studio"


def bundled_executable(name: str) -> Path:
    """A program of the installed bundle, next to the running one's executable."""
    suffix = ".exe" if os.name == "nt" else ""
    return Path(sys.executable).with_name(name + suffix)


def worker_executable() -> Path:
    """The bundle's entry point for long jobs."""
    return bundled_executable(WORKER_NAME)


def child_command(job: str, spec_path: Path, run_dir: Path) -> list[str]:
    args = [job, "--spec", str(spec_path), "--run-dir", str(run_dir)]
    if getattr(sys, "frozen", False):
        return [str(worker_executable()), *args]
    return [sys.executable, "-m", "core.jobs", *args]


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: ours, plus the source tree on PYTHONPATH and unbuffered UTF-8.

    The GUI may have been started from any folder, so ``-m core.jobs`` must not depend on the
    working directory.
    """
    env = dict(os.environ if base is None else base)
    if not getattr(sys, "frozen", False):
        root = str(Path(__file__).resolve().parents[2])
        parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if root not in parts:
            env["PYTHONPATH"] = os.pathsep.join([root, *parts])
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def new_run_id(job: str) -> str:
    """UTC time first so ids sort by start time; a short random tail keeps them unique."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{job}-{secrets.token_hex(3)}"


def new_run_dir(root: Path, job: str) -> Path:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    while True:
        folder = root / new_run_id(job)
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder


def write_spec(run_dir: Path, spec: dict[str, Any]) -> Path:
    path = Path(run_dir) / SPEC_FILE
    atomic_write_json(path, spec)
    return path
