"""Before a run starts: the device, the data, a memory and time estimate, and a refusal.

The GUI asks this as the operator changes settings, so the slow facts (the device, the
tokenized length of the data, the model's shape) are worked out once per base model, data
and length limit, and cached; the estimate itself is arithmetic (core.training.estimate)
and is recomputed on every change. The trainer makes the same checks again in the child
(engine.run_training) before its first step, so a run cannot start on a stale estimate.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from core.errors import TalkSmallError

_lock = threading.Lock()
_facts: dict[tuple[Any, ...], Facts] = {}


@dataclass(frozen=True)
class Facts:
    device: Any  # core.training.device.DeviceInfo
    precision: str
    shape: Any  # core.training.estimate.ModelShape
    train_rows: int
    validation_rows: int
    mean_tokens: float
    lengths: tuple[float, ...]  # tokens of each (sampled) training row
    base_label: str


def preflight(spec: dict[str, Any]) -> dict[str, Any]:
    """{"device", "precision", "estimate", "rows", "validation_rows", "base", "refusal"}.

    ``refusal`` is None or {"message", "hint"}: the run would not fit, or the corpus is far
    too small to train from scratch. Errors in the spec or the data raise TalkSmallError.
    """
    from core.training import estimate as est
    from core.training.data import longest_batch_tokens
    from core.training.spec import parse_spec

    parsed = parse_spec(spec)
    facts = _cached_facts(parsed)
    params = parsed.params
    padded = not params["padding_free"] or parsed.preference
    per_row = float(params["max_length"]) if padded and not parsed.preference \
        else facts.mean_tokens
    estimate = est.estimate_run(facts.shape, method=parsed.method, params=params,
                                device=facts.device, precision=facts.precision,
                                tokens_per_row=per_row, rows=facts.train_rows,
                                peak_tokens_per_row=None if padded else longest_batch_tokens(
                                    list(facts.lengths), int(params["batch_size"])))
    refusal = None
    try:
        est.check_fits(estimate, facts.device, params)
        if parsed.base == "scratch":
            from core.training.engine import _check_corpus
            from core.training.presets import get_preset

            _check_corpus(parsed, get_preset(parsed.preset), facts.mean_tokens *
                          facts.train_rows)
    except TalkSmallError as exc:
        refusal = {"message": exc.message, "hint": exc.hint}
    device = facts.device.to_dict()
    device["description"] = facts.device.describe().removeprefix("device ")
    device["memory_available_gib"] = round(facts.device.memory_available / est.GIB, 2)
    return {"device": device, "precision": facts.precision, "estimate": estimate.to_dict(),
            "rows": facts.train_rows, "validation_rows": facts.validation_rows,
            "base": facts.base_label, "refusal": refusal}


def _cached_facts(spec: Any) -> Facts:
    from core.project import open_project

    kind = "preference" if spec.preference else "chat"
    project = open_project(spec.project)
    try:
        table = "pairs" if spec.preference else "examples"
        fingerprint = tuple(project.store.query(
            f"SELECT COUNT(*), MAX(updated_at) FROM {table} "
            "WHERE status IN ('kept', 'accepted')")[0])
        key = (spec.project, spec.base, kind, spec.device, spec.params["precision"],
               spec.params["max_length"], spec.params["eval_fraction"], spec.params["seed"],
               spec.params["grounded_ratio"], fingerprint)
        with _lock:
            cached = _facts.get(key)
        if cached is not None:
            return cached
        facts = _work_out(project, spec, kind)
    finally:
        project.close()
    with _lock:
        _facts[key] = facts
    return facts


def _work_out(project: Any, spec: Any, kind: str) -> Facts:
    from core.training import data as tdata
    from core.training.device import choose_precision, detect_device
    from core.training.engine import _shape
    from core.training.models import load_tokenizer, resolve_base
    from core.training.presets import get_preset

    device = detect_device(spec.device)
    precision = choose_precision(device, spec.params["precision"])
    rows = tdata.load_rows(project, kind)
    base = resolve_base(project, spec.base, spec.preference, get_preset(spec.preset).model)
    tokenizer = load_tokenizer(base)
    template = tdata.training_template(tokenizer)
    # Grounded rows carry two passages (~35% more tokens): estimate what the run will read.
    split, _stats = tdata.grounded_split(project, rows, kind=kind,
                                         fraction=float(spec.params["eval_fraction"]),
                                         seed=int(spec.params["seed"]),
                                         ratio=float(spec.params["grounded_ratio"]),
                                         template=template)
    lengths = tdata.token_lengths(tokenizer, template, split.train, kind,
                                  int(spec.params["max_length"]))
    return Facts(device=device, precision=precision, shape=_shape(base, tokenizer),
                 train_rows=len(split.train), validation_rows=len(split.validation),
                 mean_tokens=sum(lengths) / len(lengths), lengths=tuple(lengths),
                 base_label=base.label)
