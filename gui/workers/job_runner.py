"""Drives one long job in a child process and turns its JSON-line events into Qt signals.

The GUI never polls and never imports the job's code: it starts ``python -m core.jobs`` (or
``talksmall-worker`` in the bundle) through QProcess, reads events as they arrive, and asks the
child to stop by creating STOP in the run folder. Cancel escalates: ask, wait, terminate, kill.
``finished`` fires exactly once per start, after the process has exited; a child that exits
without a ``finished`` event failed, whatever it said before.
"""

from __future__ import annotations

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
)
from core.jobs.launch import child_command, child_env, write_spec
from gui.workers.job_events import JobEvents, append_line

STDERR_FILE = "stderr.log"

# After a child has said `finished`, how long it may take to exit before it is stopped.
LINGER_MS = 10000

_runners: weakref.WeakSet[JobRunner] = weakref.WeakSet()


def running_runners() -> list[JobRunner]:
    """Runners whose child is alive (for app shutdown and for tests that check for leaks)."""
    return [runner for runner in list(_runners) if runner.is_running()]


class JobRunner(JobEvents):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_dir: Path | None = None
        self.job = ""
        self._process: QProcess | None = None
        self._buffer = b""
        self._finished_event: dict[str, Any] | None = None
        self._cancel_requested = False
        self._escalation = QTimer(self)
        self._escalation.setSingleShot(True)
        self._escalation.timeout.connect(self._escalate)
        self._escalation_step = 0
        self._grace_ms = 0
        _runners.add(self)

    # --- public ------------------------------------------------------------------------
    def start(
        self,
        job: str,
        spec: dict[str, Any],
        run_dir: Path,
        command: list[str] | None = None,
    ) -> None:
        """Write the spec into ``run_dir`` and start the child (``command`` overrides it)."""
        if self.is_running():
            raise RuntimeError(f"the {self.job} job is still running; cancel it first")
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / STOP_FILE).unlink(missing_ok=True)  # a stale request must not stop a resume
        spec_path = write_spec(run_dir, spec)
        argv = list(command) if command else child_command(job, spec_path, run_dir)

        self.job = job
        self.run_dir = run_dir
        self._buffer = b""
        self._finished_event = None
        self._cancel_requested = False
        self._escalation.stop()
        self._escalation_step = 0

        process = QProcess(self)
        environment = QProcessEnvironment()
        for key, value in child_env().items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        process.setProgram(argv[0])
        process.setArguments(argv[1:])
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._on_exit)
        process.errorOccurred.connect(self._on_process_error)
        self._process = process
        process.start()

    def is_running(self) -> bool:
        return self._process is not None

    def cancel(self, grace_ms: int = 10000) -> None:
        """Ask the child to stop (STOP file); terminate after ``grace_ms``, kill after another."""
        if self._process is None or self._cancel_requested:
            return
        self._cancel_requested = True
        self._grace_ms = grace_ms
        assert self.run_dir is not None
        try:
            (self.run_dir / STOP_FILE).touch()
        except OSError:
            self._escalation_step = 1  # cannot ask politely: go straight to terminate
            self._escalate()
            return
        self._escalation_step = 1
        self._escalation.start(grace_ms)

    def kill(self) -> None:
        """Stop the child at once (app shutdown); ``finished`` still follows."""
        if self._process is not None:
            self._cancel_requested = True
            self._process.kill()

    # --- the child's output ---------------------------------------------------------------
    @Slot()
    def _read_stdout(self) -> None:
        if self._process is None:
            return
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._handle_line(line)

    @Slot()
    def _read_stderr(self) -> None:
        if self._process is None:
            return
        self._append_stderr(bytes(self._process.readAllStandardError().data()))

    def _append_stderr(self, data: bytes) -> None:
        if not data or self.run_dir is None:
            return
        try:
            with open(self.run_dir / STDERR_FILE, "ab") as handle:
                handle.write(data)
        except OSError:
            pass

    def _handle_line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not text.strip():
            return
        event = parse_event_line(text)
        if event is None:
            event = {"type": "log", "level": "info", "message": text}
        self._dispatch(event)

    def _dispatch(self, event: dict[str, Any]) -> None:
        self.dispatch(event)
        kind = event.get("type")
        if kind == "finished":
            if event.get("status") in FINISHED_STATUSES:
                self._finished_event = event
            # The child should exit now; one that lingers (a stuck thread) is stopped.
            if not self._escalation.isActive():
                self._grace_ms = LINGER_MS
                self._escalation_step = 1
                self._escalation.start(LINGER_MS)

    # --- the end of the process ---------------------------------------------------------------
    @Slot()
    def _escalate(self) -> None:
        process = self._process
        if process is None:
            return
        if self._escalation_step == 1:
            self._escalation_step = 2
            process.terminate()  # SIGTERM; on Windows a console child ignores it, so we kill next
            self._escalation.start(max(self._grace_ms, 1))
        else:
            self._escalation_step = 3
            process.kill()

    @Slot(QProcess.ProcessError)
    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error != QProcess.ProcessError.FailedToStart or self._process is None:
            return  # crashes and the like arrive through finished()
        message = self._process.errorString()
        self._process.deleteLater()
        self._process = None
        self._conclude_without_finished(
            "failed_to_start",
            f"the {self.job} job could not be started ({message})",
            "reinstall the application; if that does not help, report the problem",
        )

    @Slot(int, QProcess.ExitStatus)
    def _on_exit(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        process = self._process
        if process is None:
            return
        self._buffer += bytes(process.readAllStandardOutput().data())
        self._append_stderr(bytes(process.readAllStandardError().data()))
        *lines, tail = self._buffer.split(b"\n")
        self._buffer = b""
        for line in [*lines, tail]:
            self._handle_line(line)
        self._escalation.stop()
        self._process = None
        process.deleteLater()

        if self._finished_event is not None:
            event = self._finished_event
            self.finished.emit(str(event["status"]), str(event.get("output") or ""))
            return
        if self._cancel_requested:
            self._record(
                {
                    "type": "log",
                    "level": "warning",
                    "message": "the job did not stop when asked and was ended",
                }
            )
            self._record({"type": "finished", "status": "cancelled", "output": ""})
            self.finished.emit("cancelled", "")
            return
        if exit_status == QProcess.ExitStatus.CrashExit:
            how = "it crashed or was killed"
        else:
            how = f"exit code {exit_code}"
        self._conclude_without_finished(
            "crashed",
            f"the job stopped unexpectedly ({how})",
            f"see {STDERR_FILE} in the run folder; if the computer ran out of memory, "
            "choose a smaller model or batch size",
        )

    def _conclude_without_finished(self, code: str, message: str, hint: str) -> None:
        """Say why, in the signals and in events.jsonl, so the run's history tells the same."""
        self._record({"type": "error", "code": code, "message": message, "hint": hint})
        self._record({"type": "finished", "status": "failed", "output": ""})
        self.finished.emit("failed", "")

    def _record(self, event: dict[str, Any]) -> None:
        event = {**event, "source": "runner"}
        if self.run_dir is not None:
            append_line(self.run_dir / EVENTS_FILE, encode_event(event))
        if event["type"] != "finished":
            self._dispatch(event)
        else:
            self.event.emit(event)
