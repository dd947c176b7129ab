"""Turn one work item into one conversation (kept or dropped, with why) and its pairs.

Each source has a maker; all of them share the same steps: a question (the document's,
a template's or the teacher's), the dedup check, a grounded answer, the tone rewrite and
its gates, the optional intent, then preference pairs. Makers only compute; the pipeline
saves the result in one transaction, so a maker can run in a worker thread.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.conversations import gates, pairs, prompts, style
from core.conversations.escalation import escalation_answer, rewrite_action_claims
from core.conversations.intents import IntentMatcher, analysis_text
from core.conversations.plan import WorkItem
from core.conversations.policy import PolicyFacts
from core.conversations.rewrite import (
    AnswerCheck,
    ToneResult,
    paraphrase,
    teacher_question,
    tone_rewrite,
)
from core.conversations.settings import GenerationSettings
from core.conversations.sources import (
    Chunk,
    answer_sentences,
    short_answer,
    ticket_pair,
    topic_question,
)

if TYPE_CHECKING:
    import numpy as np


@dataclass
class ExampleDraft:
    source: str
    role: str
    messages: list[dict[str, str]]
    status: str  # kept | dropped
    gate: str | None = None
    reason: str = ""
    flesch: float | None = None
    grounding: float | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    templates: list[str] = field(default_factory=list)
    intent: str | None = None
    analysis: str | None = None
    question_vec: np.ndarray | None = None
    dedup_scope: str = ""
    chunk_id: int | None = None
    chunk2_id: int | None = None
    pairs: list[pairs.PairDraft] = field(default_factory=list)
    teacher_calls: int = 0


@dataclass
class Context:
    """What every maker needs, built once per run."""

    teacher: Any
    settings: GenerationSettings
    company: str
    target: float
    facts: PolicyFacts
    chunks: dict[int, Chunk]
    dedup: gates.DedupIndex
    matcher: IntentMatcher | None = None
    all_windows: np.ndarray | None = None
    _windows: dict[int, np.ndarray] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def windows(self, chunk_id: int) -> np.ndarray:
        from core.embeddings import embed

        with self.lock:
            if chunk_id not in self._windows:
                self._windows[chunk_id] = embed(gates.chunk_windows(self.chunks[chunk_id].text),
                                                cache=True)
            return self._windows[chunk_id]

    def check(self, chunk: Chunk, question: str, answer: str = "") -> AnswerCheck:
        """The answer gates for ``question``; the source is the chunk plus the answer the
        pipeline derived from it (a ticket reply with its action claims handed over)."""
        source = f"{chunk.text}\n{answer}\n{style.plain(answer)}" if answer else chunk.text
        return AnswerCheck(source=source, question=question,
                           window_vecs=self.windows(chunk.id), facts=self.facts,
                           target=self.target,
                           grounding_threshold=self.settings.grounding_threshold)

    def seed(self, item: WorkItem) -> int:
        return (self.settings.seed * 1_000_003 + item.seed_offset) % (2**31 - 1)


def make(item: WorkItem, ctx: Context) -> ExampleDraft:
    """The conversation for one work item (multi-turn sources live in ``multiturn``)."""
    return _makers()[item.source](item, ctx)


# --- in scope ---------------------------------------------------------------------------
def single(item: WorkItem, ctx: Context, question: str, answer: str, chunk: Chunk,
            templates: list[str], *, opener: str = "", question_checked: bool = False,
            account: bool = False, dedup: bool = True, scope: str = "") -> ExampleDraft:
    """The shared path: question gates, dedup, tone rewrite, intent, pairs."""
    from core.embeddings import embed

    draft = ExampleDraft(item.source, item.role, [{"role": item.role, "content": question}],
                         "dropped", templates=list(templates), chunk_id=chunk.id,
                         dedup_scope=scope or f"{item.role}:1")
    if not question_checked:
        result = gates.format_gate(question, what="question") if item.source in (
            "teacher", "paraphrase") else gates.passed("format")
        if result.ok:
            result = gates.length_gate(question, what="question", min_words=3, max_words=150)
        if not result.ok:
            return drop(draft, result)
    draft.question_vec = embed([question])[0]
    if dedup and not dedup_ok(draft, ctx):
        return draft
    check = ctx.check(chunk, question, answer)
    tone = tone_rewrite(ctx.teacher, answer, check, company=ctx.company,
                        seed=ctx.seed(item), max_rewrites=ctx.settings.max_rewrites,
                        always=ctx.settings.rewrite == "always")
    draft.teacher_calls += tone.teacher_calls
    draft.templates += tone.templates
    draft.scores["rewrite"] = tone.method or None
    draft.scores["attempts"] = len(tone.attempts)
    if not tone.ok:
        draft.messages.append({"role": "assistant", "content": best_attempt(tone, answer)})
        draft.flesch = tone.flesch
        return drop(draft, gates.failed(tone.gate or "flesch", tone.reason))
    text = f"{opener} {tone.text}".strip() if opener else tone.text
    draft.messages.append({"role": "assistant", "content": text})
    draft.flesch, draft.grounding = tone.flesch, tone.grounding
    draft.status = "kept"
    _intent(draft, ctx, "in_scope", chunk)
    _add_pairs(item, ctx, draft, chunk, question, text, tone, check, account=account)
    return draft


def _faq(item: WorkItem, ctx: Context) -> ExampleDraft:
    chunk = ctx.chunks[item.chunk_id]
    return single(item, ctx, item.payload["question"], item.payload["answer"], chunk,
                   ["faq"])


def _paraphrase(item: WorkItem, ctx: Context) -> ExampleDraft:
    from core.embeddings import similarity

    chunk = ctx.chunks[item.chunk_id]
    original = item.payload["question"]
    question, template = paraphrase(ctx.teacher, original, ctx.seed(item))
    draft = ExampleDraft("paraphrase", item.role, [{"role": item.role, "content": question}],
                         "dropped", templates=[template], chunk_id=chunk.id, teacher_calls=1)
    result = gates.format_gate(question, what="question")
    if result.ok and similarity(question, original) < 0.6:
        result = gates.failed("grounding", "the paraphrase changed the question's meaning")
    if result.ok:
        result = gates.relevance_gate(question, item.payload["answer"])
    if not result.ok:
        return drop(draft, result)
    made = single(item, ctx, question, item.payload["answer"], chunk, [template])
    made.teacher_calls += 1
    return made


def _heading(item: WorkItem, ctx: Context) -> ExampleDraft:
    chunk = ctx.chunks[item.chunk_id]
    question, template = topic_question(item.payload["topic"], item.role, ctx.seed(item))
    return single(item, ctx, question, short_answer(item.payload["body"]), chunk, [template])


def _teacher(item: WorkItem, ctx: Context) -> ExampleDraft:
    from core.embeddings import embed, max_similarity

    chunk = ctx.chunks[item.chunk_id]
    question, template = teacher_question(ctx.teacher, short_answer(chunk.text, 120, 6),
                                          item.role, ctx.company, ctx.seed(item))
    draft = ExampleDraft("teacher", item.role, [{"role": item.role, "content": question}],
                         "dropped", templates=[template], chunk_id=chunk.id, teacher_calls=1)
    result = gates.format_gate(question, what="question")
    if not result.ok:
        return drop(draft, result)
    vec = embed([question])[0]
    score = max_similarity(vec, ctx.windows(chunk.id))
    if score < gates.QUESTION_GROUNDING:
        return drop(draft, gates.failed("grounding", f"the question is not about the document "
                                         f"(similarity {score:.2f})", score))
    answer = relevant_answer(chunk, vec)
    result = gates.relevance_gate(question, answer)
    if not result.ok:
        return drop(draft, result)
    made = single(item, ctx, question, answer, chunk, [template])
    made.teacher_calls += 1
    return made


def ticket_exchange(item: WorkItem, ctx: Context) -> ExampleDraft:
    chunk = ctx.chunks[item.chunk_id]
    message, reply = ticket_pair(chunk) or ("", "")
    safe, changes = rewrite_action_claims(reply)
    made = single(item, ctx, message, safe, chunk, ["ticket"])
    made.scores["action_claims_rewritten"] = changes
    if changes and made.status == "kept":
        made.pairs.append(pairs.PairDraft("off_policy", made.messages[-1]["content"], reply,
                                          "contrast", {"violation": "claims an account action"}))
    return made


def _answer_dont_escalate(item: WorkItem, ctx: Context) -> ExampleDraft:
    chunk = ctx.chunks[item.chunk_id]
    question, answer = structured_qa(item.payload, item, ctx)
    rng = random.Random(ctx.seed(item))
    wrapper = rng.choice(prompts.data("conversation_templates", "person_wrappers"))
    opener = rng.choice(prompts.data("conversation_templates", "person_openers"))
    return single(item, ctx, wrapper.format(question=question), answer, chunk,
                   ["person_wrappers"], opener=opener, question_checked=True,
                   scope=f"{item.role}:person")


# --- out of scope --------------------------------------------------------------------------
def _escalation(item: WorkItem, ctx: Context) -> ExampleDraft:
    from core.embeddings import embed, similarity

    kind = item.source  # off_topic | account
    question = item.payload["question"]
    templates = [f"{kind}_questions"]
    calls = 0
    if item.payload.get("n", 0):
        question, template = paraphrase(ctx.teacher, question, ctx.seed(item))
        templates.append(template)
        calls += 1
    draft = ExampleDraft(kind, item.role, [{"role": item.role, "content": question}], "dropped",
                         templates=templates, dedup_scope=f"{item.role}:1", teacher_calls=calls)
    result = gates.format_gate(question, what="message")
    if result.ok and calls and similarity(question, item.payload["question"]) < 0.6:
        result = gates.failed("grounding", "the paraphrase changed the request's meaning")
    if not result.ok:
        return drop(draft, result)
    draft.question_vec = embed([question])[0]
    if kind == "off_topic" and ctx.all_windows is not None:
        result = gates.scope_gate(draft.question_vec, ctx.all_windows)
        draft.scores["scope"] = result.score
        if not result.ok:
            return drop(draft, result)
    if not dedup_ok(draft, ctx):
        return draft
    answer, template = escalation_answer(kind, ctx.company, ctx.seed(item))
    draft.templates.append(template)
    draft.messages.append({"role": "assistant", "content": answer})
    result = gates.flesch_gate(answer, ctx.target)
    draft.flesch = result.score
    if not result.ok:
        return drop(draft, result)
    draft.status = "kept"
    _intent(draft, ctx, kind, None)
    if kind == "account" and "off_policy" in ctx.settings.pair_sources \
            and ctx.settings.pairs_per_example:
        pair = pairs.off_policy_contrast(answer, ctx.facts, ctx.seed(item), account=True)
        if pair:
            draft.pairs.append(pair)
    return draft


# --- shared steps ------------------------------------------------------------------------------
def relevant_answer(chunk: Chunk, question_vec: np.ndarray, max_sentences: int = 3) -> str:
    """The chunk's sentences most similar to the question, in document order."""
    from core.embeddings import cosine, embed

    sentences = [s for s in answer_sentences(chunk.text) if len(s.split()) >= 4]
    if not sentences:
        return short_answer(chunk.text)
    sims = cosine(question_vec, embed(sentences))[0]
    best = sorted(sorted(range(len(sentences)), key=lambda i: -sims[i])[:max_sentences])
    return " ".join(sentences[i] for i in best)


