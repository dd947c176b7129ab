"""Starting a build: a run folder with its spec, the command, and a reader for its events."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

JOB = "build"


def prepare_build(project: Any, *, plan: str = "auto", restart: bool = False,
                  override_gates: bool = False, allow_remote: bool = False
                  ) -> tuple[Path, dict[str, Any], list[str]]:
    """runs/<id>-build-…/spec.json for this project; returns (run folder, spec, command)."""
    from core.jobs.launch import child_command, new_run_dir, write_spec

    spec = {"project": str(project.root), "plan": plan, "restart": restart,
            "override_gates": override_gates, "allow_remote": allow_remote}
    run_dir = new_run_dir(project.runs_dir, JOB)
    return run_dir, spec, child_command(JOB, write_spec(run_dir, spec), run_dir)


def run_build_child(command: list[str], on_event: Callable[[dict[str, Any]], None]
                    ) -> tuple[str, dict[str, float]]:
    """Run the build child to its end; returns its status and the seconds of each stage."""
    from core.jobs.events import stream_events
    from core.jobs.launch import child_env

    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=child_env())
    status, timings = "failed", {}
    current, since = "", time.perf_counter()
    assert process.stdout is not None
    for event in stream_events(process.stdout):
        if event["type"] in ("stage", "finished") and current:
            timings[current] = round(time.perf_counter() - since, 1)
        if event["type"] == "stage":
            current, since = str(event["name"]), time.perf_counter()
        elif event["type"] == "finished":
            status, current = str(event["status"]), ""
        on_event(event)
    process.wait()
    return status, timings
