"""What people said of answers, kept in the project for the rating step and the next IPO round.

The in-app chat records a thumbs up or down on an answer; the rating step adds blind A/B
choices and 1-5 scales. Each rating keeps the whole question (the conversation up to the
customer's last turn, as JSON) and the answer the customer saw, so a preferred and a
rejected answer to the same question can later become a preference pair without the model
or the chat being around.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import ValidationError

KINDS = ("thumbs", "ab", "scale")


@dataclass(frozen=True)
class Rating:
    id: int
    kind: str
    source: str
    rater: str
    role: str
    prompt: list[dict[str, str]]
    model: str
    answer: str
    value: int | None
    passages: list[Any] = field(default_factory=list)
    created_at: str = ""


def rate_answer(project: Any, *, prompt: Sequence[dict[str, str]], role: str, model: str,
                answer: str, up: bool, passages: Sequence[Any] = (), rater: str = "",
                source: str = "chat") -> int:
    """Record a thumbs up (``up``) or down for one answer; return the rating's id.

    Rating the same answer to the same question again changes the earlier rating instead of
    adding a second one: a click on the other thumb is a change of mind, not a new vote.
    """
    messages = _checked_prompt(prompt)
    if not answer.strip():
        raise ValidationError("answer", "There is no answer to rate yet.",
                              "Wait for the assistant to finish answering, then rate it.")
    prompt_json = json.dumps(messages, ensure_ascii=False)
    value = 1 if up else -1
    with project.store.transaction() as conn:
        row = conn.execute(
            "SELECT id FROM ratings WHERE kind = 'thumbs' AND source = ? AND rater = ? "
            "AND model = ? AND prompt = ? AND answer = ?",
            (source, rater, model, prompt_json, answer)).fetchone()
        if row is not None:
            conn.execute("UPDATE ratings SET value = ?, used_at = NULL WHERE id = ?",
                         (value, row[0]))
            return int(row[0])
        cursor = conn.execute(
            "INSERT INTO ratings (kind, source, rater, role, prompt, model, answer, value, "
            "passages) VALUES ('thumbs', ?, ?, ?, ?, ?, ?, ?, ?)",
            (source, rater, role, prompt_json, model, answer, value,
             json.dumps(list(passages), ensure_ascii=False, default=str)))
        return int(cursor.lastrowid)


def list_ratings(project: Any, kind: str | None = None) -> list[Rating]:
    """Ratings, oldest first; only one ``kind`` when given."""
    if kind is not None and kind not in KINDS:
        raise ValidationError("kind", f"Unknown rating kind {kind!r}.",
                              f"Use one of: {', '.join(KINDS)}.")
    sql = ("SELECT id, kind, source, rater, role, prompt, model, answer, value, passages, "
           "created_at FROM ratings")
    params: tuple[Any, ...] = ()
    if kind is not None:
        sql += " WHERE kind = ?"
        params = (kind,)
    rows = project.store.query(sql + " ORDER BY id", params)
    return [Rating(id=r[0], kind=r[1], source=r[2], rater=r[3], role=r[4],
                   prompt=json.loads(r[5]), model=r[6], answer=r[7], value=r[8],
                   passages=json.loads(r[9]), created_at=r[10]) for r in rows]


def thumbs_counts(project: Any) -> dict[str, int]:
    """How many answers got a thumbs up and a thumbs down."""
    rows = project.store.query(
        "SELECT value, COUNT(*) FROM ratings WHERE kind = 'thumbs' GROUP BY value")
    counts = {"up": 0, "down": 0}
    for value, count in rows:
        counts["up" if value > 0 else "down"] += int(count)
    return counts


def _checked_prompt(prompt: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    messages = [{"role": str(m.get("role", "")), "content": str(m.get("content", ""))}
                for m in prompt]
    if not messages or messages[-1]["role"] in ("assistant", "system"):
        raise ValidationError("prompt", "A rated answer needs the customer's question.",
                              "Rate an answer in a conversation that has a question.")
    return messages


# --- the rating step: blind A/B and 1-5 scales -------------------------------------------
AB_CHOICES = {"a": 1, "b": -1, "tie": 0}
SCALE_CRITERIA = ("human_likeness", "consistency", "relevance")
SCREEN = "rating screen"


@dataclass(frozen=True)
class ABItem:
    """One blind comparison: the question and two answers, left and right in a random order
    fixed per rater, so a rater cannot learn which side a model sits on."""

    question_id: int
    question: str
    role: str
    left_model: str
    left_answer: str
    right_model: str
    right_answer: str
    rated: bool = False

    @property
    def prompt(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.question}]


@dataclass(frozen=True)
class ScaleItem:
    """One stored evaluation answer to rate on the three 1-5 scales."""

    question_id: int
    question: str
    role: str
    model: str
    answer: str

    @property
    def prompt(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.question}]


def record_ab(project: Any, *, question_id: int | None = None,
              prompt: Sequence[dict[str, str]] | None = None, role: str | None = None,
              model_a: str, answer_a: str, model_b: str, answer_b: str, choice: str,
              rater: str) -> int:
    """Store one blind A/B choice ("a", "b" or "tie"); return the rating's id.

    Stored with ``model_a`` as the rated side: value +1 means A won, -1 B won, 0 a tie (the
    report counts wins that way). Choosing again on the same item changes the choice.
    """
    if choice not in AB_CHOICES:
        raise ValidationError("choice", f"Unknown choice {choice!r}.",
                              "Choose a, b or tie.")
    rater = _checked_rater(rater)
    messages, role = _question_prompt(project, question_id, prompt, role)
    for name, text in (("answer_a", answer_a), ("answer_b", answer_b)):
        if not str(text).strip():
            raise ValidationError(name, "One of the two answers is empty.",
                                  "Compare two answers that both have text.")
    if model_a == model_b:
        raise ValidationError("model_b", "Both answers come from the same model.",
                              "Compare two different models.")
    prompt_json = json.dumps(messages, ensure_ascii=False)
    value = AB_CHOICES[choice]
    with project.store.transaction() as conn:
        row = conn.execute(
            "SELECT id, model FROM ratings WHERE kind = 'ab' AND rater = ? AND prompt = ? AND "
            "((model = ? AND other_model = ?) OR (model = ? AND other_model = ?))",
            (rater, prompt_json, model_a, model_b, model_b, model_a)).fetchone()
        if row is not None:
            stored = value if row[1] == model_a else -value
            conn.execute("UPDATE ratings SET value = ?, used_at = NULL WHERE id = ?",
                         (stored, row[0]))
            return int(row[0])
        cursor = conn.execute(
            "INSERT INTO ratings (kind, source, rater, role, prompt, model, answer, "
            "other_model, other_answer, value) VALUES ('ab', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (SCREEN, rater, role, prompt_json, model_a, answer_a, model_b, answer_b, value))
        return int(cursor.lastrowid)


def record_scale(project: Any, *, prompt: Sequence[dict[str, str]], role: str, model: str,
                 answer: str, scores: dict[str, int], flagged_sentences: Sequence[str] = (),
                 rater: str) -> int:
    """Store 1-5 scores of one answer (and the sentences flagged in it); return the id.

    Scores sit in ``ratings.scores`` as {criterion: 1-5, "flagged_sentences": [...]}: the
    report averages the numeric entries per model. Rating the same answer again replaces it.
    """
    rater = _checked_rater(rater)
    messages = _checked_prompt(prompt)
    unknown = sorted(set(scores) - set(SCALE_CRITERIA))
    if unknown:
        raise ValidationError("scores", f"Unknown criterion {unknown[0]!r}.",
                              f"Rate {', '.join(SCALE_CRITERIA)}.")
    checked: dict[str, Any] = {}
    for name in SCALE_CRITERIA:
        value = scores.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise ValidationError(name, f"{name.replace('_', '-')} must be 1 to 5, not "
                                  f"{value!r}.", "Give every scale a score from 1 to 5.")
        checked[name] = value
    flags = [str(s).strip() for s in flagged_sentences if str(s).strip()]
    missing = [s for s in flags if s not in answer]
    if missing:
        raise ValidationError("flagged_sentences", f"{missing[0]!r} is not in the answer.",
                              "Flag sentences of the answer being rated.")
    checked["flagged_sentences"] = flags
    if not answer.strip():
        raise ValidationError("answer", "There is no answer to rate.", "Rate an answer.")
    prompt_json = json.dumps(messages, ensure_ascii=False)
    scores_json = json.dumps(checked, ensure_ascii=False)
    with project.store.transaction() as conn:
        row = conn.execute(
            "SELECT id FROM ratings WHERE kind = 'scale' AND rater = ? AND model = ? AND "
            "prompt = ? AND answer = ?", (rater, model, prompt_json, answer)).fetchone()
        if row is not None:
            conn.execute("UPDATE ratings SET scores = ? WHERE id = ?", (scores_json, row[0]))
            return int(row[0])
        cursor = conn.execute(
            "INSERT INTO ratings (kind, source, rater, role, prompt, model, answer, scores) "
            "VALUES ('scale', ?, ?, ?, ?, ?, ?, ?)",
            (SCREEN, rater, role, prompt_json, model, answer, scores_json))
        return int(cursor.lastrowid)


def rater_progress(project: Any) -> dict[str, dict[str, int]]:
    """How many A/B choices and 1-5 ratings each named rater has made."""
    out: dict[str, dict[str, int]] = {}
    for rater, kind, count in project.store.query(
            "SELECT rater, kind, COUNT(*) FROM ratings WHERE kind IN ('ab', 'scale') "
            "GROUP BY rater, kind ORDER BY rater"):
        out.setdefault(rater, {"ab": 0, "scale": 0})[kind] = int(count)
    return out


def agreement(project: Any) -> dict[str, Any]:
    """How often raters agree on the same blind A/B item, and Cohen's kappa (agreement
    beyond chance), per pair of raters and pooled over all pairs.

    An item is the question and the two answers, whichever side each was shown on; a choice
    is the winning model or "tie". Kappa is None where it is undefined (fewer than one
    shared item, or both raters always gave the same single choice).
    """
    choices: dict[tuple[str, ...], dict[str, str]] = {}
    for rater, prompt, model, answer, other, other_answer, value in project.store.query(
            "SELECT rater, prompt, model, answer, other_model, other_answer, value "
            "FROM ratings WHERE kind = 'ab' AND value IS NOT NULL ORDER BY id"):
        sides = sorted([(model, answer), (str(other), str(other_answer))])
        key = (prompt, *sides[0], *sides[1])
        winner = "tie" if value == 0 else (model if value > 0 else str(other))
        choices.setdefault(key, {})[rater] = winner
    raters = sorted({r for per in choices.values() for r in per})
    pairs, pooled = [], []
    for i, first in enumerate(raters):
        for second in raters[i + 1:]:
            both = [(per[first], per[second]) for per in choices.values()
                    if first in per and second in per]
            if both:
                pairs.append({"raters": [first, second], "items": len(both),
                              "agreement": _share_equal(both), "kappa": cohen_kappa(both)})
                pooled += both
    return {"raters": raters, "items": sum(1 for per in choices.values() if len(per) >= 2),
            "agreement": _share_equal(pooled) if pooled else None,
            "kappa": cohen_kappa(pooled) if pooled else None, "pairs": pairs}


def cohen_kappa(labels: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items: (p_o - p_e) / (1 - p_e)."""
    if not labels:
        return None
    n = len(labels)
    observed = _share_equal(labels)
    categories = {c for pair in labels for c in pair}
    expected = sum((sum(a == c for a, _ in labels) / n) * (sum(b == c for _, b in labels) / n)
                   for c in categories)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def _share_equal(labels: Sequence[tuple[str, str]]) -> float:
    return sum(a == b for a, b in labels) / len(labels)


