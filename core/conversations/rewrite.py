"""The teacher's two jobs: new wording for questions, and answers rewritten for tone.

The tone rewrite follows the tone paper (rephrase until Flesch >= target, at most 3 tries,
then drop) with one change a 135M teacher needs: it rewrites one hard sentence at a time.
A short input is what a small model can rephrase without losing facts, and each rewritten
sentence is checked against its original (same figures, numbers and what they count, the
same negation, at most one new content word, similarity >= 0.85), so a bad rewrite costs one
sentence, not the answer. On the sample company the 135M teacher's rewrites inverted
meanings ("we send" -> "we can't send"), swapped nouns ("310 owners" -> "310 studios") and
reversed who does what ("give 1 month's notice" -> "we give notice") at similarity 0.75-0.84;
0.85 stops those and still lets "Moving day is easy." (0.89) through. A retry
sends the previous attempt back with feedback naming what failed. When no rewrite passes,
the extractive answer is tried in plainer words, then shortened to its most readable
leading sentences; the answer-level gates decide, and the drop reason says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.conversations import gates, prompts, style
from core.conversations.policy import PolicyFacts
from core.conversations.text import (
    first_upper,
    negations,
    novel_terms,
    split_sentences,
)
from core.readability import flesch_reading_ease

if TYPE_CHECKING:
    import numpy as np

_LEADING_LABEL_RE = re.compile(r"^\s*(sure[,!.]?\s*)?(here('s| is)[^:\n]{0,60}:|[a-z ]{0,20}"
                               r"(rewrite|rewritten|answer|question|text|customer|assistant)"
                               r"\s*:)\s*", re.IGNORECASE)
_FEEDBACK = {
    "flesch": ("That is still hard to read (Flesch {score:.0f}; it needs {target:g}). "
               "Use shorter sentences and simpler words."),
    "facts": "You changed or dropped a number. Keep every number exactly as it is.",
    "grounding": "You added things that are not in the answer. Only say what it says.",
    "format": "Reply with the rewritten text only.",
}


@dataclass
class Attempt:
    text: str
    method: str  # teacher:<round> | plain | short
    gate: str | None
    reason: str
    flesch: float | None = None


@dataclass
class ToneResult:
    ok: bool
    text: str
    method: str
    flesch: float | None
    grounding: float | None
    gate: str | None
    reason: str
    attempts: list[Attempt] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    teacher_calls: int = 0


def clean_output(text: str, *, question: bool = False) -> str:
    """The teacher's text without labels, quotes, chatter lines or a second paragraph."""
    text = text.strip()
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paragraphs) > 1 and _LEADING_LABEL_RE.match(paragraphs[0]) and \
            _LEADING_LABEL_RE.sub("", paragraphs[0]).strip() == "":
        paragraphs = paragraphs[1:]
    text = paragraphs[0] if paragraphs else ""
    text = _LEADING_LABEL_RE.sub("", text).strip()
    text = re.sub(r"\s+", " ", text).strip().strip("\"'“”‘’").strip()
    if question and "?" in text:
        text = text[: text.index("?") + 1]
    return text


class AnswerCheck:
    """Every answer-level gate for one question and its source text, first failure wins."""

    def __init__(self, *, source: str, question: str, window_vecs: np.ndarray,
                 facts: PolicyFacts, target: float, grounding_threshold: float,
                 min_words: int = 3, max_words: int = 150) -> None:
        self.source = source
        self.question = question
        self.window_vecs = window_vecs
        self.facts = facts
        self.target = target
        self.grounding_threshold = grounding_threshold
        self.min_words = min_words
        self.max_words = max_words

    def run(self, text: str, *, keep_from: str | None = None,
            readability: bool = True) -> tuple[gates.GateResult | None, dict[str, Any]]:
        from core.embeddings import embed

        scores: dict[str, Any] = {}
        checks: list[Callable[[], gates.GateResult]] = [
            lambda: gates.format_gate(text, what="answer"),
            lambda: gates.length_gate(text, what="answer", min_words=self.min_words,
                                      max_words=self.max_words),
            lambda: gates.facts_gate(text, self.source, keep_from=keep_from),
            lambda: gates.policy_gate(text, self.facts),
            lambda: gates.grounding_gate(embed([text])[0], self.window_vecs, text,
                                         (self.source, self.question),
                                         self.grounding_threshold),
        ]
        if readability:
            checks.append(lambda: gates.flesch_gate(text, self.target))
        for check in checks:
            result = check()
            if result.score is not None:
                scores[result.gate] = result.score
            if not result.ok:
                return result, scores
        return None, scores


