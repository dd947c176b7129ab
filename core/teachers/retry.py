"""When to try an endpoint request again, and how long to wait first.

Exponential backoff with jitter (each wait drawn between half and all of ``base * 2**n``,
capped) keeps many workers from retrying in lock-step against a server that is struggling;
a server's ``Retry-After`` is a floor on the wait, because asking sooner only earns another
429. Waits poll ``should_stop`` so a pause is not held up by a long back-off.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from core.teachers.base import StopCheck, TeacherStopped


@dataclass
class RetryPolicy:
    """``max_retries`` retries after the first try; waits in seconds."""

    max_retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 120.0  # a longer Retry-After is cut to this (then asked again)
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def wait_s(self, retry: int, retry_after_s: float | None = None) -> float:
        """The wait before retry number ``retry`` (0 for the first retry)."""
        ceiling = min(self.max_backoff_s, self.backoff_s * (2 ** retry))
        wait = self.rng.uniform(ceiling / 2, ceiling)
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, self.max_retry_after_s))
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def sleep_unless_stopped(seconds: float, should_stop: StopCheck | None,
                         poll_s: float = 0.05) -> None:
    """Sleep ``seconds``; raise ``TeacherStopped`` as soon as ``should_stop()`` is true."""
    deadline = time.monotonic() + seconds
    while True:
        if should_stop is not None and should_stop():
            raise TeacherStopped()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(poll_s, left))
