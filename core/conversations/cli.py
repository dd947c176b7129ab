"""``talksmall generate`` and ``talksmall dataset``: the Conversations step on the command line.

Registered by core/cli.py (``add_commands``); kept here so the step's CLI lives with the step.
Errors are TalkSmallErrors (one line, non-zero exit); ``--json`` prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def add_commands(sub: Any) -> None:
    p = sub.add_parser("generate", help="make training conversations from imported documents")
    p.add_argument("project", type=Path, help="project folder")
    p.add_argument("--teacher", default="embedded", metavar="embedded|URL",
                   help="the embedded model (default) or an OpenAI-compatible base URL")
    p.add_argument("--teacher-model", metavar="NAME", help="model name at the endpoint")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow sending document text to an endpoint on another computer")
    p.add_argument("--per-chunk", type=int, metavar="N", help="questions per chunk and role")
    p.add_argument("--limit", type=int, metavar="N", help="at most N items in the plan")
    p.add_argument("--seed", type=int, metavar="N", help="seed for the teacher and templates")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("dataset", help="export or import datasets as JSON Lines")
    p.add_argument("action", choices=("export", "import"))
    p.add_argument("project", type=Path, help="project folder")
    p.add_argument("file", type=Path, help="the .jsonl file to write or read")
    p.add_argument("--kind", choices=("chat", "preference"), default="chat",
                   help="chat: messages; preference: prompt / chosen / rejected")
    p.add_argument("--role-encoding", choices=("header", "system"), default="header",
                   help="chat export: the customer's role as the turn's role (default) or "
                        "named in the system prompt")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dataset)


def cmd_generate(args: argparse.Namespace) -> int:
    from core.conversations.job import teacher_from_spec
    from core.conversations.pipeline import Progress, generate_conversations
    from core.conversations.settings import load_settings
    from core.conversations.store import summary
    from core.errors import TalkSmallError
    from core.project import open_project

    if args.teacher == "embedded":
        spec = {"kind": "embedded"}
    else:
        if not args.teacher_model:
            raise TalkSmallError("--teacher URL needs --teacher-model NAME.",
                                 "Give the model name the endpoint serves, e.g. llama3.2:3b.")
        spec = {"kind": "endpoint", "base_url": args.teacher, "model": args.teacher_model,
                "allow_remote": args.allow_remote}
    project = open_project(args.project)
    try:
        settings = load_settings(project)
        if args.per_chunk is not None:
            settings.per_chunk = args.per_chunk
        if args.limit is not None:
            settings.limit = args.limit
        if args.seed is not None:
            settings.seed = args.seed
        teacher = teacher_from_spec({"teacher": spec})
        started = time.monotonic()

        def on_progress(update: Progress) -> None:
            if args.json:
                return
            if update.message and update.level != "info":
                print(f"\n{update.level}: {update.message}", file=sys.stderr)
            if update.total:
                elapsed = time.monotonic() - started
                print(f"\r[{update.done}/{update.total}] {elapsed:5.0f} s", end="", flush=True)

        try:
            report = generate_conversations(project, teacher, settings, progress=on_progress)
        finally:
            teacher.close()
        result = {"run": report.to_dict(), "summary": summary(project),
                  "teacher": teacher.name}
    finally:
        project.close()
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print()
        print(format_report(result))
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    from core.conversations import datasets
    from core.project import open_project

    project = open_project(args.project)
    try:
        if args.action == "export":
            options = {"role_encoding": args.role_encoding} if args.kind == "chat" else {}
            count = datasets.export_dataset(project, args.file, args.kind, **options)
            result: dict[str, Any] = {"action": "export", "kind": args.kind,
                                      "path": str(args.file), "lines": count}
            human = f"wrote {count} {args.kind} lines to {args.file}"
        else:
            report = datasets.import_dataset(project, args.file, args.kind)
            result = {"action": "import", **report.to_dict()}
            human = (f"imported {report.imported} of {report.lines} {args.kind} lines from "
                     f"{args.file}")
            for line, reason in report.skipped:
                human += f"\n  line {line}: {reason}"
            if report.skipped_count > len(report.skipped):
                human += f"\n  ... and {report.skipped_count - len(report.skipped)} more"
    finally:
        project.close()
    print(json.dumps(result, indent=2) if args.json else human)
    return 0


def format_report(result: dict[str, Any]) -> str:
    """This run, then the project's yield per source and rejections per gate."""
    run, total = result["run"], result["summary"]
    lines = [f"teacher   {result['teacher']}",
             f"this run  {run['processed']} items in {run['seconds']:.0f} s "
             f"({run['items_per_minute']:g}/min): {run['kept']} kept, {run['dropped']} dropped,"
             f" {run['pairs']} pairs" + (" (stopped)" if run["stopped"] else ""),
             f"project   {total['examples']['usable']} usable conversations of "
             f"{total['examples']['total']}, {total['pairs']['total']} preference pairs, "
             f"mean Flesch {total['flesch_mean']}",
             "", f"{'source':<22}{'items':>7}{'kept':>7}{'yield':>8}"]
    for source, stats in total["by_source"].items():
        lines.append(f"{source:<22}{stats['items']:>7}{stats['kept']:>7}"
                     f"{stats['yield'] * 100:>7.0f}%")
    lines += ["", f"{'rejected by gate':<22}{'items':>7}{'share':>8}"]
    for gate, stats in total["rejected_by_gate"].items():
        lines.append(f"{gate:<22}{stats['count']:>7}{stats['share'] * 100:>7.1f}%")
    return "\n".join(lines)