def structured_qa(payload: dict[str, Any], item: WorkItem, ctx: Context) -> tuple[str, str]:
    """(question, answer) of a structured payload: an FAQ entry or a heading topic."""
    if "question" in payload:
        return payload["question"], payload["answer"]
    question, _ = topic_question(payload["topic"], item.role, ctx.seed(item))
    return question, short_answer(payload["body"])


def dedup_ok(draft: ExampleDraft, ctx: Context) -> bool:
    with ctx.lock:
        result = ctx.dedup.check(draft.dedup_scope, draft.question_vec)
    draft.scores["dedup"] = result.score
    if not result.ok:
        drop(draft, result)
    return result.ok


def drop(draft: ExampleDraft, result: gates.GateResult) -> ExampleDraft:
    draft.status, draft.gate, draft.reason = "dropped", result.gate, result.reason
    if result.score is not None:
        draft.scores[result.gate] = result.score
    return draft


def best_attempt(tone: ToneResult, fallback: str) -> str:
    return tone.attempts[-1].text if tone.attempts else fallback


def _intent(draft: ExampleDraft, ctx: Context, kind: str, chunk: Chunk | None) -> None:
    if ctx.matcher is None or draft.question_vec is None:
        return
    name, score = ctx.matcher.match(draft.question_vec, kind=kind)
    draft.intent = name
    draft.scores["intent"] = score
    where = chunk.document if chunk else ""
    draft.analysis = analysis_text(kind, draft.role, ctx.matcher.label(name), where)


