"""The automatic metrics of the Evaluation step, per answer and over a model's answers.

Every metric reads the visible answer (hidden analysis/intent tags stripped before storing).
Scales follow the libraries' own conventions, so numbers compare with published ones:
Flesch reading ease (textstat, 0-100+), cosine similarity (MiniLM, -1..1), ROUGE-L F1
(rouge-score, 0-1), BLEU and chrF (sacrebleu, 0-100), shares and rates 0-1.

BLEU and chrF over a model's answers are corpus scores (n-gram counts summed over all
answers, as sacrebleu and the literature report them), not the mean of sentence scores; the
per-answer drill-down shows sentence scores. Everything else aggregates as a plain mean over
the answers the metric applies to (``METRICS[...].applies``), and is None when none do.

Policy adherence: every ``must_contain`` fact is stated (case-insensitive, numbers
normalised: "five weeks" = "5 weeks", "£1,000.00" = "£1000", "30 pounds" = "£30") and the
answer breaks none of the project's policies as core.conversations.policy checks them
(figures that contradict a policy line, claimed account actions, asking for card numbers or
passwords). The company profile has no list of forbidden phrases; those checks are its
"must not" rules.

Escalation is what the engine did (retrieval found nothing) or what the answer says: the
phrases of our own escalation answers and the usual hand-over wording. It is a heuristic: an
in-scope answer that mentions "a team member will visit" counts as escalated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

READABLE_FLESCH = 60.0


@dataclass(frozen=True)
class MetricInfo:
    """What a metric means, for table headers, tooltips and the report."""

    key: str
    label: str
    description: str
    higher_is_better: bool | None  # None: neither (length, time)
    applies: str  # which answers count: all | reference | intent | must_contain | ...

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "description": self.description,
                "higher_is_better": self.higher_is_better, "applies": self.applies}


METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("readable_share", "Readable", "share of answers with Flesch reading ease >= 60",
               True, "all"),
    MetricInfo("mean_flesch", "Flesch", "mean Flesch reading ease (higher is easier to read)",
               True, "all"),
    MetricInfo("similarity", "Similarity", "meaning close to the reference answer (MiniLM "
               "cosine, 0-1)", True, "reference"),
    MetricInfo("rouge_l", "ROUGE-L", "longest common word sequence with the reference (F1, "
               "0-1)", True, "reference"),
    MetricInfo("bleu", "BLEU", "word n-gram overlap with the references (corpus BLEU, 0-100)",
               True, "reference"),
    MetricInfo("chrf", "chrF", "character n-gram overlap with the references (corpus chrF, "
               "0-100)", True, "reference"),
    MetricInfo("intent_accuracy", "Intent", "hidden intent tag equals the expected intent",
               True, "intent"),
    MetricInfo("intent_tagged", "Tagged", "share of answers with a hidden intent tag (format "
               "compliance)", True, "all"),
    MetricInfo("policy_adherence", "Policy", "states every must-contain fact and breaks no "
               "policy (wrong figures, claimed account actions, asking for card details)",
               True, "all"),
    MetricInfo("system_accuracy", "System", "intent right and policy kept, both (intent x "
               "policy)", True, "intent"),
    MetricInfo("escalation_rate", "Escalated (out of scope)", "out-of-scope questions handed "
               "to a person", True, "out_of_scope"),
    MetricInfo("wrong_escalation_rate", "Escalated (in scope)", "in-scope questions handed to "
               "a person instead of answered", False, "in_scope"),
    MetricInfo("retrieval_recall", "Recall@k", "the retrieved passages hold every "
               "must-contain fact (retrieval variants only)", True, "must_contain"),
    MetricInfo("mean_words", "Words", "mean answer length in words", None, "all"),
    MetricInfo("seconds_per_answer", "s/answer", "mean time to generate one answer", False,
               "all"),
)
METRIC_KEYS = tuple(m.key for m in METRICS)
# Shares of answers, shown as percentages wherever a table shows them.
PERCENT_METRICS = frozenset({"readable_share", "intent_accuracy", "intent_tagged",
                             "policy_adherence", "system_accuracy", "escalation_rate",
                             "wrong_escalation_rate", "retrieval_recall"})


def format_metric(key: str, value: float | None) -> str:
    """A metric as the page and the report show it ("-" where it does not apply)."""
    if value is None:
        return "-"
    if key in PERCENT_METRICS:
        return f"{value:.0%}"
    if key in ("similarity", "rouge_l"):
        return f"{value:.3f}"
    return f"{value:.1f}"

_ESCALATION_RE = re.compile(
    r"\b(team member|member of (our|the) team|connect you (with|to)|put you in touch|"
    r"pass (this|it|your \w+) (on )?to|hand (this|you) (over )?to|a person (will|can)|"
    r"(can't|cannot|can not|am not able to|'m not able to|unable to) help with|"
    r"outside what I can help|not something I can help|contact (our|the) (office|team))\b",
    re.IGNORECASE)
_NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
                 "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "twenty": 20,
                 "thirty": 30}
_NUMBER_WORD_RE = re.compile(rf"\b({'|'.join(_NUMBER_WORDS)})\b")


@dataclass
class AnswerInput:
    """One stored answer with what its question expects."""

    answer: str
    reference: str | None = None
    expected_intent: str | None = None
    intent: str | None = None
    in_scope: bool = True
    must_contain: list[str] = field(default_factory=list)
    escalated: bool = False  # the engine escalated (retrieval found nothing)
    seconds: float = 0.0
    passages: list[str] | None = None  # texts given to the model; None: no retrieval


# --- single measures ----------------------------------------------------------------
def flesch(text: str) -> float:
    from core.readability import flesch_reading_ease

    return round(flesch_reading_ease(text), 2)


def word_count(text: str) -> int:
    return len(text.split())


def similarities(answers: Sequence[str], references: Sequence[str]) -> list[float]:
    """Cosine similarity of each answer to its reference (MiniLM unit vectors)."""
    if not answers:
        return []
    from core.embeddings import embed

    vectors = embed([*answers, *references])
    n = len(answers)
    return [round(float(vectors[i] @ vectors[n + i]), 4) for i in range(n)]


def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F1 (Porter-stemmed words, rouge-score's tokenizer)."""
    return round(float(_rouge().score(reference, answer)["rougeL"].fmeasure), 4)


