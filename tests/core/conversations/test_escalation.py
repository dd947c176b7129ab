"""Account-action claims in real ticket replies, and escalation answers."""

from __future__ import annotations

import json

from core.conversations.escalation import (
    action_claims,
    clean_message,
    clean_reply,
    escalation_answer,
    rewrite_action_claims,
)
from core.conversations.sources import load_chunks
from core.readability import flesch_reading_ease
from core.sample import sample_dir


def _replies(project) -> dict[str, str]:
    return {c.meta["ticket_id"]: clean_reply(c.meta["agent_reply"])
            for c in load_chunks(project) if c.kind == "ticket"}


def test_every_action_claim_ticket_of_the_manifest_is_found(sample_project) -> None:
    manifest = json.loads((sample_dir() / "pii_manifest.json").read_text(encoding="utf-8"))
    replies = _replies(sample_project)
    flagged = {ticket for ticket, reply in replies.items() if action_claims(reply)}
    assert set(manifest["action_claims"]) <= flagged
    # A few more replies report actions of the agent ("we've raised this with the firm"),
    # which an assistant cannot take either; most replies claim nothing.
    assert len(flagged) <= len(manifest["action_claims"]) + 4


def test_rewritten_replies_hand_over_to_a_team_member(sample_project) -> None:
    replies = _replies(sample_project)
    for ticket in ("KQS-24007", "KQS-24022", "KQS-24043", "KQS-24046", "KQS-24054"):
        text, changes = rewrite_action_claims(replies[ticket])
        assert changes >= 1
        assert action_claims(text) == [], (ticket, text)
        assert "team member will" in text.lower()
    text, _ = rewrite_action_claims(replies["KQS-24022"])
    assert "A team member will refund the £10 to the card you paid with." in text


def test_replies_lose_greeting_signoff_and_personal_data() -> None:
    reply = "Hi [NAME],\n\nThanks [NAME], you're booked in. Your code is [PHONE].\n\nKind " \
            "regards,\nKestrel Quay Lettings"
    assert clean_reply(reply) == "Thanks, you're booked in."
    message = "Hello,\n\nMy boiler is broken. Call me on [PHONE].\n\nThanks,\n[NAME]"
    assert clean_message(message) == "My boiler is broken."


def test_escalation_answers_are_readable() -> None:
    for kind in ("off_topic", "account"):
        for seed in range(6):
            answer, template = escalation_answer(kind, "Kestrel Quay Lettings", seed)
            assert flesch_reading_ease(answer) >= 75, answer
            assert template.startswith(kind)
            assert action_claims(answer) == []
