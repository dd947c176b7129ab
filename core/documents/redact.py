"""Find and redact personal data in text before it reaches a teacher model or a training file.

``find_pii`` returns spans of seven kinds: email, phone, card, iban, address, name (see
``pii_patterns`` and ``pii_names``) and term (the operator's always-redact terms). The
importer stores the spans against each chunk's original text and keeps the redacted text
(``apply_redactions``) as the only text later steps read; the operator can switch single
spans off, or add terms, through ``RedactionRules``.

The company's own name and the phone numbers and email addresses written in its profile
are business details, not personal data: ``load_rules`` adds them to the never-redact
terms (they are derived from the profile each time, not stored).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from core.documents.pii_names import find_names, lexicon
from core.documents.pii_patterns import (
    find_addresses,
    find_cards,
    find_emails,
    find_ibans,
    find_phones,
)
from core.errors import ValidationError

if TYPE_CHECKING:
    from core.project import Project

SETTING_KEY = "redaction_rules"
KINDS = ("email", "phone", "card", "iban", "address", "name", "term")
PLACEHOLDERS: dict[str, str] = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "card": "[CARD]",
    "iban": "[IBAN]",
    "address": "[ADDRESS]",
    "name": "[NAME]",
    "term": "[REDACTED]",
}
# Which candidate wins where two overlap: checksummed and unmistakable shapes first.
_PRIORITY = {"email": 0, "iban": 1, "card": 2, "phone": 3, "address": 4, "term": 5, "name": 6}
_NUMERIC_KINDS = frozenset({"phone", "card", "iban"})
_DIGIT = re.compile(r"\d")
_EDGE = " \t\r\n,.;:!?-–—()[]{}\"'’“”"


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int
    text: str


@dataclass
class RedactionRules:
    """The operator's choices: terms always redacted, terms never redacted, more names."""

    always: list[str] = field(default_factory=list)
    never: list[str] = field(default_factory=list)
    extra_names: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[str]]:
        return {"always": list(self.always), "never": list(self.never),
                "extra_names": list(self.extra_names)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RedactionRules:
        """Tolerant of a damaged setting: anything that is not a list of strings is dropped."""
        data = data if isinstance(data, dict) else {}
        return cls(**{key: _clean_terms(data.get(key)) for key in ("always", "never",
                                                                  "extra_names")})


def _clean_terms(values: Any) -> list[str]:
    if not isinstance(values, list | tuple):
        return []
    seen: set[str] = set()
    terms = []
    for value in values:
        if not isinstance(value, str):
            continue
        term = " ".join(value.split())
        if term and term.casefold() not in seen:
            seen.add(term.casefold())
            terms.append(term)
    return terms


# --- finding ----------------------------------------------------------------------------

def find_pii(text: str, rules: RedactionRules | None = None) -> list[Span]:
    """Personal data in ``text``: sorted, non-overlapping spans."""
    if not text:
        return []
    compiled = _compile(tuple(rules.always) if rules else (), tuple(rules.never) if rules else (),
                        tuple(rules.extra_names) if rules else ())
    candidates = find_emails(text)
    if _DIGIT.search(text):
        candidates += find_ibans(text)
        candidates += find_cards(text)
        candidates += find_phones(text)
        candidates += find_addresses(text)
    candidates = [c for c in candidates if not compiled.suppressed(text, c)]
    more = find_names(text, candidates, compiled.extra_words, compiled.not_names)
    more += compiled.find_terms(text)
    candidates += [c for c in more if not compiled.suppressed(text, c)]
    candidates += _repeats(text, candidates)
    return _resolve(text, candidates)


def is_suppressed(span: Span, rules: RedactionRules) -> bool:
    """Whether a never-redact term of ``rules`` covers ``span``: the test find_pii applies
    (case-insensitive equality; phone, card and IBAN also by their digits and letters)."""
    compiled = _compile(tuple(rules.always), tuple(rules.never), tuple(rules.extra_names))
    return compiled.suppressed(span.text, (span.kind, 0, len(span.text)))


def _repeats(text: str, candidates: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Every other occurrence of a value already found, wherever it sits.

    A card number glued to a word ("ref4111 1111 1111 1111") or a name in a sentence
    without context ("Obinna will call") is still the same person's data once the same
    value has been found elsewhere in the text. Not for expiry dates and CVVs (short
    numbers found only beside a card) nor for names that are also ordinary words.
    """
    values: dict[str, str] = {}
    lex = lexicon()
    for kind, start, end in candidates:
        value = text[start:end]
        if kind == "name":
            repeat = len(value) > 1 and value.lower() not in lex.ambiguous \
                and value.lower() not in lex.blocked
        else:
            repeat = kind in ("email", "iban", "phone") or (
                kind == "card" and sum(c.isdigit() for c in value) >= 13)
        if repeat:
            values.setdefault(value, kind)
    found: list[tuple[str, int, int]] = []
    for value, kind in values.items():
        at = text.find(value)
        while at >= 0:
            end = at + len(value)
            if kind != "name" or not (  # a name only as a whole word
                    (at and (text[at - 1].isalnum() or text[at - 1] in "_'’.@-"))
                    or (end < len(text) and (text[end].isalnum() or text[end] == "_"))):
                found.append((kind, at, end))
            at = text.find(value, at + 1)
    return found


@dataclass(frozen=True)
class _CompiledRules:
    never_text: frozenset[str]
    never_alnum: frozenset[str]
    extra_words: frozenset[str]
    not_names: frozenset[str]
    terms: re.Pattern[str] | None  # always-redact terms
    names: re.Pattern[str] | None  # extra names of several words

    def suppressed(self, text: str, candidate: tuple[str, int, int]) -> bool:
        if not self.never_text:
            return False
        kind, start, end = candidate
        value = text[start:end]
        if " ".join(value.split()).casefold() in self.never_text:
            return True
        return kind in _NUMERIC_KINDS and _alnum(value) in self.never_alnum

    def find_terms(self, text: str) -> list[tuple[str, int, int]]:
        found = []
        for kind, pattern in (("term", self.terms), ("name", self.names)):
            if pattern is not None:
                found.extend((kind, m.start(), m.end()) for m in pattern.finditer(text))
        return found


@lru_cache(maxsize=64)
def _compile(always: tuple[str, ...], never: tuple[str, ...],
             extra: tuple[str, ...]) -> _CompiledRules:
    lex = lexicon()
    known = lex.first | lex.ambiguous | lex.last
    never = tuple(_clean_terms(list(never)))
    never_words = {w for term in never for w in re.findall(r"[^\W\d_]+", term.casefold())}
    extra_clean = _clean_terms(list(extra))
    return _CompiledRules(
        never_text=frozenset(term.casefold() for term in never),
        never_alnum=frozenset(_alnum(t) for t in never if len(_DIGIT.findall(t)) >= 7),
        extra_words=frozenset(n.casefold() for n in extra_clean if " " not in n),
        not_names=frozenset(never_words - known),
        terms=_terms_pattern(_clean_terms(list(always))),
        names=_terms_pattern([n for n in extra_clean if " " in n]),
    )


def _terms_pattern(terms: list[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = "|".join(r"[ \t\r\n]+".join(map(re.escape, t.split()))
                            for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _alnum(value: str) -> str:
    return "".join(c for c in value if c.isalnum()).casefold()


def _resolve(text: str, candidates: Iterable[tuple[str, int, int]]) -> list[Span]:
    """Non-overlapping spans: same-kind overlaps merge; across kinds the higher-priority,
    then longer, candidate wins and the other keeps only what it alone covers."""
    unique = sorted({c for c in candidates if 0 <= c[1] < c[2] <= len(text)},
                    key=lambda c: (c[1], c[2]))
    if all(a[2] <= b[1] for a, b in pairwise(unique)):
        return [Span(k, s, e, text[s:e]) for k, s, e in unique]  # the usual case: no overlap
    merged: list[tuple[str, int, int]] = []
    by_kind: dict[str, list[tuple[int, int]]] = {}
    for kind, start, end in unique:
        by_kind.setdefault(kind, []).append((start, end))
    for kind, spans in by_kind.items():
        spans.sort()
        cur_start, cur_end = spans[0]
        for start, end in spans[1:]:
            if start < cur_end:
                cur_end = max(cur_end, end)
            else:
                merged.append((kind, cur_start, cur_end))
                cur_start, cur_end = start, end
        merged.append((kind, cur_start, cur_end))
    merged.sort(key=lambda c: (_PRIORITY.get(c[0], 9), c[1] - c[2], c[1]))
    starts: list[int] = []
    ends: list[int] = []
    kinds: list[str] = []
    for kind, start, end in merged:
        for piece_start, piece_end in _uncovered(starts, ends, start, end):
            if (piece_start, piece_end) != (start, end):
                piece_start, piece_end = _trim(text, piece_start, piece_end)
            if piece_start < piece_end:
                at = bisect.bisect_left(starts, piece_start)
                starts.insert(at, piece_start)
                ends.insert(at, piece_end)
                kinds.insert(at, kind)
    return [Span(k, s, e, text[s:e]) for k, s, e in zip(kinds, starts, ends, strict=True)]


def _uncovered(starts: list[int], ends: list[int], start: int,
               end: int) -> list[tuple[int, int]]:
    """Parts of [start, end) not covered by the accepted (sorted, disjoint) spans."""
    pieces = []
    at = max(0, bisect.bisect_right(starts, start) - 1)
    cursor = start
    while at < len(starts) and starts[at] < end:
        if ends[at] > cursor:
            if starts[at] > cursor:
                pieces.append((cursor, starts[at]))
            cursor = max(cursor, ends[at])
        at += 1
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop separators left at the edges of a piece; nothing left unless a letter or digit."""
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    if not any(c.isalnum() for c in text[start:end]):
        return start, start
    return start, end


# --- redacting --------------------------------------------------------------------------

def apply_redactions(text: str, spans: Iterable[Span]) -> str:
    """``text`` with each span replaced by its kind's placeholder.

    Overlapping spans (possible once the operator adds terms to text already scanned)
    merge into one placeholder, that of the span starting first.
    """
    parts = []
    cursor = 0
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        own_start = max(span.start, 0)
        start, end = max(own_start, cursor), min(span.end, len(text))
        if start >= end:
            continue
        parts.append(text[cursor:start])
        if start == own_start:
            parts.append(PLACEHOLDERS.get(span.kind, PLACEHOLDERS["term"]))
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


# --- the operator's rules, stored in the project ---------------------------------------------

def load_rules(project: Project) -> RedactionRules:
    """The stored rules, with the company's own name and contact details added to never
    (unless the operator put one of them on the always list)."""
    rules = RedactionRules.from_dict(project.store.get_setting(SETTING_KEY))
    always = {t.casefold() for t in rules.always}
    derived = [t for t in company_terms(project) if t.casefold() not in always]
    rules.never = _clean_terms(rules.never + derived)
    return rules


def save_rules(project: Project, rules: RedactionRules) -> None:
    """Store the rules; the terms derived from the company profile are not stored."""
    clean = RedactionRules.from_dict(rules.to_dict())
    short = [t for t in clean.always if len(t) < 2]
    if short:
        raise ValidationError("redaction_rules", f"The always-redact term {short[0]!r} is too "
                              "short: it would redact every occurrence of that character.",
                              "Use a word or phrase of at least two characters.")
    derived = {t.casefold() for t in company_terms(project)}
    clean.never = [t for t in clean.never if t.casefold() not in derived]
    project.store.set_setting(SETTING_KEY, clean.to_dict())


def company_terms(project: Project) -> list[str]:
    """The company's name and the phones, emails and addresses in its profile: business
    contact details the assistant must be able to give out, not personal data."""
    profile = project.profile()
    text = "\n".join((profile.description, profile.policies))
    terms = [profile.company_name.strip()] if profile.company_name.strip() else []
    for _kind, start, end in find_emails(text) + find_phones(text) + find_addresses(text):
        terms.append(text[start:end])
    return _clean_terms(terms)
