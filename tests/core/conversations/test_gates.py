"""Each gate on its own: what passes, what is dropped and the reason it gives."""

from __future__ import annotations

import numpy as np

from core.conversations import gates
from core.conversations.policy import PolicyFacts
from core.embeddings import embed


def test_flesch_gate_reports_the_score_and_target() -> None:
    assert gates.flesch_gate("The cat sat on the mat. It was happy.", 75).ok
    result = gates.flesch_gate("Notwithstanding contractual obligations, remuneration is "
                               "disbursed quarterly.", 75)
    assert not result.ok and result.gate == "flesch" and result.reason.endswith("< 75")


def test_length_gate() -> None:
    assert not gates.length_gate("Yes.", what="answer", min_words=3, max_words=10).ok
    assert not gates.length_gate("word " * 11, what="answer", min_words=3, max_words=10).ok
    assert gates.length_gate("Three small words", what="answer", min_words=3, max_words=10).ok


def test_format_gate_catches_what_a_small_teacher_gets_wrong() -> None:
    bad = {
        "Answer: We send a reminder.": "label",
        "We send a reminder.<|im_end|>": "markup",
        "<analysis>x</analysis>We send a reminder.": "hidden tags",
        "Call [NAME] on [PHONE].": "personal data",
        "Here is the rewritten answer: we send it.": "task",
        "We send a reminder. We send a reminder.": "repeats",
        "We send a reminder and then": "mid-sentence",
    }
    for text in bad:
        assert not gates.format_gate(text, what="answer").ok, text
    assert gates.format_gate("We send a reminder on day 3.", what="answer").ok
    assert not gates.format_gate("Tell me about rent", what="question").ok
    assert gates.format_gate("Tell me about rent", what="message").ok


def test_facts_gate_keeps_numbers_honest() -> None:
    source = "We charge a late rent fee of £30 when rent is 14 days overdue."
    assert gates.facts_gate("The late fee is £30 at 14 days.", source, keep_from=source).ok
    assert "invents" in gates.facts_gate("The fee is £35.", source).reason
    assert "drops" in gates.facts_gate("The late fee is £30.", source, keep_from=source).reason
    changed = gates.facts_gate("The fee is £30 at 14 weeks.", source)
    assert not changed.ok and "changes" in changed.reason


def test_grounding_gate_uses_similarity_and_new_words() -> None:
    chunk = ("We send a reminder on day 3 and give you a call on day 7. If the rent is 14 days "
             "or more overdue, we charge a late rent fee of £30.")
    windows = embed(gates.chunk_windows(chunk))
    good = "If your rent is 14 days late, we charge a £30 late rent fee."
    assert gates.grounding_gate(embed([good])[0], windows, good, (chunk,)).ok
    off = "Our pizza ovens are cleaned every evening by the kitchen staff."
    result = gates.grounding_gate(embed([off])[0], windows, off, (chunk,))
    assert not result.ok and "similarity" in result.reason
    invented = "We charge a late rent fee of £30 plus interest, penalties and bailiff visits."
    result = gates.grounding_gate(embed([invented])[0], windows, invented, (chunk,))
    assert not result.ok and "words not in the document" in result.reason


def test_dedup_index_drops_near_duplicates_within_a_scope() -> None:
    index = gates.DedupIndex(0.8)
    first, same, other = embed(["How long does it take to get my deposit back?",
                                "How long does it take until I get my deposit back?",
                                "Can I keep a cat in my flat?"])
    assert index.check("tenant:1", first).ok
    index.add("tenant:1", first)
    dup = index.check("tenant:1", same)
    assert not dup.ok and dup.gate == "dedup" and dup.score > 0.8
    assert index.check("tenant:1", other).ok
    assert index.check("owner:1", same).ok  # another role asks its own questions
    assert len(index) == 1


def test_scope_gate_rejects_answerable_questions() -> None:
    chunks = embed(["Pets need written consent; pet rent is £25 a month per pet."])
    assert gates.scope_gate(embed(["Who won the football last night?"])[0], chunks).ok
    assert not gates.scope_gate(embed(["How much is pet rent for my dog?"])[0], chunks).ok


def test_chunk_windows_cover_long_chunks() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(6))
    windows = gates.chunk_windows(text)
    assert windows[0] == "Sentence number 0 is here. Sentence number 1 is here. " \
                         "Sentence number 2 is here."
    assert windows[-1] == text and len(windows) == 5


def test_policy_gate() -> None:
    facts = PolicyFacts(["The late rent fee is £30."])
    assert gates.policy_gate("The late rent fee is £30.", facts).ok
    assert gates.policy_gate("The late rent fee is £40.", facts).reason.startswith("off-policy")
    assert isinstance(gates.policy_gate("Fine.", facts).score, float)
    assert np.isfinite(gates.policy_gate("Fine.", facts).score)


def test_facts_gate_notices_what_a_number_counts() -> None:
    source = "Today we manage about 640 homes for around 310 owners."
    assert gates.facts_gate("We look after 640 homes for 310 owners.", source).ok
    result = gates.facts_gate("We manage 640 homes across 310 studios.", source)
    assert not result.ok and "310" in result.reason


def test_relevance_gate_needs_shared_key_words() -> None:
    answer = ("If anyone asks you to pay rent into a new bank account, do not pay: call the "
              "office first. Our bank details never change by email.")
    assert gates.relevance_gate("Do your bank details ever change by email?", answer).ok
    assert not gates.relevance_gate("Can you please specify the bank you are referring to?",
                                    answer).ok
