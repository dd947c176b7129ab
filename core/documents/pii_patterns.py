"""Finders for personal data with a fixed shape: emails, phones, cards, IBANs, addresses.

Each finder returns ``(kind, start, end)`` candidates; ``core.documents.redact`` resolves
overlaps and applies the operator's rules. The importer calls these on every chunk, so
each one starts with a cheap test (an ``@``, a run of digits, a postcode) and leaves the
slow checks (phonenumbers, checksums) to the few candidates that pass it.
"""

from __future__ import annotations

import re
from functools import lru_cache

Candidate = tuple[str, int, int]

# --- email ------------------------------------------------------------------------------

_EMAIL_LOCAL = re.compile(r"[\w.%+-]{1,64}$")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])")
# Shared mailboxes of a business ("hello@", "repairs@") name a role, not a person.
ROLE_MAILBOXES = frozenset((
    "abuse", "accounts", "admin", "billing", "bookings", "careers", "complaints", "contact",
    "customerservice", "enquiries", "enquiry", "feedback", "hello", "help", "helpdesk", "hr",
    "info", "inquiries", "jobs", "lettings", "mail", "marketing", "news", "newsletter",
    "noreply", "no-reply", "office", "orders", "postmaster", "press", "privacy", "reception",
    "repairs", "sales", "security", "service", "support", "team", "webmaster",
))


def find_emails(text: str) -> list[Candidate]:
    """Addresses found from each "@" outwards (a regex over the whole text is slower)."""
    found = []
    at = text.find("@")
    while at >= 0:
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if local is not None and domain is not None:
            start = local.start()
            while start < at and text[start] in ".-":
                start += 1
            name = text[start:at].lower()
            if name and name not in ROLE_MAILBOXES:
                found.append(("email", start, domain.end()))
        at = text.find("@", at + 1)
    return found


# --- IBAN and domestic bank details -------------------------------------------------------

_IBAN = re.compile(
    r"[A-Z][A-Z]\d\d(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)(?![A-Za-z0-9])"
)
_SORT_CODE = re.compile(r"(?i:\bsort[ \t-]*code)\b[ \t:.-]*(\d{2}[- ]?\d{2}[- ]?\d{2})(?!\d)")
_ACCOUNT_NUMBER = re.compile(
    r"(?i:\b(?:account|acc|a/c)(?:[ \t]+(?:number|no\.?|#))?)[ \t:.-]*(\d{8})(?!\d)"
)


def find_ibans(text: str) -> list[Candidate]:
    """IBANs whose checksum holds, printed compact or in groups of four.

    UK sort codes and account numbers (after the words "sort code" and "account") count
    as kind "iban" too: they are the same bank details in domestic form, and the schema
    has no separate kind for them.
    """
    found: list[Candidate] = []
    for match in _IBAN.finditer(text):
        if match.start() and text[match.start() - 1].isalnum():
            continue
        groups = match.group().split(" ")
        # A trailing capitalised word can glue on to a spaced IBAN; drop groups until valid.
        while groups:
            candidate = " ".join(groups)
            if len(candidate) - candidate.count(" ") >= 15 and _iban_valid(candidate):
                found.append(("iban", match.start(), match.start() + len(candidate)))
                break
            groups.pop()
    lowered = text.lower()
    if "sort" in lowered and "code" in lowered:
        found.extend(("iban", m.start(1), m.end(1)) for m in _SORT_CODE.finditer(text))
    for start, end in _numeric_runs(text):  # an 8-digit run with "account" before it
        match = _ACCOUNT_NUMBER.search(text, max(0, start - 24), end)
        if match is not None and start <= match.start(1) < end:
            found.append(("iban", match.start(1), match.end(1)))
    return found


def _iban_valid(value: str) -> bool:
    from stdnum import iban

    return bool(iban.is_valid(value))


# --- payment cards ----------------------------------------------------------------------

_CARD = re.compile(r"[2-6]\d{3}(?:[ -]?\d){9,15}(?!\d)")
_CARD_EXPIRY = re.compile(
    r"(?i:\b(?:exp(?:iry|ires|iration)?(?:[ \t]+date)?|valid[ \t]+(?:thru|through|until)))"
    r"\b[ \t:.-]*((?:0[1-9]|1[0-2])[ \t]*/[ \t]*(?:\d{4}|\d{2}))(?!\d)"
)
_CARD_CVV = re.compile(
    r"(?i:\b(?:cvv2?|cvc2?|cv2|csc|security[ \t]+(?:code|number)))\b[ \t:.-]*(\d{3,4})(?!\d)"
)
_CARD_DETAILS_REACH = 120  # characters after a card number where its expiry and CVV sit
_DIGIT_GROUP = re.compile(r"\d+")