# --- what to rate --------------------------------------------------------------------------
def ab_items(project: Any, models: Sequence[str], rater: str, *,
             include_rated: bool = False) -> list[ABItem]:
    """Blind A/B items from the stored evaluation answers of two models to the same
    questions, in question order, each side chosen by a coin seeded with the rater and the
    item; items this rater has rated are left out unless ``include_rated``."""
    if len(models) != 2 or models[0] == models[1]:
        raise ValidationError("models", "A/B rating needs two different models.",
                              "Pick two models that were evaluated.")
    rater = _checked_rater(rater)
    answers = [_newest_answers(project, label) for label in models]
    questions = _questions(project, set(answers[0]) & set(answers[1]))
    done = {(r[0], frozenset((r[1], r[2]))) for r in project.store.query(
        "SELECT prompt, model, other_model FROM ratings WHERE kind = 'ab' AND rater = ?",
        (rater,))}
    items = []
    for qid, (question, role) in questions.items():
        prompt_json = json.dumps([{"role": "user", "content": question}], ensure_ascii=False)
        rated = (prompt_json, frozenset(models)) in done
        if rated and not include_rated:
            continue
        sides = sorted([(models[0], answers[0][qid]), (models[1], answers[1][qid])])
        coin = hashlib.sha256(f"{rater}\0{qid}\0{sorted(models)}".encode()).digest()[0]
        if coin % 2:
            sides.reverse()
        items.append(ABItem(qid, question, role, sides[0][0], sides[0][1], sides[1][0],
                            sides[1][1], rated))
    return items


