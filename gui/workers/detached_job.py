"""Runs a long job as a detached process and follows it through its run folder.

Training can take hours, and the issue lets the operator close the app and leave it running.
A child of a QProcess dies with the app, so this starts the job detached (stdout into a file,
not a pipe that would break) and follows ``events.jsonl``, which the child writes itself.
The same follower re-attaches to a run that is still going when the app opens again, and
replays what happened so far, so the charts come back whole.

The rules are JobRunner's: ``finished`` fires once, after the process is gone; a process that
vanished without a ``finished`` event failed (or, after a cancel, was ended), and that is
written to events.jsonl so the run's history says the same. Cancel creates STOP, then sends
SIGTERM after the grace period, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import time
import weakref
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Slot

from core.jobs.events import (
    EVENTS_FILE,
    FINISHED_STATUSES,
    STOP_FILE,
    encode_event,
    parse_event_line,
    pid_alive,
    read_pid,
)
from core.jobs.launch import child_command, child_env, write_spec
from gui.workers.job_events import JobEvents, append_line

POLL_MS = 200
# How long a fresh child may take to write its pid file before we use the launcher's pid.
PID_GRACE_S = 20.0
STDOUT_FILE = "stdout.log"
STDERR_FILE = "stderr.log"

_jobs: weakref.WeakSet[DetachedJob] = weakref.WeakSet()


def followed_jobs() -> list[DetachedJob]:
    """Jobs being followed now (for app shutdown and for tests that check for leaks)."""
    return [job for job in list(_jobs) if job.is_running()]


class DetachedJob(JobEvents):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_dir: Path | None = None
        self.job = ""
        self._offset = 0
        self._buffer = b""
        self._pid: int | None = None
        self._since = 0.0
        self._following = False
        self._seen_started = False
        self._cancel_requested = False
        self._escalation_step = 0
        self._grace_ms = 0
        self._last_status = ""
        self._finished: dict[str, Any] | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._read)
        self._escalation = QTimer(self)
        self._escalation.setSingleShot(True)
        self._escalation.timeout.connect(self._escalate)
        _jobs.add(self)

    # --- public -----------------------------------------------------------------------------
    def start(self, job: str, spec: dict[str, Any], run_dir: Path,
              command: list[str] | None = None) -> bool:
        """Write the spec, start the child detached and follow it; False if it cannot start
        (``finished`` then says failed, with the reason in ``error``)."""
        if self.is_running():
            raise RuntimeError(f"the {self.job} job is still being followed; cancel it first")
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / STOP_FILE).unlink(missing_ok=True)  # a stale request must not stop a resume
        spec_path = write_spec(run_dir, spec)
        argv = list(command) if command else child_command(job, spec_path, run_dir)
        events = run_dir / EVENTS_FILE
        self._reset(job, run_dir, offset=events.stat().st_size if events.exists() else 0)

        process = QProcess()
        environment = QProcessEnvironment()
        for key, value in child_env().items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        process.setProgram(argv[0])
        process.setArguments(argv[1:])
        process.setWorkingDirectory(str(run_dir))  # child_env() puts our code on the path
        process.setStandardInputFile(QProcess.nullDevice())
        process.setStandardOutputFile(str(run_dir / STDOUT_FILE), QProcess.OpenModeFlag.Append)
        process.setStandardErrorFile(str(run_dir / STDERR_FILE), QProcess.OpenModeFlag.Append)
        (run_dir / "pid").unlink(missing_ok=True)  # the child writes its own
        if not process.startDetached():  # PySide6 does not hand back the pid: the child writes it
            self._following = True
            self._conclude("failed_to_start",
                           f"the {job} job could not be started ({process.errorString()})",
                           "reinstall the application; if that does not help, report the "
                           "problem")
            return False
        self._poll.start()
        return True

    def attach(self, run_dir: Path, job: str = "") -> str:
        """Follow a run started earlier (perhaps by another app session).

        Replays its events so far; returns ``running`` when it is still going (and follows
        it), else its final status (``finished`` is emitted for it as well).
        """
        if self.is_running():
            raise RuntimeError(f"the {self.job} job is still being followed")
        self._reset(job, Path(run_dir), offset=0)
        self._pid = read_pid(self.run_dir)
        self._since = 0.0  # no launch grace: its pid file is all we have
        self._read()
        if self._following:
            self._poll.start()
            return "running"
        return self._last_status

    def is_running(self) -> bool:
        return self._following

    def cancel(self, grace_ms: int = 10000) -> None:
        """Ask the child to stop (STOP file); SIGTERM after ``grace_ms``, SIGKILL after more."""
        if not self._following or self._cancel_requested or self.run_dir is None:
            return
        self._cancel_requested = True
        self._grace_ms = grace_ms
        self._escalation_step = 1
        try:
            (self.run_dir / STOP_FILE).touch()
        except OSError:
            self._escalate()
            return
        self._escalation.start(max(grace_ms, 1))

    def detach(self) -> None:
        """Stop following; the process goes on (the app is closing and the user said so)."""
        self._poll.stop()
        self._escalation.stop()
        self._following = False

    def kill(self) -> None:
        """End the child at once; ``finished`` still follows."""
        if self._following:
            self._cancel_requested = True
            self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))

    # --- following ----------------------------------------------------------------------------
    def _reset(self, job: str, run_dir: Path, offset: int) -> None:
        self.job, self.run_dir = job, run_dir
        self._offset, self._buffer = offset, b""
        self._pid, self._since = None, time.monotonic()
        self._following, self._seen_started = True, False
        self._cancel_requested = False
        self._escalation_step = 0
        self._last_status = ""
        self._finished = None

    @Slot()
    def _read(self) -> None:
        if not self._following or self.run_dir is None:
            return
        self._read_new_lines()
        if self._finished is not None:
            if not self._process_alive():
                self._end(str(self._finished["status"]), str(self._finished.get("output") or ""))
            return
        if self._process_alive():
            return
        self._read_new_lines()  # it may have written `finished` just before it exited
        if self._finished is not None:
            self._end(str(self._finished["status"]), str(self._finished.get("output") or ""))
        elif self._cancel_requested:
            self._record({"type": "log", "level": "warning",
                          "message": "the job did not stop when asked and was ended"})
            self._record({"type": "finished", "status": "cancelled", "output": ""})
            self._end("cancelled", "")
        else:
            self._conclude("crashed", "the job stopped unexpectedly (it crashed or was killed)",
                           f"see {STDERR_FILE} in the run folder; if the computer ran out of "
                           "memory, choose a smaller model or batch size")

    def _read_new_lines(self) -> None:
        assert self.run_dir is not None
        try:
            with open(self.run_dir / EVENTS_FILE, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except OSError:
            return
        self._offset += len(data)
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for raw in lines:
            event = parse_event_line(raw)
            if event is None:
                continue
            kind = event.get("type")
            if kind == "started":
                self._seen_started, self._finished = True, None
                self._pid = event.get("pid") if isinstance(event.get("pid"), int) else self._pid
            if kind == "finished":
                if event.get("status") in FINISHED_STATUSES:
                    self._finished = event
                    self._last_status = str(event["status"])
                self.event.emit(event)
                continue
            self.dispatch(event)

    def _process_alive(self) -> bool:
        assert self.run_dir is not None
        pid = read_pid(self.run_dir) or self._pid
        if pid is not None and pid_alive(pid):
            self._pid = pid
            return True
        # A child just launched may not have written its pid file yet.
        launching = self._since and time.monotonic() - self._since < PID_GRACE_S
        return bool(launching and pid is None)

    def _end(self, status: str, output: str) -> None:
        self._poll.stop()
        self._escalation.stop()
        self._following = False
        self._last_status = status
        self.finished.emit(status, output)

    def _conclude(self, code: str, message: str, hint: str) -> None:
        self._record({"type": "error", "code": code, "message": message, "hint": hint})
        self._record({"type": "finished", "status": "failed", "output": ""})
        self._end("failed", "")

    def _record(self, event: dict[str, Any]) -> None:
        """Write what we concluded into events.jsonl, as if the child had said it."""
        event = {**event, "source": "runner"}
        if self.run_dir is not None:
            size = append_line(self.run_dir / EVENTS_FILE, encode_event(event))
            if size is not None:
                self._offset, self._buffer = size, b""
        if event["type"] == "finished":
            self.event.emit(event)
        else:
            self.dispatch(event)

    # --- stopping ---------------------------------------------------------------------------
    @Slot()
    def _escalate(self) -> None:
        if not self._following:
            return
        if self._escalation_step == 1:
            self._escalation_step = 2
            self._signal(signal.SIGTERM)
            self._escalation.start(max(self._grace_ms, 1))
        else:
            self._escalation_step = 3
            self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))

    def _signal(self, which: int) -> None:
        pid = (read_pid(self.run_dir) if self.run_dir else None) or self._pid
        if pid is None or not pid_alive(pid):
            return
        try:
            os.kill(pid, which)
        except OSError:
            pass
