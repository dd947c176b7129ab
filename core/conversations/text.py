"""Small, deterministic text tools the gates and sources share: sentences, terms, figures.

A 135M teacher changes numbers and invents details, so the checks that catch it must not
depend on a model: figures are parsed with regular expressions (currency, percentages,
numbers with a unit), content terms are lower-cased words without stop words, crudely
stemmed. Everything here is pure and fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

PLACEHOLDER_RE = re.compile(r"\[(?:EMAIL|PHONE|CARD|IBAN|ADDRESS|NAME|REDACTED|[A-Z_]{3,20})\]")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "Mr.", "Mrs.", "Ms.", "Dr.", "St.", "No.", "approx.",
                  "vs.", "incl.")
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])[\"')\]’”]*\s+(?=[\"'(\[‘“]?[A-Z0-9£$€])")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a": 1, "an": 1}
_UNITS = {
    "minute": "minute", "minutes": "minute", "hour": "hour", "hours": "hour",
    "day": "day", "days": "day", "working day": "working day", "working days": "working day",
    "week": "week", "weeks": "week", "week's": "week", "weeks'": "week",
    "month": "month", "months": "month", "month's": "month", "months'": "month",
    "year": "year", "years": "year", "times": "times", "pets": "pet", "pet": "pet",
}
_CURRENCY = {"£": "GBP", "$": "USD", "€": "EUR"}
_FIGURE_RE = re.compile(
    r"(?P<cur>[£$€])\s?(?P<camount>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"|(?P<pct>\d+(?:\.\d+)?)\s?%"
    r"|(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|a|an)\b)[\s-]*(?P<unit>working days?|minutes?|hours?|days?|weeks?'?s?|"
    r"months?'?s?|years?|times|pets?)\b",
    re.IGNORECASE,
)
_BARE_NUMBER_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")

# sklearn's list is the usual one; a short fallback keeps this module import-light.
_FALLBACK_STOP = frozenset(re.findall(r"\S+", """a about above after again against all am an
and any are as at be because been before being below between both but by can could did do
does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours ourselves out over own same she should so
some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why
will with would you your yours yourself yourselves"""))
# Words a friendly rewrite may add without inventing a fact.
FRIENDLY_WORDS = frozenset(re.findall(r"\S+", """sure thanks thank please happy help glad
course great okay ok well just also really quick quickly simple simply easy easily right
away let know need get got us we you our your ask call tell say usually always never still
here there today soon check good nice yes don't can't won't we'll you'll it's that's
there's we're you're i'm i'll we've you've"""))


@dataclass(frozen=True)
class Figure:
    """A number with what it counts: (30, "GBP"), (14, "day"), (9.6, "%"), (5, "working day")."""

    value: float
    unit: str
    text: str


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    try:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    except ImportError:  # pragma: no cover - sklearn comes with sentence-transformers
        return _FALLBACK_STOP
    return frozenset(ENGLISH_STOP_WORDS) | _FALLBACK_STOP


def normalise_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def strip_markdown(text: str) -> str:
    """Markdown and table markup out, one line per paragraph, bullet or table row."""
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or re.fullmatch(r"\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?", line):
            lines.append("")
            continue
        line = re.sub(r"^#{1,6}\s+", "", line)
        line = re.sub(r"^(?:[-*•]|\d+[.)])\s+", "", line)
        if line.startswith("|") and line.endswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|") if c.strip()]
            head, rest = (cells[0], cells[1:]) if cells else ("", [])
            line = head + (": " + ", ".join(rest) if rest else "")
            line = line if re.search(r"[.!?]$", line) else line + "."
        line = re.sub(r"\*\*|__|`", "", line)
        lines.append(line)
    return "\n".join(lines).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; each line (bullet, table row, paragraph) is split separately."""
    out: list[str] = []
    for line in strip_markdown(text).splitlines():
        line = normalise_space(line)
        if not line:
            continue
        protected = line
        for i, abbr in enumerate(_ABBREVIATIONS):
            protected = protected.replace(abbr, f"\x00{i}\x00")
        for piece in _SENTENCE_SPLIT_RE.split(protected):
            for i, abbr in enumerate(_ABBREVIATIONS):
                piece = piece.replace(f"\x00{i}\x00", abbr)
            if piece.strip():
                out.append(piece.strip())
    return out


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text)


def stem(word: str) -> str:
    """A crude stem so "deposits", "deposit's" and "deposited" meet; enough for overlap tests."""
    w = word.lower().replace("’", "'")
    w = re.sub(r"'s?$", "", w)
    for suffix in ("ies", "ing", "ed", "es", "s", "ly"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


def content_terms(text: str) -> set[str]:
    """Stemmed words that carry meaning (no stop words, no one-letter words)."""
    stops = stop_words()
    return {stem(w) for w in words(text) if len(w) > 1 and w.lower() not in stops}


def novel_terms(candidate: str, *sources: str) -> list[str]:
    """Content words of ``candidate`` found in none of ``sources`` nor in FRIENDLY_WORDS."""
    known: set[str] = set()
    for source in sources:
        known |= content_terms(source)
    friendly = {stem(w) for w in FRIENDLY_WORDS}
    seen: list[str] = []
    for word in words(candidate):
        term = stem(word)
        if (len(word) > 1 and word.lower() not in stop_words() and term not in known
                and term not in friendly and term not in seen):
            seen.append(term)
    return seen


def figures(text: str) -> list[Figure]:
    """Currency amounts, percentages and counted quantities in ``text``."""
    found: list[Figure] = []
    for match in _FIGURE_RE.finditer(text):
        if match.group("cur"):
            value = _number(match.group("camount"))
            unit = _CURRENCY[match.group("cur")]
        elif match.group("pct"):
            value, unit = float(match.group("pct")), "%"
        else:
            raw = match.group("num").lower()
            if raw in ("a", "an") and match.group("unit").lower() in ("times", "pet", "pets"):
                continue
            value = float(_NUMBER_WORDS[raw]) if raw in _NUMBER_WORDS else _number(raw)
            unit_text = re.sub(r"\s+", " ", match.group("unit").lower())
            unit = _UNITS.get(unit_text, _UNITS.get(unit_text.rstrip("'s"), unit_text))
        found.append(Figure(value, unit, match.group(0).strip()))
    return found


def bare_numbers(text: str) -> set[float]:
    """Every number written with digits (phone numbers, times and codes included)."""
    values: set[float] = set()
    for token in _BARE_NUMBER_RE.findall(text):
        try:
            values.add(_number(token))
        except ValueError:
            continue
    return values


def counted_words(text: str) -> set[tuple[float, str]]:
    """(number, the word after it) pairs: "310 owners" -> (310.0, "owner")."""
    pairs: set[tuple[float, str]] = set()
    for match in re.finditer(r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)[\s-]+([A-Za-z][A-Za-z'’]*)",
                             text):
        word = match.group(2).lower()
        if word not in stop_words() and len(word) > 1:
            pairs.add((_number(match.group(1)), stem(word)))
    return pairs


def negations(text: str) -> int:
    """How many negations ("not", "never", "can't", "no", ...) the text holds."""
    return len(re.findall(r"\b(not|no|never|none|nothing|cannot|without|nobody)\b|n[’']t\b",
                          text, re.IGNORECASE))


def has_placeholder(text: str) -> bool:
    return bool(PLACEHOLDER_RE.search(text))


def first_upper(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def truncate_words(text: str, limit: int) -> str:
    parts = text.split()
    return text if len(parts) <= limit else " ".join(parts[:limit])


def _number(token: str) -> float:
    return float(token.replace(",", "").rstrip("."))
