"""Recall of the personal-data redactor on planted PII, its false positives, and its speed.

Goal (issue 4): recall >= 95% overall on a generated set of planted personal data, and a
redactor fast enough that an import (extraction + chunking + redaction) keeps >= 0.8x the
speed of raw pypdf extraction.

The set is made with a fixed seed: a few hundred sentences of support-ticket prose holding
emails, phones in UK / US / Irish / German / Spanish / French formats, Luhn-valid card
numbers, checksum-valid IBANs, street addresses and names, mixed with decoys that must
stay (amounts, dates, times, references, a Luhn-invalid card, a bad-checksum IBAN). Half
the names come from Faker locales the redactor's name list uses, half from locales it does
not (Finnish, Swedish, Hungarian, Czech, Turkish, Romanian): those are found only from
context (greetings, titles, sign-offs, a contact detail beside them), and are reported apart.

Run: .venv/bin/python benchmarks/redaction_recall.py [--records 120] [--seed 4] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import string
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.documents.redact import RedactionRules, find_pii  # noqa: E402

KNOWN_LOCALES = ("en_GB", "en_US", "en_IE", "en_IN", "pl_PL", "de_DE", "es_ES", "fr_FR")
UNSEEN_LOCALES = ("fi_FI", "sv_SE", "hu_HU", "cs_CZ", "tr_TR", "ro_RO")
STREETS = ("Oak", "Mill", "Station", "Church", "Victoria", "Kings", "Queen's", "Harbour",
           "Chapel", "Meadow", "Bridge", "Castle", "Orchard", "Willow", "Elm", "Ferry",
           "Anchor", "Rope Walk", "Tannery", "Sandpiper", "Heron", "Copper Beech")
STREET_TYPES = ("Street", "Road", "Lane", "Avenue", "Close", "Way", "Drive", "Court", "Place",
                "Crescent", "Terrace", "Gardens", "Row", "Mews", "Walk", "Rise", "Grove")
TOWNS = ("Bristol", "Leeds", "Porthmere", "Truro", "Harrogate", "Cork", "Galway", "St Ives",
         "Bath", "Newquay", "Falmouth")
US_CITIES = (("Boston", "MA"), ("Springfield", "IL"), ("Portland", "OR"), ("Austin", "TX"))
# The sample manifest's extra kinds, and the span kind that covers them.
EXPECTED_KIND = {"card_details": "card", "bank_account": "iban"}
BUILDINGS = ("Anchor House", "Mill Court", "The Old Bakery", "Rose Cottage", "Quay House")


class Record:
    """One ticket-sized text and the (kind, start, end, source) of what was planted in it."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.planted: list[tuple[str, int, int, str]] = []

    def add(self, text: str, kind: str = "", source: str = "") -> None:
        if kind:
            self.planted.append((kind, self.length, self.length + len(text), source))
        self.parts.append(text)
        self.length += len(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


class Generator:
    def __init__(self, seed: int) -> None:
        from faker import Faker

        self.rng = random.Random(seed)
        self.known = [Faker(loc) for loc in KNOWN_LOCALES]
        self.unseen = [Faker(loc) for loc in UNSEEN_LOCALES]
        for i, fake in enumerate(self.known + self.unseen):
            fake.seed_instance(seed * 100 + i)

    # --- values ---------------------------------------------------------------------
    def person(self) -> tuple[str, str, str]:
        source = self.rng.choice(("known", "unseen"))
        fake = self.rng.choice(self.known if source == "known" else self.unseen)
        return fake.first_name(), fake.last_name(), source

    def email(self, first: str, last: str) -> str:
        clean = lambda s: "".join(c for c in s.lower() if c in string.ascii_lowercase)  # noqa: E731
        local = self.rng.choice((f"{clean(first)}.{clean(last)}", f"{clean(first)[0]}{clean(last)}",
                                 f"{clean(first)}{self.rng.randint(1, 99)}",
                                 f"{clean(last)}_{clean(first)}"))
        domain = self.rng.choice(("example.com", "example.org", "mail.example.net"))
        return f"{local or 'someone'}@{domain}"

    def phone(self) -> str:
        n = self.rng.randint(0, 999)
        return self.rng.choice((
            f"07700 900{n:03d}", f"07700900{n:03d}", f"+44 7700 900{n:03d}",
            f"+44 (0)7700 900 {n:03d}", f"0117 496 0{n:03d}", f"(0117) 496 0{n:03d}",
            f"020 7946 0{n:03d}", f"+44 20 7946 0{n:03d}", f"01632 960{n:03d}",
            f"(617) 555-01{n % 100:02d}", f"617-555-01{n % 100:02d}", f"+1 617 555 01{n % 100:02d}",
            f"(555) 013-{4500 + n % 100}", f"+353 1 555 {n:04d}", f"087 555 {n:04d}",
            f"+49 30 1234 {n:04d}", f"030 1234{n:04d}", f"+34 612 345 {n:03d}",
            f"+33 1 23 45 67 {n % 100:02d}",
        ))

    def card(self) -> str:
        from stdnum import luhn

        prefix, length = self.rng.choice((("4", 16), ("51", 16), ("55", 16), ("2221", 16),
                                          ("34", 15), ("37", 15), ("6011", 16)))
        body = prefix + "".join(self.rng.choice(string.digits)
                                for _ in range(length - len(prefix) - 1))
        number = body + luhn.calc_check_digit(body)
        style = self.rng.choice(("spaces", "dashes", "compact"))
        if length == 15:
            groups = [number[:4], number[4:10], number[10:]]
        else:
            groups = [number[i:i + 4] for i in range(0, 16, 4)]
        return {"spaces": " ".join(groups), "dashes": "-".join(groups), "compact": number}[style]

    def iban(self) -> str:
        from stdnum import iban

        while True:
            country, bban = self.rng.choice((
                ("GB", lambda: self._letters(4) + self._digits(14)),
                ("IE", lambda: self._letters(4) + self._digits(14)),
                ("DE", lambda: self._digits(18)),
                ("ES", lambda: self._digits(20)),
            ))
            body = bban()
            number = country + iban.calc_check_digits(country + "00" + body) + body
            if iban.is_valid(number):
                break
        if self.rng.random() < 0.7:
            return " ".join(number[i:i + 4] for i in range(0, len(number), 4))
        return number

    def postcode(self) -> str:
        area = self._letters(self.rng.choice((1, 2)))
        return f"{area}{self.rng.randint(1, 29)} {self.rng.randint(1, 9)}{self._letters(2)}"

    def address(self) -> tuple[str, str]:
        """(planted address, text that follows it and is not personal data)."""
        n = self.rng.randint(1, 240)
        street = f"{n} {self.rng.choice(STREETS)} {self.rng.choice(STREET_TYPES)}"
        town = self.rng.choice(TOWNS)
        form = self.rng.randrange(6)
        if form == 0:
            return street, ""
        if form == 1:
            return f"{street}, {town} {self.postcode()}", ""
        if form == 2:
            return f"Flat {self.rng.randint(1, 12)}, {street}, {town} {self.postcode()}", ""
        if form == 3:
            return f"{self.rng.choice(BUILDINGS)}, {street}, {town} {self.postcode()}", ""
        if form == 4:
            city, state = self.rng.choice(US_CITIES)
            kind = self.rng.choice(("St", "Ave", "Blvd", "Street", "Avenue"))
            return (f"{n} {self.rng.choice(STREETS)} {kind}, {city}, {state} "
                    f"{self.rng.randint(10000, 99999)}", "")
        return street, f", {town}"

    def _letters(self, k: int) -> str:
        return "".join(self.rng.choice("ABDEFGHJLNPRSTUWXYZ") for _ in range(k))

    def _digits(self, k: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(k))

    # --- sentences --------------------------------------------------------------------
    def sentence(self, record: Record) -> None:
        rng = self.rng
        choice = rng.randrange(15)
        first, last, source = self.person()
        if choice == 0:
            record.add(rng.choice(("Please call me on ", "My mobile is ", "Tel: ",
                                   "You can reach me after 6pm at ")))
            record.add(self.phone(), "phone")
            record.add(rng.choice((".", ", thanks.", " if you need me.")))
        elif choice == 1:
            record.add(rng.choice(("My email is ", "Send the statement to ", "Email: ")))
            record.add(self.email(first, last), "email")
            record.add(rng.choice((".", " please.", "")))
        elif choice == 2:
            record.add(rng.choice(("Card number ", "Can you charge ", "I paid with ")))
            record.add(self.card(), "card")
            record.add(rng.choice((" for the deposit.", ", thanks.", " yesterday.")))
        elif choice == 3:
            record.add(rng.choice(("Please pay the refund into ", "IBAN: ",
                                   "My new bank account is ")))
            record.add(self.iban(), "iban")
            record.add(rng.choice((".", " (in my name).", "")))
        elif choice == 4:
            address, after = self.address()
            record.add(rng.choice(("I live at ", "Please send the keys to ", "The flat is at ",
                                   "New address: ")))
            record.add(address, "address")
            record.add(after + rng.choice((".", " from next month.", "")))
        elif choice == 5:
            record.add(rng.choice(("Hi ", "Hello ", "Dear ", "Thanks ")))
            record.add(first, "name", source)
            record.add(",\n\n")
        elif choice == 6:
            record.add(f"Dear {rng.choice(('Mr', 'Mrs', 'Ms', 'Dr'))} ")
            record.add(last, "name", source)
            record.add(",\n\n")
        elif choice == 7:
            record.add(rng.choice(("\n\nKind regards,\n", "\n\nThanks,\n", "\n\nRegards,\n",
                                   "\n\nYours sincerely,\n")))
            record.add(f"{first} {last}", "name", source)
            record.add("\n")
        elif choice == 8:
            record.add(rng.choice(("My neighbour ", "Please speak to ", "Yesterday ")))
            record.add(f"{first} {last}", "name", source)
            record.add(rng.choice((" has a spare key.", " about the boiler.",
                                   " called about the rent.")))
        elif choice == 9:
            record.add(f"{first} {last}", "name", source)
            record.add(", ")
            record.add(self.phone(), "phone")
            record.add(rng.choice(("", ".")))
        elif choice == 10:
            record.add("\n")
            record.add(f"{first} {last}", "name", source)
            record.add("\n")
            record.add(self.email(first, last), "email")
            record.add("\n")
        else:
            record.add(self.decoy())

    def decoy(self) -> str:
        """Text that looks a little like personal data and must be left alone."""
        rng = self.rng
        return rng.choice((
            f"The rent of £{rng.randint(400, 2400):,} is due on {rng.randint(1, 28)} "
            f"{rng.choice(('January', 'March', 'June', 'October'))} {rng.randint(2023, 2026)}.",
            f"Your reference is KQ-{rng.randint(10000, 99999)}.",
            f"Invoice {rng.randint(1000, 9999)} for £{rng.randint(20, 900)}.{rng.randint(10, 99)}.",
            f"The engineer comes between {rng.randint(8, 11)}:00 and {rng.randint(12, 17)}:30.",
            "Test card 4111 1111 1111 1112 was declined.",
            "The IBAN GB15 MIDL 4005 1512 3456 79 did not work.",
            "We are open Monday to Friday, 9:00-17:30.",
            f"Read section {rng.randint(1, 9)}.{rng.randint(1, 9)} of the handbook.",
            f"The boiler was serviced on {rng.randint(1, 28)}/{rng.randint(1, 12)}/2024.",
            f"Will the {rng.choice(('fee', 'deposit', 'inspection'))} change in May?",
            f"Grace periods of {rng.randint(2, 14)} days apply to late rent.",
        )) + " "


def generate(records: int, seed: int) -> tuple[list[Record], int]:
    """``records`` ticket-sized texts of 2-5 sentences each, and the number of sentences."""
    generator = Generator(seed)
    out = []
    sentences = 0
    for _ in range(records):
        record = Record()
        for _ in range(generator.rng.randint(2, 5)):
            generator.sentence(record)
            record.add(" ")
            sentences += 1
        out.append(record)
    return out, sentences


# --- scoring ------------------------------------------------------------------------------

def score(texts_and_items: list[tuple[str, list[tuple[str, int, int, str]]]],
          rules: RedactionRules | None = None) -> dict:
    """Recall per kind (an item counts when every character is inside some span), the
    spans that touch no planted item, and the redactor's CPU time."""
    found, total, same_kind, by_source = Counter(), Counter(), Counter(), Counter()
    source_total: Counter = Counter()
    false_positives: list[str] = []
    seconds = 0.0
    chars = 0
    for text, items in texts_and_items:
        started = time.process_time()
        spans = find_pii(text, rules)
        seconds += time.process_time() - started
        chars += len(text)
        for kind, start, end, source in items:
            total[kind] += 1
            covering = [s for s in spans if s.start < end and start < s.end]
            covered = sum(min(s.end, end) - max(s.start, start) for s in covering) == end - start
            found[kind] += covered
            expected = EXPECTED_KIND.get(kind, kind)
            same_kind[kind] += covered and all(s.kind == expected for s in covering)
            if source:
                source_total[source] += 1
                by_source[source] += covered
        false_positives += [f"{s.kind}: {s.text!r}" for s in spans
                            if not any(s.start < e and st < s.end for _, st, e, _ in items)]
    return {
        "recall": {k: found[k] / total[k] for k in sorted(total)},
        "counts": {k: f"{found[k]}/{total[k]}" for k in sorted(total)},
        "same_kind": {k: f"{same_kind[k]}/{total[k]}" for k in sorted(total)},
        "overall": sum(found.values()) / max(1, sum(total.values())),
        "names_by_source": {k: f"{by_source[k]}/{source_total[k]}" for k in sorted(source_total)},
        "false_positives": false_positives,
        "chars": chars,
        "chars_per_s": chars / seconds if seconds else 0.0,
    }


def sample_manifest() -> list[tuple[str, list[tuple[str, int, int, str]]]]:
    folder = ROOT / "resources" / "sample_company"
    manifest = json.loads((folder / "pii_manifest.json").read_text(encoding="utf-8"))
    with (folder / "tickets.csv").open(newline="", encoding="utf-8") as handle:
        rows = {row["ticket_id"]: row for row in csv.DictReader(handle)}
    items: dict[tuple[str, str], list] = {}
    for item in manifest["items"]:
        items.setdefault((item["ticket_id"], item["field"]), []).append(
            (item["kind"], item["start"], item["end"], ""))
    return [(row[field], items.get((tid, field), []))
            for tid, row in rows.items() for field in ("customer_message", "agent_reply")]


def sample_rules() -> RedactionRules:
    """What load_rules gives a project made from the sample company (without a project)."""
    from core.documents.pii_patterns import find_emails, find_phones
    from core.sample import sample_profile

    profile = sample_profile()
    text = profile.description + "\n" + profile.policies
    contacts = [text[s:e] for _, s, e in find_emails(text) + find_phones(text)]
    return RedactionRules(never=[profile.company_name, *contacts])


def handbook_speed() -> dict:
    """find_pii against raw pypdf extraction of the sample handbook, CPU time, best of 5."""
    import pypdf

    path = ROOT / "resources" / "sample_company" / "handbook.pdf"

    def extract() -> str:
        return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)

    text = extract()
    find_pii(text)
    extract_s = min(_cpu(extract) for _ in range(5))
    redact_s = min(_cpu(lambda: find_pii(text)) for _ in range(5))
    return {"chars": len(text), "pypdf_chars_per_s": len(text) / extract_s,
            "find_pii_chars_per_s": len(text) / redact_s,
            "redaction_cost_vs_extraction": redact_s / extract_s}


