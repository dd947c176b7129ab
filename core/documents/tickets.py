"""Support-ticket exports (CSV, JSON, JSONL): columns, a guessed mapping, and the tickets.

Exports from help desks differ in delimiter, encoding and column names, so the delimiter is
sniffed, the encoding detected, and the columns matched by name; the operator confirms or
changes the mapping. A malformed row is reported by its number and skipped; the good rows
still import.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.documents.formats import DocumentError, decode_text, format_of

CUSTOMER_PREFIX = "Customer: "
AGENT_PREFIX = "\nAgent: "
_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024

# Column names that usually hold each field, best first (compared after normalising).
_CANDIDATES: dict[str, tuple[str, ...]] = {
    "customer_message": ("customer_message", "message", "body", "question", "customer_text",
                         "customer_query", "request", "query", "inquiry", "enquiry",
                         "description", "issue", "content", "text", "comment"),
    "agent_reply": ("agent_reply", "reply", "answer", "response", "agent_response",
                    "agent_message", "support_reply", "staff_reply", "resolution", "agent"),
    "ticket_id": ("ticket_id", "id", "ticket", "ticket_number", "case_id", "case_number",
                  "number", "reference", "ref"),
    "date": ("created_at", "date", "created", "created_date", "timestamp", "submitted_at",
             "opened_at", "time"),
    "role": ("customer_role", "role", "customer_type", "user_type", "persona", "segment"),
    "subject": ("subject", "title", "summary", "topic"),
}


@dataclass
class TicketMapping:
    """Which column (CSV) or key (JSON) holds each ticket field."""

    customer_message: str
    agent_reply: str
    ticket_id: str | None = None
    date: str | None = None
    role: str | None = None
    subject: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TicketMapping:
        known = {k: data.get(k) for k in _CANDIDATES if data.get(k)}
        return cls(**known)


@dataclass
class Ticket:
    row: int  # spreadsheet row (header = 1), JSON record number or JSONL line
    customer_message: str
    agent_reply: str
    ticket_id: str = ""
    date: str = ""
    role: str = ""
    subject: str = ""


@dataclass
class TicketTable:
    columns: list[str]
    records: list[tuple[int, dict[str, str]]]
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    unit: str = "row"  # what a record's number counts: row, record (JSON) or line (JSONL)


def ticket_columns(path: str | Path) -> list[str]:
    """The header of a CSV, or the keys of the records of a JSON/JSONL export."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path.name} cannot be read ({exc.strerror or exc}).",
                            "Check that the file exists and that you may read it.") from exc
    return read_table(data, path.name, format_of(path)).columns


def guess_ticket_mapping(columns: list[str]) -> TicketMapping | None:
    """A mapping from familiar column names; None unless a message and a reply are found."""
    normalised = {col: _normalise(col) for col in columns}
    chosen: dict[str, str] = {}
    for exact in (True, False):
        for fieldname, candidates in _CANDIDATES.items():
            if fieldname in chosen:
                continue
            for candidate in candidates:
                match = next((col for col, norm in normalised.items()
                              if col not in chosen.values()
                              and (norm == candidate if exact else _contains(norm, candidate))),
                             None)
                if match is not None:
                    chosen[fieldname] = match
                    break
    if "customer_message" not in chosen or "agent_reply" not in chosen:
        return None
    return TicketMapping(**chosen)


def read_table(data: bytes, name: str, fmt: str) -> TicketTable:
    if not data.strip():
        raise DocumentError(f"{name} is empty.", "Export the tickets again.")
    text, encoding = decode_text(data, name)
    if fmt == "csv":
        table = _read_csv(text, name)
    elif fmt == "json":
        table = _read_json(text, name)
    elif fmt == "jsonl":
        table = _read_jsonl(text, name)
    else:
        raise DocumentError(f"{name} is not a ticket export (CSV, JSON or JSONL).",
                            "Import it as a document instead.")
    table.meta["encoding"] = encoding
    if not table.columns:
        raise DocumentError(f"{name} has no columns.", "Export the tickets again, with a header.")
    return table


def read_tickets(data: bytes, name: str, fmt: str,
                 mapping: TicketMapping) -> tuple[list[Ticket], TicketTable]:
    table = read_table(data, name, fmt)
    missing = [c for c in mapping.to_dict().values() if c and c not in table.columns]
    if missing:
        raise DocumentError(
            f"{name} has no column {', '.join(repr(c) for c in missing)} "
            f"(its columns: {', '.join(table.columns)}).", "Choose the columns again.")
    tickets: list[Ticket] = []
    no_message: list[int] = []
    for row, record in table.records:

        def get(column: str | None, rec: dict[str, str] = record) -> str:
            return rec.get(column, "").strip() if column else ""

        message = get(mapping.customer_message)
        if not message:
            no_message.append(row)
            continue
        tickets.append(Ticket(row, message, get(mapping.agent_reply), get(mapping.ticket_id),
                              get(mapping.date), get(mapping.role), get(mapping.subject)))
    if no_message:
        verb = "has" if len(no_message) == 1 else "have"
        table.warnings.append(f"{_rows(no_message, table.unit)} {verb} no customer message; "
                              "skipped")
    if not tickets:
        raise DocumentError(f"{name} has no tickets with a customer message in column "
                            f"'{mapping.customer_message}'.", "Choose the columns again.")
    return tickets, table


