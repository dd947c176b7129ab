"""Person names: given names from a list, surnames after them, and names that context marks.

A name is redacted when
- a known given name appears capitalised ("Priya", "Priya Raman", "Ollie's"), with the
  capitalised words straight after it taken as the surname;
- a given name that is also an ordinary word ("Will", "Grace") is followed by a known
  surname;
- capitalised words follow a greeting or a title ("Hi Obinna", "Dear Mrs Vosper"; the
  title itself stays, so the text still reads "Dear Mrs [NAME]");
- a line of capitalised words follows a sign-off ("Regards,\\nHarjit Dhaliwal"), or
  capitalised words sit right beside a contact detail ("Obinna Eze, Flat 1, ...").
Words in ``resources/pii/not_names.txt`` (months, "Sir", "Team", "Street" ...) never count.

The given and last names come from the Faker package's person providers for the locales
below (British, Irish, American, South Asian, West African and European names), plus
``resources/pii/extra_first_names.txt``; they load once, on first use.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from core.errors import TalkSmallError
from core.paths import resources_dir

FAKER_LOCALES = (
    "en_GB", "en_US", "en_IE", "ga_IE", "en_IN", "en_PK", "en_NG", "ig_NG", "yo_NG", "tw_GH",
    "pl_PL", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_PT", "nl_NL",
)
GREETINGS = frozenset((
    "hi", "hello", "hey", "dear", "thanks", "cheers", "morning", "afternoon", "evening",
))
TITLES = frozenset((
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "lady", "lord", "rev",
    "revd", "dame",
))
_AFTER_TITLE_BLOCKED_GROUPS = ("calendar", "function", "greeting", "title")

# Capital letters of the Latin alphabets (the extended range also holds small letters,
# which _runs drops with str.isupper).
_UPPER = "A-ZÀ-ÖØ-Þ\u0100-\u024f"
_TOKEN = re.compile(rf"[{_UPPER}][^\W\d_]*(?:['’][^\W\d_]+|-[{_UPPER}][^\W\d_]*)*(?![\w])")
# Checked in Python, which is faster than lookbehinds and alternations in the regex: a
# token glued to what comes before ("eBay", "d'Artagnan", "x@Mail") is not a word start,
# and the commonest capitalised words are never names.
_GLUE = frozenset("_'’.@-")
_SKIP = frozenset((
    "I", "I'm", "I’m", "I've", "I’ve", "I'll", "I’ll", "I'd", "I’d", "The", "This", "That",
    "These", "Those", "There", "They", "Their", "Then", "We", "You", "Your", "Our", "My", "It",
    "Its", "If", "In", "On", "At", "As", "A", "An", "And", "But", "Or", "So", "To", "Of", "For",
    "With", "From", "By", "Is", "Are", "Was", "Were", "Be", "Do", "Does", "Did", "Can", "Could",
    "Would", "Should", "Please", "Yes", "No", "Not", "What", "When", "Where", "Which", "Who",
    "Why", "How", "All", "Any", "Each", "Every", "After", "Before", "Since", "Also", "Just",
    "Once", "Some", "Other",
))
# Two capitals in a row: "BERT", "RoBERTa", "PM" are acronyms and product names, not people.
_ACRONYM = re.compile(r"[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ]")
_PARTICLES = "van|von|de|der|den|da|das|di|do|dos|du|del|della|la|le|bin|ibn|al|el|ter|ten"
_JOIN = re.compile(rf"[ \t]+(?:(?:{_PARTICLES})[ \t]+){{0,2}}")
_CUE_BEFORE = re.compile(
    r"(?i:\b(?:(?:hi|hello|hey|dear|thanks|thank you|cheers|morning|afternoon|evening|signed"
    r"|regards|sincerely|faithfully|wishes)[ \t]*,?|name[ \t]*(?:is|was|:)|this is))"
    r"[ \t]*\n?[ \t]*$"
)
_SIGN_OFF_LINE = re.compile(
    r"(?i)[ \t]*(?:(?:kind|best|warm|many|with)[ \t]+)?(?:regards|thanks|thank you|cheers|"
    r"wishes|sincerely|faithfully|yours(?:[ \t]+(?:sincerely|faithfully|truly))?)"
    r"(?:[ \t]+for[^\n]{0,40})?[ \t]*[,.!]?[ \t]*"
)
_CONTACT_GAP = re.compile(r"[ \t]*[,;–-]?[ \t]*\n?[ \t]*")


@dataclass(frozen=True)
class NameLexicon:
    """Lower-cased word sets; ``first`` holds only given names that are not ordinary words."""

    first: frozenset[str]
    ambiguous: frozenset[str]
    last: frozenset[str]
    blocked: frozenset[str]  # every group of not_names.txt
    after_title_blocked: frozenset[str]
    place: frozenset[str]


class _Token:
    """One capitalised word; ``end`` leaves out a possessive 's."""

    __slots__ = ("acronym", "end", "key", "possessive", "start")

    def __init__(self, start: int, end: int, key: str, possessive: bool, acronym: bool):
        self.start, self.end, self.key = start, end, key
        self.possessive, self.acronym = possessive, acronym


