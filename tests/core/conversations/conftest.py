"""The real sample company, imported once per session, copied fresh for each test.

Importing the four sample documents (PDF, DOCX, Markdown, CSV with personal data redacted)
takes a few seconds; each test gets its own copy of the finished project folder, so tests
can generate, edit and forget without seeing each other's rows.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.project import Project, open_project


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from core.documents import import_files
    from core.sample import init_sample

    folder = tmp_path_factory.mktemp("sample-template") / "kestrel"
    project = init_sample(folder)
    try:
        results = import_files(project, [project.root / "sample-documents"])
        assert [r.status for r in results] == ["imported"] * 4, [r.message for r in results]
    finally:
        project.close()
    return folder


@pytest.fixture
def sample_project(sample_template: Path, tmp_path: Path) -> Iterator[Project]:
    folder = tmp_path / "kestrel"
    shutil.copytree(sample_template, folder)
    project = open_project(folder)
    yield project
    project.close()


@pytest.fixture(scope="session")
def embedded() -> Iterator[object]:
    """One embedded llama.cpp teacher for the session (loading it is cheap, but not free)."""
    from core.teachers import embedded_teacher

    teacher = embedded_teacher()
    yield teacher
    teacher.close()


@pytest.fixture(scope="session")
def generated_template(sample_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample company with 24 items generated through the fake endpoint (fast)."""
    from core.conversations.pipeline import generate_conversations
    from core.conversations.settings import GenerationSettings
    from core.teachers import endpoint_teacher
    from tests.core.conversations.scripted import helpful
    from tests.fakes.openai_server import FakeOpenAIServer

    folder = tmp_path_factory.mktemp("generated-template") / "kestrel"
    shutil.copytree(sample_template, folder)
    project = open_project(folder)
    try:
        with FakeOpenAIServer(responder=helpful) as server:
            teacher = endpoint_teacher(server.url, "fake", max_retries=0)
            generate_conversations(project, teacher,
                                   GenerationSettings(limit=24, intents=True, seed=2))
            teacher.close()
    finally:
        project.close()
    return folder


@pytest.fixture
def generated_project(generated_template: Path, tmp_path: Path) -> Iterator[Project]:
    folder = tmp_path / "generated"
    shutil.copytree(generated_template, folder)
    project = open_project(folder)
    yield project
    project.close()
