"""``talksmall build`` and ``talksmall gates``: "Build my assistant" on the command line.

``build`` shows the plan and its time estimate, then runs the same ``build`` job the app
runs (a child process; Ctrl-C pauses it, running the command again continues), and prints
the evaluation table, the release gates and the export's path at the end. ``gates`` shows
and edits the release gates and judges a run against them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

_VERDICT = {"passed": "PASS", "failed": "FAIL", "not_applicable": "N/A "}


def add_commands(sub: Any) -> None:
    p = sub.add_parser("build", help="Build my assistant: documents -> conversations -> SFT "
                       "-> IPO -> evaluation -> export, resumable")
    p.add_argument("project", type=Path, help="project folder (profile filled in, documents "
                   "imported)")
    p.add_argument("--plan", default="auto", choices=("auto", "gpu", "cpu", "ci"),
                   help="auto (gpu where CUDA is present, else cpu), or ci: a tiny check")
    p.add_argument("--restart", action="store_true",
                   help="start a new build instead of continuing the last one")
    p.add_argument("--override-gates", action="store_true",
                   help="export even if the chosen model fails the release gates")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow the project's endpoint teacher when it is on another computer")
    p.add_argument("--json", action="store_true", help="print the job's events as JSON lines")
    p.set_defaults(func=cmd_build)

    g = sub.add_parser("gates", help="show or edit the release gates, and judge a run")
    g.add_argument("project", type=Path, help="project folder")
    g.add_argument("--run", metavar="ID", help="judge this run (default: the build's choice, "
                   "else the newest trained run)")
    g.add_argument("--golden-min", type=float, metavar="SHARE",
                   help="share of golden questions that must state every fact (default 1.0)")
    g.add_argument("--min-readable", type=float, metavar="SHARE",
                   help="minimum share of readable answers (default 0.9)")
    g.add_argument("--max-unescalated", type=float, metavar="SHARE",
                   help="maximum share of out-of-scope questions not escalated (default 0.1)")
    g.add_argument("--json", action="store_true", help="machine-readable output")
    g.set_defaults(func=cmd_gates)


def cmd_build(args: argparse.Namespace) -> int:
    from core.pipeline.launch import prepare_build
    from core.pipeline.plan import STAGE_TITLES, format_duration, get_plan
    from core.pipeline.state import FINISHED, can_continue, load_state
    from core.project import open_project
    from core.training.cli import follow

    project = open_project(args.project)
    try:
        state = load_state(project)
        resuming = can_continue(state) and not args.restart
        plan = get_plan(state["plan"] if resuming and state else args.plan)
        estimate = plan.estimate()
        if not args.json:
            print(f"{'Continuing' if resuming else 'Building'} the assistant for "
                  f"{project.profile().company_name} with the {plan.name} plan: "
                  f"{format_duration(sum(estimate.values()))} in all")
            for name, seconds in estimate.items():
                done = resuming and state is not None and \
                    state["stages"][name]["status"] in FINISHED
                print(f"  {STAGE_TITLES[name]:<36} "
                      f"{'done' if done else format_duration(seconds)}")
        run_dir, _spec, command = prepare_build(
            project, plan=plan.name, restart=args.restart,
            override_gates=args.override_gates, allow_remote=args.allow_remote)
    finally:
        project.close()
    code = follow(command, run_dir, as_json=args.json)
    if not args.json:
        print(build_summary(args.project))
    return code


def build_summary(folder: Path) -> str:
    """The evaluation table, the release gates of the chosen model and the export, as text."""
    from core.evaluation.cli import format_table
    from core.evaluation.table import eval_table
    from core.pipeline.state import load_state
    from core.project import open_project

    project = open_project(folder)
    try:
        state = load_state(project) or {}
        lines = [f"build {state.get('status', 'not started')}"]
        stages = state.get("stages", {})
        evaluated = stages.get("evaluate", {})
        if evaluated.get("models") and evaluated.get("status") == "done":
            table = eval_table(project, evaluated["models"], questions=evaluated.get("questions"))
            lines.append(format_table(table.to_dict()))
        selection = state.get("selection")
        if selection:
            lines.append(f"chosen: {selection['method']} run {selection['run']} "
                         f"({selection['reason']})")
            report = selection["reports"].get(selection["run"])
            if report:
                lines += [f"  {_VERDICT[g['status']]} {g['label']}: {g['detail']}"
                          for g in report["gates"]]
        if state.get("export"):
            lines.append(f"exported to {state['export']}")
        elif state.get("error"):
            lines.append(f"stopped: {state['error']}")
        return "\n".join(lines)
    finally:
        project.close()


def cmd_gates(args: argparse.Namespace) -> int:
    from core.chat.runs import newest_run_with_model
    from core.errors import ValidationError
    from core.pipeline.gates import check_gates, load_gate_settings, save_gate_settings
    from core.pipeline.state import load_state
    from core.project import open_project

    project = open_project(args.project)
    try:
        settings = load_gate_settings(project)
        changes = {"golden_min_share": args.golden_min, "min_readable_share": args.min_readable,
                   "max_unescalated_share": args.max_unescalated}
        changes = {k: v for k, v in changes.items() if v is not None}
        if changes:
            settings = type(settings)(**{**settings.to_dict(), **changes})
            save_gate_settings(project, settings)
        state = load_state(project) or {}
        run_id = args.run or (state.get("selection") or {}).get("run") or \
            newest_run_with_model(project)
        if not run_id:
            raise ValidationError("run", f"{project.name} has no trained run to judge.",
                                  "Train a model or run 'talksmall build' first.")
        report = check_gates(project, run_id, settings=settings)
    finally:
        project.close()
    if args.json:
        print(json.dumps({"settings": settings.to_dict(), "report": report.to_dict()},
                         indent=2, ensure_ascii=False))
        return 0 if report.passed else 1
    print(f"release gates for run {run_id} ({report.answered} answers): "
          f"{'PASS' if report.passed else 'FAIL'}")
    for gate in report.gates:
        print(f"  {gate.status.upper():<14} {gate.label}: {gate.detail}")
        for failure in gate.failures[:5]:
            print(f"      - {failure.question}\n        {failure.reason}: {failure.answer[:160]}")
    return 0 if report.passed else 1