def tone_rewrite(teacher: Any, answer: str, check: AnswerCheck, *, company: str, seed: int,
                 max_rewrites: int, always: bool = False,
                 sentence_similarity: float = gates.SENTENCE_SIMILARITY) -> ToneResult:
    """A readable, grounded version of ``answer`` or the reason there is none."""
    result = ToneResult(False, "", "", None, None, None, "")
    base = style.plain(answer) or answer
    if not always:
        failure, scores = check.run(base, keep_from=answer)
        result.attempts.append(Attempt(base, "plain", failure.gate if failure else None,
                                       failure.reason if failure else "", scores.get("flesch")))
        if failure is None:
            return _accept(result, base, "extractive", scores)
    sentences = split_sentences(base)
    best = list(sentences)
    previous: dict[int, str] = {}
    last_reason: dict[int, str] = {}
    for round_number in range(1, max_rewrites + 1):
        hard = [i for i, s in enumerate(best) if (always and round_number == 1)
                or flesch_reading_ease(s) < check.target]
        if not hard:
            break
        requests, template_id = _sentence_requests(best, sentences, hard, previous, last_reason,
                                                   company, seed + round_number, check.target)
        result.templates.append(template_id)
        outputs = teacher.complete_many(requests)
        result.teacher_calls += len(requests)
        for index, output in zip(hard, outputs, strict=True):
            if isinstance(output, Exception):
                raise output  # the item stays in the work list; the pipeline decides
            candidate = first_upper(clean_output(output))
            previous[index] = candidate or previous.get(index, sentences[index])
            reason = _sentence_problem(candidate, sentences[index], check.source,
                                       sentence_similarity)
            if reason is None and flesch_reading_ease(candidate) > flesch_reading_ease(best[index]):
                best[index] = candidate
                last_reason[index] = "flesch"
            else:
                last_reason[index] = reason or "flesch"
        text = " ".join(best)
        failure, scores = check.run(text, keep_from=answer)
        result.attempts.append(Attempt(text, f"teacher:{round_number}",
                                       failure.gate if failure else None,
                                       failure.reason if failure else "", scores.get("flesch")))
        if failure is None:
            return _accept(result, text, f"teacher:{round_number}", scores)
    short = shortest_readable(base, check.target)
    if short and short != base:
        failure, scores = check.run(short)
        result.attempts.append(Attempt(short, "short", failure.gate if failure else None,
                                       failure.reason if failure else "", scores.get("flesch")))
        if failure is None:
            return _accept(result, short, "short", scores)
    best = max(result.attempts, key=_progress, default=None)
    result.gate = best.gate if best else "flesch"
    result.reason = best.reason if best else "no readable answer"
    if result.gate == "flesch" and max_rewrites:
        result.reason += f" after {max_rewrites} rewrites"
    result.flesch = best.flesch if best else None
    return result


_GATE_ORDER = ("format", "length", "facts", "policy", "grounding", "flesch")


def _progress(attempt: Attempt) -> tuple[int, float]:
    """How far an attempt got through the gates (the drop reason names the furthest)."""
    rank = _GATE_ORDER.index(attempt.gate) if attempt.gate in _GATE_ORDER else -1
    return rank, attempt.flesch or 0.0


def _accept(result: ToneResult, text: str, method: str, scores: dict[str, Any]) -> ToneResult:
    result.ok, result.text, result.method = True, text, method
    result.flesch = scores.get("flesch")
    result.grounding = scores.get("grounding")
    return result


def _sentence_requests(best: list[str], originals: list[str], hard: list[int],
                       previous: dict[int, str], last_reason: dict[int, str], company: str,
                       seed: int, target: float) -> tuple[list[Any], str]:
    if not previous:
        template = prompts.template("tone_rewrite")
        return [template.request(seed=seed + i, company=company, answer=best[i])
                for i in hard], template.id
    template = prompts.template("tone_rewrite_feedback")
    requests = []
    for i in hard:
        reason = last_reason.get(i, "flesch")
        feedback = _FEEDBACK.get(reason, _FEEDBACK["flesch"]).format(
            score=flesch_reading_ease(previous.get(i, best[i])), target=target)
        requests.append(template.request(seed=seed + i, company=company, answer=originals[i],
                                         previous=previous.get(i, best[i]), feedback=feedback))
    return requests, template.id


def _sentence_problem(candidate: str, original: str, source: str,
                      min_similarity: float) -> str | None:
    """Why a rewritten sentence cannot replace ``original`` (a gate name), or None."""
    from core.embeddings import similarity

    if not gates.format_gate(candidate, what="answer").ok:
        return "format"
    ratio = len(candidate.split()) / max(1, len(original.split()))
    if not 0.4 <= ratio <= 2.5:
        return "format"
    if not gates.facts_gate(candidate, original, keep_from=original).ok:
        return "facts"
    if negations(candidate) % 2 != negations(original) % 2:
        return "facts"  # "we send it" must not become "we can't send it"
    if len(novel_terms(candidate, original, source)) > 1:
        return "grounding"
    if similarity(candidate, original) < min_similarity:
        return "grounding"
    return None


def shortest_readable(text: str, target: float) -> str:
    """The leading sentences of ``text`` that together still read at ``target`` or better."""
    kept: list[str] = []
    for sentence in split_sentences(text):
        trial = " ".join([*kept, sentence])
        if flesch_reading_ease(trial) >= target:
            kept.append(sentence)
        elif not kept:
            return ""
    return " ".join(kept)


def teacher_question(teacher: Any, text: str, role: str, company: str,
                     seed: int) -> tuple[str, str]:
    """A question a customer in ``role`` might ask that ``text`` answers; (question, template)."""
    template = prompts.template("question_from_chunk")
    output = teacher.complete(template.request(seed=seed, company=company, role=role,
                                               text=text))
    return clean_output(output, question=True), template.id


def paraphrase(teacher: Any, question: str, seed: int) -> tuple[str, str]:
    template = prompts.template("paraphrase_question")
    output = teacher.complete(template.request(seed=seed, question=question))
    return clean_output(output, question=True), template.id
