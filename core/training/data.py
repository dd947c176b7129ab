"""Training data: the project's usable conversations and pairs, split, templated, hashed.

Conversations come out exactly as the dataset export writes them (system turn first, the
customer's role as the turn's role header, hidden tags where the row has them), so what a
run trains on is what ``talksmall dataset export`` shows. The validation split is seeded and
stratified by customer role; the hash of both splits and the template is saved with the run.
Tokenizing here (not inside TRL) keeps the assistant-only mask visible and testable, and
lets the trainer batch without padding.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import TalkSmallError, ValidationError
from core.paths import resources_dir
from core.training.grounding import GroundingStats, ground_rows, row_sources
from core.training.loss import IGNORE_INDEX

TEMPLATES = {"chatml": "chatml_training.jinja", "llama3": "llama3_training.jinja"}
MIN_ROWS = 2


@dataclass
class Split:
    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    data_hash: str

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation)}


def load_rows(project: Any, kind: str) -> list[dict[str, Any]]:
    """Usable examples (kind "chat": {"messages"}) or pairs ("preference": prompt/chosen/
    rejected), through the dataset exporter so the format has one owner."""
    from core.conversations import datasets

    with tempfile.TemporaryDirectory(prefix="talksmall-train-") as folder:
        path = Path(folder) / f"{kind}.jsonl"
        datasets.export_dataset(project, path, kind)
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    if len(rows) < MIN_ROWS:
        what = "conversations" if kind == "chat" else "preference pairs"
        raise TalkSmallError(f"The project has {len(rows)} usable {what}; training needs at "
                             f"least {MIN_ROWS}.",
                             "Generate or import more in the Conversations step, and keep or "
                             "accept them.")
    return rows


def role_of(row: dict[str, Any]) -> str:
    turns = row.get("messages") or row.get("prompt") or []
    return next((t["role"] for t in turns if t["role"] not in ("system", "assistant")), "user")


def split_rows(rows: list[dict[str, Any]], fraction: float = 0.1, seed: int = 42,
               template: str = "") -> Split:
    """Hold out ``fraction`` (at least 10%, at least one row), stratified by customer role.

    Rows are grouped by role and shuffled with the seed; the held-out rows are taken at even
    intervals through that order, so each role gives its share (systematic sampling).
    """
    train_ids, validation_ids = split_indices(rows, fraction, seed)
    train = [rows[i] for i in train_ids]
    validation = [rows[i] for i in validation_ids]
    return Split(train=train, validation=validation,
                 data_hash=data_hash(train, validation, template))


def split_indices(rows: list[dict[str, Any]], fraction: float = 0.1,
                  seed: int = 42) -> tuple[list[int], list[int]]:
    """(training, validation) row indices, each in row order: the split of ``split_rows``."""
    if fraction < 0.1:
        raise ValidationError("eval_fraction", "The validation split must be at least 10%.",
                              "Set eval_fraction to 0.1 or more.")
    rng = random.Random(seed)
    by_role: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        by_role.setdefault(role_of(row), []).append(index)
    order: list[int] = []
    for role in sorted(by_role):
        group = by_role[role]
        rng.shuffle(group)
        order += group
    n_val = min(len(rows) - 1, max(1, math.ceil(fraction * len(rows))))
    step = len(order) / n_val
    picked = {order[min(len(order) - 1, int((i + 0.5) * step))] for i in range(n_val)}
    return [i for i in range(len(rows)) if i not in picked], sorted(picked)


def grounded_split(project: Any, rows: list[dict[str, Any]], *, kind: str,
                   fraction: float = 0.1, seed: int = 42, ratio: float = 0.0, k: int = 2,
                   template: str = "") -> tuple[Split, GroundingStats]:
    """``split_rows``, then each split grounded in company passages (core.training.grounding).

    Grounding comes after the split so both splits carry passages at the same ratio, and
    the data hash covers the text the model really reads. The validation split uses its
    own seed (seed + 1), so it does not mirror the training split's choices.
    """
    train_ids, validation_ids = split_indices(rows, fraction, seed)
    sources = row_sources(project, kind, rows) if ratio > 0 else [None] * len(rows)
    parts = []
    for offset, ids in enumerate((train_ids, validation_ids)):
        parts.append(ground_rows(project, [rows[i] for i in ids], ratio=ratio,
                                 seed=seed + offset, k=k, kind=kind,
                                 sources=[sources[i] for i in ids]))
    (train, train_stats), (validation, validation_stats) = parts
    return (Split(train=train, validation=validation,
                  data_hash=data_hash(train, validation, template)),
            train_stats.merged(validation_stats))


def data_hash(train: list[Any], validation: list[Any], template: str) -> str:
    digest = hashlib.sha256()
    for name, part in (("train", train), ("validation", validation), ("template", template)):
        digest.update(name.encode())
        digest.update(json.dumps(part, sort_keys=True, ensure_ascii=False).encode())
    return "sha256:" + digest.hexdigest()


def training_template(tokenizer: Any) -> str:
    """A chat template with {% generation %} markers for this tokenizer's chat format."""
    current = getattr(tokenizer, "chat_template", None) or ""
    if "{% generation %}" in current or "{%- generation %}" in current:
        return current
    if "<|start_header_id|>" in current:
        family = "llama3"
    elif "<|im_start|>" in current or "<|im_start|>" in tokenizer.get_vocab():
        family = "chatml"
    else:
        raise TalkSmallError("The base model's chat format is neither ChatML nor Llama 3, so "
                             "the trainer cannot tell the assistant's words from the rest.",
                             "Choose a ChatML (SmolLM2, Qwen) or Llama 3.x instruct model.")
    path = resources_dir() / "chat_templates" / TEMPLATES[family]
    return path.read_text(encoding="utf-8")


