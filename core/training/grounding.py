"""Retrieval-augmented training data: teach the model to answer from company passages.

A fine-tuned 135M model learns tone but hardly any facts (DESIGN.md, Conversations); at
answer time chat and our server put the two best passages into the system turn. So a share
of the training conversations (``grounded_ratio``) is rewritten to exactly that format: the
system turn becomes what ``core.chat.prompt.build_prompt`` makes with the passages block of
``core.retrieval.format_passages``, byte for byte. Each such row carries the passage that
holds its answer (the example's own source chunk when the conversation was written from
one, else the best relevant hit for its first customer question) and, in a seeded order,
the best other hit for that question: what chat would show beside it, often another part
of the same section, so the model learns to take the answer from the right passage and
sentence (a chunk of another section, at random, only when search finds nothing else).
A row whose question finds nothing relevant carries distractors only and is answered with
the escalation answer the chat engine gives, so the model learns to hand over when the
passages do not hold the answer. A row that hands over anyway (off-topic questions, account
requests only a person can carry out) carries distractors only too, even when its question
finds a passage: next to a passage that answers, those rows taught the 135M model to hand
over questions the passage answers (docs/decisions.md, Facts through retrieval). The other
rows stay closed-book (system prompt alone).

Preference pairs get the same passages in their prompt (shared by chosen and rejected). An
in-scope pair whose question finds nothing relevant stays closed-book: its chosen answer
cannot be turned into an escalation without losing what the pair teaches.

Grounding needs the company index. A project without documents trains closed-book, with
the reason in ``GroundingStats.skipped``: never an error.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from core.conversations.datasets import HELD_OUT, NOT_HELD_OUT_EXAMPLE
from core.errors import TalkSmallError, ValidationError

ESCALATION_SOURCES = ("off_topic", "account")  # rows whose answer already hands over
SEARCH_K = 4  # hits read per question: the relevant one, its runner-up, and those a random
#                distractor may not be
USABLE = ("kept", "accepted")  # as core.conversations.store.USABLE, which the export reads


@dataclass(frozen=True)
class RowSource:
    """Where a training row came from: the example (or pair) row and its source chunk."""

    row_id: int
    chunk_id: int | None
    source: str  # generation source (faq, ticket, off_topic, ...) or "import"
    question: str  # the first customer turn, to check the row is the exported one


@dataclass
class GroundingStats:
    """What grounding did to one set of rows; ``grounded`` counts escalation rows too."""

    kind: str = "chat"
    ratio: float = 0.0
    rows: int = 0
    grounded: int = 0  # rows that carry company passages
    escalation: int = 0  # ... of which teach the escalation answer (distractors only)
    closed_book: int = 0
    source_chunks: int = 0  # grounded in the example's own source chunk
    skipped: str = ""  # why no row was grounded ("" when grounding ran)
    details: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("details")
        return data

    def merged(self, other: GroundingStats) -> GroundingStats:
        """Both splits' counts together (the run's totals)."""
        return GroundingStats(kind=self.kind, ratio=self.ratio, rows=self.rows + other.rows,
                              grounded=self.grounded + other.grounded,
                              escalation=self.escalation + other.escalation,
                              closed_book=self.closed_book + other.closed_book,
                              source_chunks=self.source_chunks + other.source_chunks,
                              skipped=self.skipped or other.skipped)

    def message(self) -> str:
        """One log line, e.g. "Grounded 30 of 40 conversations in company passages; 4 teach
        escalation"."""
        what = "conversations" if self.kind == "chat" else "preference pairs"
        if self.skipped:
            return f"Training closed-book on {self.rows} {what}: {self.skipped}"
        verb = "teaches" if self.escalation == 1 else "teach"
        return (f"Grounded {self.grounded} of {self.rows} {what} in company passages; "
                f"{self.escalation} {verb} escalation")


def row_sources(project: Any, kind: str, rows: list[dict[str, Any]]) -> list[RowSource | None]:
    """The example (chat) or pair (preference) behind each exported row, in export order.

    The export format stays as users see it; this side query reads the same rows in the
    same order (status usable, by id) and keeps a source only where the first customer
    question matches, so a row it cannot place is still grounded, just by search alone.
    """
    if kind == "chat":
        found = project.store.query(
            f"SELECT id, chunk_id, source, messages FROM examples WHERE status IN "
            f"({', '.join('?' * len(USABLE))}) AND {NOT_HELD_OUT_EXAMPLE} ORDER BY id", USABLE)
        sources = [RowSource(r["id"], r["chunk_id"], r["source"],
                             _first_question(json.loads(r["messages"]))) for r in found]
    else:
        found = project.store.query(
            f"SELECT p.id, COALESCE(p.chunk_id, e.chunk_id) AS chunk_id, "
            f"COALESCE(e.source, p.source) AS source, p.prompt FROM pairs p "
            f"LEFT JOIN examples e ON e.id = p.example_id WHERE p.status IN "
            f"({', '.join('?' * len(USABLE))}) AND (p.example_id IS NULL OR "
            f"p.example_id NOT IN ({HELD_OUT})) ORDER BY p.id",
            USABLE)
        sources = [RowSource(r["id"], r["chunk_id"], r["source"],
                             _first_question(json.loads(r["prompt"]))) for r in found]
    if len(sources) != len(rows):
        return [None] * len(rows)
    return [src if src.question == _first_question(_turns(row)) else None
            for src, row in zip(sources, rows, strict=True)]


