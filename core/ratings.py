"""What people said of answers, kept in the project for the rating step and the next IPO round.

The in-app chat records a thumbs up or down on an answer; the rating step adds blind A/B
choices and 1-5 scales. Each rating keeps the whole question (the conversation up to the
customer's last turn, as JSON) and the answer the customer saw, so a preferred and a
rejected answer to the same question can later become a preference pair without the model
or the chat being around.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import ValidationError

KINDS = ("thumbs", "ab", "scale")


@dataclass(frozen=True)
class Rating:
    id: int
    kind: str
    source: str
    rater: str
    role: str
    prompt: list[dict[str, str]]
    model: str
    answer: str
    value: int | None
    passages: list[Any] = field(default_factory=list)
    created_at: str = ""


def rate_answer(project: Any, *, prompt: Sequence[dict[str, str]], role: str, model: str,
                answer: str, up: bool, passages: Sequence[Any] = (), rater: str = "",
                source: str = "chat") -> int:
    """Record a thumbs up (``up``) or down for one answer; return the rating's id.

    Rating the same answer to the same question again changes the earlier rating instead of
    adding a second one: a click on the other thumb is a change of mind, not a new vote.
    """
    messages = _checked_prompt(prompt)
    if not answer.strip():
        raise ValidationError("answer", "There is no answer to rate yet.",
                              "Wait for the assistant to finish answering, then rate it.")
    prompt_json = json.dumps(messages, ensure_ascii=False)
    value = 1 if up else -1
    with project.store.transaction() as conn:
        row = conn.execute(
            "SELECT id FROM ratings WHERE kind = 'thumbs' AND source = ? AND rater = ? "
            "AND model = ? AND prompt = ? AND answer = ?",
            (source, rater, model, prompt_json, answer)).fetchone()
        if row is not None:
            conn.execute("UPDATE ratings SET value = ?, used_at = NULL WHERE id = ?",
                         (value, row[0]))
            return int(row[0])
        cursor = conn.execute(
            "INSERT INTO ratings (kind, source, rater, role, prompt, model, answer, value, "
            "passages) VALUES ('thumbs', ?, ?, ?, ?, ?, ?, ?, ?)",
            (source, rater, role, prompt_json, model, answer, value,
             json.dumps(list(passages), ensure_ascii=False, default=str)))
        return int(cursor.lastrowid)


def list_ratings(project: Any, kind: str | None = None) -> list[Rating]:
    """Ratings, oldest first; only one ``kind`` when given."""
    if kind is not None and kind not in KINDS:
        raise ValidationError("kind", f"Unknown rating kind {kind!r}.",
                              f"Use one of: {', '.join(KINDS)}.")
    sql = ("SELECT id, kind, source, rater, role, prompt, model, answer, value, passages, "
           "created_at FROM ratings")
    params: tuple[Any, ...] = ()
    if kind is not None:
        sql += " WHERE kind = ?"
        params = (kind,)
    rows = project.store.query(sql + " ORDER BY id", params)
    return [Rating(id=r[0], kind=r[1], source=r[2], rater=r[3], role=r[4],
                   prompt=json.loads(r[5]), model=r[6], answer=r[7], value=r[8],
                   passages=json.loads(r[9]), created_at=r[10]) for r in rows]


def thumbs_counts(project: Any) -> dict[str, int]:
    """How many answers got a thumbs up and a thumbs down."""
    rows = project.store.query(
        "SELECT value, COUNT(*) FROM ratings WHERE kind = 'thumbs' GROUP BY value")
    counts = {"up": 0, "down": 0}
    for value, count in rows:
        counts["up" if value > 0 else "down"] += int(count)
    return counts


def _checked_prompt(prompt: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    messages = [{"role": str(m.get("role", "")), "content": str(m.get("content", ""))}
                for m in prompt]
    if not messages or messages[-1]["role"] in ("assistant", "system"):
        raise ValidationError("prompt", "A rated answer needs the customer's question.",
                              "Rate an answer in a conversation that has a question.")
    return messages
