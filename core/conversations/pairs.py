"""Preference pairs: the gated answer against a worse one, from four sources.

- ``judge`` (the Talk Small paper): the teacher writes an alternative answer and judges
  which of the two is better, asked twice with the answers swapped. A 135M judge is close to
  a coin, so the deterministic checks (grounding, figures, policy, readability) score both
  answers too; ``decided_by`` says which decided (``judge+checks`` when they agree,
  ``checks`` when the judge was inconsistent or disagreed, ``judge`` on a checks tie).
- ``formal``: the same facts made stiff and long (style.formal), clearly less readable.
- ``ungrounded``: a rewrite the pipeline itself rejected as unsupported, or else the answer
  to a different topic of the documents.
- ``off_policy``: a figure changed to contradict the operator's policies, or (for account
  requests) a claim to have done the action. The policy check must catch it, or no pair.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from core.conversations import prompts, style
from core.conversations.policy import PolicyFacts, violations
from core.conversations.rewrite import AnswerCheck, Attempt, clean_output
from core.conversations.text import figures
from core.readability import flesch_reading_ease

FORMAL_MARGIN = 15.0  # the formal variant must read this much harder


@dataclass
class PairDraft:
    source: str
    chosen: str
    rejected: str
    decided_by: str
    scores: dict[str, Any] = field(default_factory=dict)
    templates: list[str] = field(default_factory=list)
    teacher_calls: int = 0


def formal_contrast(chosen: str, seed: int) -> PairDraft | None:
    rejected = style.formal(chosen, seed)
    chosen_score = flesch_reading_ease(chosen)
    rejected_score = flesch_reading_ease(rejected)
    if rejected_score > chosen_score - FORMAL_MARGIN:
        return None
    return PairDraft("formal", chosen, rejected, "contrast",
                     {"flesch_chosen": round(chosen_score, 1),
                      "flesch_rejected": round(rejected_score, 1)}, ["style.formal"])


def ungrounded_contrast(chosen: str, attempts: list[Attempt],
                        other_answer: str | None) -> PairDraft | None:
    """A rewrite the gates rejected as unsupported, else a plausible answer to another topic."""
    for attempt in attempts:
        if attempt.gate in ("grounding", "facts") and attempt.text.strip() != chosen.strip():
            return PairDraft("ungrounded", chosen, attempt.text, "contrast",
                             {"rejected_gate": attempt.gate, "reason": attempt.reason})
    if other_answer and other_answer.strip() != chosen.strip():
        return PairDraft("ungrounded", chosen, other_answer, "contrast",
                         {"rejected_gate": "other_topic"})
    return None


def off_policy_contrast(chosen: str, facts: PolicyFacts, seed: int, *,
                        account: bool = False) -> PairDraft | None:
    """``chosen`` with one figure made to contradict the policies, or a false action claim."""
    rng = random.Random(seed)
    if account:
        claims = prompts.data("conversation_templates", "false_claims")
        rejected = str(rng.choice(claims))
        return PairDraft("off_policy", chosen, rejected, "contrast",
                         {"violation": violations(rejected, facts)[:1]},
                         ["false_claims"])
    if facts.contradictions(chosen):
        return None  # the check already objects to the chosen answer: no clean contrast
    for figure in figures(chosen):
        for wrong in _wrong_values(figure.value, rng):
            text = _format_like(figure.text, figure.value, wrong)
            rejected = chosen.replace(figure.text, text, 1)
            problems = facts.contradictions(rejected)
            if problems:
                return PairDraft("off_policy", chosen, rejected, "contrast",
                                 {"violation": problems[0]})
    return None


def judged_pair(teacher: Any, *, question: str, source_text: str, chosen: str,
                check: AnswerCheck, company: str, seed: int) -> PairDraft | None:
    """The teacher's own alternative answer, judged by the teacher and by the checks."""
    alt_template = prompts.template("alternative_answer")
    judge_template = prompts.template("judge")
    alternative = clean_output(teacher.complete(alt_template.request(
        seed=seed, company=company, text=source_text, question=question)))
    calls = 1
    if not alternative or alternative.strip() == chosen.strip():
        return None
    votes = []
    for a, b, chosen_is in ((chosen, alternative, "A"), (alternative, chosen, "B")):
        verdict = teacher.complete(judge_template.request(
            seed=seed, text=source_text, question=question, a=a, b=b))
        calls += 1
        letter = re.match(r"\W*([AB])\b", verdict.strip().upper())
        votes.append(None if letter is None else letter.group(1) == chosen_is)
    judge = votes[0] if votes[0] is not None and votes[0] == votes[1] else None
    chosen_score, chosen_fail = _check_score(check, chosen)
    alt_score, alt_fail = _check_score(check, alternative)
    checks = None if chosen_score == alt_score else chosen_score > alt_score
    if checks is None and judge is None:
        return None
    if checks is None:
        winner, decided_by = judge, "judge"
    elif judge is None or judge != checks:
        winner, decided_by = checks, "checks"
    else:
        winner, decided_by = checks, "judge+checks"
    best, worst = (chosen, alternative) if winner else (alternative, chosen)
    return PairDraft("judge", best, worst, decided_by,
                     {"judge_votes": votes, "checks_chosen": chosen_score,
                      "checks_alternative": alt_score, "alternative_failed": alt_fail,
                      "chosen_failed": chosen_fail},
                     [alt_template.id, judge_template.id], teacher_calls=calls)


def _check_score(check: AnswerCheck, text: str) -> tuple[float, str | None]:
    """Gates passed (0-6) plus readability / 100: higher is better."""
    failure, _ = check.run(text)
    order = ["format", "length", "facts", "policy", "grounding", "flesch"]
    passed = order.index(failure.gate) if failure and failure.gate in order else len(order)
    flesch = flesch_reading_ease(text)
    return round(passed + max(0.0, min(flesch, 100.0)) / 100, 3), (failure.gate if failure
                                                                   else None)


def _wrong_values(value: float, rng: random.Random) -> list[float]:
    candidates = [value * 2, value + 1 if value < 10 else value + 10, max(1.0, value - 1),
                  value * 3]
    rng.shuffle(candidates)
    return [c for c in candidates if c != value]


def _format_like(text: str, old: float, new: float) -> str:
    old_text = f"{old:,.2f}".rstrip("0").rstrip(".") if "," in text else f"{old:g}"
    new_text = f"{new:,.2f}".rstrip("0").rstrip(".") if "," in text else f"{new:g}"
    if old_text in text:
        return text.replace(old_text, new_text, 1)
    return re.sub(r"\d[\d,.]*", new_text, text, count=1)
