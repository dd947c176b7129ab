"""The shipped sample company (resources/sample_company) is complete and well formed.

Standard library only: the generator's dependencies (fpdf2, python-docx) are not needed here.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import zipfile
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_company"
FILES = [
    "handbook.pdf",
    "faq.docx",
    "policies.md",
    "tickets.csv",
    "company.json",
    "README.md",
    "pii_manifest.json",
]
CSV_COLUMNS = [
    "ticket_id",
    "created_at",
    "channel",
    "customer_role",
    "subject",
    "customer_message",
    "agent_reply",
    "status",
]
ROLES = {"tenant", "owner", "prospect"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?:\+\d{1,3}[ ]?)?(?:\(0\)\s?)?\(?0?\d{2,4}\)?[ -]?\d{3}[ -]?\d{3,4}\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")
CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")
MONEY = re.compile(r"£\d[\d,]*(?:\.\d{2})?")


def _read_rows() -> list[dict[str, str]]:
    with (SAMPLE / "tickets.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _iban_ok(value: str) -> bool:
    compact = value.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


@pytest.mark.parametrize("name", FILES)
def test_file_exists_and_is_small(name: str) -> None:
    path = SAMPLE / name
    assert path.is_file(), name
    assert 0 < path.stat().st_size < 300_000, name


def test_sources_for_the_generator_exist() -> None:
    for name in ("handbook.md", "faq.md", "tickets.txt"):
        assert (SAMPLE / "source" / name).is_file(), name


def test_handbook_pdf_has_real_pages() -> None:
    data = (SAMPLE / "handbook.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    pages = re.findall(rb"/Type\s*/Page\b", data)  # \b excludes /Pages
    assert 10 <= len(pages) <= 20
    assert b"/Helvetica" in data  # text drawn with a core font, not images


def test_faq_docx_has_question_headings() -> None:
    with zipfile.ZipFile(SAMPLE / "faq.docx") as zf:
        assert zf.testzip() is None
        assert "[Content_Types].xml" in zf.namelist()
        xml = zf.read("word/document.xml").decode("utf-8")
    paragraphs = re.findall(r"<w:p[ >].*?</w:p>", xml, flags=re.S)

    def text(p: str) -> str:
        return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", p))

    questions = [text(p) for p in paragraphs if 'w:val="Heading2"' in p]
    groups = [text(p).lower() for p in paragraphs if 'w:val="Heading1"' in p]
    assert 30 <= len(questions) <= 40
    assert all(q.endswith("?") for q in questions)
    assert len(set(questions)) == len(questions)
    assert any("tenant" in g for g in groups)
    assert any("owner" in g for g in groups)
    assert any("prospect" in g for g in groups)


def test_tickets_csv_shape() -> None:
    with (SAMPLE / "tickets.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == CSV_COLUMNS
        rows = list(reader)
    assert 40 <= len(rows) <= 60
    assert len({r["ticket_id"] for r in rows}) == len(rows)
    assert {r["customer_role"] for r in rows} == ROLES
    for row in rows:
        dt.datetime.fromisoformat(row["created_at"])
        assert row["subject"].strip()
        assert row["customer_message"].strip()
        assert row["agent_reply"].strip()
        assert row["status"].strip()
    assert any("\n" in r["customer_message"] for r in rows)  # quoting of multi-line fields
    assert any("," in r["agent_reply"] for r in rows)


def test_tickets_contain_planted_personal_data() -> None:
    rows = _read_rows()
    text = "\n".join(r["customer_message"] + "\n" + r["agent_reply"] for r in rows)
    emails = {e for e in EMAIL.findall(text) if not e.endswith("@kestrelquay.example")}
    phones = set(PHONE.findall(text))
    ibans = [i for i in IBAN.findall(text) if _iban_ok(i)]
    cards = {re.sub(r"\D", "", c) for c in CARD.findall(text) if _luhn(re.sub(r"\D", "", c))}
    assert len(emails) >= 5
    assert len(phones) >= 5
    assert len(ibans) >= 2
    assert len({c for c in cards if len(c) >= 15}) >= 2


def test_pii_manifest_matches_csv() -> None:
    rows = {r["ticket_id"]: r for r in _read_rows()}
    manifest = json.loads((SAMPLE / "pii_manifest.json").read_text(encoding="utf-8"))
    items = manifest["items"]
    counts: dict[str, int] = {}
    for item in items:
        value = rows[item["ticket_id"]][item["field"]][item["start"] : item["end"]]
        assert value == item["text"], item
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    assert counts == manifest["counts"]
    for kind in ("name", "email", "phone", "address", "iban", "card"):
        assert counts.get(kind, 0) >= 2, kind
    assert manifest["action_claims"]
    assert set(manifest["action_claims"]) <= set(rows)


def test_company_json() -> None:
    data = json.loads((SAMPLE / "company.json").read_text(encoding="utf-8"))
    assert set(data) == {"company_name", "description", "customer_roles", "tone_target", "policies"}
    assert data["tone_target"] == 75
    assert data["customer_roles"] == ["tenant", "owner", "prospect"]
    assert data["company_name"].strip()
    assert 1 <= data["description"].count(".") <= 3
    rules = [line for line in data["policies"].splitlines() if line.strip()]
    assert len(rules) >= 10
    assert len(MONEY.findall(data["policies"])) >= 5


def test_policies_md_has_concrete_figures() -> None:
    policies = (SAMPLE / "policies.md").read_text(encoding="utf-8")
    figures = set(MONEY.findall(policies))
    assert len(figures) >= 8
    assert re.search(r"\d{1,2}:\d{2}", policies)  # office hours
    assert re.search(r"\b\d+ working days\b", policies)  # complaints timeline
    company = json.loads((SAMPLE / "company.json").read_text(encoding="utf-8"))
    for figure in MONEY.findall(company["policies"]):
        assert figure.rstrip(",") in policies, figure


def test_readme_says_fictional() -> None:
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8").lower()
    assert "fictional" in readme
    assert "build_sample_company.py" in readme


def test_texts_are_utf8() -> None:
    for name in ("policies.md", "README.md", "company.json", "tickets.csv"):
        (SAMPLE / name).read_bytes().decode("utf-8")
