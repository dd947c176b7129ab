"""The run history of training: every runs/<id>/ of the train job, newest first.

Read from the run folders themselves (spec.json, events.jsonl, summary.json), so a run that
crashed without writing anything more still shows, as failed, with the reason it reported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.jobs.events import read_events, run_status

JOB = "train"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def run_record(run_dir: Path) -> dict[str, Any]:
    """One run as the history table shows it."""
    spec = _read_json(run_dir / "spec.json")
    config = _read_json(run_dir / "config.json")
    summary = _read_json(run_dir / "summary.json")
    events = read_events(run_dir)
    status = run_status(run_dir)
    error = next((e for e in reversed(events) if e.get("type") == "error"), None)
    finished = next((e for e in reversed(events) if e.get("type") == "finished"), None)
    started = next((e for e in events if e.get("type") == "started"), None)
    metrics: dict[str, float] = {}
    for event in events:
        if event.get("type") == "metric":
            metrics.update({k: v for k, v in event.items() if k not in ("type", "step")})
    last_step = max((e["step"] for e in events if e.get("type") == "progress"), default=0)
    record: dict[str, Any] = {
        "id": run_dir.name, "path": str(run_dir), "status": status,
        "method": spec.get("method"), "preset": spec.get("preset"),
        "base": config.get("base") or spec.get("base") or "",
        "data_size": config.get("data", {}), "started": started.get("time") if started else None,
        "duration_s": summary.get("duration_s",
                                  finished.get("elapsed_s") if finished else None),
        "steps": summary.get("steps", last_step),
        "final_metrics": summary.get("final_metrics", metrics),
        "output": summary.get("output") if status == "succeeded" else None,
        "error": None,
    }
    if status == "failed":
        if error is not None:
            record["error"] = {"code": error.get("code"), "message": error.get("message"),
                               "hint": error.get("hint", "")}
        else:
            record["error"] = {"code": "crashed", "message": "The training process stopped "
                               "without reporting why (it may have been killed or crashed).",
                               "hint": f"See {run_dir / 'stderr.log'}; start the run again."}
    return record


def list_training_runs(project: Any) -> list[dict[str, Any]]:
    """All training runs of the project, newest first (run ids start with their UTC time)."""
    root = Path(project.runs_dir)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and f"-{JOB}-" in p.name]
    return [run_record(p) for p in sorted(runs, key=lambda p: p.name, reverse=True)]


def newest_sft_run(project: Any) -> str | None:
    """The newest succeeded SFT run (full or LoRA): the default base for preference runs."""
    for record in list_training_runs(project):
        if record["status"] == "succeeded" and record["method"] in ("sft", "sft-lora") \
                and (Path(record["path"]) / "final" / "config.json").is_file():
            return str(record["id"])
    return None
