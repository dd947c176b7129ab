"""Answers for the fake OpenAI-compatible server (tests/fakes/openai_server.py).

The fake server stands in for an external model; these responders decide what that model
says, by the prompt template it was sent, so pipeline tests are deterministic. They use
nothing from core/: they read the request the way a remote model would.
"""

from __future__ import annotations


def _system(body: dict) -> str:
    return next((m["content"] for m in body["messages"] if m["role"] == "system"), "")


def _last(body: dict) -> str:
    return body["messages"][-1]["content"]


def helpful(body: dict) -> str:
    """A plausible small model: repeats what it should rewrite, asks simple questions."""
    system, last = _system(body), _last(body)
    if "rewrite answers" in system:
        return last.rsplit("Rewrite it again:", 1)[-1].split("Rewrite:", 1)[-1].strip()
    if "rewrite a customer's question" in system:
        return "Could you tell me this: " + last.strip()
    if "write one short question" in system:
        return "What should I know about this part of your service?"
    if "compare two answers" in system:
        return "A"
    return "Please call the office and a team member will help you."
