"""The work list: every item a generation run will make, planned up front and stored.

Planning is deterministic (same chunks and settings, same items, same keys), so a rerun
after a crash, a cancel or a settings change inserts only what is new, removes only items
not yet done, and continues with the first item still ``todo``. Sources are interleaved by
their relative position, so a small ``limit`` still covers every source.
"""

from __future__ import annotations

import json
import math
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from core.conversations import prompts
from core.conversations.settings import GenerationSettings
from core.conversations.sources import (
    Chunk,
    faq_pair,
    outline,
    section_role,
    thread_parent,
    ticket_pair,
    ticket_subject,
)
from core.conversations.text import split_sentences

# The order sources take within one round of the interleave.
SOURCES = ("faq", "ticket", "heading", "teacher", "paraphrase", "off_topic", "account",
           "answer_dont_escalate", "follow_up", "clarify", "thread")
IN_SCOPE = ("faq", "ticket", "heading", "teacher", "paraphrase", "follow_up", "clarify",
            "thread", "answer_dont_escalate")


@dataclass
class WorkItem:
    key: str
    source: str
    role: str
    chunk_id: int | None = None
    chunk2_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    position: int = 0
    id: int | None = None

    @property
    def seed_offset(self) -> int:
        return zlib.crc32(self.key.encode("utf-8")) & 0x7FFFFFFF


def plan_work(chunks: list[Chunk], roles: list[str], company: str,
              settings: GenerationSettings) -> list[WorkItem]:
    by_source: dict[str, list[WorkItem]] = defaultdict(list)
    active = [r for r in roles if settings.count_for(r) > 0]
    if not active:
        return []
    qa_items: list[tuple[Chunk, WorkItem]] = []  # structured Q/As: seeds for multi-turn
    topics_seen: set[tuple[int, str]] = set()
    _plan_tickets([c for c in chunks if c.kind == "ticket"], active, by_source)
    for chunk in chunks:
        if chunk.kind != "text":
            continue
        roles_here = _roles_for(chunk, active)
        pair = faq_pair(chunk)
        if pair is not None:
            question, answer = pair
            for role in roles_here:
                item = WorkItem(f"faq:{chunk.id}:{role}", "faq", role, chunk.id,
                                payload={"question": question, "answer": answer})
                by_source["faq"].append(item)
                qa_items.append((chunk, item))
                for n in range(1, settings.count_for(role)):
                    by_source["paraphrase"].append(WorkItem(
                        f"paraphrase:{chunk.id}:{role}:{n}", "paraphrase", role, chunk.id,
                        payload={"question": question, "answer": answer, "n": n}))
            continue
        topics = [t for t in outline(chunk, skip=(company,))
                  if (chunk.document_id, t.title.lower()) not in topics_seen]
        for index, topic in enumerate(topics):
            topics_seen.add((chunk.document_id, topic.title.lower()))
            for role in roles_here:
                item = WorkItem(f"heading:{chunk.id}:{index}:{role}", "heading", role, chunk.id,
                                payload={"topic": topic.title, "body": topic.body})
                by_source["heading"].append(item)
                qa_items.append((chunk, item))
        if len(split_sentences(chunk.text)) >= 2:
            for role in roles_here:
                for n in range(1, settings.count_for(role)):
                    by_source["teacher"].append(WorkItem(
                        f"teacher:{chunk.id}:{role}:{n}", "teacher", role, chunk.id,
                        payload={"n": n}))
    in_scope = sum(len(by_source[s]) for s in by_source)
    _plan_multi_turn(qa_items, settings, in_scope, by_source)
    _plan_out_of_scope(qa_items, active, settings, in_scope, by_source)
    return _interleave(by_source, settings.limit)


def _roles_for(chunk: Chunk, roles: list[str]) -> list[str]:
    role = section_role(chunk.section, roles)
    return [role] if role else list(roles)


def _plan_tickets(tickets: list[Chunk], roles: list[str],
                  by_source: dict[str, list[WorkItem]]) -> None:
    by_subject: dict[str, Chunk] = {}
    replies: dict[int, Chunk] = {}
    for chunk in tickets:
        parent = thread_parent(ticket_subject(chunk))
        if parent and parent.lower() in by_subject:
            replies[by_subject[parent.lower()].id] = chunk
        else:
            by_subject.setdefault(ticket_subject(chunk).lower(), chunk)
    threaded = {c.id for c in replies.values()}
    for chunk in tickets:
        if chunk.id in threaded or ticket_pair(chunk) is None:
            continue
        role = str(chunk.meta.get("role") or "").strip().lower()
        role = role if role in roles else roles[0]
        follow = replies.get(chunk.id)
        if follow is not None and ticket_pair(follow) is not None:
            by_source["thread"].append(WorkItem(f"thread:{chunk.id}:{follow.id}:{role}",
                                                "thread", role, chunk.id, follow.id))
        else:
            by_source["ticket"].append(WorkItem(f"ticket:{chunk.id}:{role}", "ticket", role,
                                                chunk.id))


