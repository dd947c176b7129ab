"""model_for_run: a trained run's final/ exported once to runs/<id>/chat/, then reused."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from core.chat import ChatEngine, model_for_run
from core.chat.target import open_engine, project_model
from core.errors import ValidationError
from core.models.embedded import embedded_gguf_path
from core.project import create_project

pytestmark = pytest.mark.slow

RUN = "20261128T010000Z-train-abc123"


def fake_finished_run(runs_dir: Path, hf_dir: Path, run_id: str = RUN) -> Path:
    """A run folder as training leaves it: final/ (the model), config.json, events.jsonl.

    final/ links to the converted embedded model's files: a real model, no 500 MB copy.
    """
    run = runs_dir / run_id
    (run / "final").mkdir(parents=True)
    for source in hf_dir.iterdir():
        if source.is_file():
            (run / "final" / source.name).symlink_to(source)
    (run / "config.json").write_text(json.dumps({"source_gguf": str(embedded_gguf_path())}))
    (run / "events.jsonl").write_text(
        '{"type": "started", "run": "x"}\n{"type": "finished", "status": "succeeded"}\n')
    return run


def test_a_run_is_exported_once_then_reused_until_its_model_changes(tmp_path: Path,
                                                                    embedded_conversion):
    project = create_project(tmp_path / "p", company_name="Acme")
    try:
        run = fake_finished_run(project.runs_dir, embedded_conversion.path)
        progress: list[float] = []
        started = time.perf_counter()
        path = model_for_run(project, RUN, progress=lambda f, m: progress.append(f))
        exported_in = time.perf_counter() - started
        print(f"\n[model_for_run] first export {exported_in:.1f} s")
        assert path == run / "chat" / "model-f16.gguf" and path.stat().st_size > 100e6
        assert progress and progress[-1] == pytest.approx(1.0)
        assert sorted(p.name for p in path.parent.iterdir() if not p.name.startswith(".")) \
            == ["model-f16.gguf"]
        built = path.stat().st_mtime_ns

        started = time.perf_counter()
        assert model_for_run(project, RUN) == path
        assert time.perf_counter() - started < 1.0 and path.stat().st_mtime_ns == built

        newer = run / "final" / "generation_config.json"  # the run's model changed since
        newer.unlink(missing_ok=True)
        newer.write_text("{}")
        os.utime(newer, ns=(built + 10**9, built + 10**9))
        assert model_for_run(project, RUN) == path and path.stat().st_mtime_ns > built

        assert project_model(project) == path  # the newest succeeded run is the default
        answer = ChatEngine(path).answer([{"role": "user", "content": "Hi!"}], max_tokens=8,
                                         temperature=0.0)
        assert answer.tokens > 0 and answer.text
    finally:
        project.close()


def test_run_ids_are_checked(tmp_path: Path):
    project = create_project(tmp_path / "p")
    try:
        for bad in ("", "..", "a/b", "no-such-run"):
            with pytest.raises(ValidationError) as caught:
                model_for_run(project, bad)
            assert caught.value.field == "run" and caught.value.hint
        (project.runs_dir / "unfinished").mkdir(parents=True)
        with pytest.raises(ValidationError, match="no finished model"):
            model_for_run(project, "unfinished")
        assert project_model(project) == embedded_gguf_path()  # no run: the base model
    finally:
        project.close()


def test_open_engine_takes_a_project_or_a_gguf(tmp_path: Path):
    gguf = open_engine(embedded_gguf_path())
    assert gguf.project is None and gguf.model_path == embedded_gguf_path()
    with pytest.raises(ValidationError, match="--run"):
        open_engine(embedded_gguf_path(), run="x")
    with pytest.raises(ValidationError) as caught:
        open_engine(tmp_path)
    assert caught.value.field == "target"
    create_project(tmp_path / "p", company_name="Acme Rentals & Co").close()
    engine = open_engine(tmp_path / "p")
    try:
        assert engine.project is not None and engine.name == "acme-rentals-co"
    finally:
        engine.project.close()