def find_cards(text: str) -> list[Candidate]:
    """Card numbers (13-19 digits, Luhn-valid), and the expiry and CVV written after them."""
    found: list[Candidate] = []
    for match in _CARD.finditer(text):
        if match.start() and text[match.start() - 1] in _NUMBER_GLUE:
            continue
        best = _luhn_window(match.group())
        if best is None:
            continue
        start, end = match.start() + best[0], match.start() + best[1]
        found.append(("card", start, end))
        reach = text[end:end + _CARD_DETAILS_REACH]
        for pattern in (_CARD_EXPIRY, _CARD_CVV):
            found.extend(("card", end + m.start(1), end + m.end(1))
                         for m in pattern.finditer(reach))
    return found


def _luhn_window(value: str) -> tuple[int, int] | None:
    """The longest run of whole digit groups in ``value`` that is a valid card number."""
    from stdnum import luhn

    groups = [(m.start(), m.end()) for m in _DIGIT_GROUP.finditer(value)]
    best: tuple[int, int] | None = None
    for i in range(len(groups)):
        for j in range(len(groups), i, -1):
            start, end = groups[i][0], groups[j - 1][1]
            digits = "".join(c for c in value[start:end] if c.isdigit())
            if not 13 <= len(digits) <= 19 or digits[0] not in "23456" or len(set(digits)) == 1:
                continue
            if luhn.is_valid(digits) and (best is None or end - start > best[1] - best[0]):
                best = (start, end)
                break
    return best


# --- phone numbers ----------------------------------------------------------------------

PHONE_REGIONS = ("GB", "US", "IE", "DE", "ES", "FR")
_PHONE_RUN = re.compile(r"\d[\d \t().\-/]{5,24}\d")
_DATE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
# Two spaces or a tab (table columns), dates, versions and IP addresses (a group of one
# digit between dots), decimals.
_NOT_A_PHONE = re.compile(
    r"  |\t|\d{4}-\d\d-\d\d|\d\d?/\d\d?/\d\d|(?:^|\.)\d\.|\.\d(?:\.|$)|\.\d{5,}|\d{5,}\."
    r"|^\d{1,3}(?:\.\d{1,3}){3}$"
)
_NUMBER_GLUE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_£$€/.,:-")


def find_phones(text: str) -> list[Candidate]:
    """Phone numbers, found by phonenumbers' matcher in the few places that can hold one.

    Only runs of digits and single separators with 7 or more digits reach the matcher
    (not IP addresses, decimals or table columns). A number written with "+", "00", "0"
    or "(" in front is taken at leniency POSSIBLE, because the numbers people write are
    often in reserved or fictional ranges (07700 900xxx, 555-01xx) that strict validation
    rejects; one without (US, Spanish) must have 9-12 digits and be a valid number.
    Freephone, premium and shared-cost numbers belong to businesses and are left alone.
    """
    found: list[Candidate] = []
    for start, run_end in _numeric_runs(text):
        if start and text[start - 1] == "(":
            start -= 1
        if start and text[start - 1] == "+":
            start -= 1
        elif start > 1 and text[start - 1] == " " and text[start - 2] == "+":
            start -= 2
        if start and (text[start - 1] in _NUMBER_GLUE or text[start - 1] == "+"):
            continue
        value = text[start:run_end]
        digits = sum(map(str.isdigit, value))
        if digits < 7 or digits > 17 or _NOT_A_PHONE.search(value) or _DATE_LIKE.fullmatch(value):
            continue
        if value[0] == "(" and ")" not in value:
            continue
        lenient = value.startswith(("+", "00", "0", "("))
        if not lenient and not 9 <= digits <= 12:
            continue  # short ones are amounts and references, long ones cards and accounts
        found.extend(("phone", start + s, start + e)
                     for s, e in _phone_spans(value, value[0] == "+" or value.startswith("00"),
                                              not lenient))
    return found


@lru_cache(maxsize=2)
def _numeric_runs(text: str) -> tuple[tuple[int, int], ...]:
    """Runs of digits and separators (7+ characters): where phones and bank details sit.

    Cached for the last texts, as find_phones and find_ibans both need them.
    """
    return tuple(m.span() for m in _PHONE_RUN.finditer(text))


