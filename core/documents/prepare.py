"""From a file's bytes to redacted chunk rows, ready to be written in one transaction.

Redaction happens here, before anything is stored: ``chunks.text`` only ever holds the
redacted text, and the spans (offsets into the original) go to the redactions table so the
operator can review them. ``redacted_chunk`` is also what rebuilds a chunk after a change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from core.documents.chunking import chunk_sections, count_tokens
from core.documents.formats import DocumentError, extract_document
from core.documents.tickets import (
    TicketMapping,
    guess_ticket_mapping,
    read_table,
    read_tickets,
    ticket_text,
)


class ChunkRow(NamedTuple):
    kind: str  # text | ticket
    section: str
    page: int | None
    original: str
    text: str  # redacted
    token_count: int
    meta: dict[str, Any]
    spans: list[Any]  # core.documents.redact.Span, offsets into ``original``


@dataclass
class Prepared:
    rows: list[ChunkRow]
    pages: int
    meta: dict[str, Any]
    warnings: list[str]


def prepare_document(data: bytes, name: str, fmt: str, settings: dict[str, Any], rules: Any,
                     should_stop: Callable[[], bool] | None) -> Prepared:
    """Extract, chunk within the project's token budget, and redact each chunk."""
    from core.documents.redact import find_pii

    extraction = extract_document(data, name, fmt, should_stop)
    chunks = chunk_sections(extraction.sections, settings["chunk_tokens"],
                            min(settings["chunk_overlap"], settings["chunk_tokens"] // 2))
    rows: list[ChunkRow] = []
    for chunk in chunks:
        spans = find_pii(chunk.text, rules)
        if spans:
            text, _ = redacted_chunk(chunk.text, "text", {}, spans)
            tokens = count_tokens(text)
        else:
            text, tokens = chunk.text, chunk.token_count
        rows.append(ChunkRow("text", chunk.section, chunk.page, chunk.text, text, tokens, {},
                             spans))
    meta = {**extraction.meta, "warnings": extraction.warnings}
    return Prepared(rows, extraction.pages, meta, extraction.warnings)


def prepare_tickets(data: bytes, name: str, fmt: str, mapping: TicketMapping | None,
                    rules: Any) -> Prepared:
    """One ticket chunk per row; the meta holds only redacted copies of the fields."""
    from core.documents.redact import apply_redactions, find_pii

    if mapping is None:
        mapping = guess_ticket_mapping(read_table(data, name, fmt).columns)
        if mapping is None:
            raise DocumentError(
                f"{name}: cannot tell which columns hold the customer message and the agent "
                "reply; choose the columns.",
                "Pick them in the Documents step's ticket mapping, or name the columns "
                "customer_message and agent_reply.")
    tickets, table = read_tickets(data, name, fmt, mapping)
    rows: list[ChunkRow] = []
    for ticket in tickets:
        original, offsets = ticket_text(ticket)
        spans = find_pii(original, rules)
        meta = {"ticket_id": ticket.ticket_id, "date": ticket.date, "role": ticket.role,
                "subject": apply_redactions(ticket.subject, find_pii(ticket.subject, rules)),
                "customer_message": "", "agent_reply": "", "row": ticket.row,
                "field_offsets": offsets}
        text, meta = redacted_chunk(original, "ticket", meta, spans)
        rows.append(ChunkRow("ticket", ticket.subject and meta["subject"], ticket.row, original,
                             text, count_tokens(text), meta, spans))
    meta = {**table.meta, "ticket_mapping": mapping.to_dict(), "warnings": table.warnings}
    return Prepared(rows, len(tickets), meta, table.warnings)


def redacted_chunk(original_text: str, kind: str, meta: dict[str, Any],
                   spans: list[Any]) -> tuple[str, dict[str, Any]]:
    """The redacted chunk text, and for a ticket its redacted field copies in ``meta``."""
    from core.documents.redact import Span, apply_redactions

    text = apply_redactions(original_text, spans)
    if kind != "ticket":
        return text, meta
    meta = dict(meta)
    for fieldname, (start, end) in meta.get("field_offsets", {}).items():
        inside = [Span(s.kind, max(s.start, start) - start, min(s.end, end) - start,
                       original_text[max(s.start, start):min(s.end, end)])
                  for s in spans if s.start < end and start < s.end]
        meta[fieldname] = apply_redactions(original_text[start:end], inside)
    return text, meta
