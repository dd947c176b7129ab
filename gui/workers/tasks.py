"""The one way to run short background work: a core function on the thread pool, then a callback.

    run_task(core.documents.import_files, project, paths,
             on_success=self.show_imported, on_error=self.show_error,
             on_progress=self.progress_bar.update)

Callbacks always run on the GUI thread, so they may touch widgets. A function that takes a
``progress`` keyword gets a thread-safe callback; whatever it is called with arrives, in
order, as ``on_progress(*args)``. Errors reach ``on_error`` as a TalkSmallError: ours pass
through with their hint, anything else is wrapped in a TaskError with a plain message (the
traceback goes to the log). Long jobs (training, generation) are not tasks: they run in a
child process through JobRunner.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QDeadlineTimer,
    QObject,
    QRunnable,
    Qt,
    QThreadPool,
    Signal,
    Slot,
)

from core.errors import TalkSmallError

log = logging.getLogger(__name__)

_active: set[Task] = set()


class TaskError(TalkSmallError):
    """An unexpected exception in background work, shown to the user as a plain message."""

    code = "internal"

    def __init__(self, message: str, hint: str = "", details: str = "") -> None:
        super().__init__(message, hint)
        self.details = details


def _wrap(fn_name: str, exc: BaseException) -> TalkSmallError:
    if isinstance(exc, TalkSmallError):
        return exc
    details = "".join(traceback.format_exception(exc))
    name = fn_name.replace("_", " ")
    text = str(exc).strip().splitlines()
    summary = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    wrapped = TaskError(
        f"{name} failed unexpectedly ({summary})",
        "try again; if it keeps failing, report it with the application log",
        details,
    )
    wrapped.__cause__ = exc
    return wrapped


def _accepts_progress(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    param = parameters.get("progress")
    return param is not None and param.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


class _Runnable(QRunnable):
    def __init__(self, task: Task, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the Task holds it; Python frees it
        self._task = task
        self._fn = fn
        self._args = args
        self._kwargs = kwargs

    def run(self) -> None:  # on a pool thread
        task = self._task
        try:
            result = self._fn(*self._args, **self._kwargs)
        except BaseException as exc:
            task._failed.emit(exc)
        else:
            task._succeeded.emit(result)
        finally:
            self._fn = self._args = self._kwargs = None  # type: ignore[assignment]


class Task(QObject):
    """One piece of background work. ``finished`` fires on the GUI thread after the callbacks.

    ``cancel()`` only drops the result (the function itself runs to its end): use it when the
    page that asked has gone away.
    """

    finished = Signal()
    _succeeded = Signal(object)
    _failed = Signal(object)
    _progressed = Signal(object)

    def __init__(
        self,
        on_success: Callable[[Any], None] | None,
        on_error: Callable[[TalkSmallError], None] | None,
        on_progress: Callable[..., None] | None,
    ) -> None:
        super().__init__()
        self.on_success = on_success
        self.on_error = on_error
        self.on_progress = on_progress
        self.result: Any = None
        self.error: TalkSmallError | None = None
        self.done = False
        self.cancelled = False
        self._runnable: _Runnable | None = None
        self._fn_name = "background task"
        queued = Qt.ConnectionType.QueuedConnection
        self._succeeded.connect(self._on_succeeded, queued)
        self._failed.connect(self._on_failed, queued)
        self._progressed.connect(self._on_progressed, queued)

    def report_progress(self, *args: Any) -> None:
        """The callback handed to the function as ``progress``; safe from any thread."""
        self._progressed.emit(args)

    def cancel(self) -> None:
        self.cancelled = True

    @Slot(object)
    def _on_progressed(self, args: tuple) -> None:
        if self.on_progress is not None and not self.cancelled and not self.done:
            self.on_progress(*args)

    @Slot(object)
    def _on_succeeded(self, result: Any) -> None:
        self.result = result
        try:
            if self.on_success is not None and not self.cancelled:
                self.on_success(result)
        finally:
            self._finish()

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        error = _wrap(self._fn_name, exc)
        self.error = error
        try:
            if isinstance(error, TaskError):
                log.error("background task failed:\n%s", error.details)
            if self.cancelled:
                return
            if self.on_error is not None:
                self.on_error(error)
            else:
                log.error("background task failed with no error handler: %s", error)
        finally:
            self._finish()

    def _finish(self) -> None:
        self.done = True
        self._runnable = None
        _active.discard(self)
        self.finished.emit()


def run_task(
    fn: Callable[..., Any],
    *args: Any,
    on_success: Callable[[Any], None] | None = None,
    on_error: Callable[[TalkSmallError], None] | None = None,
    on_progress: Callable[..., None] | None = None,
    **kwargs: Any,
) -> Task:
    """Run ``fn(*args, **kwargs)`` on the global thread pool; call back on the GUI thread."""
    task = Task(on_success, on_error, on_progress)
    app = QCoreApplication.instance()
    if app is not None and task.thread() is not app.thread():
        task.moveToThread(app.thread())  # callbacks belong to the GUI thread, whoever asked
    task._fn_name = getattr(fn, "__name__", "background task")
    if "progress" not in kwargs and _accepts_progress(fn):
        kwargs["progress"] = task.report_progress
    task._runnable = _Runnable(task, fn, args, kwargs)
    _active.add(task)  # keeps the Task (and its callbacks) alive until it has finished
    QThreadPool.globalInstance().start(task._runnable)
    return task


def active_tasks() -> list[Task]:
    """Tasks started and not yet finished (their callbacks not yet run)."""
    return list(_active)


def wait_for_all(timeout_ms: int = 30000) -> bool:
    """Wait for the pool, then deliver the pending callbacks; True when nothing is left."""
    deadline = QDeadlineTimer(timeout_ms)
    pool = QThreadPool.globalInstance()
    if not pool.waitForDone(deadline.remainingTime()):  # -1 (forever) stays forever
        return False
    while _active and not deadline.hasExpired():
        QCoreApplication.processEvents()
    return not _active
