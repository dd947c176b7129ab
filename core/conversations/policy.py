"""The operator's policies as checkable facts: figures an answer must not contradict.

A 135M teacher changes "£30" into "£25" as readily as it changes a word, and an embedding
barely notices. So each policy line is split into clauses; each clause keeps its content
terms and figures. Each figure in an answer is read with the words around it (up to 8
before and 4 after, within its comma-delimited segment, stopping at the next figure): when
those words clearly match policy clauses (two shared content terms, unit words aside, that
are a third of the clause's terms, or three shared terms), the best-matching clauses must
state the same value for that unit, if they state that unit at all. On the sample company's
524 answer sentences and ticket replies this flags few true statements (see the tests).
Also "must not" rules every project needs: claiming an account action the assistant cannot
take, and asking for card numbers, passwords or one-time codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.conversations.text import Figure, content_terms, figures, normalise_space

_UNIT_TERMS = {"day", "week", "month", "year", "hour", "minute", "work", "working", "time",
               "times", "per", "pound", "percent"}
_MIN_SHARED = 2
_BEFORE, _AFTER = 8, 4
_CLAUSE_SPLIT_RE = re.compile(r"(?<=[.!?;])\s+|;\s*")
_SENSITIVE_RE = re.compile(
    r"\b(send|give|tell|share|provide|email|text|type|enter|confirm)\b[^.?!]{0,40}?"
    r"\b(card number|card details|full card|security code|cvv|password|one-time code|pin)\b",
    re.IGNORECASE,
)
_NEGATION_RE = re.compile(r"\b(never|not|don't|do not|no need|won't|cannot|can't|by mistake)\b",
                          re.IGNORECASE)


@dataclass(frozen=True)
class Clause:
    text: str
    terms: frozenset[str]
    figures: tuple[Figure, ...]


def clauses(text: str) -> list[Clause]:
    """Policy clauses: sentences and "; " parts; a "Label: ..." keeps the label's terms."""
    out = []
    for piece in _CLAUSE_SPLIT_RE.split(normalise_space(text)):
        piece = piece.strip(" ;")
        if not piece:
            continue
        label, colon, rest = piece.partition(": ")
        body = rest if colon and len(label.split()) <= 5 else piece
        terms = frozenset(t for t in content_terms(piece) if t not in _UNIT_TERMS)
        out.append(Clause(piece, terms, tuple(figures(body))))
    return out


def _segments(text: str) -> list[str]:
    """Answer text cut at sentence ends, semicolons and commas: one fact per segment."""
    return [s.strip() for s in re.split(r"[.;!?]\s+|,\s+|\s+-\s+", normalise_space(text))
            if s.strip()]


def _context_terms(segment: str, figure: Figure, others: list[Figure]) -> frozenset[str]:
    """Content terms of the 8 words before ``figure`` and up to 4 after (not past a figure)."""
    at = segment.find(figure.text)
    if at < 0:
        return frozenset()
    start, end = 0, len(segment)
    for other in others:
        pos = segment.find(other.text)
        if other is figure or pos < 0:
            continue
        if pos >= at + len(figure.text):
            end = min(end, pos)
    before = segment[start:at].split()[-_BEFORE:]
    after = segment[at + len(figure.text):end].split()[:_AFTER]
    return frozenset(t for t in content_terms(" ".join([*before, *after]))
                     if t not in _UNIT_TERMS)


class PolicyFacts:
    """Clauses of the operator's policies that carry figures, ready to check answers against."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.clauses = [c for line in lines for c in clauses(line) if c.figures]

    @classmethod
    def from_profile(cls, profile: object) -> PolicyFacts:
        return cls(profile.policy_lines())  # type: ignore[attr-defined]

    def contradictions(self, answer: str) -> list[str]:
        """One message per figure in ``answer`` that differs from the matching policy."""
        problems: list[str] = []
        for segment in _segments(answer):
            found = figures(segment)
            for figure in found:
                best = self._best_matches(_context_terms(segment, figure, found))
                allowed = {f.value for c in best for f in c.figures if f.unit == figure.unit}
                if allowed and figure.value not in allowed:
                    problems.append(f'"{figure.text}" contradicts the policy "{best[0].text}"')
        return problems

    def _best_matches(self, terms: frozenset[str]) -> list[Clause]:
        scored = []
        for policy in self.clauses:
            shared = len(terms & policy.terms)
            if shared >= _MIN_SHARED and (shared >= 3 or shared * 3 >= len(policy.terms)):
                scored.append((shared, policy))
        if not scored:
            return []
        top = max(s for s, _ in scored)
        return [p for s, p in scored if s == top]


def sensitive_requests(answer: str) -> list[str]:
    """Sentences that ask the customer for card numbers, passwords or codes."""
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+", answer):
        match = _SENSITIVE_RE.search(sentence)
        if match and not _NEGATION_RE.search(sentence):
            found.append(sentence.strip())
    return found


def violations(answer: str, facts: PolicyFacts) -> list[str]:
    """Everything off-policy in ``answer``: wrong figures, action claims, sensitive requests."""
    from core.conversations.escalation import action_claims

    problems = facts.contradictions(answer)
    problems += [f'claims an account action: "{c}"' for c in action_claims(answer)]
    problems += [f'asks for sensitive details: "{s}"' for s in sensitive_requests(answer)]
    return problems