def tokenize_chat(tokenizer: Any, template: str, messages: list[dict[str, str]],
                  max_length: int) -> dict[str, list[int]]:
    """input_ids and labels (-100 outside assistant turns), cut at max_length."""
    out = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=True,
                                        return_dict=True, return_assistant_tokens_mask=True)
    ids = list(out["input_ids"])[:max_length]
    mask = list(out["assistant_masks"])[:max_length]
    labels = [token if keep else IGNORE_INDEX for token, keep in zip(ids, mask, strict=True)]
    return {"input_ids": ids, "labels": labels}


def tokenize_split(tokenizer: Any, template: str, rows: list[dict[str, Any]],
                   max_length: int) -> list[dict[str, list[int]]]:
    """Tokenized rows; a row cut so short that no assistant token is left is dropped."""
    out = []
    for row in rows:
        item = tokenize_chat(tokenizer, template, row["messages"], max_length)
        if any(label != IGNORE_INDEX for label in item["labels"]):
            out.append(item)
    return out


def preference_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """TRL's conversational preference format (prompt messages, chosen / rejected turns)."""
    return [{"prompt": row["prompt"], "chosen": row["chosen"], "rejected": row["rejected"]}
            for row in rows]


def longest_batch_tokens(lengths: list[float], batch: int) -> float:
    """Mean length of the ``batch`` longest rows: memory peaks on the longest batch, not
    the mean one (grounded rows vary: mean 1,442 tokens, longest four 1,748 on the sample
    company, and the mean under-predicted the peak by a quarter)."""
    longest = sorted(lengths, reverse=True)[:max(1, batch)]
    return sum(longest) / len(longest)


def token_lengths(tokenizer: Any, template: str, rows: list[dict[str, Any]], kind: str,
                  max_length: int) -> list[float]:
    """Tokenized length of the first 200 rows (pairs: the mean of chosen and rejected with
    the prompt); [max_length] without rows."""
    if not rows:
        return [float(max_length)]
    lengths: list[float] = []
    for row in rows[:200]:
        if kind == "chat":
            lengths.append(min(max_length, len(tokenize_chat(
                tokenizer, template, row["messages"], max_length)["input_ids"])))
        else:
            prompt = len(tokenizer.apply_chat_template(row["prompt"], chat_template=template,
                                                       tokenize=True, add_generation_prompt=True,
                                                       return_dict=True)["input_ids"])
            answers = sum(len(tokenizer(t["content"])["input_ids"]) + 2
                          for t in row["chosen"] + row["rejected"])
            lengths.append(min(2 * max_length, 2 * prompt + answers) / 2)
    return lengths


def sample_questions(rows: list[dict[str, Any]], count: int = 3) -> list[list[dict[str, str]]]:
    """Up to ``count`` prompts (system + first customer turn), one role after another."""
    picked: list[list[dict[str, str]]] = []
    seen_roles: set[str] = set()
    for prefer_new in (True, False):
        for row in rows:
            turns = row.get("messages") or row.get("prompt") or []
            prompt = []
            for turn in turns:
                prompt.append(turn)
                if turn["role"] not in ("system", "assistant"):
                    break
            role = role_of(row)
            if len(picked) >= count or prompt in picked or (prefer_new and role in seen_roles):
                continue
            seen_roles.add(role)
            picked.append(prompt)
    return picked[:count]
