"""One streamed answer on a worker thread, reported through ``run_task``'s progress channel.

``run_task(stream_answer, engine, messages, stop, role=..., retrieval=...)`` delivers, in
order on the GUI thread, ``("passages", hits)`` once (before the first token), then
``("delta", text)`` per piece of visible text, and finally the ``Answer`` (None when ``stop``
was set part-way: the model is freed at once for the next question).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


def stream_answer(engine: Any, messages: Sequence[dict[str, str]], stop: threading.Event,
                  progress: Callable[..., None], **options: Any) -> Any:
    stream = engine.stream(messages, **options)
    progress("passages", list(stream.passages))
    with stream:
        for delta in stream:
            if stop.is_set():
                return None
            progress("delta", delta)
    return stream.answer


def open_engine_for(project: Any, key: str, progress: Callable[..., None]) -> Any:
    """Open the chat model ``key`` (see core.chat.choices) and load it, off the GUI thread."""
    from core.chat.choices import open_choice

    engine = open_choice(project, key, progress=lambda f, m: progress("export", f, m))
    try:
        engine.load()
    except BaseException:
        engine.close()
        raise
    return engine
