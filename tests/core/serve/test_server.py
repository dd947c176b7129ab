"""Our OpenAI-compatible server on 127.0.0.1, exercised with the real ``openai`` client."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import openai
import pytest

from core.chat import ChatEngine
from core.errors import TalkSmallError, ValidationError
from core.serve import ServerHandle, start_server
from tests.core.chat.helpers import FEE_QUESTION, OFF_TOPIC, make_policies_project

pytestmark = pytest.mark.slow

QUESTION = [{"role": "user", "content": "How do I report a broken boiler?"}]
GREEDY = {"temperature": 0.0, "seed": 3, "max_tokens": 16}


@pytest.fixture(scope="module")
def server(engine: ChatEngine) -> Iterator[ServerHandle]:
    handle = start_server(engine, port=0)
    yield handle
    handle.stop()
    assert not handle.running


def client(handle: ServerHandle, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=handle.url, api_key=key or handle.key, max_retries=0,
                         timeout=120)


def test_the_openai_client_gets_answers_with_the_key(server: ServerHandle, engine: ChatEngine):
    assert server.host == "127.0.0.1" and server.url == f"http://127.0.0.1:{server.port}/v1"
    assert server.key_generated and len(server.key) >= 32
    api = client(server)
    assert [m.id for m in api.models.list()] == ["smollm2"]
    reply = api.chat.completions.create(model="smollm2", messages=QUESTION, **GREEDY)
    expected = engine.answer(QUESTION, **GREEDY)
    assert reply.choices[0].message.content == expected.text
    assert reply.choices[0].message.role == "assistant"
    assert reply.usage.completion_tokens == expected.tokens
    assert reply.usage.prompt_tokens == expected.prompt_tokens
    assert reply.choices[0].finish_reason == expected.finish_reason


def test_streaming_through_the_server_matches_the_whole_answer(server: ServerHandle):
    api = client(server)
    whole = api.chat.completions.create(model="smollm2", messages=QUESTION, **GREEDY)
    chunks = list(api.chat.completions.create(model="smollm2", messages=QUESTION, stream=True,
                                              **GREEDY))
    deltas = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(deltas) > 3
    assert "".join(deltas) == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)


def test_requests_without_the_right_key_are_refused(server: ServerHandle):
    with pytest.raises(openai.AuthenticationError) as caught:
        client(server, key="not-the-key").chat.completions.create(
            model="smollm2", messages=QUESTION, max_tokens=4)
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "invalid_api_key"
    for path, data in (("/models", None), ("/chat/completions", b'{"messages": []}')):
        request = urllib.request.Request(server.url + path, data=data)  # no header at all
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401
        body = json.loads(refused.value.read())
        assert body["error"]["type"] == "authentication_error"
        assert "Authorization: Bearer" in body["error"]["message"]


def test_bad_requests_get_an_openai_style_400(server: ServerHandle):
    api = client(server)
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model="smollm2", messages=[], max_tokens=4)
    assert caught.value.body["param"] is None and "messages" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        api.chat.completions.create(model="smollm2", messages=QUESTION,
                                    extra_body={"customer_role": "system"})


def test_another_address_needs_allow_remote_and_a_key_of_your_own(engine: ChatEngine):
    with pytest.raises(ValidationError) as caught:
        start_server(engine, host="0.0.0.0", port=0)
    assert caught.value.field == "host" and "--allow-remote" in caught.value.hint
    with pytest.raises(ValidationError) as caught:
        start_server(engine, host="0.0.0.0", port=0, allow_remote=True)
    assert caught.value.field == "api_key"
    with pytest.raises(ValidationError):
        start_server(engine, host="0.0.0.0", port=0, allow_remote=True, api_key="short")


def test_a_taken_port_is_reported_with_the_port(engine: ChatEngine):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(TalkSmallError) as caught:
            start_server(engine, port=port, api_key="k")
    assert f"Port {port}" in caught.value.message and "in use" in caught.value.message
    assert "--port" in caught.value.hint


def test_stop_frees_the_port(engine: ChatEngine):
    handle = start_server(engine, port=0, api_key="my-own-key")
    assert not handle.key_generated and handle.key == "my-own-key"
    assert "Authorization: Bearer my-own-key" in handle.curl_example()
    handle.stop()
    assert not handle.running
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", handle.port))


def test_a_project_server_retrieves_and_escalates(tmp_path, engine: ChatEngine):
    project = make_policies_project(tmp_path / "kestrel")
    grounded = ChatEngine(engine.model_path, project=project, name="kestrel", n_ctx=2048)
    handle = start_server(grounded, port=0)
    try:
        api = client(handle)
        reply = api.chat.completions.create(model="kestrel", max_tokens=4, temperature=0,
                                            messages=[{"role": "user", "content": FEE_QUESTION}])
        extras = reply.model_extra["talksmall"]
        assert not extras["escalated"] and extras["passages"]
        assert {p["document"] for p in extras["passages"]} == {"policies.md"}
        assert "text" not in extras["passages"][0]
        chunks = list(api.chat.completions.create(
            model="kestrel", stream=True, messages=[{"role": "user", "content": OFF_TOPIC}]))
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        assert "Kestrel Quay Lettings" in text
        assert chunks[-1].model_extra["talksmall"] == {"escalated": True, "passages": []}

        from core.documents.library import forget_document

        forget_document(project, extras["passages"][0]["document_id"])  # while it serves
        after = api.chat.completions.create(model="kestrel", max_tokens=4, messages=[
            {"role": "user", "content": FEE_QUESTION}])
        assert after.model_extra["talksmall"] == {"escalated": True, "passages": []}
    finally:
        handle.stop()
        grounded.close()
        project.close()
