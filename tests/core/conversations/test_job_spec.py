"""What the generate job and the pipeline refuse before any work starts."""

from __future__ import annotations

import pytest

from core.conversations.job import teacher_from_spec
from core.conversations.pipeline import generate_conversations
from core.conversations.settings import GenerationSettings
from core.errors import ProjectError, ValidationError
from core.jobs import registry
from core.project import create_project


def test_the_generate_job_is_registered() -> None:
    assert "generate" in registry.job_names()
    assert registry.resolve("generate").__name__ == "run_generate"


def test_a_remote_endpoint_needs_an_explicit_opt_in() -> None:
    spec = {"teacher": {"kind": "endpoint", "base_url": "https://api.example.com/v1",
                        "model": "big"}}
    with pytest.raises(ValidationError) as caught:
        teacher_from_spec(spec)
    assert "leave" in caught.value.message and caught.value.field == "teacher"
    spec["teacher"]["allow_remote"] = True
    teacher = teacher_from_spec(spec)  # no request is sent until generation starts
    assert teacher.remote and teacher.name == "endpoint:big@https://api.example.com/v1"
    teacher.close()


def test_bad_teacher_specs() -> None:
    with pytest.raises(ValidationError):
        teacher_from_spec({"teacher": {"kind": "endpoint", "base_url": "", "model": "x"}})
    with pytest.raises(ValidationError):
        teacher_from_spec({"teacher": {"kind": "oracle"}})


def test_generation_needs_documents_and_valid_settings(tmp_path, sample_project) -> None:
    empty = create_project(tmp_path / "empty", company_name="Empty Lets")
    try:
        with pytest.raises(ProjectError) as caught:
            generate_conversations(empty, None, GenerationSettings())
        assert "Import documents" in caught.value.hint
    finally:
        empty.close()
    with pytest.raises(ValidationError) as caught:
        generate_conversations(sample_project, None, GenerationSettings(per_chunk=0))
    assert caught.value.field == "per_chunk"
