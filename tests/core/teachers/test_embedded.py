"""The embedded teacher on the real shipped GGUF (llama.cpp on the CPU)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from core.models.embedded import embedded_gguf_path
from core.teachers import (
    ChatRequest,
    EmbeddedTeacher,
    Teacher,
    TeacherError,
    TeacherStopped,
    embedded_teacher,
)

pytestmark = pytest.mark.slow

SYSTEM = "You are the support assistant of Harbour View Lettings. Answer in one sentence."


def ask(text: str, role: str = "user", **options: object) -> ChatRequest:
    options.setdefault("max_tokens", 24)
    return ChatRequest(messages=[{"role": "system", "content": SYSTEM},
                                 {"role": role, "content": text}], **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def teacher() -> Iterator[EmbeddedTeacher]:
    model = embedded_teacher(seed=0)
    yield model
    model.close()


def test_answers_a_real_prompt(teacher: EmbeddedTeacher) -> None:
    before = teacher.completion_tokens
    reply = teacher.complete(ask("How do I report a broken boiler?", temperature=0.0))
    assert isinstance(teacher, Teacher)
    assert teacher.name == "embedded:SmolLM2-135M-Instruct" and teacher.remote is False
    assert len(reply.split()) >= 3 and reply == reply.strip()
    assert 0 < teacher.completion_tokens - before <= 24


def test_same_seed_same_text(teacher: EmbeddedTeacher) -> None:
    greedy = ask("Can I keep a cat in my flat?", temperature=0.0)
    first = teacher.complete(greedy)
    teacher.complete(ask("When is rent due?", temperature=0.0))  # something else in between
    assert teacher.complete(greedy) == first
    assert teacher.complete(greedy) == first  # the same prompt twice in a row as well

    sampled = [teacher.complete(ask("Can I keep a cat in my flat?", temperature=0.9, seed=s))
               for s in (3, 3, 4, 5)]
    assert sampled[0] == sampled[1]
    assert len(set(sampled)) > 1  # other seeds, other samples
    fresh = embedded_teacher(seed=0)
    try:  # a new process resuming a run gets the same text for the recorded seed
        assert fresh.complete(ask("Can I keep a cat in my flat?", temperature=0.9, seed=3)) == (
            sampled[0])
    finally:
        fresh.close()


def test_a_custom_role_goes_into_the_chatml_header(teacher: EmbeddedTeacher) -> None:
    from llama_cpp import Llama

    question = "Who fixes the heating in my flat?"
    as_tenant = teacher.complete(ask(question, role="tenant", temperature=0.0))
    as_user = teacher.complete(ask(question, role="user", temperature=0.0))
    raw = Llama(model_path=str(embedded_gguf_path()), n_ctx=1024, n_threads=2, verbose=False)
    try:
        prompt = (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n"
                  f"<|im_start|>tenant\n{question}<|im_end|>\n<|im_start|>assistant\n")
        expected = raw.create_completion(prompt, max_tokens=24, temperature=0.0)
    finally:
        raw.close()
    assert as_tenant == expected["choices"][0]["text"].strip()
    assert as_tenant != as_user  # the role name reached the model


def test_threads_take_turns_on_one_context(teacher: EmbeddedTeacher) -> None:
    request = ask("What are your office hours?", temperature=0.0, max_tokens=16)
    expected = teacher.complete(request)
    replies: list[str] = []
    threads = [threading.Thread(target=lambda: replies.append(teacher.complete(request)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert replies == [expected] * 3


def test_complete_many_is_sequential_and_stops(teacher: EmbeddedTeacher) -> None:
    seen: list[int] = []
    results = teacher.complete_many(
        [ask("Hello?", max_tokens=8), ask("Bye?", max_tokens=8), ask("Why?", max_tokens=8)],
        should_stop=lambda: len(seen) >= 1, on_result=lambda i, r: seen.append(i))
    assert isinstance(results[0], str) and results[0]
    assert all(isinstance(r, TeacherStopped) for r in results[1:])
    assert seen == [0, 1, 2]


def test_a_prompt_too_long_is_a_clear_error() -> None:
    small = embedded_teacher(n_ctx=128)
    try:
        with pytest.raises(TeacherError) as caught:
            small.complete(ask("Please read this. " * 100))
        assert not caught.value.retryable
        assert "too long for the embedded model" in caught.value.message
        assert small.complete(ask("Hi", max_tokens=4))  # still usable afterwards
    finally:
        small.close()


def test_close_then_use_again(teacher: EmbeddedTeacher) -> None:
    teacher.close()
    assert teacher.complete(ask("Hi", max_tokens=4, temperature=0.0))
