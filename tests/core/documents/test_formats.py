"""Extraction per format: text, headings as sections, pages, encodings, ticket columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.documents.formats import decode_text, extract_document
from core.documents.tickets import (
    TicketMapping,
    guess_ticket_mapping,
    read_tickets,
    ticket_columns,
    ticket_text,
)
from tests.core.documents.conftest import CP1252_TEXT


def _extract(path: Path, fmt: str):
    return extract_document(path.read_bytes(), path.name, fmt)


def test_pdf_pages_and_outline_sections(sample_files: dict[str, Path]) -> None:
    extraction = _extract(sample_files["handbook.pdf"], "pdf")
    assert extraction.pages == 15
    assert extraction.meta["outline"] is True
    paths = [s.path for s in extraction.sections]
    assert ("Part A: For tenants", "Moving in") in paths
    assert any(p[-1:] == ("Emergencies",) for p in paths)
    deposit = next(s for s in extraction.sections if s.path[-1:] == ("Your deposit",))
    assert deposit.page == 5
    text = "\n".join(s.text for s in extraction.sections)
    assert "Page 2 of 15" not in text  # the running header is dropped
    assert "late rent fee of £30" in " ".join(text.split())


def test_generated_pdf_headings_are_not_repeated_in_text(text_pdf: Path) -> None:
    extraction = _extract(text_pdf, "pdf")
    assert extraction.pages == 3
    assert [s.path for s in extraction.sections] == [("Chapter 1",), ("Chapter 2",),
                                                     ("Chapter 3",)]
    assert [s.page for s in extraction.sections] == [1, 2, 3]
    assert all("Chapter" not in s.text for s in extraction.sections)


def test_owner_only_encryption_still_opens(owner_only_pdf: Path) -> None:
    extraction = _extract(owner_only_pdf, "pdf")
    assert extraction.pages == 3
    assert "rent is due" in extraction.sections[0].text


def test_docx_headings_paragraphs_and_tables(good_docx: Path) -> None:
    extraction = _extract(good_docx, "docx")
    by_path = {s.path: s.text for s in extraction.sections}
    assert by_path[("Tenant guide",)] == "Welcome to your new home."
    assert by_path[("Rent",)] == "Rent is due on the first day of the month."
    assert by_path[("Rent", "Late rent")] == "A late fee of £30 applies after 14 days."
    assert by_path[("Repairs",)] == "Priority | Attends within\nEmergency | 4 hours"
    assert extraction.pages == len(extraction.sections) == 4


def test_sample_faq_docx_questions_are_sections(sample_files: dict[str, Path]) -> None:
    extraction = _extract(sample_files["faq.docx"], "docx")
    questions = [s.path for s in extraction.sections if len(s.path) == 2]
    assert len(questions) == 37
    assert questions[0] == ("For tenants", "When is my rent due and how should I pay it?")


def test_markdown_headings_outside_code_fences(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("Intro line.\n\n# Fees\n\nKey: £45.\n\n```\n# not a heading\n```\n\n"
                    "## Pets ##\n\nCats allowed.\n\n# Contact\nCall us.\n", encoding="utf-8")
    extraction = _extract(path, "md")
    assert [(s.path, s.text) for s in extraction.sections] == [
        ((), "Intro line."),
        (("Fees",), "Key: £45.\n\n```\n# not a heading\n```"),
        (("Fees", "Pets"), "Cats allowed."),
        (("Contact",), "Call us."),
    ]


def test_sample_policies_markdown(sample_files: dict[str, Path]) -> None:
    extraction = _extract(sample_files["policies.md"], "md")
    assert extraction.meta["encoding"] == "utf-8"
    assert any(s.path[-1:] == ("Rent",) and "Late rent fee: £30" in s.text
               for s in extraction.sections)


def test_html_keeps_headings_and_visible_text_only(script_html: Path) -> None:
    extraction = _extract(script_html, "html")
    text = "\n".join(s.text for s in extraction.sections)
    assert [s.path for s in extraction.sections] == [("Pets",), ("Pets", "Deposits")]
    assert "Small pets are allowed with written consent." in text  # whitespace collapsed
    assert "Dogs: ask first" in text and "Fish: fine" in text
    for junk in ("tracker", "function", "color", "display", "injected", "Home", "JavaScript"):
        assert junk not in text
    assert extraction.meta["title"] == "Pet policy"


@pytest.mark.parametrize(("fixture", "encoding", "fragment"), [
    ("cp1252_txt", "cp1252", "The tenant’s deposit – £500 – is held “safely”"),
    ("latin1_md", "cp1252", "Déjà vu, élève, à côté"),
])
def test_legacy_encodings_are_detected(request: pytest.FixtureRequest, fixture: str,
                                       encoding: str, fragment: str) -> None:
    path: Path = request.getfixturevalue(fixture)
    fmt = path.suffix.lstrip(".")
    extraction = _extract(path, fmt)
    assert extraction.meta["encoding"] == encoding
    assert fragment in "\n".join(s.text for s in extraction.sections)


def test_decode_text_utf16_and_cp1252_roundtrip() -> None:
    assert decode_text(CP1252_TEXT.encode("utf-16"), "x.txt") == (CP1252_TEXT, "utf-16")
    assert decode_text(CP1252_TEXT.encode("utf-8-sig"), "x.txt") == (CP1252_TEXT, "utf-8-sig")
    assert decode_text(CP1252_TEXT.encode("cp1252"), "x.txt")[0] == CP1252_TEXT
    cyrillic = "Привет, как дела? Это проверка кодировки текста для арендатора.\n" * 5
    assert decode_text(cyrillic.encode("cp1251"), "x.txt") == (cyrillic, "cp1251")


# --- tickets ----------------------------------------------------------------------------
def test_sample_tickets_columns_and_mapping(sample_files: dict[str, Path]) -> None:
    columns = ticket_columns(sample_files["tickets.csv"])
    mapping = guess_ticket_mapping(columns)
    assert mapping == TicketMapping("customer_message", "agent_reply", "ticket_id",
                                    "created_at", "customer_role", "subject")
    tickets, table = read_tickets(sample_files["tickets.csv"].read_bytes(), "tickets.csv",
                                  "csv", mapping)
    assert len(tickets) == 60 and table.warnings == []
    first = tickets[0]
    assert (first.row, first.ticket_id, first.role) == (2, "KQS-24001", "tenant")
    text, offsets = ticket_text(first)
    assert text.startswith("Customer: Hi,") and "\nAgent: Hi Priya," in text
    start, end = offsets["agent_reply"]
    assert text[start:end] == first.agent_reply


@pytest.mark.parametrize(("columns", "expected"), [
    (["Ticket #", "Customer Message", "Agent Response", "Created Date"],
     TicketMapping("Customer Message", "Agent Response", "Ticket #", "Created Date")),
    (["id", "question", "answer", "role", "title"],
     TicketMapping("question", "answer", "id", None, "role", "title")),
    (["body", "reply", "date"], TicketMapping("body", "reply", None, "date")),
    (["name", "address", "total"], None),
    (["message"], None),
])
def test_guess_ticket_mapping(columns: list[str], expected: TicketMapping | None) -> None:
    assert guess_ticket_mapping(columns) == expected


def test_mapping_round_trips_through_a_dict() -> None:
    mapping = TicketMapping("q", "a", subject="s")
    assert TicketMapping.from_dict(json.loads(json.dumps(mapping.to_dict()))) == mapping


def test_semicolon_cp1252_csv(semicolon_csv: Path) -> None:
    columns = ticket_columns(semicolon_csv)
    assert columns == ["Ticket #", "Date", "Customer Message", "Agent Response", "Subject"]
    mapping = guess_ticket_mapping(columns)
    assert mapping is not None
    tickets, table = read_tickets(semicolon_csv.read_bytes(), semicolon_csv.name, "csv",
                                  mapping)
    assert table.meta["delimiter"] == ";"
    assert [t.customer_message for t in tickets] == ["Hello; my rent is late, sorry",
                                                    "The café's heating – broken"]
    assert tickets[1].subject == "Heating" and tickets[1].ticket_id == "A-2"


def test_ragged_rows_are_reported_by_number(ragged_csv: Path) -> None:
    mapping = guess_ticket_mapping(ticket_columns(ragged_csv))
    assert mapping is not None
    tickets, table = read_tickets(ragged_csv.read_bytes(), ragged_csv.name, "csv", mapping)
    assert [t.ticket_id for t in tickets] == ["T1", "T3", "T5"]
    assert table.warnings == ["rows 3, 5 have the wrong number of fields (expected 4); skipped"]


def test_json_and_jsonl_exports(tmp_path: Path) -> None:
    records = [{"id": 7, "question": "Is parking included?", "answer": "No, £50 a month.",
                "meta": {"channel": "chat"}},
               {"id": 8, "question": "", "answer": "orphan reply"},
               "not an object"]
    as_json = tmp_path / "t.json"
    as_json.write_text(json.dumps({"tickets": records}), encoding="utf-8")
    as_jsonl = tmp_path / "t.jsonl"
    as_jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n{broken\n",
                        encoding="utf-8")
    for path, unit in ((as_json, "record"), (as_jsonl, "line")):
        columns = ticket_columns(path)
        assert columns == ["id", "question", "answer", "meta"]
        mapping = guess_ticket_mapping(columns)
        tickets, table = read_tickets(path.read_bytes(), path.name, path.suffix[1:], mapping)
        assert [(t.ticket_id, t.customer_message) for t in tickets] == [
            ("7", "Is parking included?")]
        assert f"{unit} 2 has no customer message; skipped" in table.warnings
        assert f"{unit} 3 is not an object; skipped" in table.warnings
    assert "line 4 is not valid JSON; skipped" in table.warnings
