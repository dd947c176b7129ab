"""Each bad input fails with a clear message naming the file; the rest of the batch imports
and nothing already imported is touched."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.documents import (
    document_chunks,
    import_files,
    import_settings,
    list_documents,
    set_max_file_mb,
    ticket_columns,
)
from core.project import Project


def _snapshot(project: Project) -> list[tuple]:
    rows = project.store.query("SELECT d.id, d.sha256, d.status, d.pages, c.seq, c.text "
                               "FROM documents d JOIN chunks c ON c.document_id = d.id "
                               "ORDER BY d.id, c.seq")
    return [tuple(r) for r in rows]


def _stored_files(project: Project) -> set[str]:
    return {p.name for p in project.files_dir.iterdir()}


@pytest.mark.parametrize(("fixture", "expected"), [
    ("corrupt_pdf", "corrupt.pdf is damaged or not a PDF"),
    ("encrypted_pdf", "locked.pdf is password-protected."),
    ("scanned_pdf", "scan.pdf: no text layer, OCR is not supported."),
    ("zip_bomb_docx", "bomb.docx looks like a zip bomb"),
    ("not_zip_docx", "old-format.docx is not a valid DOCX file (it is not a zip archive)."),
    ("binary_txt", "notes.txt looks like a binary file, not text."),
    ("empty_file", "empty.md is empty (0 bytes)."),
    ("oversize_pdf", "huge.pdf is 80 MB, over the 50 MB limit; raise the limit in Documents "
                     "settings."),
])
def test_bad_file_fails_clearly_and_the_batch_goes_on(
        request: pytest.FixtureRequest, project: Project, good_docx: Path,
        sample_files: dict[str, Path], fixture: str, expected: str) -> None:
    first = import_files(project, [good_docx])
    assert first[0].status == "imported"
    before, files_before = _snapshot(project), _stored_files(project)

    bad: Path = request.getfixturevalue(fixture)
    results = import_files(project, [bad, sample_files["policies.md"]])

    assert [r.status for r in results] == ["failed", "imported"]
    assert results[0].message.startswith(expected), results[0].message
    assert "Traceback" not in results[0].message
    assert _snapshot(project)[:len(before)] == before  # the earlier document is untouched
    stored = _stored_files(project)
    assert files_before < stored and len(stored) == 2  # no copy of the bad file is kept
    listed = {d["name"]: d for d in list_documents(project)}
    assert listed[bad.name]["status"] == "failed"
    assert listed[bad.name]["error"].startswith(expected)
    assert listed[bad.name]["chunks"] == 0


def test_failed_file_is_replaced_when_it_imports_later(project: Project, inbox: Path) -> None:
    path = inbox / "notes.md"
    path.write_bytes(b"")
    assert import_files(project, [path])[0].status == "failed"
    path.write_text("# Notes\n\nThe office opens at nine.\n", encoding="utf-8")
    result = import_files(project, [path])[0]
    assert result.status == "imported"
    assert [(d["name"], d["status"]) for d in list_documents(project)] == [
        ("notes.md", "imported")]


def test_size_limit_is_the_operators_to_change(project: Project, text_pdf: Path) -> None:
    set_max_file_mb(project, 0.001)
    result = import_files(project, [text_pdf])[0]
    assert result.status == "failed"
    assert re.fullmatch(r"guide\.pdf is 0\.0\d+ MB, over the 0\.001 MB limit; raise the limit "
                        r"in Documents settings\.", result.message), result.message
    set_max_file_mb(project, 1)
    assert import_files(project, [text_pdf])[0].status == "imported"
    assert [d["status"] for d in list_documents(project)] == ["imported"]
    result = import_files(project, [text_pdf], max_file_mb=0.002)[0]  # this call only
    assert result.message.startswith("guide.pdf is 0.0") and "over the 0.002 MB" in result.message
    assert import_settings(project)["max_file_mb"] == 1


def test_html_full_of_scripts_imports_only_the_visible_text(project: Project,
                                                            script_html: Path) -> None:
    result = import_files(project, [script_html])[0]
    assert result.status == "imported", result.message
    text = " ".join(c["text"] for c in document_chunks(project, result.document_id))
    assert "Small pets are allowed with written consent." in text
    for junk in ("tracker", "function", "color:", "injected", "About us"):
        assert junk not in text


def test_html_with_nothing_but_scripts_fails(project: Project, inbox: Path) -> None:
    path = inbox / "app.html"
    path.write_text("<html><head><script>var a = 1;</script></head><body><script>go()</script>"
                    "<style>p{}</style></body></html>", encoding="utf-8")
    result = import_files(project, [path])[0]
    assert result.status == "failed"
    assert result.message.startswith("app.html has no text to import.")


@pytest.mark.parametrize("fixture", ["cp1252_txt", "latin1_md"])
def test_non_utf8_text_is_detected(request: pytest.FixtureRequest, project: Project,
                                   fixture: str) -> None:
    path: Path = request.getfixturevalue(fixture)
    result = import_files(project, [path])[0]
    assert result.status == "imported", result.message
    document = list_documents(project)[0]
    assert document["meta"]["encoding"] == "cp1252"
    text = " ".join(c["original_text"] for c in document_chunks(project, result.document_id))
    assert ("“safely”" in text) if fixture == "cp1252_txt" else ("Déjà vu, élève" in text)


def test_ragged_csv_imports_the_good_rows_and_names_the_bad(project: Project,
                                                          ragged_csv: Path) -> None:
    result = import_files(project, [ragged_csv])[0]
    assert result.status == "imported"
    assert result.pages == 3 and result.chunks == 3
    assert result.warnings == [
        "rows 3, 5 have the wrong number of fields (expected 4); skipped"]
    assert "rows 3, 5" in result.message
    chunks = document_chunks(project, result.document_id)
    assert [c["meta"]["ticket_id"] for c in chunks] == ["T1", "T3", "T5"]
    assert [c["page"] for c in chunks] == [2, 4, 6]


def test_semicolon_csv_in_cp1252_imports(project: Project, semicolon_csv: Path) -> None:
    result = import_files(project, [semicolon_csv])[0]
    assert result.status == "imported", result.message
    chunks = document_chunks(project, result.document_id)
    assert chunks[0]["original_text"] == ("Customer: Hello; my rent is late, sorry\n"
                                          "Agent: No problem, pay by Friday")
    assert chunks[1]["meta"]["subject"] == "Heating" and chunks[1]["section"] == "Heating"
    document = list_documents(project)[0]
    assert document["meta"]["delimiter"] == ";" and document["meta"]["encoding"] == "cp1252"


def test_tickets_without_recognisable_columns_ask_for_a_mapping(project: Project,
                                                               inbox: Path) -> None:
    path = inbox / "export.json"
    path.write_text(json.dumps([{"a": "hello", "b": "hi"}]), encoding="utf-8")
    assert ticket_columns(path) == ["a", "b"]
    result = import_files(project, [path])[0]
    assert result.status == "failed"
    assert result.message.startswith("export.json: cannot tell which columns")
    assert "choose the columns" in result.message


def test_unsupported_and_missing_paths(project: Project, inbox: Path) -> None:
    exe = inbox / "setup.exe"
    exe.write_bytes(b"MZ")
    results = import_files(project, [exe, inbox / "missing.pdf"])
    assert [r.status for r in results] == ["failed", "failed"]
    assert results[0].message.startswith("setup.exe is not a file type TalkSmall can import.")
    assert results[1].message.startswith("missing.pdf does not exist")
    assert list_documents(project) == []