def _plan_multi_turn(qa_items: list[tuple[Chunk, WorkItem]], settings: GenerationSettings,
                     in_scope: int, by_source: dict[str, list[WorkItem]]) -> None:
    wanted = round(settings.multi_turn_share * in_scope)
    if wanted <= 0 or len(qa_items) < 2:
        return
    follow_pairs = []
    for (c1, a), (c2, b) in pairwise(qa_items):
        if (a.role == b.role and c1.document_id == c2.document_id
                and c1.section_path[:-1] == c2.section_path[:-1] and a.key != b.key):
            follow_pairs.append((c1, a, c2, b))
    follows = _spread(follow_pairs, math.ceil(wanted / 2))
    for c1, a, c2, b in follows:
        by_source["follow_up"].append(WorkItem(
            f"follow_up:{c1.id}:{c2.id}:{a.role}:{a.key}", "follow_up", a.role, c1.id, c2.id,
            payload={"first": a.payload, "second": b.payload}))
    headings = [(c, i) for c, i in qa_items if i.source == "heading"]
    for chunk, item in _spread(headings, wanted - len(follows)):
        by_source["clarify"].append(WorkItem(
            f"clarify:{chunk.id}:{item.key}", "clarify", item.role, chunk.id,
            payload=dict(item.payload)))


def _plan_out_of_scope(qa_items: list[tuple[Chunk, WorkItem]], roles: list[str],
                       settings: GenerationSettings, in_scope: int,
                       by_source: dict[str, list[WorkItem]]) -> None:
    share = settings.out_of_scope_share
    total = round(share / (1 - share) * in_scope) if share < 1 else 0
    off_topic = math.ceil(total / 2)
    account = total - off_topic
    off_list = prompts.data("conversation_templates", "off_topic_questions")
    account_list = prompts.data("conversation_templates", "account_requests")
    for n in range(off_topic):
        role = roles[n % len(roles)]
        by_source["off_topic"].append(WorkItem(
            f"off_topic:{n}:{role}", "off_topic", role,
            payload={"question": off_list[n % len(off_list)], "n": n // len(off_list)}))
    for n in range(account):
        role = roles[n % len(roles)]
        by_source["account"].append(WorkItem(
            f"account:{n}:{role}", "account", role,
            payload={"question": account_list[n % len(account_list)],
                     "n": n // len(account_list)}))
    for chunk, item in _spread(qa_items, account):
        by_source["answer_dont_escalate"].append(WorkItem(
            f"answer_dont_escalate:{chunk.id}:{item.key}", "answer_dont_escalate", item.role,
            chunk.id, payload={"base": item.source, **item.payload}))


def _spread(items: list[Any], count: int) -> list[Any]:
    """``count`` items evenly spread over ``items`` (all of them when count >= len)."""
    if count <= 0 or not items:
        return []
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def _interleave(by_source: dict[str, list[WorkItem]], limit: int | None) -> list[WorkItem]:
    """All items ordered by their relative place in their own source, sources in turn."""
    ranked = []
    for rank, source in enumerate(SOURCES):
        items = by_source.get(source, [])
        for index, item in enumerate(items):
            ranked.append(((index / len(items), rank), item))
    ranked.sort(key=lambda pair: pair[0])
    ordered = [item for _, item in ranked]
    if limit is not None:
        ordered = ordered[:limit]
    for position, item in enumerate(ordered):
        item.position = position
    return ordered


# --- the stored work list ----------------------------------------------------------------
def sync_plan(project: Any, items: list[WorkItem]) -> dict[str, int]:
    """Store the plan: add new items, drop ``todo`` items no longer planned, renumber.

    Items already done keep their row (and their examples). One transaction.
    """
    keys = {item.key for item in items}
    with project.store.transaction() as conn:
        existing = {row["key"]: (row["id"], row["status"]) for row in
                    conn.execute("SELECT id, key, status FROM generation_work")}
        stale = [wid for key, (wid, status) in existing.items()
                 if key not in keys and status == "todo"]
        conn.executemany("DELETE FROM generation_work WHERE id = ?", [(w,) for w in stale])
        added = 0
        for item in items:
            if item.key in existing:
                conn.execute("UPDATE generation_work SET position = ? WHERE key = ?",
                             (item.position, item.key))
                continue
            conn.execute(
                "INSERT INTO generation_work (key, position, source, role, chunk_id, chunk2_id,"
                " payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item.key, item.position, item.source, item.role, item.chunk_id,
                 item.chunk2_id, json.dumps(item.payload, ensure_ascii=False)))
            added += 1
    return {"planned": len(items), "added": added, "removed": len(stale)}


def pending(project: Any, keys: set[str] | None = None) -> list[WorkItem]:
    """Items still to do, in plan order (only those in ``keys`` when given)."""
    rows = project.store.query(
        "SELECT id, key, source, role, chunk_id, chunk2_id, payload, position "
        "FROM generation_work WHERE status = 'todo' ORDER BY position, id")
    items = []
    for row in rows:
        if keys is not None and row["key"] not in keys:
            continue
        items.append(WorkItem(row["key"], row["source"], row["role"], row["chunk_id"],
                              row["chunk2_id"], json.loads(row["payload"] or "{}"),
                              row["position"], row["id"]))
    return items
