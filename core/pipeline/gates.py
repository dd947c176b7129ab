"""Release gates: what a trained model must show before it is exported without an override.

Three gates, editable by the operator (stored in the project's settings under
``release_gates``), judged on the answers the Evaluation step stored for the model *as it
is shipped*: the model plus the company index (label ``run:<id>+retrieval``):

- golden questions: the operator's evaluation questions that list facts the answer must
  contain (e.g. the cancellation fee); at least ``golden_min_share`` of them must state
  every fact (figures compared after normalisation, as the evaluation's policy metric does);
- readable answers: at least ``min_readable_share`` of all answers have Flesch >= 60 (the
  tone paper's "readable");
- out-of-scope questions: at most ``max_unescalated_share`` of them answered instead of
  handed to a person.

A gate with nothing to judge (no golden question, no out-of-scope question) is "not
applicable" and does not block; a model with no stored answers fails as "not evaluated".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.errors import ValidationError

SETTING = "release_gates"
GOLDEN_SOURCE = "operator"


@dataclass
class GateSettings:
    golden_min_share: float = 1.0
    min_readable_share: float = 0.9
    max_unescalated_share: float = 0.1

    def __post_init__(self) -> None:
        for name in ("golden_min_share", "min_readable_share", "max_unescalated_share"):
            value = getattr(self, name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ValidationError(name, f"{name} must be a share between 0 and 1, not "
                                      f"{value!r}.", "For example 0.9 for 90%.") from None
            if not 0.0 <= value <= 1.0:
                raise ValidationError(name, f"{name} must be between 0 and 1, not {value}.",
                                      "For example 0.9 for 90%.")
            setattr(self, name, value)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def load_gate_settings(project: Any) -> GateSettings:
    stored = project.store.get_setting(SETTING) or {}
    known = {k: v for k, v in stored.items() if k in GateSettings.__dataclass_fields__}
    try:
        return GateSettings(**known)
    except ValidationError:
        return GateSettings()  # a hand-edited bad value must not lock the operator out


def save_gate_settings(project: Any, settings: GateSettings) -> None:
    project.store.set_setting(SETTING, settings.to_dict())


@dataclass
class Failure:
    """One answer that made a gate fail, with why."""

    question: str
    answer: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class GateResult:
    key: str  # golden | readable | escalation
    label: str
    status: str  # passed | failed | not_applicable
    value: float | None  # the measured share
    threshold: float
    detail: str
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


@dataclass
class GateReport:
    label: str  # the evaluation label judged, e.g. run:<id>+retrieval
    run_id: str | None
    gates: list[GateResult]
    answered: int
    questions: int

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def summary(self) -> str:
        if self.passed:
            return "passes every release gate"
        return "fails: " + "; ".join(f"{g.label} ({g.detail})" for g in self.failed_gates())

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "run_id": self.run_id, "passed": self.passed,
                "answered": self.answered, "questions": self.questions,
                "summary": self.summary(), "gates": [g.to_dict() for g in self.gates]}


def shipped_label(run_id: str) -> str:
    """How a run is evaluated as shipped: the model with the company's index."""
    from core.evaluation.models import RETRIEVAL_SUFFIX

    return f"run:{run_id}{RETRIEVAL_SUFFIX}"


def golden_questions(project: Any) -> list[Any]:
    """The operator's evaluation questions that list facts the answer must contain."""
    from core.evaluation.questions import list_questions

    return [q for q in list_questions(project, GOLDEN_SOURCE) if q.must_contain]


def check_gates(project: Any, run_id: str | None = None, *, label: str | None = None,
                settings: GateSettings | None = None, eval_settings: Any = None) -> GateReport:
    """Judge the stored evaluation answers of ``run_id`` (or any ``label``); generates nothing."""
    from core.evaluation.metrics import missing_facts
    from core.evaluation.table import answers_for, select_questions

    if label is None:
        if not run_id:
            raise ValidationError("run", "No model to check against the release gates.",
                                  "Choose a trained run.")
        label = shipped_label(run_id)
    settings = settings or load_gate_settings(project)
    details = answers_for(project, label, settings=eval_settings)
    questions = len(select_questions(project))
    if not details:
        gate = GateResult("evaluated", "Evaluated", "failed", None, 1.0,
                          f"no stored answers for {label}: evaluate it first")
        return GateReport(label, run_id, [gate], 0, questions)

    answered = {d.question.id: d for d in details}
    golden = golden_questions(project)
    golden_fail = []
    for question in golden:
        detail = answered.get(question.id)
        if detail is None:
            golden_fail.append(Failure(question.question, "", "not answered yet: evaluate "
                                       "this model on the golden questions"))
            continue
        missing = missing_facts(detail.answer, question.must_contain)
        if missing:
            golden_fail.append(Failure(question.question, detail.answer,
                                       "missing: " + ", ".join(missing)))
    readable_fail = [Failure(d.question.question, d.answer,
                             f"Flesch {float(d.scores['flesch']):.0f} < 60")
                     for d in details if not d.scores["readable"]]
    out_of_scope = [d for d in details if not d.question.in_scope]
    escalation_fail = [Failure(d.question.question, d.answer, "answered instead of handed "
                               "to a person") for d in out_of_scope if not d.escalated]
    gates = [
        _share_gate("golden", "Golden questions", len(golden), len(golden) - len(golden_fail),
                    settings.golden_min_share, golden_fail, at_least=True,
                    what="state every required fact"),
        _share_gate("readable", "Readable answers", len(details),
                    len(details) - len(readable_fail), settings.min_readable_share,
                    readable_fail, at_least=True, what="read easily (Flesch >= 60)"),
        _share_gate("escalation", "Out-of-scope not escalated", len(out_of_scope),
                    len(escalation_fail), settings.max_unescalated_share, escalation_fail,
                    at_least=False, what="were answered instead of escalated"),
    ]
    return GateReport(label, run_id, gates, len(details), questions)


def _share_gate(key: str, label: str, total: int, count: int, threshold: float,
                failures: list[Failure], *, at_least: bool, what: str) -> GateResult:
    if total == 0:
        return GateResult(key, label, "not_applicable", None, threshold,
                          "no question to judge" if key != "golden"
                          else "no golden question yet (add them in the Evaluation step)")
    share = count / total
    ok = share >= threshold - 1e-9 if at_least else share <= threshold + 1e-9
    bound = "at least" if at_least else "at most"
    detail = f"{count} of {total} {what} ({share:.0%}; {bound} {threshold:.0%} needed)"
    return GateResult(key, label, "passed" if ok else "failed", round(share, 4), threshold,
                      detail, [] if ok else failures)


def require_gates(project: Any, run_id: str, override: bool) -> GateReport | None:
    """Raise unless ``run_id`` passes its gates or the operator overrides (export uses this)."""
    if override:
        return None
    report = check_gates(project, run_id)
    if not report.passed:
        raise ValidationError(
            "gates", f"Run {run_id} {report.summary()}.",
            "Look at the failing answers in the Export step, improve the model (more "
            "conversations, another training run) or, if you accept the risk, export anyway "
            "with the explicit override ('Export anyway' / --override-gates).")
    return report
