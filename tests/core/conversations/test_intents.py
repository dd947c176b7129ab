"""The hidden analysis/intent prefix and intent matching."""

from __future__ import annotations

from core.conversations.intents import (
    IntentMatcher,
    add_hidden,
    parse_intents,
    split_hidden,
    strip_hidden,
)
from core.embeddings import embed


def test_hidden_prefix_round_trip_and_strip() -> None:
    text = add_hidden("Late rent costs £30.", "The tenant asks about fees.", "fees")
    assert text.startswith("<analysis>The tenant asks about fees.</analysis><intent>fees")
    assert split_hidden(text) == ("The tenant asks about fees.", "fees", "Late rent costs £30.")
    assert strip_hidden(text) == "Late rent costs £30."
    assert strip_hidden("Plain answer.") == "Plain answer."


def test_a_half_streamed_prefix_shows_nothing() -> None:
    assert strip_hidden("<analysis>The tenant asks") == ""
    assert strip_hidden("<analysis>x</analysis><intent>fe") == ""


def test_parse_intents_names_and_defaults() -> None:
    intents = parse_intents(["Billing: money questions", "repairs", "Billing: again", ": bad"])
    assert [(i.name, i.description) for i in intents] == [("billing", "money questions"),
                                                          ("repairs", "")]
    defaults = parse_intents([])
    assert {"account_action", "out_of_scope"} <= {i.name for i in defaults}


def test_matcher_picks_the_closest_intent_and_fixed_escalations() -> None:
    matcher = IntentMatcher(parse_intents([]))
    boiler, = embed(["My boiler is broken and there is no hot water."])
    assert matcher.match(boiler)[0] == "repairs_and_problems"
    assert matcher.match(boiler, kind="account")[0] == "account_action"
    assert matcher.match(boiler, kind="off_topic")[0] == "out_of_scope"
    name, _ = matcher.match(embed(["Can you refund my deposit?"])[0])
    assert name not in ("account_action", "out_of_scope")  # in-scope items never escalate
