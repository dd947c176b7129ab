"""Shared, read-only fixtures: the embedded model in one engine, and a small real project."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.chat import ChatEngine
from core.models.embedded import embedded_gguf_path
from core.project import Project
from tests.core.chat.helpers import make_empty_project, make_policies_project


@pytest.fixture(scope="module")
def engine() -> Iterator[ChatEngine]:
    chat = ChatEngine(embedded_gguf_path(), n_ctx=2048)
    yield chat
    chat.close()


@pytest.fixture(scope="module")
def policies_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    project = make_policies_project(tmp_path_factory.mktemp("chat") / "kestrel")
    yield project
    project.close()


@pytest.fixture
def empty_project(tmp_path) -> Iterator[Project]:
    project = make_empty_project(tmp_path / "empty")
    yield project
    project.close()
