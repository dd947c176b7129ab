"""Policy figures and "must not" rules, on literals and on the real sample company."""

from __future__ import annotations

from core.conversations.escalation import rewrite_action_claims
from core.conversations.pairs import off_policy_contrast
from core.conversations.policy import PolicyFacts, sensitive_requests, violations
from core.conversations.sources import answer_sentences, load_chunks, ticket_pair
from core.sample import sample_profile

POLICIES = [
    "The late rent fee is £30, charged once per late payment when rent is 14 days or more "
    "overdue.",
    "A replacement key costs £45; a replacement fob costs £25.",
    "Repairs: emergency within 4 hours, urgent within 24 hours, routine within 10 working days.",
]


def test_a_changed_figure_contradicts_the_policy() -> None:
    facts = PolicyFacts(POLICIES)
    assert facts.contradictions("The late rent fee is £30.") == []
    problems = facts.contradictions("Our late rent fee is £25 if you pay late.")
    assert problems and "£25" in problems[0] and "£30" in problems[0]
    assert facts.contradictions("A replacement fob costs £45.")  # the key's price, not the fob's
    assert facts.contradictions("A replacement fob costs £25 and a key £45.") == []


def test_unrelated_figures_are_not_checked() -> None:
    facts = PolicyFacts(POLICIES)
    assert facts.contradictions("The check-out inspection is within 3 working days.") == []
    assert facts.contradictions("Your rent is £950 a month.") == []


def test_must_not_rules() -> None:
    facts = PolicyFacts(POLICIES)
    assert violations("I have refunded the £10 to your card.", facts)
    assert sensitive_requests("Please send me your card number and security code.")
    assert not sensitive_requests("We never ask you to send card numbers by email.")
    assert not sensitive_requests("If you send us card details by mistake, we delete them.")


def test_true_statements_of_the_sample_company_are_rarely_flagged(sample_project) -> None:
    """Every answer sentence and (made safe) ticket reply, against the sample's policies."""
    facts = PolicyFacts.from_profile(sample_project.profile())
    texts = []
    for chunk in load_chunks(sample_project):
        if chunk.kind == "ticket":
            pair = ticket_pair(chunk)
            if pair:
                texts.append(rewrite_action_claims(pair[1])[0])
        else:
            texts += answer_sentences(chunk.text)
    flagged = [t for t in texts if violations(t, facts)]
    assert len(texts) > 400
    assert len(flagged) / len(texts) <= 0.01, flagged


def test_off_policy_variants_of_real_answers_are_caught(sample_project) -> None:
    facts = PolicyFacts.from_profile(sample_project.profile())
    made = 0
    for chunk in load_chunks(sample_project):
        for sentence in answer_sentences(chunk.text) if chunk.kind == "text" else []:
            pair = off_policy_contrast(sentence, facts, seed=chunk.id)
            if pair:
                made += 1
                assert facts.contradictions(pair.rejected)
                assert not facts.contradictions(pair.chosen)
    assert made >= 40


def test_profile_policies_parse_into_figure_clauses() -> None:
    facts = PolicyFacts.from_profile(sample_profile())
    assert len(facts.clauses) >= 25
    assert all(clause.figures for clause in facts.clauses)
