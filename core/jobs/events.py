"""The event protocol a job child speaks: one JSON object per line, on stdout and in events.jsonl.

Both copies carry the same bytes, so the GUI can follow a live run on stdout and any later
reader (run history, a resumed GUI, a test) can rebuild the same picture from the file.
A process that dies mid-line leaves a torn last line; readers skip it instead of failing.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

EVENTS_FILE = "events.jsonl"
PID_FILE = "pid"
STOP_FILE = "STOP"

FINISHED_STATUSES = ("succeeded", "failed", "cancelled")

# type -> the fields it must carry; any other fields are allowed (metric carries any numbers).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "started": (),
    "stage": ("name", "index", "of"),
    "progress": ("step", "total"),
    "metric": ("step",),
    "item": ("id",),
    "sample": ("step",),
    "checkpoint": ("step", "path"),
    "log": ("level", "message"),
    "error": ("code", "message"),
    "finished": ("status",),
}
LOG_LEVELS = ("debug", "info", "warning", "error")


def validate_event(event: Any) -> dict[str, Any]:
    """Return ``event`` if it is a well-formed protocol event; raise ValueError saying why not."""
    if not isinstance(event, Mapping):
        raise ValueError(f"an event must be a JSON object, not {type(event).__name__}")
    kind = event.get("type")
    if kind not in EVENT_FIELDS:
        raise ValueError(f"unknown event type {kind!r}; expected one of {', '.join(EVENT_FIELDS)}")
    missing = [name for name in EVENT_FIELDS[kind] if name not in event]
    if missing:
        raise ValueError(f"{kind} event lacks {', '.join(missing)}")
    if kind == "finished" and event["status"] not in FINISHED_STATUSES:
        raise ValueError(f"finished status must be one of {FINISHED_STATUSES}")
    if kind == "log" and event["level"] not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {LOG_LEVELS}")
    return dict(event)


def make_event(kind: str, **fields: Any) -> dict[str, Any]:
    """Build and check one event; ``type`` comes first so the lines read well."""
    return validate_event({"type": kind, **fields})


def _plain(value: Any) -> Any:
    """numpy / torch scalars become numbers (not strings); paths and the rest become text."""
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError, RuntimeError):
            pass
    return str(value)


def encode_event(event: Mapping[str, Any]) -> str:
    """One line of ASCII JSON (safe on any console encoding), without the newline."""
    return json.dumps(event, ensure_ascii=True, default=_plain)


def parse_event_line(line: str | bytes) -> dict[str, Any] | None:
    """The event on this line, or None when the line is not a protocol event (noise, torn)."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        return None
    return obj


def stream_events(lines: Iterable[str | bytes]) -> Iterator[dict[str, Any]]:
    """The events among a child's stdout lines as they arrive (noise and torn lines skipped)."""
    for line in lines:
        event = parse_event_line(line)
        if event is not None:
            yield event


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All events in an events.jsonl file (or a run folder); unreadable lines are skipped.

    The last line may be torn when the writer was killed mid-write; that is expected, not an
    error. A missing file is an empty run.
    """
    target = Path(path)
    if target.is_dir():
        target = target / EVENTS_FILE
    try:
        text = target.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        event = parse_event_line(line)
        if event is not None:
            events.append(event)
    return events


class EventWriter:
    """Writes each event to a stream (the parent reads it live) and appends it to events.jsonl.

    Both writes are flushed per line. Lines are written whole: a signal that arrives while a
    line is being written is held back (see ``interrupt``) so a cancel never tears a line.
    ``run_dir`` may be None for the rare event written before a run folder exists.
    """

    def __init__(self, run_dir: Path | None, stream: TextIO | None = None) -> None:
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.stream = stream if stream is not None else sys.stdout
        self._lock = threading.RLock()
        self._file: TextIO | None = None
        self._busy_thread: int | None = None
        self._deferred: BaseException | None = None
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._file = open(  # noqa: SIM115 - kept open for the life of the run
                self.run_dir / EVENTS_FILE, "a", encoding="utf-8", newline="\n"
            )

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = make_event(kind, **fields)
        line = encode_event(event) + "\n"
        with self._lock:
            self._busy_thread = threading.get_ident()
            try:
                if self._file is not None:
                    self._file.write(line)
                    self._file.flush()
                try:
                    self.stream.write(line)
                    self.stream.flush()
                except (BrokenPipeError, ValueError, OSError):
                    # The parent is gone or closed our stdout; the file copy still counts.
                    pass
            finally:
                self._busy_thread = None
        if self._deferred is not None and threading.current_thread() is threading.main_thread():
            deferred, self._deferred = self._deferred, None
            raise deferred
        return event

    def interrupt(self, exc: BaseException) -> None:
        """Raise ``exc`` now, or right after the line being written (for signal handlers)."""
        if self._busy_thread == threading.get_ident():
            self._deferred = exc
            return
        raise exc

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id is running (a zombie counts as dead)."""
    if pid <= 0:
        return False
    if os.name == "nt":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _pid_alive_windows(pid: int) -> bool:
    # os.kill(pid, 0) would terminate the process on Windows; ask the kernel instead.
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    process_query_limited_information = 0x1000
    still_active = 259
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return False
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def read_pid(run_dir: Path) -> int | None:
    try:
        return int((Path(run_dir) / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def run_status(run_dir: str | os.PathLike[str]) -> str:
    """succeeded / failed / cancelled from the finished event, else running or failed.

    A run without a ``finished`` event (after its latest ``started``) is running only while
    the process in its pid file lives; once that process is gone the run failed, whatever its
    last progress said.
    """
    folder = Path(run_dir)
    # A resumed run appends to the same file: only the latest attempt counts.
    for event in reversed(read_events(folder)):
        if event.get("type") == "finished" and event.get("status") in FINISHED_STATUSES:
            return str(event["status"])
        if event.get("type") == "started":
            break
    pid = read_pid(folder)
    if pid is not None and pid_alive(pid):
        return "running"
    return "failed"
