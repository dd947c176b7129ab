"""The one entry point for long jobs: ``python -m core.jobs <job> --spec spec.json``.

``--run-dir DIR`` defaults to the spec's folder. In the bundle it is the second executable,
``talksmall-worker <job> --spec ...``.
stdout carries only protocol events (see core.jobs.events); anything else the job or its
libraries print, and every traceback, goes to <run-dir>/stderr.log. Errors cross to the
parent as a code, a message and a hint, never as a traceback.

Exit codes: 0 succeeded, 1 failed, 2 bad invocation (spec, job name), 3 cancelled.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from core.atomic import atomic_write_text
from core.errors import TalkSmallError, ValidationError
from core.jobs import registry
from core.jobs.context import JobCancelled, JobContext
from core.jobs.events import PID_FILE, EventWriter
from core.project.store import is_disk_full

EXIT_SUCCEEDED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 3

STDERR_FILE = "stderr.log"

DISK_FULL_HINT = (
    "free some disk space (or move the project to a bigger disk), then start it again: what "
    "was saved before is kept (a training run resumes from its last complete checkpoint)"
)
OOM_HINT = (
    "close other programs, lower the batch size or the maximum length, or choose a smaller model"
)


class JobTerminated(BaseException):
    """Raised in the main thread when SIGTERM/SIGINT arrives."""


def load_spec(path: Path) -> dict[str, Any]:
    hint = "start the run again from the app, which writes the spec"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError("spec", f"the job spec {path} does not exist", hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("spec", f"cannot read the job spec {path}: {exc}", hint) from None
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise ValidationError(
            "spec", f"the job spec {path} is not valid JSON ({exc})", hint
        ) from None
    if not isinstance(spec, dict):
        raise ValidationError(
            "spec", f"the job spec {path} must be a JSON object, not {type(spec).__name__}", hint
        )
    return spec


def is_out_of_memory(exc: BaseException) -> bool:
    """MemoryError, torch's OutOfMemoryError, or a backend's "out of memory" RuntimeError."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:limit] if text else ""


class _Run:
    def __init__(self, job: str, spec_path: Path, run_dir: Path | None, writer: EventWriter):
        self.job = job
        self.spec_path = spec_path
        self.run_dir = run_dir
        self.writer = writer
        self.finishing = False
        self.started_at = time.monotonic()

    def install_signal_handlers(self) -> None:
        for name in ("SIGTERM", "SIGINT"):
            signum = getattr(signal, name, None)
            if signum is not None:
                signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        if not self.finishing:
            self.writer.interrupt(JobTerminated(signum))

    def run(self) -> int:
        try:
            return self._run()
        except JobTerminated:
            self.finishing = True
            self.writer.emit("log", level="warning", message="stopped by a termination signal")
            return self._finish("cancelled", "", EXIT_CANCELLED)

    def _run(self) -> int:
        try:
            spec = load_spec(self.spec_path)
            if self.job not in registry.JOBS:
                registry.resolve(self.job)  # raises the error that names the known jobs
        except TalkSmallError as exc:
            self._error(exc.code, exc.message, exc.hint)
            return self._finish("failed", "", EXIT_USAGE)

        run_dir = self.run_dir or self.spec_path.parent
        atomic_write_text(run_dir / PID_FILE, f"{os.getpid()}\n")
        self.started_at = time.monotonic()
        self.writer.emit(
            "started",
            run=run_dir.name,
            job=self.job,
            pid=os.getpid(),
            time=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        try:
            job_fn = registry.resolve(self.job)
            output = job_fn(spec, JobContext(run_dir, self.writer))
        except JobCancelled:
            return self._finish("cancelled", "", EXIT_CANCELLED)
        except TalkSmallError as exc:
            self._traceback(exc)
            self._error(exc.code, exc.message, exc.hint)
            return self._finish("failed", "", EXIT_FAILED)
        except Exception as exc:
            self._traceback(exc)
            if is_disk_full(exc):
                self._error("disk_full", f"the disk is full: {_first_line(exc)}",
                            DISK_FULL_HINT)
            elif is_out_of_memory(exc):
                message = "the job ran out of memory"
                detail = _first_line(exc)
                self._error("out_of_memory", f"{message}: {detail}" if detail else message,
                            OOM_HINT)
            else:
                where = run_dir / STDERR_FILE
                self._error(
                    "internal",
                    f"the {self.job} job failed unexpectedly: {type(exc).__name__}: "
                    f"{_first_line(exc)}",
                    f"the details are in {where}; please report the problem with that file",
                )
            return self._finish("failed", "", EXIT_FAILED)
        return self._finish("succeeded", "" if output is None else str(output), EXIT_SUCCEEDED)

    def _error(self, code: str, message: str, hint: str) -> None:
        self.writer.emit("error", code=code, message=message, hint=hint)

    def _finish(self, status: str, output: str, exit_code: int) -> int:
        self.finishing = True
        self.writer.emit(
            "finished",
            status=status,
            output=output,
            elapsed_s=round(time.monotonic() - self.started_at, 2),
        )
        return exit_code

    def _traceback(self, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(exc))
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        header = f"--- {stamp} job {self.job} failed ---\n"
        if self.run_dir is None:
            sys.stderr.write(header + text)
            return
        with open(self.run_dir / STDERR_FILE, "a", encoding="utf-8") as handle:
            handle.write(header + text)


def divert_output(run_dir: Path) -> TextIO:
    """Keep the real stdout for events; send fd 1 and fd 2 (prints, C libraries) to stderr.log.

    Returns the protocol stream. Done at the file-descriptor level so that llama.cpp or a
    progress bar printing to stdout cannot corrupt the event stream.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    protocol_fd = os.dup(1)
    log_fd = os.open(run_dir / STDERR_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    return open(protocol_fd, "w", encoding="utf-8", newline="\n", buffering=1)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m core.jobs",
        description="Run one long job as a child process speaking JSON lines on stdout.",
    )
    parser.add_argument("job", help=f"one of: {', '.join(registry.job_names())}")
    parser.add_argument("--spec", required=True, type=Path, help="the job's spec.json")
    parser.add_argument("--run-dir", type=Path, help="run folder (default: the spec's folder)")
    return parser.parse_args(argv)


def _choose_run_dir(args: argparse.Namespace) -> Path | None:
    if args.run_dir is not None:
        run_dir = args.run_dir
    else:
        run_dir = args.spec.resolve().parent
        if not run_dir.is_dir():
            return None  # no spec, no folder: report on stdout only, create nothing
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return run_dir


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    run_dir = _choose_run_dir(args)
    protocol = divert_output(run_dir) if run_dir is not None else sys.stdout
    writer = EventWriter(run_dir, stream=protocol)
    run = _Run(args.job, args.spec, run_dir, writer)
    run.install_signal_handlers()
    try:
        return run.run()
    finally:
        writer.close()
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
