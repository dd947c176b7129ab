"""The one prompt format: system prompt, passages block, customer role in the turn header."""

from __future__ import annotations

import pytest

from core.chat import PASSAGES_HEADING, build_prompt, last_question
from core.errors import ValidationError
from core.project.profile import CompanyProfile

PROFILE = CompanyProfile(company_name="Harbour View Lettings",
                         description="We let and manage flats in the harbour district.",
                         customer_roles=["tenant", "owner"], policies="- Late rent costs £30.")
BLOCK = "[1] policies.md - Rent\nRent is due on the 1st of the month."


def test_system_turn_holds_the_system_prompt_then_the_passages_under_the_heading():
    prompt = build_prompt([{"role": "user", "content": "When is rent due?"}],
                          system_prompt=PROFILE.system_prompt(), passages=BLOCK,
                          default_role="tenant")
    assert [m["role"] for m in prompt] == ["system", "tenant"]
    system = prompt[0]["content"]
    assert system == f"{PROFILE.system_prompt()}\n\n{PASSAGES_HEADING}\n{BLOCK}"
    assert "Late rent costs £30." in system  # the profile's policies came along
    assert prompt[1]["content"] == "When is rent due?"


def test_without_passages_the_system_turn_is_the_system_prompt_alone():
    prompt = build_prompt([{"role": "user", "content": "Hi"}],
                          system_prompt=PROFILE.system_prompt(), passages="  ")
    assert prompt[0] == {"role": "system", "content": PROFILE.system_prompt()}
    assert PASSAGES_HEADING not in prompt[0]["content"]


def test_user_turns_take_the_default_role_or_the_chosen_one():
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                {"role": "prospect", "content": "Is the flat free?"},
                {"role": "user", "content": "And the rent?"}]
    by_default = build_prompt(messages, system_prompt="S", default_role="tenant")
    assert [m["role"] for m in by_default] == ["system", "tenant", "assistant", "prospect",
                                               "tenant"]
    switched = build_prompt(messages, system_prompt="S", role="owner", default_role="tenant")
    assert [m["role"] for m in switched] == ["system", "owner", "assistant", "prospect",
                                             "owner"]
    bare = build_prompt(messages[:1])  # no project: the API's own role stays
    assert bare == [{"role": "user", "content": "Hi"}]


def test_a_client_system_turn_is_replaced_by_the_project_one_but_kept_without_a_project():
    messages = [{"role": "system", "content": "You are a pirate."},
                {"role": "user", "content": "Hi"}]
    with_project = build_prompt(messages, system_prompt="Company prompt.")
    assert with_project[0] == {"role": "system", "content": "Company prompt."}
    assert "pirate" not in str(with_project)
    without = build_prompt(messages, passages=BLOCK)
    assert without[0]["content"] == f"You are a pirate.\n\n{PASSAGES_HEADING}\n{BLOCK}"


def test_content_parts_are_joined_and_the_question_is_the_last_customer_turn():
    messages = [{"role": "user", "content": "Old question"},
                {"role": "assistant", "content": "Old answer"},
                {"role": "user", "content": [{"type": "text", "text": "New "},
                                             {"type": "text", "text": "question"}]}]
    assert build_prompt(messages)[-1]["content"] == "New question"
    assert last_question(messages) == "New question"


@pytest.mark.parametrize(("messages", "role", "field"), [
    ([{"role": "user", "content": "Hi"}], "system", "role"),
    ([{"role": "user", "content": "Hi"}], "Not A Role", "role"),
    ([{"role": "tool", "content": "Hi"}], None, "messages[0].role"),
    ([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yes"}], None,
     "messages"),
    ([{"role": "system", "content": "S"}], None, "messages"),
    ([{"role": "user", "content": None}], None, "messages[0].content"),
    (["just text"], None, "messages"),
])
def test_bad_conversations_are_refused_naming_the_field(messages, role, field):
    with pytest.raises(ValidationError) as caught:
        build_prompt(messages, system_prompt="S", role=role)
    assert caught.value.field == field and caught.value.hint
