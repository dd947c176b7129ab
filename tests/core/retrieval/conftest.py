"""The sample company imported once per module (and indexed: ~30 s of MiniLM on two cores);
tests that change a project get their own copy of the folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.project import Project, open_project

QUESTIONS = Path(__file__).with_name("questions.jsonl")


def held_out_questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
            if line.strip()]


@pytest.fixture(scope="module")
def built_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed sample project folder with every document imported and indexed."""
    from core.documents import import_files
    from core.retrieval import update_index
    from core.sample import INBOX, init_sample

    folder = tmp_path_factory.mktemp("retrieval") / "sample"
    project = init_sample(folder)
    try:
        results = import_files(project, [project.root / INBOX])
        assert [r.status for r in results] == ["imported"] * 4
        update_index(project)
    finally:
        project.close()
    return folder


@pytest.fixture(scope="module")
def sample(built_sample: Path) -> Iterator[Project]:
    """The shared sample project, for tests that only read."""
    project = open_project(built_sample)
    yield project
    project.close()


@pytest.fixture
def sample_copy(built_sample: Path, tmp_path: Path) -> Iterator[Project]:
    """A private copy of the sample project, for tests that change it."""
    folder = tmp_path / "copy"
    shutil.copytree(built_sample, folder)
    project = open_project(folder)
    yield project
    project.close()
