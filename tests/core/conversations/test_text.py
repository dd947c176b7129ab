"""Pure text tools: sentences, figures, terms (literal strings: these are unit tests)."""

from __future__ import annotations

from core.conversations.text import (
    bare_numbers,
    content_terms,
    figures,
    has_placeholder,
    novel_terms,
    split_sentences,
    strip_markdown,
)


def test_figures_read_currency_percent_and_counted_units() -> None:
    found = {(f.value, f.unit) for f in figures(
        "The late fee is £30, charged at 14 days; the deposit is 5 weeks' rent, one week's "
        "holding. Returned within 5 working days. Fee 9.6% (min £1,015.50). 30 times rent, "
        "a 24-hour line, pet rent £25 a month.")}
    assert found == {(30.0, "GBP"), (14.0, "day"), (5.0, "week"), (1.0, "week"),
                     (5.0, "working day"), (9.6, "%"), (1015.5, "GBP"), (30.0, "times"),
                     (24.0, "hour"), (25.0, "GBP"), (1.0, "month")}


def test_figure_text_has_no_trailing_punctuation() -> None:
    assert [f.text for f in figures("It costs £30, or $12.")] == ["£30", "$12"]


def test_bare_numbers_include_phone_numbers_and_times() -> None:
    assert bare_numbers("Call 01632 960415 from 9:00, fee £1,015") == {
        1632.0, 960415.0, 9.0, 0.0, 1015.0}


def test_sentences_split_lines_bullets_tables_and_abbreviations() -> None:
    text = ("## Deposits\n\n- **Holding deposit: one week's rent.** It reserves the home. "
            "E.g. for 15 days.\n| Charge | Amount |\n|---|---|\n| Late rent | £30 |")
    assert split_sentences(text) == [
        "Deposits", "Holding deposit: one week's rent.", "It reserves the home.",
        "E.g. for 15 days.", "Charge: Amount.", "Late rent: £30."]


def test_strip_markdown_keeps_one_line_per_row() -> None:
    assert strip_markdown("# Title\n* item one\n1. step") == "Title\nitem one\nstep"


def test_content_terms_are_stemmed_without_stop_words() -> None:
    assert content_terms("How long do the deposits take?") == {"long", "deposit"}
    assert "deposit" in content_terms("deposited")


def test_novel_terms_ignore_friendly_words_and_known_terms() -> None:
    source = "We do the check-out inspection within 3 working days."
    assert novel_terms("Sure! We do the inspection within 3 working days.", source) == []
    assert novel_terms("We offer free shipping within 3 days.", source) == [
        "offer", "free", "shipp"]


def test_placeholders_of_the_redactor_are_seen() -> None:
    assert has_placeholder("My mobile is [PHONE].")
    assert not has_placeholder("Call [the office] today.")


def test_counted_words_and_negations() -> None:
    from core.conversations.text import counted_words, negations

    assert counted_words("640 homes for around 310 owners, at 9:00 on Monday") == {
        (640.0, "home"), (310.0, "owner")}
    assert negations("We send it.") == 0
    assert negations("We can't send it, and we do not call.") == 2
