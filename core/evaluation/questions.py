"""The evaluation question set: generated conversations held out of training, plus the
operator's own questions (typed, or imported from JSON Lines).

Held-out questions keep a link to their conversation (``eval_questions.example_id``), so
training can leave those conversations out: a model is never scored on a question it learnt.
The selection is seeded and stable: each usable conversation gets a rank from
sha256(seed, id), and the lowest-ranked share of each customer role is held out. Running it
again after more conversations were made only adds (holding back the same share of the new
total); a conversation once held out stays held out, because a model trained without it may
already exist.

``in_scope`` false means "the assistant should not answer this itself": off-topic questions
and requests only a person can carry out (refunds, account changes). The escalation metrics
read it. A held-out in-scope question's ``must_contain`` is the figures of its reference
answer (fees, days, percentages), which the conversation gates checked against the documents.

Question file (JSONL), one object per line::

    {"question": "What is the late rent fee?", "reference": "It is £30 ...", "role": "tenant",
     "intent": "fees_and_payments", "in_scope": true, "must_contain": ["£30", "14 days"]}

Only ``question`` is required. Importing the same question (and role) again updates it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ValidationError

HELD_OUT = "held_out"
OPERATOR = "operator"
# The conversations training must leave out: ``examples.id NOT IN (HELD_OUT_IDS_SQL)``.
HELD_OUT_IDS_SQL = "SELECT example_id FROM eval_questions WHERE example_id IS NOT NULL"
MAX_QUESTION_CHARS = 2000
_FIELDS = {"question", "reference", "role", "intent", "in_scope", "must_contain"}
_ESCALATION_SOURCES = ("off_topic", "account")
_MAX_ERRORS = 5


@dataclass(frozen=True)
class EvalQuestion:
    id: int
    source: str  # held_out | operator
    question: str
    reference: str | None
    role: str
    intent: str | None
    in_scope: bool
    must_contain: list[str] = field(default_factory=list)
    example_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HoldOutResult:
    added: int  # newly held out by this call
    held_out: int  # held out in all
    usable: int  # usable conversations (held out or not)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class ImportResult:
    path: str
    added: int
    updated: int
    ids: list[int]  # the file's questions, in file order

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- held out -----------------------------------------------------------------------------
def hold_out(project: Any, share: float = 0.1, seed: int = 42) -> HoldOutResult:
    """Hold out ``share`` of the usable conversations of each customer role (at least one
    per role that has two or more) as evaluation questions; see the module docstring."""
    if not 0 < share < 1:
        raise ValidationError("share", f"The held-out share must be between 0 and 1, not "
                              f"{share}.", "Hold out a small share, for example 0.1 (10%).")
    from core.conversations.store import USABLE

    rows = project.store.query(
        f"SELECT e.id, e.source, e.role, e.messages, e.intent, q.id AS question_id "
        f"FROM examples e LEFT JOIN eval_questions q ON q.example_id = e.id "
        f"WHERE e.status IN ({', '.join('?' * len(USABLE))})", tuple(USABLE))
    by_role: dict[str, list[Any]] = {}
    for row in rows:
        if _first_exchange(row["messages"]) is not None:
            by_role.setdefault(row["role"], []).append(row)
    picked: list[Any] = []
    for group in by_role.values():
        target = math.ceil(share * len(group)) if len(group) >= 2 else 0
        already = sum(1 for r in group if r["question_id"] is not None)
        fresh = sorted((r for r in group if r["question_id"] is None),
                       key=lambda r: _rank(seed, r["id"]))
        picked += fresh[:max(0, target - already)]
    with project.store.transaction() as conn:
        for row in picked:
            question, answer = _first_exchange(row["messages"]) or ("", "")
            in_scope = row["source"] not in _ESCALATION_SOURCES
            facts = _reference_figures(answer) if in_scope else []
            conn.execute(
                "INSERT INTO eval_questions (source, example_id, question, reference, role, "
                "intent, in_scope, must_contain) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (HELD_OUT, row["id"], question, answer, row["role"], row["intent"],
                 int(in_scope), json.dumps(facts, ensure_ascii=False)))
    total = project.store.query(
        "SELECT COUNT(*) FROM eval_questions WHERE source = ?", (HELD_OUT,))[0][0]
    usable = sum(len(g) for g in by_role.values())
    return HoldOutResult(added=len(picked), held_out=int(total), usable=usable)


def held_out_example_ids(project: Any) -> set[int]:
    """The conversations kept out of training."""
    return {int(r[0]) for r in project.store.query(HELD_OUT_IDS_SQL)}


# --- operator questions -------------------------------------------------------------------
def add_question(project: Any, question: str, *, reference: str | None = None,
                 role: str | None = None, intent: str | None = None, in_scope: bool = True,
                 must_contain: Sequence[str] = ()) -> EvalQuestion:
    """Add (or update, for the same question and role) one operator question."""
    data = {"question": question, "reference": reference, "role": role, "intent": intent,
            "in_scope": in_scope, "must_contain": list(must_contain)}
    try:
        row = _checked(data, _roles(project))
    except ValueError as exc:
        raise ValidationError("question", f"{exc}.", "Correct the question and try again.") \
            from None
    ids, _ = _upsert(project, [row])
    return get_questions(project, ids)[0]


def import_questions(project: Any, path: str | os.PathLike[str]) -> ImportResult:
    """Add or update every question of a JSONL file; nothing is stored if any line is bad."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("questions", f"Cannot read {file}: {exc}.",
                              "Choose a UTF-8 JSON Lines file (.jsonl).") from exc
    roles = _roles(project)
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            errors.append(f"line {number}: not valid JSON ({exc.args[0].split(':')[0]})")
            continue
        try:
            rows.append(_checked(data, roles))
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
    if errors:
        more = f" (and {len(errors) - _MAX_ERRORS} more)" if len(errors) > _MAX_ERRORS else ""
        raise ValidationError("questions", f"{file.name}: " + "; ".join(errors[:_MAX_ERRORS])
                              + more + ".", _FILE_HINT)
    if not rows:
        raise ValidationError("questions", f"{file.name} holds no questions.", _FILE_HINT)
    ids, updated = _upsert(project, rows)
    return ImportResult(str(file), added=len(set(ids)) - updated, updated=updated, ids=ids)