def _read_words(name: str) -> dict[str, set[str]]:
    """Words of a resources/pii list, by ``## group`` (group "" before the first header)."""
    path = resources_dir() / "pii" / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TalkSmallError(f"The redactor's word list {path} cannot be read ({exc}).",
                             "Reinstall TalkSmall Studio.") from exc
    groups: dict[str, set[str]] = {"": set()}
    current = ""
    for line in text.splitlines():
        if line.startswith("##"):
            current = line[2:].split(":", 1)[0].strip()
            groups.setdefault(current, set())
            continue
        groups[current].update(w.lower() for w in line.split("#", 1)[0].split())
    return groups


def _faker_names() -> tuple[set[str], set[str]]:
    try:
        importlib.import_module("faker.providers.person")
    except ImportError as exc:
        raise TalkSmallError("The name lists for redaction are missing (the Faker package "
                             "is not installed).", "Reinstall TalkSmall Studio.") from exc
    first: set[str] = set()
    last: set[str] = set()
    for locale in FAKER_LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ImportError:  # an older Faker without this locale: the others still count
            continue
        for attr in dir(provider):
            target = first if attr.startswith("first_names") else (
                last if attr.startswith("last_names") else None)
            if target is None:
                continue
            values = getattr(provider, attr)
            if isinstance(values, dict):
                values = list(values)
            if isinstance(values, list | tuple):
                target.update(v.lower() for v in values
                              if isinstance(v, str) and " " not in v and len(v) > 1)
    return first, last


@lru_cache(maxsize=1)
def lexicon() -> NameLexicon:
    first, last = _faker_names()
    first |= set().union(*_read_words("extra_first_names.txt").values())
    ambiguous = set().union(*_read_words("ambiguous_first_names.txt").values())
    groups = _read_words("not_names.txt")
    blocked = set().union(*groups.values())
    after_title = set().union(*(groups.get(g, set()) for g in _AFTER_TITLE_BLOCKED_GROUPS))
    return NameLexicon(
        first=frozenset(first - ambiguous - blocked),
        ambiguous=frozenset(ambiguous | (first & blocked)),
        last=frozenset(last),
        blocked=frozenset(blocked),
        after_title_blocked=frozenset(after_title),
        place=frozenset(groups.get("place", set())),
    )


def find_names(text: str, contacts: Iterable[tuple[str, int, int]] = (),
               extra: frozenset[str] = frozenset(),
               not_names: frozenset[str] = frozenset()) -> list[tuple[str, int, int]]:
    """Name spans in ``text``.

    ``contacts`` are the (kind, start, end) of emails, phones, addresses ... already
    found: capitalised words right before one, or right after one that is not an address
    (after an address come towns), are a signature. ``extra`` (lower-cased)
    are the operator's own names; ``not_names`` (lower-cased) are words never to treat
    as names (the company's name, the operator's never-redact terms).
    """
    lex = lexicon()
    finder = _Finder(text, lex, extra, not_names, contacts)
    for run in _runs(text):
        finder.scan(run)
    return finder.found


def _runs(text: str) -> Iterator[list[_Token]]:
    """Capitalised words joined only by spaces (and name particles): candidate names."""
    current: list[_Token] = []
    last_end = -1
    last_possessive = False
    for match in _TOKEN.finditer(text):
        word = match.group()
        if word in _SKIP or not word[0].isupper():
            continue
        start, end = match.span()
        if start and (text[start - 1].isalnum() or text[start - 1] in _GLUE):
            continue
        possessive = word.endswith(("'s", "’s"))
        if possessive:
            end -= 2
            word = word[:-2]
        if current and not (
                (last_end + 1 == start and text[last_end] == " ") or last_end == start
                or (not last_possessive and _JOIN.fullmatch(text, last_end, start))):
            yield current
            current = []
        key = word.lower()
        if "’" in key:
            key = key.replace("’", "'")
        current.append(_Token(start, end, key, possessive,
                              not word[1:].islower() and _ACRONYM.search(word) is not None))
        last_end, last_possessive = end, possessive
    if current:
        yield current