def scale_items(project: Any, rater: str, models: Sequence[str] | None = None
                ) -> list[ScaleItem]:
    """Stored evaluation answers this rater has not rated on the 1-5 scales yet, question by
    question (each question's models in turn); only ``models`` when given."""
    from core.evaluation.models import parse_models

    rater = _checked_rater(rater)
    labels = list(models) if models else _evaluated_labels(project)
    answers = {label: _newest_answers(project, label)
               for label in (s.label for s in parse_models(project, labels))} if labels else {}
    questions = _questions(project, {q for per in answers.values() for q in per})
    done = {(r[0], r[1], r[2]) for r in project.store.query(
        "SELECT prompt, model, answer FROM ratings WHERE kind = 'scale' AND rater = ?",
        (rater,))}
    items = []
    for qid, (question, role) in questions.items():
        prompt_json = json.dumps([{"role": "user", "content": question}], ensure_ascii=False)
        for label, per in answers.items():
            if qid in per and (prompt_json, label, per[qid]) not in done:
                items.append(ScaleItem(qid, question, role, label, per[qid]))
    return items


def evaluated_labels(project: Any) -> list[str]:
    """The model labels that have stored evaluation answers, base labels first."""
    return _evaluated_labels(project)


# --- ratings become preference pairs --------------------------------------------------------
def pending_pairs(project: Any) -> int:
    """How many new preference pairs ``ratings_to_pairs`` would make now."""
    return len(_candidate_pairs(project)[0])


