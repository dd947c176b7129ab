"""The one prompt format of the assistant: system prompt, company passages, customer turns.

Chat, the local server and (later) retrieval-augmented training all build their prompts
here, so the model is asked at answer time exactly the way it was taught. The format, as
chat messages (the model's chat template turns them into text; ChatML takes any role name):

    system:   <the project's system prompt>
              <blank line>
              Company information (answer from these passages; if they do not hold the
              answer, offer to connect the customer with a team member):
              <the numbered passages block of core.retrieval.format_passages>
    <role>:   the customer's turn, e.g. "tenant" (an API "user" turn becomes the chosen role,
              else the project's first customer role)
    assistant / <role> ... alternating as in the conversation so far

Without passages (retrieval off, or closed-book training) the system turn is the system
prompt alone. A system turn sent by a client is replaced by the project's system prompt
when there is a project (a client cannot change who the assistant is); with a bare GGUF and
no project, the client's own system turn is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.errors import ValidationError
from core.project.profile import RESERVED_ROLES, ROLE_PATTERN

PASSAGES_HEADING = (
    "Company information (answer from these passages; if they do not hold the answer, offer "
    "to connect the customer with a team member):"
)
API_USER_ROLE = "user"
ASSISTANT_ROLE = "assistant"
SYSTEM_ROLE = "system"

Message = dict[str, str]


def build_prompt(messages: Sequence[dict[str, Any]], *, system_prompt: str | None = None,
                 passages: str = "", role: str | None = None,
                 default_role: str = API_USER_ROLE) -> list[Message]:
    """The chat messages the model sees, in the format described in the module docstring.

    ``messages``: the conversation so far, OpenAI-style dicts with ``role`` and ``content``,
    ending with a customer turn. ``system_prompt``: the project's (``profile.system_prompt()``);
    None keeps a system turn found in ``messages``. ``passages``: the numbered block of
    ``format_passages(hits)``, or "" for none. ``role``: the customer role for every
    ``user`` turn (the chat's role switch); otherwise ``default_role`` is used.
    """
    customer = role or default_role
    check_role(customer, "role")
    system = system_prompt
    turns: list[Message] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ValidationError("messages", f"Message {index} is not an object with a role "
                                  "and content.", "Send {\"role\": ..., \"content\": ...}.")
        turn_role = message.get("role")
        content = _content(message.get("content"), index)
        if turn_role == SYSTEM_ROLE:
            if system_prompt is None and system is None:
                system = content
            continue
        if turn_role == API_USER_ROLE:
            turn_role = customer
        elif turn_role != ASSISTANT_ROLE:
            check_role(turn_role, f"messages[{index}].role")
        turns.append({"role": str(turn_role), "content": content})
    if not turns or turns[-1]["role"] == ASSISTANT_ROLE:
        raise ValidationError("messages", "The conversation must end with a customer's "
                              "message.", "Add the customer's question as the last message.")
    parts = [p for p in ((system or "").strip(), _passages_section(passages)) if p]
    head = [{"role": SYSTEM_ROLE, "content": "\n\n".join(parts)}] if parts else []
    return head + turns


def last_question(messages: Sequence[dict[str, Any]]) -> str:
    """The latest customer turn's text: what retrieval searches for."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") not in (SYSTEM_ROLE,
                                                                     ASSISTANT_ROLE):
            return _content(message.get("content"), 0).strip()
    return ""


def check_role(role: Any, field: str) -> None:
    """A customer role must be a plain lowercase name that ChatML cannot confuse."""
    if role == API_USER_ROLE:
        return
    if not isinstance(role, str) or role in RESERVED_ROLES or not ROLE_PATTERN.match(role):
        raise ValidationError(field, f"{role!r} is not a customer role.",
                              "Use user, or a customer role of the project such as tenant.")


def _passages_section(passages: str) -> str:
    block = passages.strip()
    return f"{PASSAGES_HEADING}\n{block}" if block else ""


def _content(content: Any, index: int) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI's content parts: keep the text parts
        texts = [p.get("text", "") for p in content
                 if isinstance(p, dict) and p.get("type") == "text"]
        if texts:
            return "".join(str(t) for t in texts)
    raise ValidationError(f"messages[{index}].content", f"Message {index} has no text content.",
                          "Send the message text as a string.")