def sentence_bleu(answer: str, reference: str) -> float:
    import sacrebleu

    return round(float(sacrebleu.sentence_bleu(answer, [reference]).score), 2)


def sentence_chrf(answer: str, reference: str) -> float:
    import sacrebleu

    return round(float(sacrebleu.sentence_chrf(answer, [reference]).score), 2)


def corpus_bleu(answers: Sequence[str], references: Sequence[str]) -> float | None:
    if not answers:
        return None
    import sacrebleu

    return round(float(sacrebleu.corpus_bleu(list(answers), [list(references)]).score), 2)


def corpus_chrf(answers: Sequence[str], references: Sequence[str]) -> float | None:
    if not answers:
        return None
    import sacrebleu

    return round(float(sacrebleu.corpus_chrf(list(answers), [list(references)]).score), 2)


def normalise_facts_text(text: str) -> str:
    """Lower case, number words as digits, "£1,000.00" -> "£1000", "30 pounds" -> "£30"."""
    out = text.lower().replace("’", "'")
    out = _NUMBER_WORD_RE.sub(lambda m: str(_NUMBER_WORDS[m.group(1)]), out)
    out = re.sub(r"(?<=\d),(?=\d{3}\b)", "", out)
    out = re.sub(r"(\d+)\.0+\b", r"\1", out)
    out = re.sub(r"(\d+(?:\.\d+)?)\s*(?:pounds?|gbp)\b", r"£\1", out)
    out = re.sub(r"(\d+(?:\.\d+)?)\s*(?:per ?cent|percent)\b", r"\1%", out)
    out = re.sub(r"([£$€])\s+(?=\d)", r"\1", out)
    out = re.sub(r"(\d)\s+%", r"\1%", out)
    return re.sub(r"\s+", " ", out).strip()


def contains_fact(text: str, fact: str) -> bool:
    """``fact`` appears in ``text`` as whole words, after ``normalise_facts_text``."""
    wanted = normalise_facts_text(fact)
    if not wanted:
        return True
    pattern = rf"(?<![0-9a-z]){re.escape(wanted)}(?![0-9a-z])"
    if wanted[-1].isdigit():
        pattern = rf"(?<![0-9a-z]){re.escape(wanted)}(?![0-9a-z]|\.\d)"
    return re.search(pattern, normalise_facts_text(text)) is not None


def missing_facts(text: str, facts: Sequence[str]) -> list[str]:
    return [f for f in facts if not contains_fact(text, f)]


def policy_problems(answer: str, must_contain: Sequence[str], policy: Any = None) -> list[str]:
    """Why the answer fails policy adherence ([] when it adheres).

    ``policy``: a core.conversations.policy.PolicyFacts of the project (None: facts only).
    """
    problems = [f'does not state "{f}"' for f in missing_facts(answer, must_contain)]
    if policy is not None:
        from core.conversations.policy import violations

        problems += violations(answer, policy)
    return problems


