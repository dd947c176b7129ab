"""The endpoint teacher against a fake OpenAI-compatible server on 127.0.0.1 (real HTTP)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from core import teachers
from core.teachers import ChatRequest, TeacherError, TeacherStopped, endpoint_teacher
from core.teachers.retry import RetryPolicy, parse_retry_after
from tests.fakes.openai_server import FakeOpenAIServer, closed_port_url

KEY = "sk-test-0123456789abcdef"
FAST = {"backoff_s": 0.01, "max_backoff_s": 0.05}  # retries without slow tests


def ask(text: str, role: str = "user", **options: object) -> ChatRequest:
    return ChatRequest(messages=[{"role": "system", "content": "Be brief."},
                                 {"role": role, "content": text}], **options)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def test_answers_and_sends_an_openai_request(server: FakeOpenAIServer) -> None:
    teacher = endpoint_teacher(server.url, "fake-model", KEY)
    try:
        reply = teacher.complete(ask("How do I pay rent?", role="tenant", seed=7, stop=["\n\n"],
                                     max_tokens=50, temperature=0.2))
    finally:
        teacher.close()
    assert reply == "Echo: How do I pay rent?"
    body = server.bodies[0]
    assert body["model"] == "fake-model"
    assert body["messages"][1] == {"role": "user", "content": "How do I pay rent?"}  # tenant
    assert (body["seed"], body["stop"], body["max_tokens"], body["temperature"]) == (
        7, ["\n\n"], 50, 0.2)
    assert server.headers[0]["Authorization"] == f"Bearer {KEY}"
    assert teacher.name == f"endpoint:fake-model@{server.url}"
    assert teacher.remote is False  # 127.0.0.1: documents stay on this computer
    assert teacher.completion_tokens == 6  # the fake counts words


def test_rate_limited_then_success_waits_for_retry_after(server: FakeOpenAIServer) -> None:
    server.set_fault("rate_limited", times=2, retry_after=0.6)
    teacher = endpoint_teacher(server.url, "fake-model", **FAST)
    started = time.monotonic()
    reply = teacher.complete(ask("hello"))
    elapsed = time.monotonic() - started
    teacher.close()
    assert reply == "Echo: hello"
    assert server.requests == 3 and teacher.attempts == 3
    assert elapsed >= 1.2  # two Retry-After waits, not the 0.01 s backoff


def test_server_error_then_success(server: FakeOpenAIServer) -> None:
    server.set_fault("server_error", times=2)
    teacher = endpoint_teacher(server.url, "fake-model", max_retries=2, **FAST)
    assert teacher.complete(ask("hello")) == "Echo: hello"
    teacher.close()
    assert server.requests == 3


def test_server_error_every_time_is_retryable_after_bounded_retries(
        server: FakeOpenAIServer) -> None:
    server.set_fault("server_error")
    teacher = endpoint_teacher(server.url, "fake-model", max_retries=3, **FAST)
    with pytest.raises(TeacherError) as caught:
        teacher.complete(ask("hello"))
    teacher.close()
    assert server.requests == 4
    assert caught.value.retryable and caught.value.status == 500
    assert "HTTP 500" in caught.value.message and "gave up after 4 tries" in caught.value.message


def test_down_is_a_clear_retryable_error_after_bounded_retries() -> None:
    teacher = endpoint_teacher(closed_port_url(), "fake-model", max_retries=2, **FAST)
    started = time.monotonic()
    with pytest.raises(TeacherError) as caught:
        teacher.complete(ask("hello"))
    teacher.close()
    error = caught.value
    assert time.monotonic() - started < 5
    assert error.retryable and teacher.attempts == 3
    assert "Cannot connect to the teacher endpoint" in error.message
    assert "gave up after 3 tries" in error.message
    assert "server is running" in error.hint


def test_server_going_down_and_up_again(server: FakeOpenAIServer) -> None:
    teacher = endpoint_teacher(server.url, "fake-model", max_retries=0)
    assert teacher.complete(ask("one")) == "Echo: one"
    server.set_fault("down")
    with pytest.raises(TeacherError, match="Cannot connect"):
        teacher.complete(ask("two"))
    server.set_fault("normal")  # listens again on the same port
    assert teacher.complete(ask("three")) == "Echo: three"
    teacher.close()


@pytest.mark.parametrize(("mode", "words"), [("malformed", "not JSON"),
                                             ("no_choices", "without a chat message"),
                                             ("empty", "empty message")])
def test_malformed_and_empty_answers_are_retryable_errors(server: FakeOpenAIServer, mode: str,
                                                          words: str) -> None:
    server.set_fault(mode)
    teacher = endpoint_teacher(server.url, "fake-model", max_retries=2, **FAST)
    with pytest.raises(TeacherError, match=words) as caught:
        teacher.complete(ask("hello"))
    teacher.close()
    assert caught.value.retryable and server.requests == 3


def test_one_malformed_answer_is_retried(server: FakeOpenAIServer) -> None:
    server.set_fault("malformed", times=1)
    teacher = endpoint_teacher(server.url, "fake-model", **FAST)
    assert teacher.complete(ask("hello")) == "Echo: hello"
    teacher.close()
    assert server.requests == 2


def test_wrong_key_fails_at_once_with_a_key_hint() -> None:
    with FakeOpenAIServer(api_key=KEY) as fake:
        teacher = endpoint_teacher(fake.url, "fake-model", "sk-wrong", **FAST)
        with pytest.raises(TeacherError) as caught:
            teacher.complete(ask("hello"))
        teacher.close()
        assert fake.requests == 1  # no retries: retrying cannot fix a key
    error = caught.value
    assert not error.retryable and error.status == 401
    assert "refused the API key" in error.message and "API key" in error.hint


def test_unknown_model_and_wrong_url_get_their_own_hints() -> None:
    with FakeOpenAIServer(models={"llama3.2:3b"}) as fake:
        with pytest.raises(TeacherError) as model_error:
            endpoint_teacher(fake.url, "llama3:3b", **FAST).complete(ask("hello"))
        without_v1 = fake.url.removesuffix("/v1")
        with pytest.raises(TeacherError) as url_error:
            endpoint_teacher(without_v1, "llama3.2:3b", **FAST).complete(ask("hello"))
    assert not model_error.value.retryable and "no model named 'llama3:3b'" in (
        model_error.value.message)
    assert "ollama list" in model_error.value.hint
    assert not url_error.value.retryable and "/v1" in url_error.value.hint


def test_timeout_is_retried_then_reported(server: FakeOpenAIServer) -> None:
    server.set_fault("slow", times=1, delay_s=2)
    teacher = endpoint_teacher(server.url, "fake-model", timeout_s=0.3, max_retries=1, **FAST)
    assert teacher.complete(ask("late")) == "Echo: late"  # the retry is answered at once
    server.set_fault("slow", delay_s=2)
    with pytest.raises(TeacherError, match=r"did not answer within 0\.3 s") as caught:
        teacher.complete(ask("later"))
    teacher.close()
    assert caught.value.retryable


def test_concurrency_keeps_that_many_requests_in_flight_and_the_order() -> None:
    requests = [ask(f"question {i}") for i in range(8)]
    with FakeOpenAIServer(delay_s=0.3) as fake:
        teacher = endpoint_teacher(fake.url, "fake-model")
        seen: list[tuple[int, str]] = []
        results = teacher.complete_many(
            requests, concurrency=4,
            on_result=lambda i, r: seen.append((i, threading.current_thread().name)))
        four = fake.max_in_flight
        fake.max_in_flight = 0
        assert teacher.complete_many(requests[:3], concurrency=1) == results[:3]
        one = fake.max_in_flight
        teacher.close()
    assert results == [f"Echo: question {i}" for i in range(8)]
    assert (four, one) == (4, 1)
    assert sorted(i for i, _ in seen) == list(range(8))
    assert {name for _, name in seen} == {threading.current_thread().name}  # caller's thread


def test_should_stop_stops_issuing_requests() -> None:
    with FakeOpenAIServer(delay_s=0.05) as fake:
        teacher = endpoint_teacher(fake.url, "fake-model")
        results = teacher.complete_many([ask(f"q{i}") for i in range(20)], concurrency=2,
                                        should_stop=lambda: fake.requests >= 4)
        teacher.close()
        sent = fake.requests
    answered = [r for r in results if isinstance(r, str)]
    stopped = [r for r in results if isinstance(r, TeacherStopped)]
    assert 4 <= sent <= 5  # at most one more slipped through the check in the other worker
    assert len(answered) == sent and len(stopped) == 20 - sent
    assert all(r.retryable for r in stopped)


def test_should_stop_ends_a_long_retry_wait(server: FakeOpenAIServer) -> None:
    server.set_fault("rate_limited", retry_after=60)
    teacher = endpoint_teacher(server.url, "fake-model")
    started = time.monotonic()
    results = teacher.complete_many([ask("a"), ask("b")], concurrency=2,
                                    should_stop=lambda: server.requests >= 2)
    teacher.close()
    assert time.monotonic() - started < 5
    assert all(isinstance(r, TeacherStopped) for r in results)


def test_the_api_key_is_never_logged_or_shown(server: FakeOpenAIServer,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.set_fault("server_error", times=1)
    teacher = endpoint_teacher(server.url, "fake-model", KEY, **FAST)
    teacher.complete(ask("hello"))
    server.api_key = "sk-other"
    with pytest.raises(TeacherError) as caught:
        teacher.complete(ask("hello"))
    teacher.close()
    assert "Retrying" in caplog.text  # the retry was logged...
    shown = [caplog.text, str(caught.value), repr(teacher), teacher.name]
    assert not any(KEY in text for text in shown)  # ...without the key


def test_test_connection_messages(server: FakeOpenAIServer) -> None:
    message = teachers.test_connection(server.url, "fake-model")
    assert message.startswith("Connected: model fake-model answered in ")
    assert message.endswith(" s (on this computer).")
    with pytest.raises(TeacherError) as down:
        teachers.test_connection(closed_port_url(), "fake-model")
    assert "Cannot connect" in down.value.message and down.value.retryable
    server.api_key = KEY
    with pytest.raises(TeacherError) as wrong_key:
        teachers.test_connection(server.url, "fake-model", "sk-wrong")
    assert wrong_key.value.status == 401 and not wrong_key.value.retryable


def test_urls_are_checked_and_remote_hosts_flagged() -> None:
    cloud = endpoint_teacher("https://api.example.com/v1/chat/completions/", "gpt-x")
    assert cloud.base_url == "https://api.example.com/v1" and cloud.remote is True
    assert endpoint_teacher("http://localhost:11434/v1", "m").remote is False
    assert endpoint_teacher("http://192.168.1.20:11434/v1", "m").remote is True  # another PC
    with pytest.raises(TeacherError, match="not a web address") as caught:
        endpoint_teacher("localhost:11434", "m")
    assert "http://127.0.0.1:11434/v1" in caught.value.hint
    with pytest.raises(TeacherError, match="model name is empty"):
        endpoint_teacher("http://localhost:11434/v1", " ")


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(backoff_s=1.0, max_backoff_s=8.0)
    waits = [policy.wait_s(n) for n in range(6)]
    for n, wait in enumerate(waits):
        ceiling = min(8.0, 2.0 ** n)
        assert ceiling / 2 <= wait <= ceiling
    assert policy.wait_s(0, retry_after_s=5) == 5
    assert policy.wait_s(0, retry_after_s=1000) == policy.max_retry_after_s
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