def _add_pairs(item: WorkItem, ctx: Context, draft: ExampleDraft, chunk: Chunk, question: str,
               chosen: str, tone: ToneResult, check: AnswerCheck, *, account: bool) -> None:
    wanted = ctx.settings.pairs_per_example
    order = list(ctx.settings.pair_sources)
    if not wanted or not order:
        return
    start = item.position % len(order)
    seed = ctx.seed(item)
    for source in order[start:] + order[:start]:
        if len(draft.pairs) >= wanted:
            break
        pair = None
        if source == "formal":
            pair = pairs.formal_contrast(chosen, seed)
        elif source == "ungrounded":
            pair = pairs.ungrounded_contrast(chosen, tone.attempts, _other_answer(ctx, chunk))
        elif source == "off_policy":
            pair = pairs.off_policy_contrast(chosen, ctx.facts, seed, account=account)
        elif source == "judge":
            pair = pairs.judged_pair(ctx.teacher, question=question, source_text=chunk.text,
                                     chosen=chosen, check=check, company=ctx.company, seed=seed)
            draft.teacher_calls += 3 if pair else 0
        if pair is not None:
            draft.pairs.append(pair)


def _other_answer(ctx: Context, chunk: Chunk) -> str | None:
    """An answer about another topic of the same document (a plausible, wrong answer)."""
    others = [c for c in ctx.chunks.values() if c.document_id == chunk.document_id
              and c.section != chunk.section and c.kind == chunk.kind]
    if not others:
        return None
    other = others[(chunk.id * 7919) % len(others)]
    if other.kind == "ticket":
        pair = ticket_pair(other)
        return short_answer(rewrite_action_claims(pair[1])[0], 50, 2) or None if pair else None
    return short_answer(other.text, 50, 2) or None


def _makers() -> dict[str, Any]:
    from core.conversations import multiturn

    return {
        "faq": _faq,
        "paraphrase": _paraphrase,
        "heading": _heading,
        "teacher": _teacher,
        "ticket": ticket_exchange,
        "thread": multiturn.thread,
        "follow_up": multiturn.follow_up,
        "clarify": multiturn.clarify,
        "answer_dont_escalate": _answer_dont_escalate,
        "off_topic": _escalation,
        "account": _escalation,
    }
