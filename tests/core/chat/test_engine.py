"""ChatEngine on the real embedded GGUF: streaming, roles, retrieval, escalation, limits."""

from __future__ import annotations

import pytest

from core.chat import PASSAGES_HEADING, ChatEngine
from core.errors import ValidationError
from core.models.embedded import embedded_gguf_path
from core.retrieval import Hit
from tests.core.chat.helpers import FEE_QUESTION, OFF_TOPIC

pytestmark = pytest.mark.slow

ASK = [{"role": "system", "content": "You are the support assistant of Harbour View Lettings."},
       {"role": "user", "content": "How do I report a broken boiler?"}]
GREEDY = {"temperature": 0.0, "seed": 7, "max_tokens": 24}


def test_streamed_deltas_add_up_to_the_greedy_answer(engine: ChatEngine):
    answer = engine.answer(ASK, **GREEDY)
    stream = engine.stream(ASK, **GREEDY)
    deltas = list(stream)
    assert len(deltas) > 3 and all(deltas)
    assert "".join(deltas) == answer.text
    assert stream.answer is not None and stream.answer.text == answer.text
    assert 0 < answer.tokens <= 24 and answer.prompt_tokens > 10
    assert answer.first_token_s is not None and 0 < answer.first_token_s <= answer.seconds
    assert answer.finish_reason in ("stop", "length") and not answer.escalated
    assert answer.role == "user" and answer.passages == []


def test_the_role_goes_in_the_turn_header_of_the_rendered_prompt(engine: ChatEngine):
    text = engine.prompt_text(ASK, role="tenant")
    assert "<|im_start|>system\nYou are the support assistant of Harbour View" in text
    assert "<|im_start|>tenant\nHow do I report a broken boiler?<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert "<|im_start|>user" not in engine.prompt_text(ASK, role="owner")
    assert engine.answer(ASK, role="tenant", **GREEDY).role == "tenant"


def test_a_project_supplies_system_prompt_default_role_and_passages(engine: ChatEngine,
                                                                     policies_project):
    question = [{"role": "user", "content": FEE_QUESTION}]
    turn = engine.prepare(question, project=policies_project)
    profile = policies_project.profile()
    assert [m["role"] for m in turn.messages] == ["system", profile.customer_roles[0]]
    system = turn.messages[0]["content"]
    assert system.startswith(profile.system_prompt())
    assert f"{PASSAGES_HEADING}\n[1] policies.md" in system
    assert turn.passages and all(isinstance(h, Hit) and h.relevant for h in turn.passages)
    assert any("£30" in h.text for h in turn.passages)
    assert turn.escalation is None
    answer = engine.answer(question, project=policies_project, role="owner", temperature=0.0,
                           max_tokens=4)
    assert answer.passages == turn.passages and answer.role == "owner" and answer.tokens > 0
    closed_book = engine.prepare(question, project=policies_project, retrieval=False)
    assert closed_book.passages == [] and PASSAGES_HEADING not in str(closed_book.messages)


def test_nothing_relevant_escalates_without_generating(engine: ChatEngine, policies_project,
                                                       empty_project):
    for project in (policies_project, empty_project):  # off-topic; an empty index
        question = OFF_TOPIC if project is policies_project else FEE_QUESTION
        answer = engine.answer([{"role": "user", "content": question}], project=project,
                               **GREEDY)
        assert answer.escalated and answer.passages == [] and answer.tokens == 0
        assert "Kestrel Quay Lettings" in answer.text
        stream = engine.stream([{"role": "user", "content": question}], project=project)
        assert stream.escalated and "".join(stream) == answer.text


def test_retrieval_needs_a_project_and_limits_are_clear_errors(engine: ChatEngine):
    with pytest.raises(ValidationError) as caught:
        engine.answer(ASK, retrieval=True)
    assert caught.value.field == "retrieval"
    with pytest.raises(ValidationError) as caught:
        engine.answer(ASK, max_tokens=0)
    assert caught.value.field == "max_tokens"
    small = ChatEngine(embedded_gguf_path(), n_ctx=256)
    try:
        with pytest.raises(ValidationError, match="too long") as caught:
            small.answer([{"role": "user", "content": "Why is my rent late? " * 200}])
        assert caught.value.field == "messages"
        history = []
        for n in range(30):  # a long conversation: the oldest turns make room
            history += [{"role": "user", "content": f"Question number {n} about my flat?"},
                        {"role": "assistant", "content": f"Answer number {n} about it."}]
        answer = small.answer([*history, {"role": "user", "content": "Thanks!"}], max_tokens=4)
        assert answer.tokens > 0 and answer.prompt_tokens <= 256
    finally:
        small.close()


def test_show_hidden_keeps_the_raw_output(engine: ChatEngine):
    plain = engine.answer(ASK, **GREEDY)
    raw = engine.answer(ASK, show_hidden=True, **GREEDY)
    assert raw.raw == plain.raw and raw.text == plain.raw.strip()
    assert plain.hidden == (None, None)


def test_a_missing_model_file_is_a_clear_error(tmp_path):
    from core.errors import ModelError

    with pytest.raises(ModelError, match="does not exist"):
        ChatEngine(tmp_path / "nope.gguf")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF not really")
    with pytest.raises(ModelError, match="Cannot load") as caught:
        ChatEngine(broken).answer([{"role": "user", "content": "Hi"}])
    assert caught.value.hint


def test_the_greedy_answer_is_plain_llama_cpp_pythons_on_the_same_prompt(engine: ChatEngine):
    """Also with the system prompt's KV cache kept: a long company prompt, asked twice."""
    from llama_cpp import Llama

    from core.sample import sample_profile

    company = [{"role": "system", "content": sample_profile().system_prompt()},
               {"role": "user", "content": "How much does a replacement key cost?"}]
    raw = Llama(model_path=str(embedded_gguf_path()), n_ctx=2048, n_threads=engine.n_threads,
                verbose=False, chat_format="chat_template.default")
    try:
        expected = [raw.create_chat_completion(messages=engine.prepare(m).messages, **GREEDY)
                    for m in (ASK, company)]
    finally:
        raw.close()
    engine.answer(ASK, **GREEDY)  # something else in the cache first
    for messages, plain in zip((ASK, company, company), (*expected, expected[1]), strict=True):
        answer = engine.answer(messages, **GREEDY)
        assert answer.text == plain["choices"][0]["message"]["content"].strip()
        assert answer.tokens == plain["usage"]["completion_tokens"]
        assert answer.prompt_tokens == plain["usage"]["prompt_tokens"]
    assert engine._prefix_len > 500  # the company prompt's prefix was kept, then reused