@lru_cache(maxsize=4096)
def _phone_spans(value: str, international: bool, strict: bool) -> tuple[tuple[int, int], ...]:
    """Where phonenumbers finds numbers in one run; cached, as a document repeats its own.

    A number must start where the run starts: "01632 960999 24 hours" is a number and a
    count, and the matcher would otherwise settle for "960999 24". Trailing groups are
    dropped until a number fits; the first region (GB) where one fits decides.
    """
    import phonenumbers as pn

    business = {pn.PhoneNumberType.TOLL_FREE, pn.PhoneNumberType.PREMIUM_RATE,
                pn.PhoneNumberType.SHARED_COST}
    leniency = pn.Leniency.VALID if strict else pn.Leniency.POSSIBLE
    first_digit = next(i for i, c in enumerate(value) if c.isdigit())
    for region in PHONE_REGIONS[:1] if international else PHONE_REGIONS:
        head = value
        while sum(c.isdigit() for c in head) >= 7:
            matches = [m for m in pn.PhoneNumberMatcher(head, region, leniency=leniency)
                       if sum(c.isdigit() for c in m.raw_string) >= 7]
            if matches and _open_bracket(head, matches[0].start, matches[0].end) <= first_digit:
                return tuple(
                    (_open_bracket(head, m.start, m.end), m.end) for m in matches
                    if not (pn.is_valid_number(m.number) and pn.number_type(m.number) in business)
                )
            cut = max(head.rfind(" "), head.rfind("-"), head.rfind("."))
            if cut <= first_digit:
                break
            head = head[:cut].rstrip(" -.(/")
    return ()


def _open_bracket(value: str, start: int, end: int) -> int:
    """Include the "(" of "(0117) 496 0731", which the matcher leaves outside."""
    if start > 0 and value[start - 1] == "(" and ")" in value[start:end]:
        return start - 1
    return start


# --- postal addresses -------------------------------------------------------------------

_WORD = r"[A-Z][\w'’-]*"
_STREET_TYPES = (
    r"Street|Road|Avenue|Lane|Close|Way|Drive|Court|Place|Crescent|Terrace|Gardens|Row|"
    r"Mews|Yard|Park|Rise|Hill|Walk|Square|Parade|Grove|Vale|View|Wharf|Quay|Green|"
    r"Boulevard|Highway|Parkway|Circle|Trail|Embankment|Esplanade|Promenade|Wynd|Gate|"
    r"Croft|Meadows?|Hollow|Plaza|Broadway"
)
_STREET_ABBREVIATIONS = r"Rd|Ave|Ln|Ct|Pl|Sq|Blvd|Hwy|Pkwy"
_BUILDINGS = (
    r"House|Court|Cottages?|Lodge|Chapel|Farm|Barn|Mill|Hall|Mansions|Building|Tower|Villa|"
    r"Manor|Works|Studios|Point|Heights|Apartments|Flats|Bakery|Forge|Granary|Rectory|"
    r"Vicarage|Stables|Schoolhouse|Coach House|Boathouse|Warehouse|Chambers|Centre|Lofts"
)
UK_POSTCODE = r"(?:GIR[ \t]?0AA|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2})"
_US_STATE_ZIP = r"[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?"
_UNIT = r"(?:Flat|Apartment|Apt|Unit|Suite|Room|Studio)\.?[ \t]+\d+[A-Za-z]?"
_HOUSE_NUMBER = r"\d{1,5}[A-Za-z]?(?:[-–]\d{1,5}[A-Za-z]?)?"
_TOWN = rf"(?:St\.?[ \t]+)?{_WORD}(?:[ \t]+{_WORD}){{0,2}}"

