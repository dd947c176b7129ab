"""A stand-in for ``python -m core.jobs``: replays a recorded event stream, no torch needed.

    python -m tests.fakes.fake_child --events FILE [--run-dir DIR] [--delay S]
        [--crash-after N] [--crash-code C] [--hang] [--linger] [--ignore-stop] [--ignore-term]
        [--split] [--stderr TEXT]

Lines of the recording go to stdout one by one (and the JSON ones to <run-dir>/events.jsonl,
as the real child does). A STOP file in the run folder ends the replay with a cancelled
``finished``, unless --ignore-stop. --crash-after N exits abruptly after N lines, without
``finished``. --hang drops the recording's ``finished`` and keeps the process alive until it is
stopped or killed. --linger writes ``finished`` and then never exits.
--ignore-term ignores SIGTERM so the parent has to kill. --split writes each line in two
pieces with a pause between them, to exercise the parent's line buffering.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

RECORDINGS = Path(__file__).parent / "recordings"

EXIT_CODES = {"succeeded": 0, "failed": 1, "cancelled": 3}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fake_child")
    parser.add_argument("--events", required=True, type=Path)
    parser.add_argument("--run-dir", type=Path)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--crash-after", type=int)
    parser.add_argument("--crash-code", type=int, default=1)
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--linger", action="store_true")
    parser.add_argument("--ignore-stop", action="store_true")
    parser.add_argument("--ignore-term", action="store_true")
    parser.add_argument("--split", action="store_true")
    parser.add_argument("--stderr", default="")
    return parser.parse_args(argv)


class _Replay:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.events_file = args.run_dir / "events.jsonl" if args.run_dir else None

    def stop_requested(self) -> bool:
        return (
            not self.args.ignore_stop
            and self.args.run_dir is not None
            and (self.args.run_dir / "STOP").exists()
        )

    def write(self, line: str) -> None:
        data = line.rstrip("\n") + "\n"
        if self.args.split and len(data) > 2:
            half = len(data) // 2
            sys.stdout.write(data[:half])
            sys.stdout.flush()
            time.sleep(max(self.args.delay, 0.02))
            data = data[half:]
        sys.stdout.write(data)
        sys.stdout.flush()
        if self.events_file is not None and line.lstrip().startswith("{"):
            with open(self.events_file, "a", encoding="utf-8") as handle:
                handle.write(line.rstrip("\n") + "\n")

    def cancel(self) -> int:
        self.write(json.dumps({"type": "finished", "status": "cancelled", "output": ""}))
        return EXIT_CODES["cancelled"]

    def run(self) -> int:
        lines = [
            line for line in self.args.events.read_text(encoding="utf-8").splitlines() if line
        ]
        for index, line in enumerate(lines):
            if self.args.crash_after is not None and index >= self.args.crash_after:
                os._exit(self.args.crash_code)
            if self.stop_requested():
                return self.cancel()
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            finished = isinstance(event, dict) and event.get("type") == "finished"
            if finished and self.args.hang:
                break  # a hanging child never finishes on its own
            self.write(line)
            if finished and self.args.linger:
                while True:  # said finished, yet never exits (a stuck thread)
                    time.sleep(0.02)
            if finished:
                return EXIT_CODES.get(event.get("status"), 1)
            if self.args.delay:
                time.sleep(self.args.delay)
        if self.args.crash_after is not None:
            os._exit(self.args.crash_code)
        if self.args.hang:
            while True:  # until STOP, terminate or kill
                if self.stop_requested():
                    return self.cancel()
                time.sleep(0.02)
        return self.args.crash_code  # the recording ended without `finished`: a crash


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.ignore_term and hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.run_dir is not None:
        args.run_dir.mkdir(parents=True, exist_ok=True)
        (args.run_dir / "pid").write_text(f"{os.getpid()}\n")
    if args.stderr:
        sys.stderr.write(args.stderr + "\n")
        sys.stderr.flush()
    return _Replay(args).run()


if __name__ == "__main__":
    sys.exit(main())
