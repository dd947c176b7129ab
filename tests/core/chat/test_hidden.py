"""Hidden analysis/intent text never reaches the customer, however the stream is cut."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from core.chat import HiddenFilter
from core.conversations.intents import strip_hidden

OUTPUTS = [
    "<analysis>The tenant asks about fees.</analysis><intent>fees</intent>Late rent costs £30.",
    "  <analysis>secret</analysis>\n<intent>pets</intent> You may keep a cat. ",
    "<intent>out_of_scope</intent>I can only help with renting.",
    "Plain answer with a < sign and <b>bold</b> text.",
    "Answer first <intent>late</intent> then more.",
    "<analysis>never closed, all hidden",
    "Visible, then <analysis>unclosed",
    "",
]
SECRETS = ("secret", "The tenant asks", "fees</", "out_of_scope", "<analysis", "<intent")


def feed_all(parts: list[str]) -> tuple[list[str], str]:
    hidden = HiddenFilter()
    deltas = [hidden.feed(p) for p in parts]
    deltas.append(hidden.finish())
    return deltas, hidden.raw


def cut(text: str, points: list[int]) -> list[str]:
    edges = sorted({0, len(text), *(p % (len(text) + 1) for p in points)})
    return [text[a:b] for a, b in itertools.pairwise(edges)]


def test_a_prefix_split_at_every_character_is_never_shown():
    for output in OUTPUTS:
        deltas, raw = feed_all(list(output))
        assert raw == output
        assert "".join(deltas) == strip_hidden(output), output
        shown = ""
        for delta in deltas:
            shown += delta
            assert strip_hidden(output).startswith(shown)
        if "<analysis>" in output and output.index("<analysis>") < 3:
            assert not any(s in "".join(deltas) for s in SECRETS)


def test_visible_text_flows_before_the_end_and_trailing_space_waits():
    hidden = HiddenFilter()
    assert hidden.feed("<analysis>a</analysis><intent>b</intent>") == ""
    assert hidden.feed("Hello") == "Hello"
    assert hidden.feed(" ") == ""  # a tag or the end may still swallow it
    assert hidden.feed("there") == " there"
    assert hidden.feed(" <inte") == ""  # may become <intent>
    assert hidden.feed("rview>") == " <interview>"
    assert hidden.finish() == ""
    assert hidden.visible == "Hello there <interview>"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(OUTPUTS), st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_any_split_gives_the_non_streamed_text(output: str, points: list[int]):
    deltas, _ = feed_all(cut(output, points))
    assert "".join(deltas) == strip_hidden(output)
