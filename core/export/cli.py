"""``talksmall export``: a trained run as a bundle to run elsewhere (GGUF, index, Modelfile).

Registered by core/cli.py (``add_commands``). Progress goes to stderr; on success a table of
the files and their sizes (or, with --json, ExportResult.to_dict()) goes to stdout.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.progress_line import ProgressLine


def add_commands(sub: Any) -> None:
    p = sub.add_parser("export", help="export a trained run: GGUF, company index, Modelfile, zip")
    p.add_argument("project", type=Path, metavar="PROJECT", help="project folder")
    p.add_argument("--run", metavar="ID", help="the run to export (default: the newest "
                   "trained run with a model)")
    p.add_argument("--quant", action="append", metavar="Q",
                   help="model size: f16, q8_0, q4_k_m or all; repeat for several "
                   "(default q4_k_m)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="folder to export into (default: the project's exports/)")
    p.add_argument("--name", metavar="NAME",
                   help="name of the export folder (default: <company>-<run id>)")
    p.add_argument("--no-zip", action="store_true", help="do not write <name>.zip beside it")
    p.add_argument("--override-gates", action="store_true",
                   help="export even though the run fails the release gates (or was not "
                   "evaluated): you accept the risk")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from core.export.bundle import export_assistant, parse_quants
    from core.project import open_project

    quants = parse_quants(args.quant or ["q4_k_m"])  # a typo fails before the project opens
    project = open_project(args.project)
    try:
        result = export_assistant(project, args.run, quants, out_dir=args.out, name=args.name,
                                  make_zip=not args.no_zip,
                                  progress=None if args.json else ProgressLine(),
                                  override_gates=args.override_gates)
    finally:
        project.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_result(result))
    return 0


def format_result(result: Any) -> str:
    from core.export.model_card import human_size

    rows = [(name, human_size(size)) for name, size in result.files]
    if result.zip_path is not None:
        rows.append((f"../{result.zip_path.name}", human_size(result.zip_path.stat().st_size)))
    width = max(len(name) for name, _ in rows)
    lines = [f"exported run {result.run_id} to {result.folder} in {result.seconds:.0f} s"]
    lines += [f"  {name:<{width}}  {size:>9}" for name, size in rows]
    lines.append(f"run it with the company's documents: talksmall chat {result.folder}  "
                 f"(or talksmall serve {result.folder})")
    return "\n".join(lines)