class _Finder:
    def __init__(self, text: str, lex: NameLexicon, extra: frozenset[str],
                 not_names: frozenset[str], contacts: Iterable[tuple[str, int, int]]) -> None:
        self.text = text
        self.lex = lex
        self.extra = extra
        self.blocked = lex.blocked | not_names if not_names else lex.blocked
        self.not_names = not_names
        spans = list(contacts)
        self.contact_starts = {s for _, s, _ in spans}
        self.contact_ends = {e for kind, _, e in spans if kind != "address"}
        self.found: list[tuple[str, int, int]] = []

    # --- word tests ---------------------------------------------------------------
    def is_given(self, t: _Token) -> bool:
        return (t.key in self.lex.first or t.key in self.extra) and not t.acronym \
            and t.key not in self.not_names

    def after_greeting(self, t: _Token) -> bool:
        if t.acronym or t.key in self.not_names:
            return False
        if self.is_given(t) or t.key in self.lex.ambiguous:
            return True
        return t.key not in self.blocked

    def after_title(self, t: _Token) -> bool:
        if t.acronym or t.key in self.not_names:
            return False
        return t.key in self.lex.ambiguous or t.key not in self.lex.after_title_blocked

    def surname(self, t: _Token) -> bool:
        if t.acronym or t.key in self.not_names or t.key in GREETINGS:
            return False
        if t.key in self.extra:
            return True
        if t.key in self.lex.last:
            return t.key not in self.lex.place and t.key not in self.lex.after_title_blocked
        return t.key not in self.blocked

    # --- one run of capitalised words -------------------------------------------------
    def scan(self, run: list[_Token]) -> None:
        first = run[0]
        if len(run) == 1 and first.key in self.blocked and first.key not in self.extra:
            return  # the common case: "The", "We", "Rent" at the start of a sentence
        # Only an unknown word needs the greeting before it to count ("Hi Obinna").
        cue = (first.key not in self.lex.first and first.key not in self.blocked
               and _CUE_BEFORE.search(self.text, max(0, first.start - 24), first.start)
               is not None)
        named = False
        i = 0
        while i < len(run):
            token = run[i]
            if token.key in GREETINGS:
                cue, i = True, i + 1
                continue
            if token.key in TITLES and i + 1 < len(run) and self.after_title(run[i + 1]):
                j = self._extend(run, i + 1, self.after_title)
                self._emit(run, i + 1, j)
                named, i, cue = True, j, False
                continue
            if cue and self.after_greeting(token):
                j = self._extend(run, i, self.after_greeting)
                self._emit(run, i, j)
                named, i, cue = True, j, False
                continue
            cue = False
            if self.is_given(token) or (
                    token.key in self.lex.ambiguous and i + 1 < len(run)
                    and not token.possessive and run[i + 1].key in self.lex.last
                    and self.surname(run[i + 1])):
                if i + 1 < len(run) and not token.possessive and run[i + 1].key in self.lex.place:
                    i += 2  # "Victoria Road": a place, not a person
                    continue
                j = self._extend(run, i, self.surname)
                self._emit(run, i, j)
                named, i = True, j
                continue
            i += 1
        # A signature may hold more than the known part: "Haliye Yaman, 030 1234 0520".
        if not named or len(run) > 1:
            self._signature(run)

    @staticmethod
    def _extend(run: list[_Token], i: int, test: Callable[[_Token], bool]) -> int:
        """End (exclusive) of the name starting at run[i]: up to 3 more words that pass."""
        j = i + 1
        while j < len(run) and j - i < 4 and not run[j - 1].possessive and test(run[j]):
            j += 1
        return j

    def _emit(self, run: list[_Token], i: int, j: int) -> None:
        self.found.append(("name", run[i].start, run[j - 1].end))

    def _signature(self, run: list[_Token]) -> None:
        """Capitalised words on a line after a sign-off, or right beside a contact detail."""
        words = [t for t in run if t.key not in GREETINGS]
        if not words or len(words) > 4 or not all(self.after_greeting(t) for t in words):
            return
        start, end = words[0].start, words[-1].end
        text = self.text
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        alone = not text[line_start:start].strip(" \t-–") and not text[end:line_end].strip(" \t,")
        if alone and line_start > 0:
            previous_start = text.rfind("\n", 0, line_start - 1) + 1
            if _SIGN_OFF_LINE.fullmatch(text, previous_start, line_start - 1):
                self.found.append(("name", start, end))
                return
        if len(words) < 2:
            return
        after = _CONTACT_GAP.match(text, end)
        if after is not None and after.end() in self.contact_starts:
            self.found.append(("name", start, end))
            return
        for e in range(max(0, start - 6), start):
            if e in self.contact_ends and _CONTACT_GAP.fullmatch(text, e, start):
                self.found.append(("name", start, end))
                return