def _cpu(fn) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=120)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    find_pii("Hi Ann, 07700 900123")  # the first call loads the name lists
    first_call = time.perf_counter() - started
    # ... and phonenumbers loads each region's metadata when it first meets one.
    find_pii("(555) 013-4567, 087 555 0101, 030 12345678, 612 345 678, 01 23 45 67 89")
    records, sentences = generate(args.records, args.seed)
    planted = score([(r.text, r.planted) for r in records])
    sample = score(sample_manifest(), sample_rules())
    speed = handbook_speed()
    result = {"planted": planted, "sample_manifest": sample, "handbook_speed": speed,
              "sentences": sentences, "first_call_s": first_call}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{sentences} generated sentences in {len(records)} records (seed {args.seed})")
    for title, res in (("generated planted set", planted), ("sample tickets manifest", sample)):
        print(f"{title}: recall {res['overall']:.1%} overall (goal >= 95%)")
        for kind, value in res["recall"].items():
            print(f"  {kind:13} {value:6.1%}  ({res['counts'][kind]}; same kind "
                  f"{res['same_kind'][kind]})")
        if res["names_by_source"]:
            print(f"  names by source: {res['names_by_source']} (unseen = locales not in the list)")
        print(f"  false positives: {len(res['false_positives'])} "
              f"{res['false_positives'][:12]}")
        print(f"  speed: {res['chars_per_s'] / 1e6:.2f} M chars/s over {res['chars']:,} chars")
    print(f"first call (loads the name lists): {first_call:.2f} s")
    print(f"handbook ({speed['chars']:,} chars): pypdf {speed['pypdf_chars_per_s'] / 1e6:.2f} "
          f"M chars/s, find_pii {speed['find_pii_chars_per_s'] / 1e6:.2f} M chars/s, "
          f"redaction costs {speed['redaction_cost_vs_extraction']:.1%} of extraction time")


if __name__ == "__main__":
    main()
