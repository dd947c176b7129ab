"""The company profile the operator fills in, its validation, and the system prompt.

Validation returns every problem at once, keyed by field, so the form can mark each field
and the CLI can name it. Drafts are saved even while invalid: the operator never loses what
they typed; later steps refuse to start until the profile is valid.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_TONE_TARGET = 75.0
DEFAULT_ROLES = ("tenant", "owner", "prospect")
# ChatML's own roles cannot name a customer: the role header would become ambiguous.
RESERVED_ROLES = frozenset({"system", "assistant", "tool", "function", "ipython"})
ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
MAX_ROLES = 8


@dataclass
class CompanyProfile:
    company_name: str = ""
    description: str = ""
    customer_roles: list[str] = field(default_factory=lambda: list(DEFAULT_ROLES))
    tone_target: float = DEFAULT_TONE_TARGET
    policies: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> CompanyProfile:
        data = data or {}
        roles = data.get("customer_roles", list(DEFAULT_ROLES))
        if isinstance(roles, str):
            roles = parse_roles(roles)
        try:
            tone = float(data.get("tone_target", DEFAULT_TONE_TARGET))
        except (TypeError, ValueError):
            tone = DEFAULT_TONE_TARGET
        return cls(
            company_name=str(data.get("company_name", "")),
            description=str(data.get("description", "")),
            customer_roles=[str(r) for r in roles],
            tone_target=tone,
            policies=str(data.get("policies", "")),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def policy_lines(self) -> list[str]:
        return [ln.strip(" -•*\t") for ln in self.policies.splitlines() if ln.strip(" -•*\t")]

    def validate(self) -> dict[str, str]:
        """Every problem, keyed by field name; empty when the profile can be used."""
        errors: dict[str, str] = {}
        name = self.company_name.strip()
        if not name:
            errors["company_name"] = "Company name is required."
        elif len(name) > 100:
            errors["company_name"] = "Company name is too long (100 characters at most)."
        desc = self.description.strip()
        if len(desc) < 20:
            errors["description"] = (
                "Describe what the business does in a sentence or two (20 characters at least)."
            )
        elif len(desc) > 2000:
            errors["description"] = "Description is too long (2,000 characters at most)."
        role_error = _check_roles(self.customer_roles)
        if role_error:
            errors["customer_roles"] = role_error
        if not 0 <= self.tone_target <= 100:
            errors["tone_target"] = (
                "Tone target is a Flesch reading ease between 0 and 100 (75 is fairly easy)."
            )
        if len(self.policies) > 20000:
            errors["policies"] = "Policies are too long (20,000 characters at most)."
        return errors

    def system_prompt(self) -> str:
        """The fixed system prompt of every conversation (roles go in the turn header)."""
        name = self.company_name.strip() or "the company"
        parts = [f"You are the customer support assistant of {name}."]
        if self.description.strip():
            parts.append(self.description.strip())
        roles = [r for r in self.customer_roles if r]
        if roles:
            parts.append(f"You help customers who are {_join(roles)}.")
        parts.append(
            "Answer in short, friendly, plain sentences. Use only facts from the company's "
            "documents and policies. If you do not know the answer, or the request needs a "
            "person, say so and offer to connect the customer with a team member."
        )
        rules = self.policy_lines()
        if rules:
            parts.append("Policies:\n" + "\n".join(f"- {rule}" for rule in rules))
        return "\n".join([" ".join(parts[:-1]), parts[-1]]) if rules else " ".join(parts)


def parse_roles(text: str) -> list[str]:
    """Roles typed as "tenant, owner; prospect" -> ["tenant", "owner", "prospect"]."""
    return [r.strip().lower() for r in re.split(r"[,;\n]", text) if r.strip()]


def _check_roles(roles: list[str]) -> str:
    if not roles:
        return "Name at least one customer role, for example: tenant, owner, prospect."
    if len(roles) > MAX_ROLES:
        return f"At most {MAX_ROLES} customer roles."
    for role in roles:
        if role in RESERVED_ROLES:
            return f'"{role}" is reserved by the chat format; choose another role name.'
        if not ROLE_PATTERN.match(role):
            return (
                f'"{role}" is not a valid role name: use a lowercase word '
                "(letters, digits, - or _), such as tenant."
            )
    if len(set(roles)) != len(roles):
        return "Each customer role must appear once."
    return ""


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