def list_questions(project: Any, source: str | None = None) -> list[EvalQuestion]:
    """Every evaluation question (held out first, then the operator's), oldest first."""
    sql = "SELECT * FROM eval_questions"
    params: tuple[Any, ...] = ()
    if source is not None:
        if source not in (HELD_OUT, OPERATOR):
            raise ValidationError("source", f"Unknown question source {source!r}.",
                                  f"Use {HELD_OUT!r} or {OPERATOR!r}.")
        sql += " WHERE source = ?"
        params = (source,)
    return [_question(r) for r in project.store.query(sql + " ORDER BY source, id", params)]


def get_questions(project: Any, ids: Iterable[int]) -> list[EvalQuestion]:
    """The questions with these ids, in the order given (unknown ids are an error)."""
    wanted = [int(i) for i in ids]
    if not wanted:
        return []
    rows = project.store.query(
        f"SELECT * FROM eval_questions WHERE id IN ({', '.join('?' * len(wanted))})",
        tuple(wanted))
    found = {r["id"]: _question(r) for r in rows}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise ValidationError("questions", f"There is no evaluation question {missing[0]}.",
                              "Choose questions from the list.")
    return [found[i] for i in wanted]


def remove_questions(project: Any, ids: Iterable[int]) -> int:
    """Delete questions and their stored answers; a held-out conversation returns to
    training."""
    wanted = [int(i) for i in ids]
    if not wanted:
        return 0
    with project.store.transaction() as conn:
        return conn.execute(
            f"DELETE FROM eval_questions WHERE id IN ({', '.join('?' * len(wanted))})",
            wanted).rowcount