_STREET_ADDRESS = re.compile(
    rf"\d{{1,5}}+[A-Za-z]?(?:[-–]\d{{1,5}}[A-Za-z]?)?,?[ \t]+(?:{_WORD}[ \t]+){{1,4}}"
    rf"(?:(?:{_STREET_TYPES})\b|(?:{_STREET_ABBREVIATIONS})\b\.?|(?:St|Dr)\b\.?(?![ \t]+[^\W\d_]))"
    r"(?:[ \t]+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
    rf"(?:,?[ \t]+(?:{_TOWN},?[ \t]+)?(?:{UK_POSTCODE}|{_US_STATE_ZIP})(?![\w-]))?"
)
_INWARD_CODE = re.compile(r"\d[A-Z]{2}(?![\w-])")
_OUTWARD_CODE = re.compile(r"(?<![\w-])(?:GIR|[A-Z]{1,2}\d[A-Z\d]?)[ \t]?$")
_TOWN_BEFORE = re.compile(rf"(?<![\w'’-]){_TOWN},?[ \t]+$")
_SEGMENT_SEPARATOR = re.compile(r"(?:,[ \t]*\n?|[ \t]*\n)[ \t]*$")
_BUILDING_NAME = (
    rf"(?:The[ \t]+)?(?:{_WORD}[ \t]+){{0,3}}(?:{_STREET_TYPES}|{_BUILDINGS})"
    rf"|The[ \t]+{_WORD}(?:[ \t]+{_WORD}){{0,2}}"
)
_SEGMENT = re.compile(
    rf"{_UNIT}|{_HOUSE_NUMBER}[ \t]+{_WORD}(?:[ \t]+{_WORD}){{0,3}}|{_BUILDING_NAME}"
)
_SEGMENT_TAIL = re.compile(
    rf"(?<![\w£$€.,/:-])(?:{_UNIT}|{_HOUSE_NUMBER}[ \t]+{_WORD}(?:[ \t]+{_WORD}){{0,3}}"
    rf"|{_BUILDING_NAME})$"
)
_COMPANY_BEFORE = re.compile(r"\b(?:Ltd|Limited|LLP|LLC|plc|PLC|Inc|GmbH)\.?,?[ \t]*\n?[ \t]*$")
_MAX_SEGMENTS = 5
_LOOKBACK = 300


def find_addresses(text: str) -> list[Candidate]:
    """Street addresses (number, name, street type, then town and postcode or ZIP) and UK
    postcodes, each extended back over the lines or comma-separated parts before it that
    look like part of an address (a flat, a building, a numbered street, a town).

    An address written straight after a company name ("... Lettings Ltd, 14 Chandlers
    Row") is the business's own and is left alone.
    """
    found: list[Candidate] = []
    for match in _STREET_ADDRESS.finditer(text):
        if match.start() and text[match.start() - 1] in _NUMBER_GLUE:
            continue
        start = _extend_back(text, match.start())
        if start is not None:
            found.append(("address", start, match.end()))
    for match in _INWARD_CODE.finditer(text):
        outward = _OUTWARD_CODE.search(text, max(0, match.start() - 5), match.start())
        if outward is None:
            continue
        start = outward.start()
        town = _TOWN_BEFORE.search(text, max(0, start - 60), start)
        if town is not None and "\n" not in text[town.start():start]:
            start = _skip_not_town(text, town.start(), start)
        extended = _extend_back(text, start)
        if extended is not None:
            found.append(("address", extended, match.end()))
    return found


_NOT_TOWN = frozenset((
    "postcode", "post", "code", "zip", "address", "my", "our", "your", "their", "his", "her",
    "the", "to", "at", "in", "is", "and", "or", "from",
))


def _skip_not_town(text: str, start: int, end: int) -> int:
    """Where the town before a postcode starts once words like "Postcode" are skipped."""
    for word in re.finditer(r"\S+", text[start:end]):
        if word.group().rstrip(",:").lower() not in _NOT_TOWN:
            return start + word.start()
    return end


def _extend_back(text: str, start: int) -> int | None:
    """Where an address whose known part begins at ``start`` really begins: back over the
    comma- or line-separated parts before it that look like a flat, a building or a
    numbered street. None when a company name precedes it (a business address)."""
    window_start = max(0, start - _LOOKBACK)
    for _ in range(_MAX_SEGMENTS):
        separator = _SEGMENT_SEPARATOR.search(text, window_start, start)
        if separator is None:
            break
        seg_start = max(text.rfind(",", window_start, separator.start()),
                        text.rfind("\n", window_start, separator.start())) + 1
        segment = text[seg_start:separator.start()]
        stripped = segment.strip()
        if stripped and _SEGMENT.fullmatch(stripped):
            start = seg_start + segment.index(stripped)
            continue
        tail = _SEGMENT_TAIL.search(segment)
        if tail is not None:
            start = seg_start + tail.start()
        break
    if _COMPANY_BEFORE.search(text, max(0, start - 80), start):
        return None
    return start