def ratings_to_pairs(project: Any) -> int:
    """Turn decided ratings into accepted preference pairs (source and decided_by 'rating');
    return how many were added. A second call adds nothing.

    A blind A/B item becomes a pair when its votes (over all raters) have a winner; a tie in
    votes waits for more ratings. Thumbs up and thumbs down on two different answers to the
    same question become a pair too. Ratings that took part are marked used. A question
    that is a held-out evaluation question keeps its link to the held-out conversation, so
    the preference export leaves it out while it is held out: a model is never trained on
    the answers it will be scored on.
    """
    candidates, used = _candidate_pairs(project)
    with project.store.transaction() as conn:
        for pair in candidates:
            conn.execute(
                "INSERT INTO pairs (example_id, source, role, prompt, system, chosen, rejected, "
                "status, reason, decided_by, scores) VALUES (?, 'rating', ?, ?, ?, ?, ?, "
                "'accepted', ?, 'rating', ?)",
                (pair["example_id"], pair["role"], pair["prompt"], pair["system"],
                 pair["chosen"], pair["rejected"], pair["reason"],
                 json.dumps(pair["scores"], ensure_ascii=False)))
        if used:
            conn.execute(
                f"UPDATE ratings SET used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                f"WHERE id IN ({', '.join('?' * len(used))})", tuple(sorted(used)))
    return len(candidates)


def _candidate_pairs(project: Any) -> tuple[list[dict[str, Any]], set[int]]:
    rows = project.store.query(
        "SELECT id, kind, rater, role, prompt, model, answer, other_model, other_answer, value, "
        "used_at FROM ratings WHERE kind IN ('ab', 'thumbs') AND value IS NOT NULL ORDER BY id")
    existing = {tuple(r) for r in project.store.query(
        "SELECT prompt, system, chosen, rejected FROM pairs")}
    held_out = {(r[0], r[1]): r[2] for r in project.store.query(
        "SELECT question, role, example_id FROM eval_questions WHERE example_id IS NOT NULL")}
    votes: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        if row["kind"] == "ab":
            sides = sorted([(row["model"], row["answer"]),
                            (row["other_model"] or "", row["other_answer"] or "")])
            item = votes.setdefault(("ab", row["prompt"], *sides[0], *sides[1]),
                                    {"row": row, "net": {}, "ids": [], "fresh": False})
            winner = row["model"] if row["value"] > 0 else row["other_model"]
            loser = row["other_model"] if row["value"] > 0 else row["model"]
            if row["value"] != 0:
                item["net"][winner] = item["net"].get(winner, 0) + 1
                item["net"][loser] = item["net"].get(loser, 0) - 1
        else:
            item = votes.setdefault(("thumbs", row["prompt"]),
                                    {"row": row, "up": [], "down": [], "ids": [],
                                     "fresh": False})
            item["up" if row["value"] > 0 else "down"].append(row["answer"])
        item["ids"].append(row["id"])
        item["fresh"] = item["fresh"] or row["used_at"] is None
    candidates: list[dict[str, Any]] = []
    used: set[int] = set()
    for key, item in votes.items():
        if not item["fresh"]:
            continue
        found = _ab_pair(item) if key[0] == "ab" else _thumbs_pairs(item)
        if not found:
            continue
        used.update(item["ids"])
        system, prompt = _split_system(item["row"]["prompt"])
        for chosen, rejected, reason in found:
            if (prompt, system, chosen, rejected) in existing:
                continue
            existing.add((prompt, system, chosen, rejected))
            messages = json.loads(prompt)
            question = messages[0]["content"] if len(messages) == 1 else None
            candidates.append({
                "example_id": held_out.get((question, item["row"]["role"])),
                "role": item["row"]["role"], "prompt": prompt, "system": system,
                "chosen": chosen, "rejected": rejected, "reason": reason,
                "scores": {"ratings": len(item["ids"])}})
    return candidates, used


def _ab_pair(item: dict[str, Any]) -> list[tuple[str, str, str]]:
    row, net = item["row"], item["net"]
    best = max(net.items(), key=lambda kv: kv[1], default=(None, 0))
    if best[1] <= 0:
        return []
    answers = {row["model"]: row["answer"], row["other_model"]: row["other_answer"]}
    chosen = answers[best[0]]
    rejected = next(a for m, a in answers.items() if m != best[0])
    if chosen == rejected:
        return []
    return [(chosen, rejected, f"blind A/B: {best[0]} preferred by {best[1]} vote(s)")]


def _thumbs_pairs(item: dict[str, Any]) -> list[tuple[str, str, str]]:
    ups = list(dict.fromkeys(item["up"]))
    downs = [a for a in dict.fromkeys(item["down"]) if a not in ups]
    return [(up, down, "thumbs up vs thumbs down") for up in ups for down in downs]


def _split_system(prompt_json: str) -> tuple[str | None, str]:
    """pairs.prompt holds the turns after the system prompt; a rated system turn goes to
    pairs.system (None: the project's system prompt at export)."""
    messages = json.loads(prompt_json)
    if messages and messages[0].get("role") == "system":
        return messages[0]["content"], json.dumps(messages[1:], ensure_ascii=False)
    return None, prompt_json


# --- helpers -------------------------------------------------------------------------------
def _checked_rater(rater: str) -> str:
    name = str(rater or "").strip()
    if not name:
        raise ValidationError("rater", "Ratings need the rater's name.",
                              "Type your name in the Rater field first.")
    if len(name) > 80:
        raise ValidationError("rater", "The rater's name is too long (80 characters at most).",
                              "Use a short name or initials.")
    return name


def _question_prompt(project: Any, question_id: int | None,
                     prompt: Sequence[dict[str, str]] | None, role: str | None
                     ) -> tuple[list[dict[str, str]], str]:
    if question_id is not None:
        rows = project.store.query("SELECT question, role FROM eval_questions WHERE id = ?",
                                   (question_id,))
        if not rows:
            raise ValidationError("question_id", f"There is no evaluation question "
                                  f"{question_id}.", "Rate an item of the current list.")
        return [{"role": "user", "content": rows[0][0]}], role or rows[0][1]
    if prompt is None:
        raise ValidationError("prompt", "A rating needs the question it answers.",
                              "Give question_id or prompt.")
    if not role:
        raise ValidationError("role", "A rating needs the customer role of the question.",
                              "Give the role that asked.")
    return _checked_prompt(prompt), role


def _label(model: str, variant: str) -> str:
    if model == "base":
        return {"bare": "base", "prompted": "prompted"}.get(variant, "retrieval")
    return model + ("+retrieval" if variant == "retrieval" else "")


def _evaluated_labels(project: Any) -> list[str]:
    rows = project.store.query("SELECT DISTINCT model, variant FROM eval_answers")
    labels = {_label(r[0], r[1]) for r in rows}
    order = {"base": 0, "prompted": 1, "retrieval": 2}
    return sorted(labels, key=lambda label: (order.get(label, 3), label))


def _newest_answers(project: Any, label: str) -> dict[int, str]:
    """question id -> the newest stored answer of this model label (any settings)."""
    from core.evaluation.models import parse_models

    spec = parse_models(project, [label])[0]
    rows = project.store.query(
        "SELECT question_id, answer FROM eval_answers WHERE model = ? AND variant = ? "
        "AND answer != '' ORDER BY id", (spec.model, spec.variant))
    return {int(r[0]): r[1] for r in rows}


def _questions(project: Any, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = project.store.query(
        f"SELECT id, question, role FROM eval_questions WHERE id IN "
        f"({', '.join('?' * len(ids))}) ORDER BY id", tuple(sorted(ids)))
    return {int(r[0]): (r[1], r[2]) for r in rows}
