"""Multi-turn conversations: ticket threads, follow-up questions and clarifications.

Each is built from structured exchanges the single-turn makers already know how to gate:
the first exchange goes through ``make.single`` (without its own duplicate check), the
next turn through the same tone rewrite and gates, and the duplicate check then compares
all customer turns together against other conversations of the same role and length.
"""

from __future__ import annotations

import random

from core.conversations import gates, prompts
from core.conversations.escalation import rewrite_action_claims
from core.conversations.make import (
    Context,
    ExampleDraft,
    best_attempt,
    dedup_ok,
    drop,
    single,
    structured_qa,
    ticket_exchange,
)
from core.conversations.plan import WorkItem
from core.conversations.rewrite import tone_rewrite
from core.conversations.sources import Chunk, customer_words, ticket_pair


def thread(item: WorkItem, ctx: Context) -> ExampleDraft:
    first = ticket_exchange(WorkItem(item.key, "thread", item.role, item.chunk_id), ctx)
    if first.status != "kept":
        return first
    second_chunk = ctx.chunks[item.chunk2_id]
    message, reply = ticket_pair(second_chunk) or ("", "")
    safe, _ = rewrite_action_claims(reply)
    return second_turn(item, ctx, first, message, safe, second_chunk)


def second_turn(item: WorkItem, ctx: Context, first: ExampleDraft, question: str,
                 answer: str, chunk: Chunk) -> ExampleDraft:
    """Add a customer turn and its gated answer to a kept first exchange."""
    from core.embeddings import embed

    check = ctx.check(chunk, question, answer)
    tone = tone_rewrite(ctx.teacher, answer, check, company=ctx.company,
                        seed=ctx.seed(item) + 7, max_rewrites=ctx.settings.max_rewrites,
                        always=ctx.settings.rewrite == "always")
    first.teacher_calls += tone.teacher_calls
    first.templates += tone.templates
    first.messages += [{"role": item.role, "content": question},
                       {"role": "assistant", "content": tone.text or best_attempt(tone, answer)}]
    first.source, first.chunk2_id = item.source, chunk.id
    first.dedup_scope = f"{item.role}:2"
    users = " ".join(m["content"] for m in first.messages if m["role"] != "assistant")
    first.question_vec = embed([users])[0]
    first.pairs = []
    if not tone.ok:
        first.status = "dropped"
        return drop(first, gates.failed(tone.gate or "flesch", tone.reason))
    if not dedup_ok(first, ctx):
        return first
    first.flesch = min(f for f in (first.flesch, tone.flesch) if f is not None)
    return first


def follow_up(item: WorkItem, ctx: Context) -> ExampleDraft:
    one, two = item.payload["first"], item.payload["second"]
    chunk, chunk2 = ctx.chunks[item.chunk_id], ctx.chunks[item.chunk2_id]
    q1, a1 = structured_qa(one, item, ctx)
    first = single(item, ctx, q1, a1, chunk, ["follow_up"], question_checked=True, dedup=False)
    if first.status != "kept":
        return first
    q2, a2 = structured_qa(two, item, ctx)
    openers = prompts.data("conversation_templates", "follow_up_openers")
    opener = random.Random(ctx.seed(item)).choice(openers)
    return second_turn(item, ctx, first, opener.format(question=q2), a2, chunk2)


def clarify(item: WorkItem, ctx: Context) -> ExampleDraft:
    """A vague opening, the assistant's clarifying question, then the real question."""
    from core.embeddings import embed

    chunk = ctx.chunks[item.chunk_id]
    question, answer = structured_qa(item.payload, item, ctx)
    topic = customer_words(item.payload["topic"])
    rng = random.Random(ctx.seed(item))
    opening = rng.choice(prompts.data("conversation_templates", "clarify_customer"))
    reply = rng.choice(prompts.data("conversation_templates", "clarify_assistant"))
    made = single(item, ctx, question, answer, chunk, ["clarify"], question_checked=True,
                   dedup=False)
    made.messages = [{"role": item.role, "content": opening.format(topic=topic)},
                     {"role": "assistant", "content": reply.format(topic=topic)},
                     *made.messages]
    made.dedup_scope = f"{item.role}:2"
    users = " ".join(m["content"] for m in made.messages if m["role"] != "assistant")
    made.question_vec = embed([users])[0]
    if made.status == "kept":
        dedup_ok(made, ctx)
    return made
