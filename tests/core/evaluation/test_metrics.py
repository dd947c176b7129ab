"""Every metric on small inputs whose values were worked out by hand (in the comments)."""

from __future__ import annotations

import pytest

from core.evaluation import metrics
from core.evaluation.metrics import AnswerInput


def test_flesch_of_a_short_sentence() -> None:
    # 6 words, 1 sentence, 6 syllables: 206.835 - 1.015 * 6 - 84.6 * 1 = 116.145
    assert metrics.flesch("The cat sat on the mat.") == pytest.approx(116.145, abs=0.01)
    assert metrics.flesch("") == 0.0


def test_bleu_of_one_changed_word() -> None:
    # "the cat sat on the hat" vs "... mat": n-gram precisions 5/6, 4/5, 3/4, 2/3, equal
    # lengths (no brevity penalty): 100 * (5/6 * 4/5 * 3/4 * 2/3) ** (1/4) = 100 * 3**-0.25
    expected = 100 * 3 ** -0.25
    assert metrics.sentence_bleu("the cat sat on the hat", "the cat sat on the mat") \
        == pytest.approx(expected, abs=0.01)
    assert metrics.corpus_bleu(["the cat sat on the hat"], ["the cat sat on the mat"]) \
        == pytest.approx(expected, abs=0.01)
    assert metrics.sentence_bleu("the cat sat on the mat", "the cat sat on the mat") == 100.0
    assert metrics.corpus_bleu([], []) is None


def test_chrf_of_a_missing_character() -> None:
    # "ab" vs "abc": 1-grams P 2/2 R 2/3, 2-grams P 1/1 R 1/2, longer ones absent in the
    # answer. Averages P = 1, R = 7/12; F2 = 5PR / (4P + R) = (35/12) / (55/12) = 7/11.
    assert metrics.sentence_chrf("ab", "abc") == pytest.approx(100 * 7 / 11, abs=0.01)
    assert metrics.sentence_chrf("abc", "abc") == 100.0
    assert metrics.sentence_chrf("xyz", "abc") == 0.0
    assert metrics.corpus_chrf(["ab"], ["abc"]) == pytest.approx(100 * 7 / 11, abs=0.01)


def test_rouge_l_of_a_dropped_word() -> None:
    # LCS of "the cat on the mat" with "the cat sat on the mat" is 5 words: P 5/5, R 5/6,
    # F1 = 2PR / (P + R) = 10/11
    assert metrics.rouge_l("the cat on the mat", "the cat sat on the mat") \
        == pytest.approx(10 / 11, abs=1e-4)
    assert metrics.rouge_l("dogs bark", "the cat sat") == 0.0


def test_similarity_is_one_for_the_same_text_and_higher_for_a_paraphrase() -> None:
    reference = "The late rent fee is £30."
    same, paraphrase, unrelated = metrics.similarities(
        [reference, "If rent is late we charge a £30 fee.", "The capital of France is Paris."],
        [reference] * 3)
    assert same == pytest.approx(1.0, abs=1e-3)
    assert paraphrase > 0.5 > unrelated


@pytest.mark.parametrize(("text", "fact", "found"), [
    ("The fee is £30.", "£30", True),
    ("The fee is £300.", "£30", False),  # a longer number is another number
    ("The fee is £30.50.", "£30", False),
    ("It costs 30 pounds.", "£30", True),
    ("A deposit of five weeks' rent.", "5 weeks", True),
    ("It is £1,000.00 a year.", "£1000", True),
    ("VAT makes it 9.6 percent.", "9.6%", True),
    ("Call the Dispute Service.", "dispute service", True),
    ("Call the service.", "dispute service", False),
])
def test_facts_are_matched_case_insensitive_with_numbers_normalised(text: str, fact: str,
                                                                     found: bool) -> None:
    assert metrics.contains_fact(text, fact) is found


def test_policy_problems_name_missing_facts_and_broken_policies() -> None:
    from core.conversations.policy import PolicyFacts
    from core.sample import sample_profile

    policy = PolicyFacts.from_profile(sample_profile())
    assert metrics.policy_problems("The late rent fee is £30.", ["£30"], policy) == []
    problems = metrics.policy_problems("The late rent fee is £25.", ["£30"], policy)
    assert problems[0] == 'does not state "£30"'
    assert any("contradicts" in p for p in problems)
    assert metrics.policy_problems("I have refunded your deposit.", [], policy)
    assert metrics.policy_problems("Please send me your card number.", [], policy)
    assert metrics.policy_problems("Fine.", ["£30"], None) == ['does not state "£30"']


def test_escalation_and_intent() -> None:
    assert metrics.looks_escalated("I'll pass this to a team member, who will get back to you.")
    assert metrics.looks_escalated("Sorry, I can't help with that.")
    assert not metrics.looks_escalated("The late rent fee is £30.")
    assert metrics.intent_matches("fees_and_payments", "Fees and payments")
    assert not metrics.intent_matches("fees_and_payments", "repairs")
    assert not metrics.intent_matches("fees_and_payments", None)


def test_aggregate_over_hand_made_answers() -> None:
    items = [
        # in scope, answered right: readable, intent right, states the fact
        AnswerInput("The fee is £30.", reference="The fee is £30.", expected_intent="fees",
                    intent="fees", must_contain=["£30"], seconds=1.0,
                    passages=["Late rent fee: £30."]),
        # in scope but escalated by the engine: wrong escalation, fact missing
        AnswerInput("Sorry, I can't help with that.", reference="Pets need consent.",
                    expected_intent="pets", intent=None, must_contain=["consent"],
                    escalated=True, seconds=3.0, passages=[]),
        # out of scope, escalated in words; no reference
        AnswerInput("A team member will help you.", in_scope=False, seconds=2.0),
    ]
    scores = metrics.score_answers(items)
    values, counts = metrics.aggregate(items, scores)
    assert values["intent_accuracy"] == 0.5 and counts["intent_accuracy"] == 2
    assert values["system_accuracy"] == 0.5 and counts["system_accuracy"] == 2
    assert values["intent_tagged"] == pytest.approx(1 / 3, abs=1e-4)
    assert values["policy_adherence"] == pytest.approx(2 / 3, abs=1e-4)
    assert values["escalation_rate"] == 1.0 and counts["escalation_rate"] == 1
    assert values["wrong_escalation_rate"] == 0.5 and counts["wrong_escalation_rate"] == 2
    assert values["retrieval_recall"] == 0.5 and counts["retrieval_recall"] == 2
    assert values["seconds_per_answer"] == 2.0
    assert values["mean_words"] == pytest.approx((4 + 6 + 6) / 3, abs=1e-4)
    assert counts["similarity"] == counts["bleu"] == 2
    assert scores[0]["similarity"] == pytest.approx(1.0, abs=1e-3)
    assert scores[0]["bleu"] == 100.0
    assert values["bleu"] == metrics.corpus_bleu(
        ["The fee is £30.", "Sorry, I can't help with that."],
        ["The fee is £30.", "Pets need consent."])
    readable = [metrics.flesch(i.answer) >= 60 for i in items]
    assert values["readable_share"] == pytest.approx(sum(readable) / 3, abs=1e-4)
    assert [metrics.applies("escalation_rate", i) for i in items] == [False, False, True]


def test_aggregate_of_nothing_is_none() -> None:
    values, counts = metrics.aggregate([], [])
    assert all(v is None for v in values.values())
    assert set(values) == set(metrics.METRIC_KEYS) and not any(counts.values())