def ticket_text(ticket: Ticket) -> tuple[str, dict[str, list[int]]]:
    """The chunk text "Customer: ...\\nAgent: ..." and where each field sits in it."""
    start = len(CUSTOMER_PREFIX)
    text = CUSTOMER_PREFIX + ticket.customer_message
    offsets = {"customer_message": [start, len(text)]}
    if ticket.agent_reply:
        text += AGENT_PREFIX
        offsets["agent_reply"] = [len(text), len(text) + len(ticket.agent_reply)]
        text += ticket.agent_reply
    return text, offsets


# --- readers ------------------------------------------------------------------------
def _read_csv(text: str, name: str) -> TicketTable:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # one ticket may be a long thread
    delimiter = _sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise DocumentError(f"{name} is not a readable CSV file ({exc}).",
                            "Export the tickets again as CSV (UTF-8).") from exc
    while rows and not any(cell.strip() for cell in rows[0]):
        rows.pop(0)
    if not rows:
        raise DocumentError(f"{name} has no rows.", "Export the tickets again.")
    header = [cell.strip() for cell in rows[0]]
    columns = _unique(header)
    records: list[tuple[int, dict[str, str]]] = []
    ragged: list[int] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            ragged.append(number)
            continue
        records.append((number, dict(zip(columns, row, strict=True))))
    warnings = []
    if ragged:
        warnings.append(f"{_rows(ragged)} {'has' if len(ragged) == 1 else 'have'} the wrong "
                        f"number of fields (expected {len(header)}); skipped")
    return TicketTable(columns, records, warnings, {"delimiter": delimiter})


def _sniff_delimiter(text: str) -> str:
    sample = text[:_SNIFF_BYTES]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample.splitlines() else ""
        return max(_DELIMITERS, key=lambda d: (first.count(d), d == ","))


def _read_json(text: str, name: str) -> TicketTable:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{name} is not valid JSON (line {exc.lineno}: {exc.msg}).",
                            "Export the tickets again; JSON Lines files should end in .jsonl."
                            ) from exc
    if isinstance(data, dict):  # {"tickets": [...]} and similar wrappers
        data = next((v for v in data.values() if isinstance(v, list)), [data])
    if not isinstance(data, list):
        raise DocumentError(f"{name} holds no list of tickets.",
                            "Export the tickets as a JSON list of objects.")
    pairs = [(i, item) for i, item in enumerate(data, start=1)]
    return _records_table(pairs, "record", name)


def _read_jsonl(text: str, name: str) -> TicketTable:
    pairs: list[tuple[int, Any]] = []
    bad: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            pairs.append((number, json.loads(line)))
        except json.JSONDecodeError:
            bad.append(number)
    if bad and not pairs:
        raise DocumentError(f"{name} is not valid JSON Lines (line {bad[0]} is not JSON).",
                            "Export the tickets again as JSON Lines: one object per line.")
    table = _records_table(pairs, "line", name)
    if bad:
        table.warnings.insert(0, f"{_rows(bad, 'line')} {'is' if len(bad) == 1 else 'are'} "
                                 "not valid JSON; skipped")
    return table


def _records_table(pairs: list[tuple[int, Any]], unit: str, name: str) -> TicketTable:
    columns: dict[str, None] = {}
    records: list[tuple[int, dict[str, str]]] = []
    not_objects: list[int] = []
    for number, item in pairs:
        if not isinstance(item, dict):
            not_objects.append(number)
            continue
        record = {str(k): _scalar(v) for k, v in item.items()}
        columns.update(dict.fromkeys(record))
        records.append((number, record))
    warnings = []
    if not_objects:
        warnings.append(f"{_rows(not_objects, unit)} {'is' if len(not_objects) == 1 else 'are'} "
                        "not an object; skipped")
    if not records:
        raise DocumentError(f"{name} holds no ticket objects.",
                            "Export the tickets as objects with named fields.")
    return TicketTable(list(columns), records, warnings, unit=unit)


# --- helpers ------------------------------------------------------------------------
def _unique(header: list[str]) -> list[str]:
    """Header names made unique ("text", "text (2)") so no column hides another."""
    seen: dict[str, int] = {}
    out = []
    for i, column in enumerate(header):
        base = column or f"column {i + 1}"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base} ({seen[base]})")
    return out


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _normalise(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")


def _contains(normalised: str, candidate: str) -> bool:
    if "_" in candidate:
        return candidate in normalised
    return len(candidate) > 3 and candidate in normalised.split("_")


def _rows(numbers: list[int], unit: str = "row", limit: int = 10) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return f"{unit}{'s' if len(numbers) > 1 else ''} {shown}{more}"
