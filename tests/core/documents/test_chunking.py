"""The chunker: budgets, headings, paragraphs, overlap, pages; fuzzed with hypothesis."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.documents.chunking import Chunk, Section, chunk_sections, count_tokens


def _words(text: str) -> list[str]:
    return text.split()


def _is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(word == other for other in it) for word in needle)


def test_count_tokens_is_a_cheap_estimate() -> None:
    assert count_tokens("") == 0
    assert count_tokens("one") == 2  # ceil(1 * 1.3)
    assert count_tokens("ten words " * 5) == 13  # 10 raw tokens, no float rounding
    assert count_tokens("email me: a@b.com!") == 12  # email me : a @ b . com ! -> 9 raw


def test_headings_start_new_chunks_and_keep_their_path() -> None:
    sections = [Section(("Rent",), "Pay on the first."), Section(("Rent", "Late"), "Fee £30."),
                Section(("Pets",), "Cats are fine.")]
    chunks = chunk_sections(sections)
    assert [(c.section, c.text) for c in chunks] == [
        ("Rent", "Pay on the first."), ("Rent > Late", "Fee £30."), ("Pets", "Cats are fine.")]


def test_pages_of_one_section_flow_together_and_keep_the_first_page() -> None:
    sections = [Section(("A",), "alpha " * 100, 1), Section(("A",), "beta " * 100, 2),
                Section(("A",), "gamma " * 100, 3)]
    chunks = chunk_sections(sections, max_tokens=100, overlap_tokens=0)
    assert all(c.token_count <= 100 for c in chunks)
    pages = [c.page for c in chunks]
    assert pages == sorted(pages) and pages[0] == 1 and pages[-1] == 3 and 2 in pages
    assert chunks[1].text.startswith("alpha") and chunks[1].page == 1
    assert " ".join(c.text for c in chunks).split() == (
        ["alpha"] * 100 + ["beta"] * 100 + ["gamma"] * 100)


def test_prefers_paragraph_then_sentence_boundaries() -> None:
    para1 = "One short sentence here. " * 3  # 15 raw tokens; the budget holds 23
    para2 = "Another paragraph starts now. " * 6
    chunks = chunk_sections([Section((), f"{para1.strip()}\n\n{para2.strip()}")],
                            max_tokens=30, overlap_tokens=0)
    assert chunks[0].text == para1.strip()  # cut at the paragraph break
    assert all(c.text.endswith(".") for c in chunks)  # then at sentence ends
    assert all("\n\n" not in c.text for c in chunks)


def test_overlap_repeats_the_tail_at_a_sentence_start() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = chunk_sections([Section((), text)], max_tokens=60, overlap_tokens=15)
    assert len(chunks) > 3
    for before, after in pairwise(chunks):
        assert after.text.startswith("Sentence number")
        first_sentence = re.match(r"Sentence number \d+ is here\.", after.text).group(0)
        assert first_sentence in before.text  # the overlap


def test_a_word_longer_than_the_budget_stands_alone_without_repeats() -> None:
    huge = "x" * 10 + "-" * 80  # 81 raw tokens: over a 50-token budget
    text = "a b c d e f g h i j " + huge + " k l m"
    chunks = chunk_sections([Section((), text)], max_tokens=50, overlap_tokens=10)
    assert [c.text for c in chunks].count(huge) == 1
    assert all(count_tokens(c.text) <= 50 for c in chunks if c.text != huge)
    assert len(chunks) == 3


def test_rejects_nonsense_budgets() -> None:
    with pytest.raises(ValueError):
        chunk_sections([Section((), "x")], max_tokens=1)
    with pytest.raises(ValueError):
        chunk_sections([Section((), "x")], max_tokens=100, overlap_tokens=60)


def test_empty_sections_make_no_chunks() -> None:
    assert chunk_sections([Section(("A",), "  \n\n "), Section(("B",), "")]) == []


# --- fuzzing ----------------------------------------------------------------------------
_word = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
                min_size=1, max_size=12)
_gap = st.sampled_from([" ", " ", " ", "\n", "\n\n", "  \t", " \n\n\n "])


@st.composite
def _texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(_word, min_size=0, max_size=300))
    out = []
    for word in words:
        out.append(word)
        out.append(draw(_gap))
    return "".join(out)


@st.composite
def _sections(draw: st.DrawFn) -> list[Section]:
    paths = [(), ("A",), ("A", "B"), ("C",)]
    return [Section(draw(st.sampled_from(paths)), draw(_texts()),
                    draw(st.one_of(st.none(), st.integers(1, 50))))
            for _ in range(draw(st.integers(0, 4)))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections=_sections(), budget=st.integers(2, 400), overlap_share=st.floats(0, 0.5))
def test_fuzz_chunks_cover_every_word_in_order_within_budget(
        sections: list[Section], budget: int, overlap_share: float) -> None:
    overlap = int(budget * overlap_share) if budget >= 2 else 0
    overlap = min(overlap, budget // 2)
    chunks: list[Chunk] = chunk_sections(sections, budget, overlap)
    source_words = [w for s in sections for w in _words(s.text)]
    chunk_words = [w for c in chunks for w in _words(c.text)]
    assert _is_subsequence(source_words, chunk_words)
    if overlap == 0:
        assert chunk_words == source_words
    for chunk in chunks:
        assert chunk.text.strip() and chunk.text == chunk.text.strip()
        assert chunk.token_count == count_tokens(chunk.text)
        assert chunk.token_count <= budget or len(_words(chunk.text)) == 1
    # never a split word: every chunk word is a whole source word
    source_set = set(source_words)
    assert all(w in source_set for w in chunk_words)
    # each run of same-path sections gives chunks of that path, in order
    labels = [" > ".join(s.path) for s in sections if s.text.strip()]
    assert _runs([c.section for c in chunks]) == _runs(labels)


def _runs(items: list[str]) -> list[str]:
    return [x for i, x in enumerate(items) if i == 0 or items[i - 1] != x]
