"""``python -m core.training.run --spec spec.json --run-dir DIR``: the train job under
``accelerate launch`` (one process per GPU).

Rank 0 is the ordinary job child (events on stdout and in events.jsonl, error codes, exit
status). The other ranks run the same recipe silently: they take part in every step, honour
the same STOP file, and leave the run folder to rank 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.training.run")
    parser.add_argument("--spec", required=True, type=Path)
    parser.add_argument("--run-dir", type=Path)
    args = parser.parse_args(argv)
    run_dir = args.run_dir or args.spec.resolve().parent
    rank = int(os.environ.get("RANK", "0"))
    if rank == 0:
        from core.jobs.__main__ import main as job_main

        return job_main(["train", "--spec", str(args.spec), "--run-dir", str(run_dir)])
    from core.jobs.__main__ import load_spec
    from core.jobs.context import JobCancelled, JobContext
    from core.jobs.events import EventWriter
    from core.training.job import run_train

    with open(os.devnull, "w", encoding="utf-8") as sink:
        ctx = JobContext(run_dir, EventWriter(None, stream=sink))
        try:
            run_train(load_spec(args.spec), ctx)
        except JobCancelled:
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
