"""``talksmall eval``: the Evaluation step's comparison table on the command line.

Registered by core/cli.py (``add_commands``). Prints one aligned row per model; ``--json``
prints the whole table (settings, metric definitions, counts). Answers already stored under
the same settings are reused, so a second run prints at once; Ctrl+C keeps what was made.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# Columns of the plain-text table: (metric key, header, format).
_COLUMNS = (
    ("readable_share", "read%", "{:.0%}"), ("mean_flesch", "flesch", "{:.1f}"),
    ("similarity", "sim", "{:.3f}"), ("rouge_l", "rougeL", "{:.3f}"), ("bleu", "bleu", "{:.1f}"),
    ("chrf", "chrF", "{:.1f}"), ("intent_accuracy", "intent", "{:.0%}"),
    ("policy_adherence", "policy", "{:.0%}"), ("escalation_rate", "esc-out", "{:.0%}"),
    ("wrong_escalation_rate", "esc-in", "{:.0%}"), ("retrieval_recall", "recall", "{:.0%}"),
    ("mean_words", "words", "{:.0f}"), ("seconds_per_answer", "s/ans", "{:.1f}"),
)


def add_commands(sub: Any) -> None:
    p = sub.add_parser("eval", help="compare models on the evaluation questions")
    p.add_argument("project", type=Path, help="project folder")
    p.add_argument("--models", metavar="LIST",
                   help="comma-separated: base, prompted, retrieval, run:<id> (or the id), "
                   "run:<id>+retrieval, file:<model.gguf> (default: base,prompted,retrieval "
                   "and the newest trained run with and without retrieval)")
    p.add_argument("--questions", type=Path, metavar="FILE.jsonl",
                   help="import these questions (question, reference, role, intent, "
                   "in_scope, must_contain) and evaluate only them")
    p.add_argument("--hold-out", type=float, metavar="SHARE",
                   help="first hold out this share of the generated conversations (e.g. 0.1)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    p.add_argument("--max-tokens", type=int, default=160, metavar="N",
                   help="answer length limit (default 160; part of the stored settings)")
    p.add_argument("--report", action="store_true",
                   help="also write the HTML report into the project's reports/ folder")
    p.add_argument("--json", action="store_true", help="print the full table as JSON")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from core.evaluation.models import EvalSettings, default_models
    from core.evaluation.questions import hold_out, import_questions
    from core.evaluation.runner import evaluate
    from core.project import open_project

    settings = EvalSettings(max_tokens=args.max_tokens)
    project = open_project(args.project)
    try:
        if args.hold_out is not None:
            held = hold_out(project, share=args.hold_out)
            _note(args, f"held out {held.added} more conversations ({held.held_out} of "
                  f"{held.usable} usable in all)")
        ids = None
        if args.questions is not None:
            imported = import_questions(project, args.questions)
            ids = imported.ids
            _note(args, f"{args.questions.name}: {imported.added} questions added, "
                  f"{imported.updated} updated")
        models = ([m.strip() for m in args.models.split(",") if m.strip()] if args.models
                  else default_models(project))

        def on_progress(done: int, total: int, message: str) -> None:
            if not args.json and total:
                print(f"\r[{done}/{total}] {message[:70]:<70}", end="", file=sys.stderr,
                      flush=True)

        try:
            table = evaluate(project, models, questions=ids, limit=args.limit,
                             settings=settings, progress=on_progress)
        finally:
            if not args.json:
                print(file=sys.stderr)
        report_path = None
        if args.report:
            from core.evaluation.report import write_report

            report_path = write_report(project, table)
    finally:
        project.close()
    data = table.to_dict()
    if report_path is not None:
        data["report"] = str(report_path)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(format_table(data))
        if report_path is not None:
            print(f"report: {report_path}")
    return 0


def format_table(data: dict[str, Any]) -> str:
    """The table as aligned plain text: one row per model, "-" where a metric does not apply."""
    header = ["model", "answers", *[h for _, h, _ in _COLUMNS]]
    lines = [header]
    for row in data["rows"]:
        cells = [row["label"], f"{row['answered']}/{row['questions']}"]
        for key, _, fmt in _COLUMNS:
            value = row["metrics"].get(key)
            cells.append("-" if value is None else fmt.format(value))
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                      for i, (c, w) in enumerate(zip(line, widths, strict=True)))
            for line in lines]
    settings = data["settings"]
    text.append(f"{data['questions']} questions; greedy={settings['temperature'] == 0}, "
                f"max_tokens={settings['max_tokens']}, seed={settings['seed']}; "
                f"{data['generated']} answers made now")
    return "\n".join(text)


def _note(args: argparse.Namespace, message: str) -> None:
    if not args.json:
        print(message, file=sys.stderr)
