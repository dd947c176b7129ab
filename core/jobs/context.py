"""What a job function gets besides its spec: a way to report, and a way to be asked to stop.

Jobs never print and never look at signals; they call ``ctx.progress`` and friends, and check
``ctx.should_stop()`` between steps (saving a checkpoint before raising ``JobCancelled``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.jobs.events import STOP_FILE, EventWriter


class JobCancelled(Exception):
    """Raised by a job (usually via ``ctx.check_stop()``) to end the run as cancelled."""


class JobContext:
    def __init__(
        self,
        run_dir: Path,
        writer: EventWriter,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.writer = writer
        self._clock = clock
        self._progress_origin: tuple[float, int] | None = None

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        return self.writer.emit(kind, **fields)

    def stage(self, name: str, index: int, of: int) -> None:
        self.emit("stage", name=name, index=index, of=of)
        # Each stage has its own pace; the ETA restarts with its first progress.
        self._progress_origin = None

    def progress(self, step: int, total: int) -> None:
        """Report ``step`` of ``total``; eta_s is extrapolated from this stage's own pace.

        The clock starts at the first report (not at job start), so model loading and a
        resumed run's earlier steps do not distort the estimate. eta_s is null until known.
        """
        now = self._clock()
        if self._progress_origin is None or step < self._progress_origin[1]:
            self._progress_origin = (now, step)
        start_time, start_step = self._progress_origin
        eta_s: float | None = None
        if step >= total:
            eta_s = 0.0
        elif step > start_step:
            per_step = (now - start_time) / (step - start_step)
            eta_s = round(per_step * (total - step), 1)
        self.emit("progress", step=step, total=total, eta_s=eta_s)

    def metric(self, step: int, **values: float) -> None:
        self.emit("metric", step=step, **values)

    def checkpoint(self, step: int, path: str | Path) -> None:
        self.emit("checkpoint", step=step, path=str(path))

    def log(self, level: str, message: str) -> None:
        self.emit("log", level=level, message=message)

    def should_stop(self) -> bool:
        """True once the GUI (or anyone) has created STOP in the run folder."""
        return (self.run_dir / STOP_FILE).exists()

    def check_stop(self) -> None:
        """Raise JobCancelled when asked to stop; call it where stopping loses nothing."""
        if self.should_stop():
            raise JobCancelled("stop requested")
