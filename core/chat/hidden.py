"""Hide the model's ``<analysis>..</analysis><intent>..</intent>`` text while it streams.

A customer must never see the hidden prefix, not even for one token: the stream holds back
any output that may still turn out to be inside (or the start of) a hidden tag, and trailing
whitespace (a tag, or the end, may swallow it). What it lets through is always a prefix of
``strip_hidden(full output)``, and what it has let through when the stream ends is exactly
that, so a streamed answer reads the same as the non-streamed one.
"""

from __future__ import annotations

import re

_TAGS = ("analysis", "intent")
_OPENINGS = tuple(f"<{tag}>" for tag in _TAGS)
_OPEN_RE = re.compile(r"<(analysis|intent)>")


class HiddenFilter:
    """Feed raw deltas in, get visible deltas out; ``finish()`` flushes what was held."""

    def __init__(self) -> None:
        self.raw = ""
        self._sent = ""

    @property
    def visible(self) -> str:
        """What has been let through so far."""
        return self._sent

    def feed(self, delta: str) -> str:
        """The new visible text after ``delta`` ("" while it may still be hidden)."""
        from core.conversations.intents import strip_hidden  # not at import: a heavy package

        self.raw += delta
        return self._advance(strip_hidden(self.raw[: _safe_end(self.raw)]))

    def finish(self) -> str:
        """The rest of the visible text once the model has stopped."""
        from core.conversations.intents import strip_hidden

        return self._advance(strip_hidden(self.raw))

    def _advance(self, visible: str) -> str:
        if len(visible) <= len(self._sent) or not visible.startswith(self._sent):
            return ""
        delta = visible[len(self._sent):]
        self._sent = visible
        return delta


def _safe_end(raw: str) -> int:
    """How much of ``raw`` cannot change meaning whatever the model writes next."""
    end = len(raw)
    for match in _OPEN_RE.finditer(raw):  # an opened tag not closed yet hides what follows
        if raw.find(f"</{match.group(1)}>", match.end()) == -1:
            end = match.start()
            break
    tail_start = raw.rfind("<", 0, end)
    if tail_start != -1 and any(o.startswith(raw[tail_start:end]) for o in _OPENINGS):
        end = tail_start  # "<ana" may become "<analysis>"
    while end > 0 and raw[end - 1].isspace():
        end -= 1
    return end
