"""import_files on real files: storage, duplicates, redaction, cancel, resume, forget."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.documents import (
    TicketMapping,
    always_redact,
    document_chunks,
    forget_document,
    forget_impact,
    import_files,
    import_settings,
    list_documents,
    never_redact,
    set_max_file_mb,
    set_redaction_active,
)
from core.errors import TalkSmallError, ValidationError
from core.project import Project, open_project
from tests.core.documents.conftest import make_text_pdf

REPO = Path(__file__).resolve().parents[3]


def test_the_sample_company_imports(project: Project, sample_files: dict[str, Path]) -> None:
    results = {r.name: r for r in import_files(project, list(sample_files.values()))}
    assert {n: r.status for n, r in results.items()} == dict.fromkeys(sample_files, "imported")
    assert results["handbook.pdf"].pages == 15
    assert results["tickets.csv"].pages == 60 and results["tickets.csv"].chunks == 60
    assert all(r.chunks > 0 for r in results.values())
    assert results["tickets.csv"].redactions > 0
    listed = {d["name"]: d for d in list_documents(project)}
    assert listed["tickets.csv"]["kind"] == "tickets"
    assert listed["tickets.csv"]["redactions"] == results["tickets.csv"].redactions
    assert listed["handbook.pdf"]["format"] == "pdf" and listed["faq.docx"]["pages"] == 38

    tickets = document_chunks(project, results["tickets.csv"].document_id)
    first = tickets[0]
    assert first["kind"] == "ticket" and first["page"] == 2
    assert first["meta"]["ticket_id"] == "KQS-24001" and first["meta"]["role"] == "tenant"
    # the planted mobile number is in the original only, never in the redacted copies
    assert "07700 900412" in first["original_text"]
    for redacted in (first["text"], first["meta"]["customer_message"]):
        assert "07700 900412" not in redacted and "[PHONE]" in redacted
    assert first["text"].startswith("Customer: Hi,") and "\nAgent: " in first["text"]
    for span in first["redactions"]:
        assert first["original_text"][span["start"]:span["end"]] == span["original"]

    handbook = document_chunks(project, results["handbook.pdf"].document_id)
    assert [c["seq"] for c in handbook] == list(range(len(handbook)))
    assert all(c["kind"] == "text" and c["token_count"] > 0 for c in handbook)
    assert any(c["section"] == "Part A: For tenants > Moving in" and c["page"] == 4
               for c in handbook)


def test_originals_are_stored_by_content_and_duplicates_skipped(
        project: Project, sample_files: dict[str, Path], tmp_path: Path) -> None:
    policies = sample_files["policies.md"]
    first = import_files(project, [policies])[0]
    sha = hashlib.sha256(policies.read_bytes()).hexdigest()
    stored = project.files_dir / f"{sha}.md"
    assert stored.read_bytes() == policies.read_bytes()

    copy = tmp_path / "policies-copy.md"
    copy.write_bytes(policies.read_bytes())
    again = import_files(project, [policies, copy])
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    assert again[1].message == "same content as policies.md, already imported"
    assert again[1].document_id == first.document_id and again[1].chunks == first.chunks
    assert list(project.files_dir.iterdir()) == [stored]
    assert len(list_documents(project)) == 1


def test_folders_expand_to_supported_files(project: Project, inbox: Path,
                                           sample_files: dict[str, Path]) -> None:
    (inbox / "sub").mkdir()
    (inbox / "sub" / "faq.docx").write_bytes(sample_files["faq.docx"].read_bytes())
    (inbox / "notes.md").write_text("# Notes\n\nKeys are £45.\n", encoding="utf-8")
    (inbox / "image.png").write_bytes(b"\x89PNG")
    (inbox / ".hidden.md").write_text("secret", encoding="utf-8")
    calls: list[tuple[int, int, str]] = []
    results = import_files(project, [inbox], progress=lambda *a: calls.append(a))
    assert [r.name for r in results] == ["notes.md", "faq.docx"]
    assert calls == [(0, 2, "notes.md"), (1, 2, "faq.docx"), (2, 2, "")]


def test_explicit_ticket_mapping(project: Project, inbox: Path) -> None:
    path = inbox / "export.csv"
    path.write_text("a,b,c\nhello there,hi back,X-1\n", encoding="utf-8")
    mapping = TicketMapping(customer_message="a", agent_reply="b", ticket_id="c")
    result = import_files(project, [path], ticket_mappings={str(path): mapping})[0]
    assert result.status == "imported", result.message
    chunk = document_chunks(project, result.document_id)[0]
    assert chunk["original_text"] == "Customer: hello there\nAgent: hi back"
    assert chunk["meta"]["ticket_id"] == "X-1"
    assert list_documents(project)[0]["meta"]["ticket_mapping"]["customer_message"] == "a"


def test_cancel_between_files(project: Project, sample_files: dict[str, Path]) -> None:
    seen: list[str] = []
    results = import_files(project, list(sample_files.values()),
                           progress=lambda done, total, name: seen.append(name),
                           should_stop=lambda: len(seen) >= 2)
    assert [r.status for r in results] == ["imported", "imported", "cancelled", "cancelled"]
    assert len(list_documents(project)) == 2


def test_cancel_between_pages_leaves_nothing_half_done(project: Project, inbox: Path) -> None:
    pdf = make_text_pdf(inbox / "long.pdf", 6)
    checks = []
    results = import_files(project, [pdf],
                           should_stop=lambda: checks.append(1) or len(checks) > 3)
    assert [r.status for r in results] == ["cancelled"]
    assert list_documents(project) == [] and list(project.files_dir.iterdir()) == []


CHILD = r"""
import os, signal, sys
from core.documents import import_files
from core.project import open_project
calls = 0
def stop():
    global calls
    calls += 1
    if calls == 3:  # page 2 of the PDF: the 'importing' row and the stored copy exist
        os.kill(os.getpid(), signal.SIGKILL)
    return False