def ground_rows(project: Any, rows: list[dict[str, Any]], *, ratio: float, seed: int,
                k: int = 2, kind: str = "chat",
                sources: list[RowSource | None] | None = None,
                ) -> tuple[list[dict[str, Any]], GroundingStats]:
    """A seeded ``ratio`` share of ``rows`` rewritten with company passages; (rows, stats).

    Exactly ``round(ratio * len(rows))`` rows are picked (half rounds up). ``k`` is the
    number of passages a grounded row carries, as chat retrieves k = 2: the relevant one
    plus k - 1 distractors, or k distractors for an escalation row. ``sources`` (from
    ``row_sources``) lets a row use its own source chunk; without them search decides.
    Rows not picked, and every row when grounding is skipped, are returned unchanged.
    """
    if k < 1:
        raise ValidationError("k", f"A grounded row needs at least one passage, not {k}.",
                              "Use k = 2, as chat retrieves.")
    stats = GroundingStats(kind=kind, ratio=ratio, rows=len(rows), closed_book=len(rows))
    out = list(rows)
    if not rows:
        return out, stats
    if ratio <= 0:
        stats.skipped = "grounded_ratio is 0 (closed-book only)."
        return out, stats
    try:
        pool = _Pool(project)
    except (TalkSmallError, ImportError) as exc:
        stats.skipped = f"the company index cannot be read ({_reason(exc)})."
        return out, stats
    if not pool.chunks:
        stats.skipped = ("the project has no documents to answer from (import some in the "
                         "Documents step to teach answering from company information).")
        return out, stats
    rng = random.Random(seed)
    wanted = min(len(rows), math.floor(ratio * len(rows) + 0.5))
    picked = sorted(rng.sample(range(len(rows)), wanted))
    company = _company(project)
    try:
        for index in picked:
            source = sources[index] if sources else None
            row, outcome = _ground_one(pool, rows[index], source, rng, k=k, kind=kind,
                                       company=company)
            if outcome == "closed_book":
                continue
            out[index] = row
            stats.grounded += 1
            stats.closed_book -= 1
            stats.escalation += outcome == "escalation"
            stats.source_chunks += outcome == "source_chunk"
    except (TalkSmallError, ImportError) as exc:  # retrieval broke half-way: all or nothing
        stats = GroundingStats(kind=kind, ratio=ratio, rows=len(rows), closed_book=len(rows),
                               skipped=f"retrieval failed ({_reason(exc)}).")
        return list(rows), stats
    return out, stats


# --- one row ---------------------------------------------------------------------------
def _ground_one(pool: _Pool, row: dict[str, Any], source: RowSource | None,
                rng: random.Random, *, k: int, kind: str,
                company: str) -> tuple[dict[str, Any], str]:
    """The row with passages, and what it became: answered | source_chunk | escalation |
    closed_book (a pair that cannot be grounded)."""
    from core.retrieval import search

    turns = _turns(row)
    question = _first_question(turns)
    hits = search(pool.project, question, k=SEARCH_K)
    relevant = None
    outcome = "answered"
    handing_over = source is not None and source.source in ESCALATION_SOURCES
    if handing_over:
        pass  # a hand-over never sits beside a passage that answers: see the module docstring
    elif source is not None and source.chunk_id in pool.by_id:
        relevant = pool.hit(source.chunk_id, relevant=True)
        outcome = "source_chunk"
    elif any(hit.relevant for hit in hits):
        relevant = next(hit for hit in hits if hit.relevant)
    if relevant is None:
        if kind != "chat" and not handing_over:
            return row, "closed_book"
        taken = {hit.chunk_id for hit in hits}
        passages = pool.distractors(rng, k, avoid=taken, fallback=hits)
        outcome = "escalation"
    else:
        runners_up = [hit for hit in hits if hit.chunk_id != relevant.chunk_id][:k - 1]
        taken = {relevant.chunk_id} | {hit.chunk_id for hit in hits}
        passages = [relevant, *runners_up,
                    *pool.distractors(rng, k - 1 - len(runners_up), avoid=taken,
                                      unlike=relevant)]
    rng.shuffle(passages)
    system = _system_turn(turns, passages)
    if kind != "chat":
        return {**row, "prompt": [system, *[t for t in row["prompt"] if t["role"] != "system"]]
                }, outcome
    messages = [system, *[t for t in row["messages"] if t["role"] != "system"]]
    if outcome == "escalation" and not handing_over:
        messages = _escalate(messages, company, rng)
    return {**row, "messages": messages}, outcome


