"""Split extracted text into chunks that fit a token budget, following headings and paragraphs.

Tokens are counted cheaply (a word/punctuation regex, times 1.3) so that importing never
loads a tokenizer; the factor errs on the generous side for the small models we target.
A chunk never crosses a heading, never splits a word, prefers to end at a paragraph, then at
a sentence, and starts with the last ~``overlap`` tokens of the previous chunk of the same
section, so a fact that straddles a boundary is whole in at least one chunk.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

DEFAULT_CHUNK_TOKENS = 350
DEFAULT_OVERLAP_TOKENS = 50

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_SPLIT_RE = re.compile(r"(\S+)")
_SENTENCE_END_RE = re.compile(r"[.!?:;][\"')\]’”]*(?!\S)")
_PARAGRAPH_RE = re.compile(r"\n[^\S\n]*\n\s*(?=\S)")  # a blank line, up to the next word
# Token estimate = ceil(raw * 13 / 10), in integers so a budget check is exact.
_FACTOR_NUM, _FACTOR_DEN = 13, 10


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path; ``page`` is where it starts (PDF) or None."""

    path: tuple[str, ...]
    text: str
    page: int | None = None


@dataclass(frozen=True)
class Chunk:
    text: str
    section: str  # heading path joined with " > "
    page: int | None
    token_count: int


def count_tokens(text: str) -> int:
    """A model-free estimate of the token count: words and punctuation marks, times 1.3."""
    return _estimate(len(_TOKEN_RE.findall(text)))


def section_label(path: Sequence[str]) -> str:
    return " > ".join(p for p in path if p)


def chunk_sections(sections: Iterable[Section], max_tokens: int = DEFAULT_CHUNK_TOKENS,
                   overlap_tokens: int = DEFAULT_OVERLAP_TOKENS) -> list[Chunk]:
    """Chunks of consecutive sections; sections with the same path (pages) flow together."""
    if max_tokens < 2:
        raise ValueError("max_tokens must be at least 2")
    if not 0 <= overlap_tokens <= max_tokens // 2:
        raise ValueError("overlap_tokens must be between 0 and half of max_tokens")
    chunks: list[Chunk] = []
    for path, parts in _runs(sections):
        chunks.extend(_chunk_run(path, parts, max_tokens, overlap_tokens))
    return chunks


# --- internals ------------------------------------------------------------------
def _estimate(raw: int) -> int:
    return (raw * _FACTOR_NUM + _FACTOR_DEN - 1) // _FACTOR_DEN


def _raw_budget(tokens: int) -> int:
    """The largest raw count whose estimate stays within ``tokens``."""
    raw = tokens * _FACTOR_DEN // _FACTOR_NUM
    while _estimate(raw + 1) <= tokens:
        raw += 1
    return raw


def _runs(sections: Iterable[Section]) -> Iterable[tuple[tuple[str, ...], list[Section]]]:
    current: list[Section] = []
    for section in sections:
        if not section.text.strip():
            continue
        if current and section.path != current[0].path:
            yield current[0].path, current
            current = []
        current.append(section)
    if current:
        yield current[0].path, current


def _chunk_run(path: tuple[str, ...], parts: list[Section], max_tokens: int,
               overlap_tokens: int) -> list[Chunk]:
    text = ""
    page_starts: list[int] = []  # offset where each part begins, for the page lookup
    pages: list[int | None] = []
    for part in parts:
        if text:
            text += "\n\n"
        page_starts.append(len(text))
        pages.append(part.page)
        text += part.text
    # Whole-run passes in C (split, accumulate, finditer) rather than per-word Python: a
    # 300-page PDF has ~100k words, and the chunker must stay cheap next to extraction.
    pieces = _SPLIT_RE.split(text)  # gap, word, gap, word, ..., gap
    words = pieces[1::2]
    if not words:
        return []
    offsets = list(accumulate(map(len, pieces)))
    starts, ends = offsets[0::2][:len(words)], offsets[1::2]
    findall = _TOKEN_RE.findall
    cum = [0, *accumulate([1 if w.isalnum() else len(findall(w)) for w in words])]
    # Indexes of the words where a cut reads well: after a blank line, after a sentence.
    para = {bisect_right(starts, m.end() - 1) for m in _PARAGRAPH_RE.finditer(text)}
    sentence_end = {bisect_right(starts, m.end() - 1) for m in _SENTENCE_END_RE.finditer(text)}
    budget = _raw_budget(max_tokens)
    overlap = _raw_budget(overlap_tokens) if overlap_tokens else 0
    label = section_label(path)

    chunks: list[Chunk] = []
    n = len(words)
    start = 0
    while start < n:
        end = bisect_right(cum, cum[start] + budget) - 1  # words[start:end] fit the budget
        end = max(end, start + 1)  # one word longer than the budget stands alone
        if end < n:
            end = _best_cut(start, end, cum, para, sentence_end, budget)
        body = text[starts[start]:ends[end - 1]]
        page = pages[bisect_right(page_starts, starts[start]) - 1]
        chunks.append(Chunk(body, label, page, _estimate(cum[end] - cum[start])))
        if end >= n:
            break
        start = _overlap_start(start, end, cum, para, sentence_end, overlap, budget)
    return chunks


def _best_cut(start: int, end: int, cum: list[int], para: set[int],
              sentence_end: set[int], budget: int) -> int:
    """End at a paragraph, else a sentence, as long as the chunk stays at least half full.

    ``para`` and ``sentence_end`` hold the indexes of words that start a paragraph or
    follow a sentence's end: the places where a cut reads well.
    """
    floor = cum[start] + budget // 2
    for breaks in (para, sentence_end):
        for cut in range(end, start, -1):
            if cum[cut] < floor:
                break
            if cut in breaks:
                return cut
    return end


def _overlap_start(start: int, end: int, cum: list[int], para: set[int],
                   sentence_end: set[int], overlap: int, budget: int) -> int:
    """Where the next chunk starts: up to ``overlap`` raw tokens back, at a sentence if any."""
    if overlap <= 0:
        return end
    first = end
    while first - 1 > start and cum[end] - cum[first - 1] <= overlap:
        first -= 1
    # The next chunk must have room for at least one new word, or it would repeat the tail.
    while first < end and cum[end + 1] - cum[first] > budget:
        first += 1
    for i in range(first, end):
        if i in para or i in sentence_end:
            return i
    return first
