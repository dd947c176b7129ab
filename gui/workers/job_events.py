"""The signals a job's event stream becomes, shared by every way the GUI follows a job.

``JobRunner`` reads a child's stdout; ``DetachedJob`` tails a run folder's events.jsonl so
that a long run can outlive the app. Both turn the same JSON-line events (DESIGN.md, the
child-process protocol) into the same Qt signals, here, so pages do not care which is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal


class JobEvents(QObject):
    event = Signal(dict)  # every event, in order, including log lines made from raw output
    started = Signal(dict)
    progress = Signal(int, int, float)  # step, total, eta_s (-1.0 while unknown)
    metric = Signal(dict)
    log = Signal(str, str)  # level, message
    error = Signal(str, str, str)  # code, message, hint
    finished = Signal(str, str)  # status, output

    def dispatch(self, event: dict[str, Any]) -> None:
        """Emit ``event`` and the signal for its type (``finished`` is left to subclasses:
        only they know when the process is really gone)."""
        self.event.emit(event)
        kind = event.get("type")
        if kind == "started":
            self.started.emit(event)
        elif kind == "progress":
            eta = event.get("eta_s")
            self.progress.emit(
                as_int(event.get("step")),
                as_int(event.get("total")),
                float(eta) if isinstance(eta, int | float) else -1.0,
            )
        elif kind == "metric":
            self.metric.emit(event)
        elif kind == "log":
            self.log.emit(str(event.get("level", "info")), str(event.get("message", "")))
        elif kind == "error":
            self.error.emit(
                str(event.get("code", "error")),
                str(event.get("message", "")),
                str(event.get("hint", "")),
            )


def as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def append_line(path: Path, line: str) -> int | None:
    """Append one line, first ending a torn line a dead child may have left; returns the
    file's new size (None when it could not be written)."""
    try:
        with open(path, "ab+") as handle:
            handle.seek(0, 2)
            if handle.tell() > 0:
                handle.seek(-1, 2)
                if handle.read(1) != b"\n":
                    handle.write(b"\n")
            handle.write(line.encode("utf-8") + b"\n")
            return handle.tell()
    except OSError:
        return None
