"""Starting a training run: a new run folder with its spec, and the command that runs it.

``single`` (default) is the one job entry point, ``python -m core.jobs train``. ``accelerate``
starts the same recipe on several GPUs with ``accelerate launch --config_file FILE -m
core.training.run``; only rank 0 speaks the event protocol (see core.training.run), so the
GUI and CLI read a multi-GPU run exactly like a single one. ``resume_command`` continues a
cancelled or failed run in its own folder from its newest checkpoint.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from core.atomic import atomic_write_json
from core.errors import TalkSmallError
from core.jobs.launch import SPEC_FILE, child_command, child_env, new_run_dir, write_spec
from core.training.spec import parse_spec

JOB = "train"


def prepare_run(project: Any, spec: dict[str, Any]) -> tuple[Path, list[str]]:
    """Validate ``spec``, make runs/<id>/ with spec.json; returns (run folder, command)."""
    parsed = parse_spec(spec)
    run_dir = new_run_dir(project.runs_dir, JOB)
    spec_path = write_spec(run_dir, parsed.to_dict())
    return run_dir, command_for(parsed.launcher, parsed.accelerate_config, spec_path, run_dir)


def resume_command(run_dir: Path) -> list[str]:
    """Mark the run's spec as resuming and return the command that continues it."""
    import json

    from core.jobs.events import STOP_FILE, run_status
    from core.training.engine import newest_checkpoint

    run_dir = Path(run_dir)
    if run_status(run_dir) == "succeeded":
        raise TalkSmallError(f"Run {run_dir.name} has already finished.",
                             "Start a new run to train further.")
    if newest_checkpoint(run_dir) is None:
        raise TalkSmallError(f"Run {run_dir.name} has no checkpoint to resume from.",
                             "Start a new run instead.")
    spec_path = run_dir / SPEC_FILE
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    spec["resume"] = True
    parsed = parse_spec(spec)
    atomic_write_json(spec_path, parsed.to_dict())
    (run_dir / STOP_FILE).unlink(missing_ok=True)
    return command_for(parsed.launcher, parsed.accelerate_config, spec_path, run_dir)


def command_for(launcher: str, accelerate_config: str | None, spec_path: Path,
                run_dir: Path) -> list[str]:
    if launcher != "accelerate":
        return child_command(JOB, spec_path, run_dir)
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
            str(accelerate_config), "-m", "core.training.run", "--spec", str(spec_path),
            "--run-dir", str(run_dir)]


__all__ = ["child_env", "command_for", "prepare_run", "resume_command"]
