"""Deterministic tone transforms: a plainer version of an answer and a formal contrast.

``plain`` raises Flesch reading ease without touching facts: contractions, plain-word swaps
(resources/prompts/conversations/plain_words.yaml) and long sentences split at "; " or ", and".
It is the fallback when every teacher rewrite failed a gate, so a grounded extractive answer
can still be kept in a friendlier form. ``formal`` does the reverse for preference pairs.
"""

from __future__ import annotations

import random
import re

from core.conversations import prompts
from core.conversations.text import first_upper, split_sentences

_CONTRACTIONS = [
    ("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"), ("is not", "isn't"),
    ("are not", "aren't"), ("cannot", "can't"), ("can not", "can't"), ("will not", "won't"),
    ("we will", "we'll"), ("you will", "you'll"), ("it is", "it's"), ("we are", "we're"),
    ("you are", "you're"), ("that is", "that's"), ("there is", "there's"),
    ("we have", "we've"), ("you have", "you've"), ("should not", "shouldn't"),
    ("would not", "wouldn't"), ("has not", "hasn't"), ("have not", "haven't"),
]
_SPLIT_MIN_WORDS = 16  # only sentences longer than this are split
_PART_MIN_WORDS = 5


def _swap(text: str, mapping: dict[str, str]) -> str:
    for source in sorted(mapping, key=len, reverse=True):
        target = str(mapping[source])
        pattern = re.compile(rf"\b{re.escape(source)}\b", re.IGNORECASE)

        def repl(match: re.Match[str], target: str = target) -> str:
            return first_upper(target) if match.group(0)[:1].isupper() else target

        text = pattern.sub(repl, text)
    return text


def contract(text: str) -> str:
    for long, short in _CONTRACTIONS:
        text = _swap(text, {long: short})
    return text


def expand(text: str) -> str:
    for long, short in _CONTRACTIONS:
        text = _swap(text, {short: long})
    return text


def _split_long(sentence: str) -> list[str]:
    if len(sentence.split()) <= _SPLIT_MIN_WORDS:
        return [sentence]
    for joiner, opener in (("; ", ""), (", and ", "And "), (", but ", "But "), (", so ", "So ")):
        if joiner not in sentence:
            continue
        head, _, tail = sentence.partition(joiner)
        if len(head.split()) >= _PART_MIN_WORDS and len(tail.split()) >= _PART_MIN_WORDS:
            head = head.rstrip(",;:") + "."
            tail = opener + tail if opener else first_upper(tail)
            return [head, *_split_long(tail)]
    return [sentence]


def plain(text: str) -> str:
    """The same facts in shorter sentences and plainer words."""
    swaps = prompts.data("plain_words", "plain")
    sentences: list[str] = []
    for sentence in split_sentences(text):
        sentence = _swap(sentence, swaps)
        sentences.extend(_split_long(sentence))
    return " ".join(sentences)


def formal(text: str, seed: int = 0) -> str:
    """A stiff, long-sentenced version of ``text`` (the "formal" rejected answer of a pair)."""
    rng = random.Random(seed)
    swaps = prompts.data("plain_words", "formal")
    joiners = prompts.data("plain_words", "formal_joiners")
    openers = prompts.data("plain_words", "formal_openers")
    sentences = [expand(_swap(s, swaps)).rstrip(".!") for s in split_sentences(text)]
    if not sentences:
        return text
    joined = sentences[0]
    for sentence in sentences[1:]:
        joined += f"{rng.choice(joiners)} {sentence[:1].lower()}{sentence[1:]}"
    first = joined[:1].lower() + joined[1:] if not joined[:2].isupper() else joined
    return f"{rng.choice(openers)} {first}."
