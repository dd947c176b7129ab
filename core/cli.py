"""The ``talksmall`` command line: every wizard step as a command.

Errors are one line on stderr and a non-zero exit, never a traceback; ``--json`` prints one
machine-readable JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from core import __version__
from core.errors import TalkSmallError
from core.progress_line import ProgressLine

EXIT_FAILED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see 'talksmall {self.prog.split()[-1]} --help')\n"
                  if " " in self.prog else f"error: {message} (see 'talksmall --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="talksmall", description="TalkSmall Studio: your documents -> your "
                     "private customer-support chat model.")
    parser.add_argument("--version", action="version", version=f"talksmall {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("init", help="create a project folder")
    p.add_argument("dir", type=Path, help="project folder (created if missing)")
    p.add_argument("--sample", action="store_true", help="fill it with the sample company")
    p.add_argument("--company", default="", help="company name")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser("info", help="show a project's profile, models and runs")
    p.add_argument("dir", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("models", help="list models; prepare the embedded one; add your own")
    p.add_argument("--project", type=Path, help="project whose models to list or change")
    p.add_argument("--add", metavar="PATH", help="add a Hugging Face model folder or GGUF file")
    p.add_argument("--use", metavar="PATH|embedded", help="make this the project's base model")
    p.add_argument("--prepare", action="store_true",
                   help="convert the embedded model for training now (cached; ~1 min once)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("import", help="import documents and ticket exports into a project")
    p.add_argument("project", type=Path, help="project folder")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="files or folders (PDF, DOCX, TXT, Markdown, HTML, CSV, JSON, JSONL)")
    p.add_argument("--max-file-mb", type=float, metavar="N",
                   help="size limit for this run (default: the project's, 50 MB unless changed)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_import)

    from core.conversations.cli import add_commands as add_conversation_commands

    add_conversation_commands(sub)  # generate, dataset

    from core.training.cli import add_commands as add_training_commands

    add_training_commands(sub)  # train

    from core.retrieval.cli import add_commands as add_retrieval_commands

    add_retrieval_commands(sub)  # search

    from core.chat.cli import add_commands as add_chat_commands
    from core.serve.cli import add_commands as add_serve_commands

    add_chat_commands(sub)  # chat
    add_serve_commands(sub)  # serve

    from core.export.cli import add_commands as add_export_commands

    add_export_commands(sub)  # export

    from core.evaluation.cli import add_commands as add_evaluation_commands

    add_evaluation_commands(sub)  # eval

    from core.pipeline.cli import add_commands as add_pipeline_commands

    add_pipeline_commands(sub)  # build, gates

    p = sub.add_parser("demo", help="run the whole pipeline headless on the sample company")
    p.add_argument("--dir", type=Path, default=Path("talksmall-demo"),
                   help="where to create the demo project (default: ./talksmall-demo)")
    p.add_argument("--size", choices=("ci", "full"), default="ci",
                   help="ci: a tiny configuration (minutes); full: the 30-minute run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("app", help="open the desktop app")
    p.add_argument("project", nargs="?", type=Path, help="project folder to open")
    p.set_defaults(func=_cmd_app)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except TalkSmallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("error: interrupted; what was saved stays saved", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one line, details in a log file
        log = _write_crash_log()
        print(f"error: unexpected failure ({type(exc).__name__}: {exc}); details in {log}",
              file=sys.stderr)
        return EXIT_FAILED


# --- commands -------------------------------------------------------------------
def _cmd_init(args: argparse.Namespace) -> int:
    if args.sample:
        from core.sample import init_sample

        project = init_sample(args.dir, company_name=args.company)
    else:
        from core.project import create_project

        project = create_project(args.dir, company_name=args.company)
    from core.project import remember_project

    remember_project(project.root, project.name)
    info = project.info()
    project.close()
    _print(args, info, lambda i: f"created project '{i['name']}' in {i['path']}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from core.project import open_project

    project = open_project(args.dir)
    try:
        info = project.info()
    finally:
        project.close()
    _print(args, info, _format_info)
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from core.project import model_choice

    project = None
    if args.project:
        from core.project import open_project

        project = open_project(args.project)
    try:
        if args.prepare:
            from core.models.embedded import embedded_hf_dir

            path = embedded_hf_dir(progress=None if args.json else ProgressLine())
            if not args.json:
                print(f"\nembedded model ready for training: {path}")
        if args.add or args.use:
            if project is None:
                raise TalkSmallError("--add and --use change a project.", "Add --project DIR.")
            if args.add:
                model_choice.add_model(project, args.add)
            if args.use:
                model_choice.set_base_model(project, args.use)
        listing = model_choice.list_models(project)
    finally:
        if project is not None:
            project.close()
    _print(args, listing, _format_models)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from core.documents import import_files
    from core.project import open_project

    if args.max_file_mb is not None and args.max_file_mb <= 0:
        raise TalkSmallError(f"--max-file-mb must be above 0, not {args.max_file_mb:g}.",
                             "Give a size in MB, for example --max-file-mb 100.")
    project = open_project(args.project)
    try:
        results = import_files(project, args.paths, max_file_mb=args.max_file_mb)
    finally:
        project.close()
    if not results:
        raise TalkSmallError("No files to import were found in the given paths.",
                             "Give PDF, DOCX, TXT, Markdown, HTML, CSV, JSON or JSONL files.")
    _print(args, [r.to_dict() for r in results], _format_import)
    return EXIT_FAILED if any(r.status == "failed" for r in results) else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from core.demo import run_demo

    report = run_demo(args.dir, size=args.size, say=None if args.json else print)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    import subprocess

    # core never imports gui (import-linter contract): start the app as its own process. In
    # the installed bundle the app is the executable next to this one.
    if getattr(sys, "frozen", False):
        from core.jobs.launch import STUDIO_NAME, bundled_executable

        command = [str(bundled_executable(STUDIO_NAME))]
    else:
        command = [sys.executable, "-m", "gui.app"]
    if args.project:
        command.append(str(args.project))
    return subprocess.call(command)


# --- output ---------------------------------------------------------------------
def _print(args: argparse.Namespace, data: Any, human: Callable[[Any], str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(human(data))


def _format_info(info: dict[str, Any]) -> str:
    profile = info["profile"]
    lines = [
        f"project      {info['name']}  ({info['path']})",
        f"company      {profile['company_name'] or '-'}",
        f"roles        {', '.join(profile['customer_roles']) or '-'}",
        f"tone target  Flesch >= {profile['tone_target']:g}",
        f"policies     {len([p for p in profile['policies'].splitlines() if p.strip()])} line(s)",
        f"base model   {info['base_model']}",
        f"runs         {', '.join(f'{k}: {v}' for k, v in info['runs'].items()) or 'none'}",
    ]
    for field, message in info["profile_errors"].items():
        lines.append(f"to fix       {field}: {message}")
    return "\n".join(lines)


def _format_models(models: list[dict[str, Any]]) -> str:
    rows = []
    for m in models:
        size = f"{m['size_bytes'] / 1e6:,.0f} MB"
        params = f"{m['parameters'] / 1e6:,.0f}M params" if m.get("parameters") else "? params"
        mark = "*" if m.get("selected") else " "
        rows.append(f"{mark} {m['name']:<28} {m['kind']:<9} {params:>14} {size:>9}  "
                    f"{m['licence']:<12} {m['path']}")
    return "\n".join(rows) + "\n(* = the project's base model)" if rows else "no models"


def _format_import(results: list[dict[str, Any]]) -> str:
    # An imported file's message is its summary ("15 pages, 23 chunks, 4 redactions"); any
    # other status's message is the reason.
    return "\n".join(f"{r['status']:<9}  {r['name']}  ({r['message']})" for r in results)




def _write_crash_log() -> str:
    from core.paths import cache_dir

    path = cache_dir() / "logs" / "cli-crash.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(traceback.format_exc() + "\n")
    except OSError:
        return "(no log: the cache folder is not writable)"
    return str(path)


if __name__ == "__main__":
    sys.exit(main())