import_files(open_project(sys.argv[1]), [sys.argv[2]], should_stop=stop)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_killed_import_is_resumed_without_duplicates(project: Project, inbox: Path) -> None:
    pdf = make_text_pdf(inbox / "manual.pdf", 4)
    done = subprocess.run([sys.executable, "-c", CHILD, str(project.root), str(pdf)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    reopened = open_project(project.root)
    try:
        assert [(d["name"], d["status"], d["chunks"]) for d in list_documents(reopened)] == [
            ("manual.pdf", "importing", 0)]
        result = import_files(reopened, [pdf])[0]
        assert result.status == "imported" and result.pages == 4
        documents = list_documents(reopened)
        assert [(d["name"], d["status"]) for d in documents] == [("manual.pdf", "imported")]
        assert len(list(reopened.files_dir.iterdir())) == 1
        assert import_files(reopened, [pdf])[0].status == "duplicate"
    finally:
        reopened.close()


def test_forget_removes_rows_and_the_stored_file(project: Project,
                                                sample_files: dict[str, Path]) -> None:
    tickets, _policies = import_files(project, [sample_files["tickets.csv"],
                                               sample_files["policies.md"]])
    impact = forget_impact(project, tickets.document_id)
    assert impact == {"chunks": 60, "redactions": tickets.redactions}
    removed = forget_document(project, tickets.document_id)
    assert removed["chunks"] == 60 and removed["files"] == 1
    assert [d["name"] for d in list_documents(project)] == ["policies.md"]
    assert project.store.query("SELECT COUNT(*) FROM redactions r JOIN chunks c ON "
                               "r.chunk_id = c.id WHERE c.document_id = ?",
                               (tickets.document_id,))[0][0] == 0
    assert len(list(project.files_dir.iterdir())) == 1
    with pytest.raises(TalkSmallError, match="no document"):
        forget_document(project, tickets.document_id)
    assert import_files(project, [sample_files["tickets.csv"]])[0].status == "imported"


def test_settings_default_and_validation(project: Project) -> None:
    assert import_settings(project)["max_file_mb"] == 50
    set_max_file_mb(project, 120)
    assert import_settings(project)["max_file_mb"] == 120
    for bad in (0, -5, "lots", 10_000):
        with pytest.raises(ValidationError):
            set_max_file_mb(project, bad)


# --- redaction fixes ----------------------------------------------------------------
def _ticket_import(project: Project, inbox: Path) -> int:
    path = inbox / "t.csv"
    path.write_text("customer_message,agent_reply\n"
                    "\"Please email me at jo.bloggs@example.com about the Quayside flat\","
                    "\"Thanks, we will email jo.bloggs@example.com today\"\n", encoding="utf-8")
    result = import_files(project, [path])[0]
    assert result.status == "imported", result.message
    return result.document_id


def test_unredact_and_redact_again(project: Project, inbox: Path) -> None:
    document_id = _ticket_import(project, inbox)
    chunk = document_chunks(project, document_id)[0]
    email = next(r for r in chunk["redactions"] if r["kind"] == "email")
    assert "jo.bloggs@example.com" not in chunk["text"]
    set_redaction_active(project, email["id"], False)
    chunk = document_chunks(project, document_id)[0]
    assert chunk["text"].count("jo.bloggs@example.com") == 1
    assert "jo.bloggs@example.com" in chunk["meta"]["customer_message"]
    assert not next(r for r in chunk["redactions"] if r["id"] == email["id"])["active"]
    set_redaction_active(project, email["id"], True)
    chunk = document_chunks(project, document_id)[0]
    assert "jo.bloggs@example.com" not in chunk["text"]
    assert list_documents(project)[0]["redactions"] == len(chunk["redactions"])
    with pytest.raises(TalkSmallError):
        set_redaction_active(project, 99_999, False)


def test_always_and_never_redact_terms(project: Project, inbox: Path) -> None:
    document_id = _ticket_import(project, inbox)
    assert always_redact(project, "Quayside") == 1
    chunk = document_chunks(project, document_id)[0]
    assert "Quayside" not in chunk["text"] and "Quayside" in chunk["original_text"]
    assert "Quayside" not in chunk["meta"]["customer_message"]
    assert always_redact(project, "Quayside") == 0  # already redacted: nothing new
    assert never_redact(project, "Quayside") == 1
    chunk = document_chunks(project, document_id)[0]
    assert "Quayside" in chunk["text"]
    stored = json.loads(project.store.query(
        "SELECT value FROM settings WHERE key = 'redaction_rules'")[0][0])
    assert stored["never"] == ["Quayside"] and stored["always"] == []
    with pytest.raises(ValidationError):
        always_redact(project, " ")
