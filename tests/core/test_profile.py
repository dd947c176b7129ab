"""Company profile validation and the system prompt built from it."""

from __future__ import annotations

import pytest

from core.project.profile import CompanyProfile, parse_roles


def _valid() -> CompanyProfile:
    return CompanyProfile(
        company_name="Harbour Homes",
        description="We let and manage flats for private landlords by the sea.",
        customer_roles=["tenant", "owner", "prospect"],
        tone_target=75,
        policies="- The late rent fee is £25.\n\n* Viewings cancelled late cost $4.99.",
    )


def test_valid_profile_has_no_errors() -> None:
    assert _valid().validate() == {}


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("company_name", "   ", "required"),
        ("company_name", "x" * 101, "too long"),
        ("description", "short", "20 characters"),
        ("customer_roles", [], "at least one"),
        ("customer_roles", ["system"], "reserved"),
        ("customer_roles", ["Tenant Person"], "not a valid role"),
        ("customer_roles", ["tenant", "tenant"], "once"),
        ("customer_roles", [f"r{i}" for i in range(9)], "At most"),
        ("tone_target", 101.0, "between 0 and 100"),
        ("tone_target", -1.0, "between 0 and 100"),
    ],
)
def test_each_bad_field_is_named(field: str, value: object, fragment: str) -> None:
    profile = _valid()
    setattr(profile, field, value)
    errors = profile.validate()
    assert list(errors) == [field]
    assert fragment in errors[field]


def test_roles_parse_from_free_text() -> None:
    assert parse_roles("Tenant, owner;prospect\n ") == ["tenant", "owner", "prospect"]


def test_from_dict_tolerates_bad_types() -> None:
    profile = CompanyProfile.from_dict({"customer_roles": "a, b", "tone_target": "high"})
    assert profile.customer_roles == ["a", "b"]
    assert profile.tone_target == 75


def test_system_prompt_carries_company_roles_and_policies() -> None:
    prompt = _valid().system_prompt()
    assert prompt.startswith("You are the customer support assistant of Harbour Homes.")
    assert "tenant, owner and prospect" in prompt
    assert "- The late rent fee is £25." in prompt
    assert "- Viewings cancelled late cost $4.99." in prompt
    assert "connect the customer with a team member" in prompt


def test_system_prompt_without_policies_has_no_policy_block() -> None:
    profile = _valid()
    profile.policies = ""
    assert "Policies:" not in profile.system_prompt()
