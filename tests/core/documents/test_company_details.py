"""The company's own contact details stay readable: the assistant must be able to give
them out. They come from the profile, so an operator controls them."""

from __future__ import annotations

from pathlib import Path

from core.documents import document_chunks, import_files, list_documents
from core.sample import init_sample


def test_sample_company_office_address_and_phones_are_not_redacted(tmp_path: Path) -> None:
    project = init_sample(tmp_path / "p")
    docs = project.root / "sample-documents"
    import_files(project, [docs / "policies.md", docs / "handbook.pdf"])
    text = ""
    for document in list_documents(project):
        text += "\n".join(c["text"] for c in document_chunks(project, document["id"]))
    assert "14 Chandlers Row" in text
    assert "01632 960415" in text
    assert "[ADDRESS]" not in text
    project.close()
