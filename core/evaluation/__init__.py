"""The Evaluation step: a held-out question set, automatic metrics, stored answers per model.

Importing this package is cheap: models, embeddings and metric libraries load on first use.
The GUI reads ``eval_table`` (what is stored) and runs ``evaluate`` through the "evaluate"
job; ``answers_for`` lists the answers behind any number of the table.
"""

from core.evaluation.metrics import METRIC_KEYS, METRICS, MetricInfo
from core.evaluation.models import (
    DEFAULT_MODELS,
    VARIANTS,
    EvalSettings,
    ModelSpec,
    default_models,
    parse_models,
)
from core.evaluation.questions import (
    EvalQuestion,
    HoldOutResult,
    ImportResult,
    add_question,
    held_out_example_ids,
    hold_out,
    import_questions,
    list_questions,
    remove_questions,
)
from core.evaluation.runner import evaluate
from core.evaluation.table import AnswerDetail, EvalRow, EvalTable, answers_for, eval_table

__all__ = [
    "DEFAULT_MODELS",
    "METRICS",
    "METRIC_KEYS",
    "VARIANTS",
    "AnswerDetail",
    "EvalQuestion",
    "EvalRow",
    "EvalSettings",
    "EvalTable",
    "HoldOutResult",
    "ImportResult",
    "MetricInfo",
    "ModelSpec",
    "add_question",
    "answers_for",
    "default_models",
    "eval_table",
    "evaluate",
    "held_out_example_ids",
    "hold_out",
    "import_questions",
    "list_questions",
    "parse_models",
    "remove_questions",
]
