"""The pipeline against an OpenAI-compatible endpoint: requests in flight, faults, resume.

The endpoint is the fake server on 127.0.0.1 (tests/fakes/openai_server.py); its answers
come from ``scripted.helpful``. Everything else is real: the sample company's documents,
the embedding model, the gates and the project database.
"""

from __future__ import annotations

import threading

import pytest

from core.conversations import store
from core.conversations.pipeline import generate_conversations
from core.conversations.settings import GenerationSettings
from core.teachers import TeacherError, endpoint_teacher
from tests.core.conversations.scripted import helpful
from tests.fakes.openai_server import FakeOpenAIServer


def _one_example_per_done_item(project) -> None:
    rows = project.store.query(
        "SELECT w.key, w.status, COUNT(e.id) AS n FROM generation_work w "
        "LEFT JOIN examples e ON e.work_id = w.id GROUP BY w.id")
    for row in rows:
        assert row["n"] == (1 if row["status"] == "done" else 0), dict(row)


def test_several_items_are_in_flight_and_all_are_saved(sample_project) -> None:
    settings = GenerationSettings(limit=16, concurrency=4, seed=3)
    with FakeOpenAIServer(responder=helpful, delay_s=0.05) as server:
        teacher = endpoint_teacher(server.url, "fake", max_retries=0)
        report = generate_conversations(sample_project, teacher, settings)
        teacher.close()
        assert server.max_in_flight >= 2
    assert report.processed == 16 and not report.stopped
    assert report.kept + report.dropped == 16
    _one_example_per_done_item(sample_project)
    examples = store.list_examples(sample_project)
    assert {e.teacher for e in examples} == {teacher.name}
    assert all(e.seed is not None and e.template for e in examples)
    kept = [e for e in examples if e.status == "kept"]
    assert kept and all(e.flesch >= 75 for e in kept)
    assert all(e.reason for e in examples if e.status == "dropped")
    # the same settings again: nothing left to do, nothing duplicated
    with FakeOpenAIServer(responder=helpful) as server:
        teacher = endpoint_teacher(server.url, "fake", max_retries=0)
        again = generate_conversations(sample_project, teacher, settings)
        teacher.close()
    assert again.processed == 0 and again.done_before == 16
    assert len(store.list_examples(sample_project)) == 16


def test_an_endpoint_that_goes_down_pauses_the_run_and_a_rerun_resumes(sample_project) -> None:
    settings = GenerationSettings(limit=14, concurrency=2, rewrite="always", seed=5)
    with FakeOpenAIServer(responder=helpful, delay_s=0.05) as server:
        teacher = endpoint_teacher(server.url, "fake", max_retries=1, backoff_s=0.05,
                                   timeout_s=2)
        failure: list[BaseException] = []
        three_saved = threading.Event()

        def on_progress(update) -> None:
            if update.item is not None and update.done >= 3:
                three_saved.set()

        def run() -> None:
            try:
                generate_conversations(sample_project, teacher, settings, progress=on_progress)
            except TeacherError as exc:
                failure.append(exc)
            finally:
                three_saved.set()

        worker = threading.Thread(target=run)
        worker.start()
        assert three_saved.wait(timeout=180)
        server.set_fault("down")
        worker.join(timeout=120)
        assert not worker.is_alive()
        assert failure and failure[0].retryable
        done_first = store.summary(sample_project)["work"]["done"]
        assert 0 < done_first < 14
        _one_example_per_done_item(sample_project)

        server.set_fault("normal")
        report = generate_conversations(sample_project, teacher, settings)
        teacher.close()
    assert report.done_before == done_first
    assert report.processed == 14 - done_first
    assert store.summary(sample_project)["work"] == {"planned": 14, "done": 14, "todo": 0}
    _one_example_per_done_item(sample_project)


def test_a_wrong_model_name_stops_at_once(sample_project) -> None:
    with FakeOpenAIServer(responder=helpful, models={"real-model"}) as server:
        teacher = endpoint_teacher(server.url, "no-such-model", max_retries=0)
        with pytest.raises(TeacherError) as caught:
            generate_conversations(sample_project, teacher,
                                   GenerationSettings(limit=8, rewrite="always"))
        teacher.close()
    assert not caught.value.retryable
    _one_example_per_done_item(sample_project)