def looks_escalated(text: str) -> bool:
    """The answer hands the customer to a person or declines (see the module docstring)."""
    return _ESCALATION_RE.search(text) is not None


def intent_matches(expected: str | None, got: str | None) -> bool:
    def norm(value: str | None) -> str:
        return re.sub(r"[^a-z0-9]+", "_", (value or "").strip().lower()).strip("_")

    return bool(norm(expected)) and norm(expected) == norm(got)


# --- per answer and aggregated ------------------------------------------------------------
def score_answers(items: Sequence[AnswerInput], policy: Any = None) -> list[dict[str, Any]]:
    """Per-answer values; a key is None where the metric does not apply to that answer."""
    with_ref = [i for i, item in enumerate(items) if item.reference]
    sims = similarities([items[i].answer for i in with_ref],
                        [str(items[i].reference) for i in with_ref])
    sim_of = dict(zip(with_ref, sims, strict=True))
    out = []
    for index, item in enumerate(items):
        score = flesch(item.answer)
        escalated = item.escalated or looks_escalated(item.answer)
        problems = policy_problems(item.answer, item.must_contain, policy)
        row: dict[str, Any] = {
            "flesch": score, "readable": score >= READABLE_FLESCH,
            "similarity": sim_of.get(index), "rouge_l": None, "bleu": None, "chrf": None,
            "intent_correct": (intent_matches(item.expected_intent, item.intent)
                               if item.expected_intent else None),
            "intent_tagged": bool(item.intent), "policy_ok": not problems,
            "system_ok": (intent_matches(item.expected_intent, item.intent) and not problems
                          if item.expected_intent else None),
            "policy_problems": problems, "escalated": escalated,
            "words": word_count(item.answer), "seconds": round(item.seconds, 3),
            "retrieval_hit": None,
        }
        if item.reference:
            row["rouge_l"] = rouge_l(item.answer, item.reference)
            row["bleu"] = sentence_bleu(item.answer, item.reference)
            row["chrf"] = sentence_chrf(item.answer, item.reference)
        if item.passages is not None and item.must_contain:
            row["retrieval_hit"] = not missing_facts(" ".join(item.passages), item.must_contain)
        out.append(row)
    return out


def aggregate(items: Sequence[AnswerInput], scores: Sequence[dict[str, Any]]
              ) -> tuple[dict[str, float | None], dict[str, int]]:
    """(metric -> value, metric -> how many answers it is computed over)."""
    values: dict[str, float | None] = {}
    counts: dict[str, int] = {}

    def mean(key: str, metric: str, keep: Sequence[int] | None = None) -> None:
        picked = [float(scores[i][key]) for i in (keep if keep is not None else
                                                  range(len(scores)))
                  if scores[i][key] is not None]
        counts[metric] = len(picked)
        values[metric] = round(sum(picked) / len(picked), 4) if picked else None

    every = list(range(len(items)))
    ref = [i for i in every if items[i].reference]
    mean("readable", "readable_share")
    mean("flesch", "mean_flesch")
    mean("similarity", "similarity")
    mean("rouge_l", "rouge_l")
    answers = [items[i].answer for i in ref]
    references = [str(items[i].reference) for i in ref]
    values["bleu"], counts["bleu"] = corpus_bleu(answers, references), len(ref)
    values["chrf"], counts["chrf"] = corpus_chrf(answers, references), len(ref)
    mean("intent_correct", "intent_accuracy")
    mean("intent_tagged", "intent_tagged")
    mean("policy_ok", "policy_adherence")
    mean("system_ok", "system_accuracy")
    mean("escalated", "escalation_rate", [i for i in every if not items[i].in_scope])
    mean("escalated", "wrong_escalation_rate", [i for i in every if items[i].in_scope])
    mean("retrieval_hit", "retrieval_recall")
    mean("words", "mean_words")
    mean("seconds", "seconds_per_answer")
    return {k: values[k] for k in METRIC_KEYS}, {k: counts[k] for k in METRIC_KEYS}


def applies(metric: str, item: AnswerInput) -> bool:
    """Whether ``item`` counts in ``metric`` (the answers behind a number)."""
    info = next((m for m in METRICS if m.key == metric), None)
    if info is None:
        from core.errors import ValidationError

        raise ValidationError("metric", f"Unknown metric {metric!r}.",
                              f"Use one of: {', '.join(METRIC_KEYS)}.")
    return {
        "all": True,
        "reference": bool(item.reference),
        "intent": bool(item.expected_intent),
        "out_of_scope": not item.in_scope,
        "in_scope": item.in_scope,
        "must_contain": bool(item.must_contain) and item.passages is not None,
    }[info.applies]


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
