"""One embedded-model engine per module; servers are started and stopped by each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.chat import ChatEngine
from core.models.embedded import embedded_gguf_path


@pytest.fixture(scope="module")
def engine() -> Iterator[ChatEngine]:
    chat = ChatEngine(embedded_gguf_path(), name="smollm2", n_ctx=2048)
    yield chat
    chat.close()
