"""``talksmall train``: the Training step on the command line, through the same child job.

The run is started exactly as the GUI starts it (runs/<id>/spec.json, ``python -m core.jobs
train``), and its events are printed as they arrive: one line per step in human form, or
the protocol's JSON lines with ``--json``. Ctrl-C asks the run to stop (STOP file): it saves
a checkpoint and ends cancelled; ``--resume RUN`` continues it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.training.presets import DEFAULT_PRESET, METHODS


def add_commands(sub: Any) -> None:
    p = sub.add_parser("train", help="fine-tune the base model on the project's conversations")
    p.add_argument("project", type=Path, help="project folder")
    p.add_argument("--method", choices=METHODS, default="sft",
                   help="sft, sft-lora, or preference training on an SFT result: ipo, "
                        "ipo-ema, ipo-checkpoint, dpo")
    p.add_argument("--preset", default=DEFAULT_PRESET, metavar="NAME",
                   help="talk-small, tone-lora, full, quick-cpu (default) or from-scratch")
    p.add_argument("--base", default="", metavar="MODEL|RUN",
                   help="embedded, a Hugging Face folder, run:<id>, or scratch (default: the "
                        "project's model; for preference methods its newest SFT run)")
    p.add_argument("--lora", action="store_true", help="train a LoRA add-on (merged at the end)")
    p.add_argument("--max-steps", type=int, metavar="N", help="stop after N steps")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="any Advanced setting, e.g. --set learning_rate=1e-4 (repeatable)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--resume", metavar="RUN", help="continue this run from its newest checkpoint")
    p.add_argument("--insist", action="store_true",
                   help="train from scratch even on a corpus far too small")
    p.add_argument("--json", action="store_true", help="print the run's events as JSON lines")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from core.errors import ValidationError
    from core.project import open_project
    from core.training.launch import prepare_run, resume_command
    from core.training.spec import build_spec

    project = open_project(args.project)
    try:
        if args.resume:
            run_dir = project.runs_dir / args.resume
            if not run_dir.is_dir():
                raise ValidationError("resume", f"No run {args.resume} in {project.runs_dir}.",
                                      "Give a run id from 'talksmall info' or runs/.")
            command = resume_command(run_dir)
        else:
            params: dict[str, Any] = {}
            for item in args.set:
                name, sep, value = item.partition("=")
                if not sep:
                    raise ValidationError("set", f"--set {item!r} is not NAME=VALUE.",
                                          "For example --set batch_size=4.")
                params[name.strip()] = value.strip()
            if args.lora:
                params["lora"] = True
            spec = build_spec(project.root, args.method, preset=args.preset, base=args.base,
                              params=params, max_steps=args.max_steps, device=args.device,
                              insist=args.insist)
            run_dir, command = prepare_run(project, spec)
    finally:
        project.close()
    return follow(command, run_dir, as_json=args.json)


def follow(command: list[str], run_dir: Path, as_json: bool = False) -> int:
    """Run the child, print its events, stop it cleanly on Ctrl-C; 0 only if it succeeded."""
    from core.jobs.events import STOP_FILE, stream_events
    from core.jobs.launch import child_env

    if not as_json:
        print(f"run {run_dir.name} ({run_dir})", flush=True)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=child_env())
    status = "failed"
    assert process.stdout is not None
    try:
        for event in stream_events(process.stdout):
            if event.get("type") == "finished":
                status = str(event.get("status"))
            if as_json:
                print(json.dumps(event), flush=True)
            else:
                line = describe(event)
                if line:
                    print(line, flush=True)
    except KeyboardInterrupt:
        (run_dir / STOP_FILE).touch()
        print("stopping: saving a checkpoint (resume with --resume "
              f"{run_dir.name})", file=sys.stderr, flush=True)
        for event in stream_events(process.stdout):
            if event.get("type") == "finished":
                status = str(event.get("status"))
    process.wait()
    return 0 if status == "succeeded" else 1


def describe(event: dict[str, Any]) -> str:
    """One human line per event worth showing."""
    kind = event.get("type")
    if kind == "stage":
        return f"== {event['name']} ({event['index']}/{event['of']})"
    if kind == "progress":
        eta = event.get("eta_s")
        return f"step {event['step']}/{event['total']}" + (f", {eta:.0f} s left" if eta else "")
    if kind == "metric":
        values = ", ".join(f"{k} {v:g}" for k, v in event.items()
                           if k not in ("type", "step") and isinstance(v, (int, float)))
        return f"  {values}"
    if kind == "sample":
        return f"  sample: {event.get('question')} -> {event.get('answer')}"
    if kind == "checkpoint":
        return f"  checkpoint saved at step {event['step']}"
    if kind == "log":
        return f"{event['level']}: {event['message']}"
    if kind == "error":
        return f"error: {event['message']} {event.get('hint', '')}".rstrip()
    if kind == "finished":
        output = event.get("output") or ""
        return f"{event['status']}" + (f": {output}" if output else "")
    return ""