# --- helpers ------------------------------------------------------------------------------
_FILE_HINT = ('Each line must be a JSON object like {"question": "...", "reference": "...", '
              '"role": "tenant", "intent": "...", "in_scope": true, "must_contain": ["£30"]}; '
              'only "question" is required.')


def _checked(data: Any, roles: list[str]) -> dict[str, Any]:
    """One question, validated; ValueError says what is wrong in plain words."""
    if not isinstance(data, dict):
        raise ValueError("a line must be a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown field '{unknown[0]}' (fields: {', '.join(sorted(_FIELDS))})")
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("'question' must be a non-empty text")
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(f"'question' is longer than {MAX_QUESTION_CHARS} characters")
    reference = data.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise ValueError("'reference' must be a text")
    role = data.get("role") or roles[0]
    if role == "user":
        role = roles[0]
    if role not in roles:
        raise ValueError(f"role '{role}' is not one of the project's customer roles "
                         f"({', '.join(roles)})")
    intent = data.get("intent")
    if intent is not None and (not isinstance(intent, str) or not intent.strip()):
        raise ValueError("'intent' must be a non-empty text")
    in_scope = data.get("in_scope", True)
    if not isinstance(in_scope, bool):
        raise ValueError("'in_scope' must be true or false")
    facts = data.get("must_contain") or []
    if isinstance(facts, str):
        facts = [facts]
    if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
        raise ValueError("'must_contain' must be a list of non-empty texts")
    return {"question": question.strip(), "reference": (reference or "").strip() or None,
            "role": role, "intent": intent.strip() if intent else None,
            "in_scope": in_scope, "must_contain": [f.strip() for f in facts]}


def _upsert(project: Any, rows: list[dict[str, Any]]) -> tuple[list[int], int]:
    ids: list[int] = []
    updated = 0
    with project.store.transaction() as conn:
        for row in rows:
            values = (row["reference"], row["intent"], int(row["in_scope"]),
                      json.dumps(row["must_contain"], ensure_ascii=False))
            found = conn.execute(
                "SELECT id FROM eval_questions WHERE source = ? AND question = ? AND role = ?",
                (OPERATOR, row["question"], row["role"])).fetchone()
            if found is not None:
                conn.execute("UPDATE eval_questions SET reference = ?, intent = ?, in_scope = ?,"
                             " must_contain = ? WHERE id = ?", (*values, found[0]))
                if found[0] not in ids:
                    updated += 1
                ids.append(int(found[0]))
                continue
            cursor = conn.execute(
                "INSERT INTO eval_questions (source, question, role, reference, intent, "
                "in_scope, must_contain) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (OPERATOR, row["question"], row["role"], *values))
            ids.append(int(cursor.lastrowid))
    return ids, updated


def _roles(project: Any) -> list[str]:
    return list(project.profile().customer_roles) or ["user"]


def _first_exchange(messages_json: str) -> tuple[str, str] | None:
    try:
        messages = json.loads(messages_json)
    except ValueError:
        return None
    question = next((m.get("content", "") for m in messages if m.get("role") != "assistant"),
                    "")
    answer = next((m.get("content", "") for m in messages if m.get("role") == "assistant"), "")
    return (question.strip(), answer.strip()) if question.strip() and answer.strip() else None


def _reference_figures(answer: str) -> list[str]:
    from core.conversations.text import figures

    # "a day" is a figure to the gates, but no fact worth checking: digits only.
    return list(dict.fromkeys(f.text.strip() for f in figures(answer)
                              if any(c.isdigit() for c in f.text)))


def _rank(seed: int, example_id: int) -> str:
    return hashlib.sha256(f"{seed}:{example_id}".encode()).hexdigest()


def _question(row: Any) -> EvalQuestion:
    return EvalQuestion(id=int(row["id"]), source=row["source"], question=row["question"],
                        reference=row["reference"], role=row["role"], intent=row["intent"],
                        in_scope=bool(row["in_scope"]),
                        must_contain=list(json.loads(row["must_contain"] or "[]")),
                        example_id=row["example_id"])
