"""The models the chat and the server page offer, and what each choice opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.chat.choices import chat_choices, model_path
from core.errors import ValidationError
from core.models.embedded import embedded_gguf_path
from core.project import create_project
from tests.core.chat.test_runs import RUN, fake_finished_run


def test_the_assistant_runs_base_and_exports_are_offered(tmp_path: Path, embedded_conversion):
    project = create_project(tmp_path / "p", company_name="Kestrel")
    try:
        keys = [c.key for c in chat_choices(project)]
        assert keys == ["assistant", "base"]
        assert "not trained yet" in chat_choices(project)[0].label
        assert model_path(project, "base") == embedded_gguf_path()
        assert model_path(project, "assistant") == embedded_gguf_path()

        fake_finished_run(Path(project.runs_dir), embedded_conversion.path)
        failed = Path(project.runs_dir) / "20261128T020000Z-train-failed"
        (failed / "final").mkdir(parents=True)
        (failed / "events.jsonl").write_text('{"type": "finished", "status": "failed"}\n')
        export = Path(project.exports_dir) / "kestrel-run" / "model-q4_k_m.gguf"
        export.parent.mkdir(parents=True)
        export.write_bytes(b"GGUF")
        choices = chat_choices(project)
        assert [c.key for c in choices] == ["assistant", f"run:{RUN}", "base", f"file:{export}"]
        assert RUN in choices[0].label and choices[0].to_dict()["kind"] == "assistant"
        assert model_path(project, f"file:{export}") == export

        export.unlink()
        with pytest.raises(ValidationError, match="is gone"):
            model_path(project, f"file:{export}")
        with pytest.raises(ValidationError, match="Unknown chat model"):
            model_path(project, "teacher")
    finally:
        project.close()
