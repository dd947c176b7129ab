"""Examples and pairs for the review table: list, filter, edit, accept / reject, summarise.

Statuses: ``kept`` (passed the gates, not reviewed), ``accepted`` / ``rejected`` (the
operator's decision), ``dropped`` (a gate rejected it; ``gate`` and ``reason`` say why).
Training uses kept and accepted items. Every change is one transaction; edits recompute the
Flesch score and mark the row edited, so a later export knows what a person wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import ValidationError
from core.readability import flesch_reading_ease

STATUSES = ("kept", "accepted", "rejected", "dropped")
USABLE = ("kept", "accepted")
HISTOGRAM_BINS = tuple(range(0, 101, 10))


@dataclass
class ExampleRow:
    id: int
    source: str
    role: str
    messages: list[dict[str, str]]
    status: str
    gate: str | None
    reason: str | None
    flesch: float | None
    grounding: float | None
    intent: str | None
    analysis: str | None
    chunk_id: int | None
    chunk2_id: int | None
    document_id: int | None
    document: str | None
    section: str | None
    scores: dict[str, Any]
    template: str | None
    teacher: str | None
    seed: int | None
    edited: bool
    created_at: str
    updated_at: str

    @property
    def question(self) -> str:
        return next((m["content"] for m in self.messages if m["role"] != "assistant"), "")

    @property
    def answer(self) -> str:
        return next((m["content"] for m in reversed(self.messages)
                     if m["role"] == "assistant"), "")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(question=self.question, answer=self.answer)
        return data


@dataclass
class PairRow:
    id: int
    example_id: int | None
    source: str
    role: str
    prompt: list[dict[str, str]]
    chosen: str
    rejected: str
    status: str
    decided_by: str | None
    scores: dict[str, Any]
    document: str | None
    template: str | None
    teacher: str | None
    edited: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_EXAMPLE_SELECT = (
    "SELECT e.*, c.document_id AS document_id, d.name AS document, c.section AS section "
    "FROM examples e LEFT JOIN chunks c ON c.id = e.chunk_id "
    "LEFT JOIN documents d ON d.id = c.document_id")


def _where(role: str | None = None, document_id: int | None = None, intent: str | None = None,
           source: str | None = None, status: str | Sequence[str] | None = None,
           flesch_min: float | None = None, flesch_max: float | None = None,
           search: str | None = None, alias: str = "e") -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if role:
        clauses.append(f"{alias}.role = ?")
        params.append(role)
    if document_id is not None:
        clauses.append("c.document_id = ?")
        params.append(document_id)
    if intent:
        clauses.append(f"{alias}.intent = ?")
        params.append(intent)
    if source:
        clauses.append(f"{alias}.source = ?")
        params.append(source)
    if status:
        wanted = [status] if isinstance(status, str) else list(status)
        for value in wanted:
            _check_status(value)
        clauses.append(f"{alias}.status IN ({', '.join('?' * len(wanted))})")
        params += wanted
    if flesch_min is not None:
        clauses.append(f"{alias}.flesch >= ?")
        params.append(flesch_min)
    if flesch_max is not None:
        clauses.append(f"{alias}.flesch < ?")
        params.append(flesch_max)
    if search:
        clauses.append(f"{alias}.messages LIKE ?")
        params.append(f"%{search}%")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_examples(project: Any, *, role: str | None = None, document_id: int | None = None,
                  intent: str | None = None, source: str | None = None,
                  status: str | Sequence[str] | None = None, flesch_min: float | None = None,
                  flesch_max: float | None = None, search: str | None = None,
                  limit: int | None = None, offset: int = 0) -> list[ExampleRow]:
    """Examples matching every given filter, oldest first (the order they were made)."""
    where, params = _where(role, document_id, intent, source, status, flesch_min, flesch_max,
                           search)
    sql = f"{_EXAMPLE_SELECT}{where} ORDER BY e.id"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [int(limit), int(offset)]
    return [_example(row) for row in project.store.query(sql, tuple(params))]


def count_examples(project: Any, **filters: Any) -> int:
    where, params = _where(**filters)
    sql = ("SELECT COUNT(*) FROM examples e LEFT JOIN chunks c ON c.id = e.chunk_id" + where)
    return int(project.store.query(sql, tuple(params))[0][0])


def get_example(project: Any, example_id: int) -> ExampleRow:
    rows = project.store.query(f"{_EXAMPLE_SELECT} WHERE e.id = ?", (int(example_id),))
    if not rows:
        raise ValidationError("example", f"Example {example_id} does not exist (any more).",
                              "Refresh the list: it may have been removed with its document.")
    return _example(rows[0])


def source_chunks(project: Any, example_id: int) -> list[dict[str, Any]]:
    """The (redacted) chunks an example was made from, to show beside it."""
    example = get_example(project, example_id)
    ids = [i for i in (example.chunk_id, example.chunk2_id) if i is not None]
    out = []
    for chunk_id in ids:
        rows = project.store.query(
            "SELECT c.id, c.document_id, d.name AS document, c.section, c.page, c.text "
            "FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?", (chunk_id,))
        out += [dict(row) for row in rows]
    return out


def edit_turn(project: Any, example_id: int, turn: int, content: str) -> ExampleRow:
    """Replace the text of one turn (0 = the first customer turn); marks the row edited."""
    example = get_example(project, example_id)
    if not 0 <= turn < len(example.messages):
        raise ValidationError("turn", f"Example {example_id} has no turn {turn} "
                              f"(it has {len(example.messages)}).", "Choose an existing turn.")
    text = content.strip()
    if not text:
        raise ValidationError("content", "A turn cannot be empty.",
                              "Type the text, or reject the example instead.")
    messages = [dict(m) for m in example.messages]
    messages[turn]["content"] = text
    flesch = _answers_flesch(messages)
    with project.store.transaction() as conn:
        conn.execute(
            "UPDATE examples SET messages = ?, flesch = ?, edited = 1, "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
            (json.dumps(messages, ensure_ascii=False), flesch, example.id))
    return get_example(project, example.id)


def set_status(project: Any, ids: Iterable[int], status: str) -> int:
    """Set the status of many examples at once; returns how many changed."""
    _check_status(status)
    wanted = [int(i) for i in ids]
    if not wanted:
        return 0
    with project.store.transaction() as conn:
        cursor = conn.execute(
            f"UPDATE examples SET status = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
            f" WHERE id IN ({', '.join('?' * len(wanted))}) AND status != ?",
            (status, *wanted, status))
        return int(cursor.rowcount)


def accept(project: Any, ids: Iterable[int]) -> int:
    return set_status(project, ids, "accepted")


def reject(project: Any, ids: Iterable[int]) -> int:
    return set_status(project, ids, "rejected")


# --- pairs ------------------------------------------------------------------------------
def list_pairs(project: Any, *, source: str | None = None, role: str | None = None,
               status: str | Sequence[str] | None = None, document_id: int | None = None,
               limit: int | None = None, offset: int = 0) -> list[PairRow]:
    where, params = _where(role=role, source=source, status=status, document_id=document_id,
                           alias="p")
    sql = ("SELECT p.*, d.name AS document FROM pairs p LEFT JOIN chunks c ON c.id = p.chunk_id"
           f" LEFT JOIN documents d ON d.id = c.document_id{where} ORDER BY p.id")
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [int(limit), int(offset)]
    return [_pair(row) for row in project.store.query(sql, tuple(params))]


def edit_pair(project: Any, pair_id: int, *, chosen: str | None = None,
              rejected: str | None = None) -> PairRow:
    rows = project.store.query("SELECT id FROM pairs WHERE id = ?", (int(pair_id),))
    if not rows:
        raise ValidationError("pair", f"Pair {pair_id} does not exist (any more).",
                              "Refresh the list.")
    given = {k: v for k, v in (("chosen", chosen), ("rejected", rejected)) if v is not None}
    if not given:
        raise ValidationError("content", "Nothing to change: no new answer was given.",
                              "Type the new text.")
    updates = {k: v.strip() for k, v in given.items()}
    blank = [k for k, v in updates.items() if not v]
    if blank:
        raise ValidationError(blank[0], f"The {blank[0]} answer cannot be empty.",
                              "Type the text, or reject the pair instead.")
    with project.store.transaction() as conn:
        for column, value in updates.items():
            conn.execute(f"UPDATE pairs SET {column} = ?, edited = 1, "
                         "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
                         (value, int(pair_id)))
    return list_pairs_by_id(project, [int(pair_id)])[0]


def list_pairs_by_id(project: Any, ids: list[int]) -> list[PairRow]:
    if not ids:
        return []
    rows = project.store.query(
        "SELECT p.*, d.name AS document FROM pairs p LEFT JOIN chunks c ON c.id = p.chunk_id "
        f"LEFT JOIN documents d ON d.id = c.document_id WHERE p.id IN "
        f"({', '.join('?' * len(ids))}) ORDER BY p.id", tuple(ids))
    return [_pair(row) for row in rows]


def set_pair_status(project: Any, ids: Iterable[int], status: str) -> int:
    _check_status(status)
    wanted = [int(i) for i in ids]
    if not wanted:
        return 0
    with project.store.transaction() as conn:
        cursor = conn.execute(
            f"UPDATE pairs SET status = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
            f"WHERE id IN ({', '.join('?' * len(wanted))}) AND status != ?",
            (status, *wanted, status))
        return int(cursor.rowcount)


# --- summaries ----------------------------------------------------------------------------
def summary(project: Any) -> dict[str, Any]:
    """Counts for the summary panel, the yield per source and the rejections per gate."""
    query = project.store.query
    total = int(query("SELECT COUNT(*) FROM examples")[0][0])
    usable = "e.status IN ('kept', 'accepted')"
    by_status = {s: 0 for s in STATUSES}
    by_status.update({r[0]: r[1] for r in query(
        "SELECT status, COUNT(*) FROM examples GROUP BY status")})
    by_source = {}
    for row in query("SELECT source, COUNT(*) AS items, SUM(status IN ('kept', 'accepted')) "
                     "AS kept FROM examples GROUP BY source ORDER BY source"):
        items, kept = int(row["items"]), int(row["kept"] or 0)
        by_source[row["source"]] = {"items": items, "kept": kept, "dropped": items - kept,
                                    "yield": round(kept / items, 3) if items else 0.0}
    gates_rows = query("SELECT gate, COUNT(*) FROM examples WHERE status = 'dropped' "
                       "GROUP BY gate ORDER BY COUNT(*) DESC")
    rejected_by_gate = {(r[0] or "other"): {"count": r[1],
                                            "share": round(r[1] / total, 3) if total else 0.0}
                        for r in gates_rows}
    scores = [r[0] for r in query(f"SELECT e.flesch FROM examples e WHERE {usable} "
                                  "AND e.flesch IS NOT NULL")]
    counts = [0] * (len(HISTOGRAM_BINS) - 1)
    for score in scores:
        index = min(max(int(score // 10), 0), len(counts) - 1)
        counts[index] += 1
    work = {r[0]: r[1] for r in query("SELECT status, COUNT(*) FROM generation_work "
                                      "GROUP BY status")}
    pair_total = int(query("SELECT COUNT(*) FROM pairs")[0][0])
    return {
        "examples": {"total": total, "by_status": by_status,
                     "usable": by_status["kept"] + by_status["accepted"]},
        "by_role": _grouped(query, f"SELECT e.role, COUNT(*) FROM examples e WHERE {usable} "
                                   "GROUP BY e.role"),
        "by_document": _grouped(query, "SELECT COALESCE(d.name, '(no document)'), COUNT(*) "
                                       "FROM examples e LEFT JOIN chunks c ON c.id = e.chunk_id "
                                       "LEFT JOIN documents d ON d.id = c.document_id "
                                       f"WHERE {usable} GROUP BY 1"),
        "by_intent": _grouped(query, "SELECT COALESCE(e.intent, '(none)'), COUNT(*) FROM "
                                     f"examples e WHERE {usable} GROUP BY 1"),
        "by_source": by_source,
        "rejected_by_gate": rejected_by_gate,
        "flesch_histogram": {"bins": list(HISTOGRAM_BINS), "counts": counts},
        "flesch_mean": round(sum(scores) / len(scores), 1) if scores else None,
        "pairs": {
            "total": pair_total,
            "usable": int(query("SELECT COUNT(*) FROM pairs WHERE status IN ('kept', "
                                "'accepted')")[0][0]),
            "by_source": _grouped(query, "SELECT source, COUNT(*) FROM pairs GROUP BY source"),
            "by_status": _grouped(query, "SELECT status, COUNT(*) FROM pairs GROUP BY status"),
            "by_decided_by": _grouped(query, "SELECT COALESCE(decided_by, '-'), COUNT(*) FROM "
                                             "pairs GROUP BY 1"),
        },
        "work": {"planned": sum(work.values()), "done": work.get("done", 0),
                 "todo": work.get("todo", 0)},
    }


def filter_options(project: Any) -> dict[str, Any]:
    """The values each filter of the review table can take."""
    query = project.store.query
    return {
        "roles": [r[0] for r in query("SELECT DISTINCT role FROM examples ORDER BY role")],
        "documents": [dict(r) for r in query(
            "SELECT DISTINCT d.id, d.name FROM examples e JOIN chunks c ON c.id = e.chunk_id "
            "JOIN documents d ON d.id = c.document_id ORDER BY d.name")],
        "intents": [r[0] for r in query("SELECT DISTINCT intent FROM examples WHERE intent "
                                        "IS NOT NULL ORDER BY intent")],
        "sources": [r[0] for r in query("SELECT DISTINCT source FROM examples ORDER BY 1")],
        "statuses": list(STATUSES),
    }


def document_impact(project: Any, document_id: int) -> dict[str, int]:
    """What forgetting a document would remove from this step (for the confirm dialog)."""
    examples = project.store.query(
        "SELECT COUNT(*) FROM examples WHERE chunk_id IN (SELECT id FROM chunks WHERE "
        "document_id = ?) OR chunk2_id IN (SELECT id FROM chunks WHERE document_id = ?)",
        (document_id, document_id))[0][0]
    pairs = project.store.query(
        "SELECT COUNT(*) FROM pairs WHERE chunk_id IN (SELECT id FROM chunks WHERE "
        "document_id = ?) OR example_id IN (SELECT id FROM examples WHERE chunk_id IN "
        "(SELECT id FROM chunks WHERE document_id = ?) OR chunk2_id IN (SELECT id FROM "
        "chunks WHERE document_id = ?))", (document_id, document_id, document_id))[0][0]
    return {"examples": int(examples), "pairs": int(pairs)}


def forget_generated(project: Any, *, keep_reviewed: bool = True) -> dict[str, int]:
    """Start generation over: the work list and generated items (reviewed ones kept)."""
    keep = "status IN ('accepted', 'rejected') OR source = 'import'" if keep_reviewed else \
        "source = 'import'"
    with project.store.transaction() as conn:
        before = conn.execute("SELECT COUNT(*) FROM pairs").fetchone()[0]
        examples = conn.execute(f"DELETE FROM examples WHERE NOT ({keep})").rowcount
        pairs = before - conn.execute("SELECT COUNT(*) FROM pairs").fetchone()[0]
        work = conn.execute("DELETE FROM generation_work").rowcount
    return {"examples": int(examples), "pairs": int(pairs), "work": int(work)}


# --- helpers ------------------------------------------------------------------------------
def _grouped(query: Any, sql: str) -> dict[str, int]:
    return {str(r[0]): int(r[1]) for r in query(sql)}


def _answers_flesch(messages: list[dict[str, str]]) -> float | None:
    from core.conversations.intents import strip_hidden

    scores = [flesch_reading_ease(strip_hidden(m["content"])) for m in messages
              if m["role"] == "assistant" and m["content"].strip()]
    return round(min(scores), 1) if scores else None


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValidationError("status", f"Unknown status {status!r}.",
                              f"Use one of: {', '.join(STATUSES)}.")


def _example(row: Any) -> ExampleRow:
    return ExampleRow(
        id=row["id"], source=row["source"], role=row["role"],
        messages=json.loads(row["messages"]), status=row["status"], gate=row["gate"],
        reason=row["reason"], flesch=row["flesch"], grounding=row["grounding"],
        intent=row["intent"], analysis=row["analysis"], chunk_id=row["chunk_id"],
        chunk2_id=row["chunk2_id"], document_id=row["document_id"], document=row["document"],
        section=row["section"], scores=json.loads(row["scores"] or "{}"),
        template=row["template"], teacher=row["teacher"], seed=row["seed"],
        edited=bool(row["edited"]), created_at=row["created_at"], updated_at=row["updated_at"])


def _pair(row: Any) -> PairRow:
    return PairRow(
        id=row["id"], example_id=row["example_id"], source=row["source"], role=row["role"],
        prompt=json.loads(row["prompt"]), chosen=row["chosen"], rejected=row["rejected"],
        status=row["status"], decided_by=row["decided_by"],
        scores=json.loads(row["scores"] or "{}"), document=row["document"],
        template=row["template"], teacher=row["teacher"], edited=bool(row["edited"]))