def _system_turn(turns: list[dict[str, str]], passages: list[Any]) -> dict[str, str]:
    """The system turn chat would send for this question with these passages."""
    from core.chat.prompt import build_prompt
    from core.retrieval import format_passages

    system = next((t["content"] for t in turns if t["role"] == "system"), "")
    first = next(t for t in turns if t["role"] not in ("system", "assistant"))
    prompt = build_prompt([first], system_prompt=system, passages=format_passages(passages),
                          role=first["role"])
    return prompt[0]


def _escalate(messages: list[dict[str, str]], company: str,
              rng: random.Random) -> list[dict[str, str]]:
    """The first exchange, answered as the chat engine answers when nothing is relevant.

    Later turns are dropped: they continue an answer the assistant no longer gave. Hidden
    analysis/intent tags, where the row has them, say "out of scope" like a generated one.
    """
    from core.conversations.escalation import escalation_answer
    from core.conversations.intents import OFF_TOPIC_INTENT, add_hidden, analysis_text

    system, customer, answer = messages[0], messages[1], messages[2]
    text, _ = escalation_answer("off_topic", company, rng.randrange(2**31))
    if "<intent>" in answer["content"] or "<analysis>" in answer["content"]:
        analysis = analysis_text("off_topic", customer["role"],
                                 OFF_TOPIC_INTENT.replace("_", " "), "")
        text = add_hidden(text, analysis, OFF_TOPIC_INTENT)
    return [system, customer, {"role": "assistant", "content": text}]


# --- the chunks distractors come from ---------------------------------------------------
class _Pool:
    """Every chunk of the project (what chat can retrieve), read once per grounding."""

    def __init__(self, project: Any) -> None:
        self.project = project
        rows = project.store.query(
            "SELECT c.id, c.document_id, c.section, c.text, d.name FROM chunks c "
            "JOIN documents d ON d.id = c.document_id ORDER BY c.id")
        self.chunks = [dict(row) for row in rows]
        self.by_id = {row["id"]: row for row in self.chunks}

    def hit(self, chunk_id: int, relevant: bool = False) -> Any:
        """A chunk as a retrieval Hit: format_passages reads document, section and text."""
        from core.retrieval import Hit

        row = self.by_id[chunk_id]
        return Hit(chunk_id=row["id"], document_id=row["document_id"], document=row["name"],
                   section=row["section"], text=row["text"], score=0.0, similarity=0.0,
                   bm25_rank=None, vector_rank=None, relevant=relevant)

    def distractors(self, rng: random.Random, count: int, *, avoid: set[int],
                    unlike: Any = None, fallback: list[Any] | None = None) -> list[Any]:
        """``count`` seeded chunks not in ``avoid`` and, with ``unlike``, from another
        document or section than it; too few such chunks: any other chunk, then
        ``fallback`` (hits that were not relevant anyway)."""
        if count <= 0:
            return []
        others = [c["id"] for c in self.chunks if c["id"] not in avoid]
        if unlike is not None:
            apart = [i for i in others
                     if (self.by_id[i]["document_id"], self.by_id[i]["section"])
                     != (unlike.document_id, unlike.section)]
            others = apart if len(apart) >= count else others
        chosen = [self.hit(i) for i in rng.sample(others, min(count, len(others)))]
        for hit in fallback or []:
            if len(chosen) >= count:
                break
            if hit.chunk_id not in {c.chunk_id for c in chosen}:
                chosen.append(hit)
        return chosen


# --- small helpers ---------------------------------------------------------------------
def _turns(row: dict[str, Any]) -> list[dict[str, str]]:
    return row.get("messages") or row.get("prompt") or []


def _first_question(turns: list[dict[str, Any]]) -> str:
    return next((str(t["content"]) for t in turns if t["role"] not in ("system", "assistant")),
                "")


def _company(project: Any) -> str:
    """The name the chat engine's escalation answer uses."""
    profile = project.profile()
    return profile.company_name.strip() or project.name


def _reason(exc: BaseException) -> str:
    return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
