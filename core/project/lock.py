"""One app window per project: an OS-level lock the GUI holds while a project is open.

Two windows editing one project would each run jobs and save the profile over the other's;
SQLite keeps the file whole, but the work would not be. So the GUI takes this lock when it
opens or creates a project and releases it when the project is closed. It is a lock the
operating system holds for the process (``filelock``: flock on POSIX, msvcrt on Windows), so
a killed or crashed app leaves nothing stale: the next open succeeds.

Only windows take it. Job child processes and the CLI open the project with
``open_project`` as before, while a window holds the lock (SQLite's WAL mode makes that safe).
The owner (pid, host, time) is written beside the lock file so a refusal can name it.
"""

from __future__ import annotations

import errno
import os
import socket
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from core.atomic import atomic_write_json
from core.errors import ProjectError
from core.project.store import DB_NAME

if TYPE_CHECKING:
    from core.project.project import Project

LOCK_FILE = ".talksmall-window.lock"
OWNER_FILE = ".talksmall-window.json"
_UNSUPPORTED = {errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOLCK}
HELD_HINT = ("Switch to that window, or close the project there, then open it here again. "
             "The lock ends with that process, so nothing needs cleaning up.")


class ProjectLock:
    """The window lock of the project in ``root``; a context manager, not re-entrant.

    A second ``ProjectLock`` on the same folder is refused even in the same process: two
    windows of one app on one project are as unsafe as two apps.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self._lock: Any = None

    @property
    def path(self) -> Path:
        return self.root / LOCK_FILE

    @property
    def owner_path(self) -> Path:
        return self.root / OWNER_FILE

    @property
    def held(self) -> bool:
        return self._lock is not None

    def acquire(self) -> ProjectLock:
        """Take the lock now or raise ProjectError naming the window that holds it.

        A folder this user cannot write to is opened without a lock: nothing can be changed
        there, so nothing can be corrupted.
        """
        if self._lock is not None:
            return self
        from filelock import FileLock, Timeout

        # No soft (lock-file-exists) fallback: it would outlive a killed app.
        lock = FileLock(self.path, timeout=0, thread_local=False, fallback_to_soft=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise ProjectError(self._held_message(), HELD_HINT) from None
        except OSError as exc:
            if not os.access(self.root, os.W_OK) or exc.errno in _UNSUPPORTED:
                return self  # read-only, or no OS locks here (some network shares): as before
            raise ProjectError(f"Cannot lock the project in {self.root}: "
                               f"{exc.strerror or exc}.",
                               "Check that the folder is writable, then open it again.") from exc
        self._lock = lock
        try:
            atomic_write_json(self.owner_path, owner_record())
        except OSError:
            pass  # the lock holds without it; a refusal then names no process
        return self

    def release(self) -> None:
        """Give the lock back (a no-op when not held). The lock file stays: deleting a
        locked file lets a third window lock a new file while the second holds the old."""
        if self._lock is None:
            return
        try:
            self.owner_path.unlink(missing_ok=True)
        except OSError:
            pass
        self._lock.release(force=True)
        self._lock = None

    def owner(self) -> dict[str, Any] | None:
        """What the holder wrote about itself, or None (unreadable, or not written yet)."""
        import json

        try:
            data = json.loads(self.owner_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _held_message(self) -> str:
        owner = self.owner()
        if not owner:
            return f"The project in {self.root} is open in another TalkSmall window."
        if owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
            return f"The project in {self.root} is already open in another window of this " \
                   "TalkSmall Studio."
        since = _since(str(owner.get("since", "")))
        return (f"This project is open in another TalkSmall window (process "
                f"{owner.get('pid', '?')} on {owner.get('host', '?')}{since}).")

    def __enter__(self) -> ProjectLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def __del__(self) -> None:  # a forgotten lock must not outlive its owner object
        try:
            self.release()
        except Exception:
            pass


def owner_record() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now().astimezone().isoformat(timespec="seconds")}


def open_locked(folder: str | os.PathLike[str]) -> Project:
    """Open the project in ``folder`` for a window: lock first, so a refused window never
    touches the database; the returned project releases the lock when closed."""
    from core.project.project import open_project

    root = Path(folder).expanduser().resolve()
    if not (root / DB_NAME).is_file():
        return open_project(root)  # not a project: its own error, and no lock file left behind
    lock = ProjectLock(root).acquire()
    try:
        project = open_project(root)
    except BaseException:
        lock.release()
        raise
    project.lock = lock
    return project


def lock_opened(project: Project) -> Project:
    """Take the window lock for a project just created; closes it when the lock is refused."""
    try:
        project.lock = ProjectLock(project.root).acquire()
    except BaseException:
        project.close()
        raise
    return project


def _since(stamp: str) -> str:
    try:
        when = datetime.fromisoformat(stamp).astimezone()
    except ValueError:
        return ""
    now = datetime.now().astimezone()
    return f" since {when:%H:%M}" if when.date() == now.date() else f" since {when:%Y-%m-%d %H:%M}"
