"""The gates every generated item passes or is dropped by, each a small pure function.

Gate names are what the summary counts rejections by: ``format``, ``length``, ``flesch``,
``grounding``, ``facts``, ``policy``, ``dedup``, ``scope`` (and ``error`` for an item whose
making failed unexpectedly: logged, saved, skipped). Each gate returns a ``GateResult``
whose ``reason`` reads well in the review table ("flesch 52 < 75 after 3 rewrites",
"duplicate of a kept question (0.86)").

Thresholds, measured with all-MiniLM-L6-v2 on the sample company's 104 structured answers
(FAQ entries and headings of handbook.pdf, faq.docx, policies.md; tests/core/conversations/
test_thresholds.py re-measures them):
- grounding >= 0.65: an answer's best similarity to a window of 3 sentences of its chunk.
  Every answer scored >= 0.78 against its own chunk (5th percentile 0.87); against a random
  other chunk 2.9% reach 0.65 (95th percentile 0.61). Against the *closest* other section
  of the same document 38% still reach it: an embedding cannot tell "right topic, wrong
  figure", so ``facts_gate`` and at most 2 new content words back it up.
- question grounding >= 0.45 for teacher-written questions (own chunk median 0.56; a random
  chunk's 95th percentile 0.45).
- a rewritten sentence must stay >= 0.85 similar to the sentence it rewrites.
- dedup: cosine > 0.8 to a kept question of the same role and turn count (the tone paper).
- scope: an off-topic question must be < 0.5 similar to every chunk window (19 of the 20
  shipped off-topic questions pass; "cheapest broadband" is answered by the handbook).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.conversations.policy import PolicyFacts, violations
from core.conversations.text import (
    PLACEHOLDER_RE,
    bare_numbers,
    content_terms,
    counted_words,
    figures,
    novel_terms,
    split_sentences,
)
from core.readability import flesch_reading_ease

if TYPE_CHECKING:
    import numpy as np

GROUNDING_THRESHOLD = 0.65
QUESTION_GROUNDING = 0.45
MAX_NOVEL_TERMS = 2
SENTENCE_SIMILARITY = 0.85
DEDUP_THRESHOLD = 0.8
SCOPE_THRESHOLD = 0.5
GATES = ("format", "length", "flesch", "grounding", "facts", "policy", "dedup", "scope",
         "teacher", "error")

_MARKUP_RE = re.compile(r"<\|?/?(im_start|im_end|analysis|intent|s|/s)\|?>|\[/?INST\]",
                        re.IGNORECASE)
_LABEL_RE = re.compile(r"^\s*(question|answer|rewrite|rewritten|text|customer|assistant|user|"
                       r"easier text|answer [ab])\s*[:：]", re.IGNORECASE | re.MULTILINE)
_META_RE = re.compile(r"\b(as an ai|language model|here('s| is) (the|a|your) (rewritten|"
                      r"rewrite|answer|question)|i('m| am) (just )?an? (ai|assistant model)|"
                      r"the text (says|above|below)|this text|the passage)\b", re.IGNORECASE)


@dataclass(frozen=True)
class GateResult:
    gate: str
    ok: bool
    score: float | None = None
    reason: str = ""


def passed(gate: str, score: float | None = None) -> GateResult:
    return GateResult(gate, True, score)


def failed(gate: str, reason: str, score: float | None = None) -> GateResult:
    return GateResult(gate, False, score, reason)


def flesch_gate(text: str, target: float) -> GateResult:
    score = round(flesch_reading_ease(text), 1)
    if score >= target:
        return passed("flesch", score)
    return failed("flesch", f"flesch {score:.0f} < {target:g}", score)


def length_gate(text: str, *, what: str, min_words: int, max_words: int) -> GateResult:
    count = len(text.split())
    if count < min_words:
        return failed("length", f"{what} too short ({count} words < {min_words})", count)
    if count > max_words:
        return failed("length", f"{what} too long ({count} words > {max_words})", count)
    return passed("length", count)


def format_gate(text: str, *, what: str) -> GateResult:
    """Catches what a small teacher gets wrong: labels, chat markup, loops, talk about the task."""
    stripped = text.strip()
    if not stripped:
        return failed("format", f"empty {what}")
    problem = ""
    if PLACEHOLDER_RE.search(stripped):
        problem = "holds redacted personal data"
    elif _MARKUP_RE.search(stripped):
        problem = "holds chat markup or hidden tags"
    elif _LABEL_RE.search(stripped):
        problem = "starts with a label such as 'Answer:'"
    elif _META_RE.search(stripped):
        problem = "talks about the task instead of doing it"
    elif what == "question" and not stripped.endswith("?"):
        problem = "is not a question"
    elif what == "answer" and not re.search(r"[.!?)\"'”’]$", stripped):
        problem = "ends mid-sentence"
    else:
        sentences = [s.lower() for s in split_sentences(stripped)]
        if len(sentences) != len(set(sentences)):
            problem = "repeats itself"
    return failed("format", f"{what} {problem}") if problem else passed("format")


def facts_gate(candidate: str, source: str, *, keep_from: str | None = None) -> GateResult:
    """No number that is not in ``source``; every figure of ``keep_from`` still there."""
    new_numbers = bare_numbers(candidate) - bare_numbers(source)
    if new_numbers:
        shown = ", ".join(f"{n:g}" for n in sorted(new_numbers)[:3])
        return failed("facts", f"invents numbers ({shown})")
    source_figures = {(f.value, f.unit) for f in figures(source)}
    for figure in figures(candidate):
        if (figure.value, figure.unit) not in source_figures:
            return failed("facts", f'changes a figure ("{figure.text}")')
    source_counted = counted_words(source)
    counted_numbers = {n for n, _ in source_counted}
    for number, word in counted_words(candidate) - source_counted:
        if number in counted_numbers:
            return failed("facts", f'changes what {number:g} counts ("{word}")')
    if keep_from is not None:
        kept = {(f.value, f.unit) for f in figures(candidate)}
        for figure in figures(keep_from):
            if (figure.value, figure.unit) not in kept:
                return failed("facts", f'drops a figure ("{figure.text}")')
    return passed("facts")


def grounding_gate(answer_vec: np.ndarray, window_vecs: np.ndarray, answer: str,
                   sources: tuple[str, ...], threshold: float = GROUNDING_THRESHOLD,
                   max_novel: int = MAX_NOVEL_TERMS) -> GateResult:
    """Supported by the chunk: similar to one of its windows, and no new content words."""
    from core.embeddings import max_similarity

    score = round(max_similarity(answer_vec, window_vecs), 3)
    if score < threshold:
        return failed("grounding", f"not supported by the document (similarity {score:.2f} "
                      f"< {threshold:.2f})", score)
    novel = novel_terms(answer, *sources)
    if len(novel) > max_novel:
        return failed("grounding", f"adds words not in the document ({', '.join(novel[:4])})",
                      score)
    return passed("grounding", score)


def relevance_gate(question: str, answer: str) -> GateResult:
    """A teacher-written question must share its key words with the answer it gets.

    Embedding similarity cannot tell a nonsense question from a fair one on the same topic
    ("Can you please specify the bank you are referring to?" scores 0.49 against an answer
    about bank details, while real FAQ pairs score from 0.18); shared content words can.
    """
    terms = content_terms(question)
    shared = terms & content_terms(answer)
    if len(shared) < min(2, len(terms)):
        return failed("grounding", "the answer does not answer the question (shared words: "
                      f"{', '.join(sorted(shared)) or 'none'})")
    return passed("grounding", float(len(shared)))


def policy_gate(answer: str, facts: PolicyFacts) -> GateResult:
    problems = violations(answer, facts)
    if problems:
        return failed("policy", f"off-policy: {problems[0]}", float(len(problems)))
    return passed("policy", 0.0)


def scope_gate(question_vec: np.ndarray, chunk_vecs: np.ndarray,
               threshold: float = SCOPE_THRESHOLD) -> GateResult:
    """An out-of-scope question must not be answerable from any chunk."""
    from core.embeddings import max_similarity

    score = round(max_similarity(question_vec, chunk_vecs), 3)
    if score >= threshold:
        return failed("scope", f"the documents may answer it (similarity {score:.2f})", score)
    return passed("scope", score)


def chunk_windows(text: str, size: int = 3) -> list[str]:
    """Overlapping runs of ``size`` sentences, plus the whole text: what grounding compares to.

    The embedding model reads at most 256 word pieces, so a long chunk is judged by its
    parts; the whole text stays in for short chunks.
    """
    sentences = split_sentences(text)
    windows = [" ".join(sentences[i:i + size])
               for i in range(max(1, len(sentences) - size + 1))]
    return [w for w in dict.fromkeys([*windows, text.strip()]) if w]


class DedupIndex:
    """Question embeddings of everything kept, per scope (role and number of turns)."""

    def __init__(self, threshold: float = DEDUP_THRESHOLD) -> None:
        self.threshold = threshold
        self._vectors: dict[str, list[np.ndarray]] = defaultdict(list)

    def check(self, scope: str, vector: np.ndarray) -> GateResult:
        import numpy as np

        from core.embeddings import max_similarity

        rows = self._vectors.get(scope)
        score = round(max_similarity(vector, np.stack(rows)), 3) if rows else 0.0
        if score > self.threshold:
            return failed("dedup", f"duplicate of a kept question ({score:.2f} > "
                          f"{self.threshold:g})", score)
        return passed("dedup", score)

    def add(self, scope: str, vector: np.ndarray) -> None:
        self._vectors[scope].append(vector)

    def __len__(self) -> int:
        return sum(len(v) for v in self._vectors.values())
