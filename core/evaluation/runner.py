"""Evaluate: every model label answers every question once, stored as it comes.

Answers are generated through ``ChatEngine`` (core/chat), so the prompt an evaluated model
reads is exactly the one chat and the server build. One engine (one model load) serves all
variants of a model: it is opened without a project, so a bare call has no system prompt,
and the project is passed per call for the prompted and retrieval variants.

Each answer is committed on its own, keyed by (model, variant, question, settings hash; see
core/evaluation/models.py): a re-run generates only what is missing, and cancelling between
two answers (``stop``) loses nothing. Decoding is fixed (EvalSettings: greedy, 160 tokens,
seed 0) and recorded with every answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from core.evaluation.models import (
    DEFAULT_MODELS,
    EvalSettings,
    ModelSpec,
    answer_settings,
    parse_models,
    settings_hash,
)
from core.evaluation.questions import EvalQuestion
from core.evaluation.table import EvalTable, eval_table, select_questions

Progress = Callable[[int, int, str], None]  # (answers done, answers to make, message)
Stop = Callable[[], bool]


def evaluate(project: Any, models: Sequence[str] = DEFAULT_MODELS, *,
             questions: Sequence[int] | None = None, limit: int | None = None,
             settings: EvalSettings | None = None, progress: Progress | None = None,
             stop: Stop | None = None, n_threads: int | None = None) -> EvalTable:
    """Answer the missing (model, question) pairs, then return the table of all of them.

    ``models``: labels (base, prompted, retrieval, run:<id>[+retrieval], file:<gguf>
    [+retrieval]). ``questions``: evaluation question ids (default: all), of which the first
    ``limit``. ``stop`` is asked before each answer; once it says yes the table of what was
    stored so far comes back with ``stopped`` set.
    """
    from core.errors import ValidationError

    started = time.perf_counter()
    settings = settings or EvalSettings()
    specs = parse_models(project, models)
    chosen = select_questions(project, questions, limit)
    if not chosen:
        raise ValidationError("questions", "There are no evaluation questions.",
                              "Hold out a share of the generated conversations, or import "
                              "questions from a JSONL file (--questions FILE.jsonl).")
    plan = _missing(project, specs, settings, chosen)
    total = sum(len(todo) for _, _, _, todo in plan)
    done = 0
    stopped = False
    report = progress or (lambda _done, _total, _message: None)
    report(0, total, f"{total} answers to make" if total else "every answer is stored")
    engines: dict[str, Any] = {}
    try:
        for spec, values, digest, todo in plan:
            for question in todo:
                if stop is not None and stop():
                    stopped = True
                    break
                engine = engines.get(spec.model)
                if engine is None:
                    so_far = done
                    engine = _open(project, spec.model, settings, n_threads,
                                   lambda _f, m, n=so_far: report(n, total, m))
                    engines[spec.model] = engine
                answer = _answer(engine, project, spec, question, settings)
                _store(project, spec, question, digest, values, answer)
                done += 1
                report(done, total, f"{spec.label}: {question.question[:60]}")
            if stopped:
                break
    finally:
        for engine in engines.values():
            engine.close()
    table = eval_table(project, [s.label for s in specs], questions=[q.id for q in chosen],
                       settings=settings)
    table.generated, table.stopped = done, stopped
    table.seconds = time.perf_counter() - started
    return table


def _missing(project: Any, specs: list[ModelSpec], settings: EvalSettings,
             chosen: list[EvalQuestion]
             ) -> list[tuple[ModelSpec, dict[str, Any], str, list[EvalQuestion]]]:
    """Per label: its settings, their hash, and the questions it has no stored answer to."""
    plan = []
    ids = [q.id for q in chosen]
    for spec in specs:
        values = answer_settings(project, spec, settings)
        digest = settings_hash(values)
        stored = {r[0] for r in project.store.query(
            f"SELECT question_id FROM eval_answers WHERE model = ? AND variant = ? AND "
            f"settings_hash = ? AND question_id IN ({', '.join('?' * len(ids))})",
            (spec.model, spec.variant, digest, *ids))}
        plan.append((spec, values, digest, [q for q in chosen if q.id not in stored]))
    return plan


def _open(project: Any, model: str, settings: EvalSettings, n_threads: int | None,
          progress: Callable[[float, str], None]) -> Any:
    from core.chat import ChatEngine
    from core.chat.choices import model_path

    path = model_path(project, model, progress=progress)  # a run is exported once
    return ChatEngine(path, project=None, name=model, n_threads=n_threads, seed=settings.seed,
                      k=settings.k)


def _answer(engine: Any, project: Any, spec: ModelSpec, question: EvalQuestion,
            settings: EvalSettings) -> Any:
    messages = [{"role": "user", "content": question.question}]
    options: dict[str, Any] = {"max_tokens": settings.max_tokens,
                               "temperature": settings.temperature, "seed": settings.seed}
    if spec.variant == "bare":  # the model as it ships: its own template, no company
        return engine.answer(messages, **options)
    return engine.answer(messages, project=project, role=question.role,
                         retrieval=spec.variant == "retrieval", **options)


def _store(project: Any, spec: ModelSpec, question: EvalQuestion, digest: str,
           values: dict[str, Any], answer: Any) -> None:
    from core.chat.engine import passage_dict

    passages = [_passage(passage_dict(p)) for p in answer.passages]
    with project.store.transaction() as conn:
        conn.execute(
            "INSERT INTO eval_answers (model, variant, question_id, settings_hash, settings, "
            "answer, raw, analysis, intent, escalated, passages, tokens, seconds, "
            "finish_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (model, variant, question_id, settings_hash) DO NOTHING",
            (spec.model, spec.variant, question.id, digest,
             json.dumps(values, ensure_ascii=False), answer.text, answer.raw,
             answer.hidden.analysis, answer.hidden.intent, int(answer.escalated),
             json.dumps(passages, ensure_ascii=False, default=str), answer.tokens,
             round(answer.seconds, 4), answer.finish_reason))


def _passage(data: dict[str, Any]) -> dict[str, Any]:
    keep = ("chunk_id", "document", "section", "text", "similarity", "score")
    return {k: data[k] for k in keep if k in data}
