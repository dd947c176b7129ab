"""Datasets as JSON Lines, in the formats other tools read and write.

- chat: ``{"messages": [{"role": "system", ...}, {"role": "tenant", ...},
  {"role": "assistant", ...}]}`` (ShareGPT's ``{"conversations": [{"from", "value"}]}`` is
  read too). The customer's role is the turn's role header by default; ``role_encoding=
  "system"`` writes ``user`` turns and names the role in the system prompt instead.
- preference: ``{"prompt": [...messages], "chosen": [{"role": "assistant", ...}],
  "rejected": [...]}`` (TRL's conversational form); plain strings are read too.
Exports are written atomically. Imports keep every valid line, report the others by line
number, and refuse a file with no valid line at all.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.atomic import atomic_write_text
from core.conversations.intents import add_hidden, split_hidden
from core.conversations.store import USABLE
from core.errors import ValidationError
from core.project.profile import RESERVED_ROLES, ROLE_PATTERN
from core.readability import flesch_reading_ease

KINDS = ("chat", "preference")
ROLE_ENCODINGS = ("header", "system")
_USER_NAMES = {"user", "human", "customer", "client"}
_ASSISTANT_NAMES = {"assistant", "gpt", "bot", "model", "agent"}
_MAX_REPORTED = 20


@dataclass
class ImportReport:
    path: str
    kind: str
    lines: int = 0
    imported: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    skipped_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "lines": self.lines,
                "imported": self.imported, "skipped": self.skipped_count,
                "problems": [{"line": n, "reason": r} for n, r in self.skipped]}


# --- export -----------------------------------------------------------------------------
# Conversations held out for evaluation (core.evaluation.hold_out) are never trained on, so
# they are not training data either: every query that feeds training filters with these.
HELD_OUT = "SELECT example_id FROM eval_questions WHERE example_id IS NOT NULL"
NOT_HELD_OUT_EXAMPLE = f"id NOT IN ({HELD_OUT})"
NOT_HELD_OUT_PAIR = f"(example_id IS NULL OR example_id NOT IN ({HELD_OUT}))"


def export_chat(project: Any, path: str | os.PathLike[str], *,
                statuses: tuple[str, ...] = USABLE, with_intents: bool | None = None,
                role_encoding: str = "header") -> int:
    """Write the usable conversations; returns how many lines were written.

    ``with_intents`` None writes the hidden prefix for the conversations that have an intent
    (those generated with intents on); True / False forces it on / off.
    """
    if role_encoding not in ROLE_ENCODINGS:
        raise ValidationError("role_encoding", f"Unknown role encoding {role_encoding!r}.",
                              "Use 'header' or 'system'.")
    default_system = project.profile().system_prompt()
    rows = project.store.query(
        f"SELECT role, messages, system, intent, analysis FROM examples WHERE status IN "
        f"({', '.join('?' * len(statuses))}) AND {NOT_HELD_OUT_EXAMPLE} ORDER BY id",
        tuple(statuses))
    lines = []
    for row in rows:
        system = row["system"] or default_system
        if role_encoding == "system":
            system = f"{system}\nThe customer is a {row['role']}."
        messages = [{"role": "system", "content": system}]
        for turn in json.loads(row["messages"]):
            role, content = turn["role"], turn["content"]
            if role == "assistant":
                hidden = row["intent"] is not None if with_intents is None else with_intents
                if hidden:
                    content = add_hidden(content, row["analysis"], row["intent"])
            elif role_encoding == "system":
                role = "user"
            messages.append({"role": role, "content": content})
        lines.append(json.dumps({"messages": messages}, ensure_ascii=False))
    _write(path, lines)
    return len(lines)


def export_preference(project: Any, path: str | os.PathLike[str], *,
                      statuses: tuple[str, ...] = USABLE) -> int:
    default_system = project.profile().system_prompt()
    rows = project.store.query(
        f"SELECT prompt, system, chosen, rejected FROM pairs WHERE status IN "
        f"({', '.join('?' * len(statuses))}) AND {NOT_HELD_OUT_PAIR} ORDER BY id",
        tuple(statuses))
    lines = []
    for row in rows:
        prompt = [{"role": "system", "content": row["system"] or default_system},
                  *json.loads(row["prompt"])]
        lines.append(json.dumps({
            "prompt": prompt,
            "chosen": [{"role": "assistant", "content": row["chosen"]}],
            "rejected": [{"role": "assistant", "content": row["rejected"]}],
        }, ensure_ascii=False))
    _write(path, lines)
    return len(lines)


def export_dataset(project: Any, path: str | os.PathLike[str], kind: str = "chat",
                   **options: Any) -> int:
    _check_kind(kind)
    if kind == "chat":
        return export_chat(project, path, **options)
    return export_preference(project, path, **options)


# --- import -----------------------------------------------------------------------------
def import_dataset(project: Any, path: str | os.PathLike[str],
                   kind: str = "chat") -> ImportReport:
    """Add the file's valid lines as examples (chat) or pairs (preference)."""
    _check_kind(kind)
    file = Path(path)
    try:
        raw = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("file", f"Cannot read {file}: {exc}.",
                              "Choose a UTF-8 JSON Lines file (.jsonl).") from exc
    profile = project.profile()
    roles = list(profile.customer_roles) or ["user"]
    default_system = profile.system_prompt()
    report = ImportReport(str(file), kind)
    parsed: list[dict[str, Any]] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        report.lines += 1
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("a line must be a JSON object")
            parsed.append(_chat_row(data, roles, default_system) if kind == "chat" else
                          _preference_row(data, roles, default_system))
        except (ValueError, KeyError, TypeError) as exc:
            report.skipped_count += 1
            if len(report.skipped) < _MAX_REPORTED:
                report.skipped.append((number, str(exc)))
    if not parsed:
        first = f" (line {report.skipped[0][0]}: {report.skipped[0][1]})" if report.skipped \
            else ""
        raise ValidationError("file", f"{file.name} has no valid {kind} lines{first}.",
                              _format_hint(kind))
    if kind == "chat":
        _insert_examples(project, parsed)
    else:
        _insert_pairs(project, parsed)
    report.imported = len(parsed)
    return report


def _chat_row(data: dict[str, Any], roles: list[str], default_system: str) -> dict[str, Any]:
    turns = _turns(data)
    system = None
    if turns and turns[0]["role"] == "system":
        system = turns.pop(0)["content"]
        system = None if system.strip() == default_system.strip() else system
    messages = _conversation(turns, roles)
    if not messages or messages[-1]["role"] != "assistant":
        raise ValueError("the conversation must end with an assistant turn")
    analysis = intent = None
    for turn in messages:
        if turn["role"] == "assistant":
            a, i, visible = split_hidden(turn["content"])
            analysis, intent = analysis or a, intent or i
            turn["content"] = visible
            if not visible:
                raise ValueError("an assistant turn is empty once hidden tags are removed")
    return {"messages": messages, "system": system, "role": messages[0]["role"],
            "intent": intent, "analysis": analysis}


def _preference_row(data: dict[str, Any], roles: list[str],
                    default_system: str) -> dict[str, Any]:
    for key in ("prompt", "chosen", "rejected"):
        if key not in data:
            raise ValueError(f"missing '{key}'")
    prompt = data["prompt"]
    if isinstance(prompt, str):
        prompt = [{"role": "user", "content": prompt}]
    turns = _normalise_turns(prompt)
    system = None
    if turns and turns[0]["role"] == "system":
        system = turns.pop(0)["content"]
        system = None if system.strip() == default_system.strip() else system
    messages = _conversation(turns, roles)
    if not messages or messages[-1]["role"] == "assistant":
        raise ValueError("the prompt must end with a customer turn")
    chosen, rejected = _answer(data["chosen"]), _answer(data["rejected"])
    if chosen == rejected:
        raise ValueError("chosen and rejected are the same")
    return {"prompt": messages, "system": system, "role": messages[0]["role"],
            "chosen": chosen, "rejected": rejected}


def _turns(data: dict[str, Any]) -> list[dict[str, str]]:
    if "messages" in data:
        return _normalise_turns(data["messages"])
    if "conversations" in data:
        return _normalise_turns([{"role": t.get("from"), "content": t.get("value")}
                                 for t in data["conversations"]])
    raise ValueError("no 'messages' list")


def _normalise_turns(turns: Any) -> list[dict[str, str]]:
    if not isinstance(turns, list) or not turns:
        raise ValueError("'messages' must be a non-empty list")
    out = []
    for turn in turns:
        role, content = turn.get("role"), turn.get("content")
        if not isinstance(role, str) or not isinstance(content, str):
            raise ValueError("every turn needs a text 'role' and 'content'")
        if not content.strip():
            raise ValueError(f"an empty {role} turn")
        out.append({"role": role.strip().lower(), "content": content.strip()})
    return out


def _conversation(turns: list[dict[str, str]], roles: list[str]) -> list[dict[str, str]]:
    """Customer and assistant turns alternating, customers under a project role."""
    out = []
    for index, turn in enumerate(turns):
        role = turn["role"]
        if role in _ASSISTANT_NAMES:
            role = "assistant"
        elif role in _USER_NAMES:
            role = roles[0]
        elif role == "system":
            raise ValueError("a system turn is only allowed first")
        elif role not in roles:
            if role in RESERVED_ROLES or not ROLE_PATTERN.match(role):
                raise ValueError(f"'{role}' cannot be a customer role")
            raise ValueError(f"role '{role}' is not one of the project's customer roles "
                             f"({', '.join(roles)})")
        expected_customer = index % 2 == 0
        if (role == "assistant") == expected_customer:
            raise ValueError("turns must alternate, customer first")
        out.append({"role": role, "content": turn["content"]})
    return out


def _answer(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        turns = _normalise_turns(value)
        text = next((t["content"] for t in reversed(turns) if t["role"] in _ASSISTANT_NAMES),
                    "")
    text = split_hidden(text)[2] if "<" in text else text.strip()
    if not text:
        raise ValueError("an empty chosen or rejected answer")
    return text


def _insert_examples(project: Any, rows: list[dict[str, Any]]) -> None:
    from core.embeddings import embed, to_bytes

    users = [" ".join(m["content"] for m in r["messages"] if m["role"] != "assistant")
             for r in rows]
    vectors = embed(users)
    with project.store.transaction() as conn:
        for row, vector in zip(rows, vectors, strict=True):
            answers = [flesch_reading_ease(m["content"]) for m in row["messages"]
                       if m["role"] == "assistant"]
            conn.execute(
                "INSERT INTO examples (source, role, messages, system, intent, analysis, status,"
                " flesch, template, question_vec) VALUES ('import', ?, ?, ?, ?, ?, 'kept', ?, "
                "'import', ?)",
                (row["role"], json.dumps(row["messages"], ensure_ascii=False), row["system"],
                 row["intent"], row["analysis"], round(min(answers), 1), to_bytes(vector)))


def _insert_pairs(project: Any, rows: list[dict[str, Any]]) -> None:
    with project.store.transaction() as conn:
        for row in rows:
            conn.execute(
                "INSERT INTO pairs (source, role, prompt, system, chosen, rejected, status, "
                "decided_by, template) VALUES ('import', ?, ?, ?, ?, ?, 'kept', 'import', "
                "'import')",
                (row["role"], json.dumps(row["prompt"], ensure_ascii=False), row["system"],
                 row["chosen"], row["rejected"]))


def _write(path: str | os.PathLike[str], lines: list[str]) -> None:
    try:
        atomic_write_text(path, "".join(line + "\n" for line in lines))
    except OSError as exc:
        raise ValidationError("file", f"Cannot write {path}: {exc.strerror or exc}.",
                              "Choose a folder you can write to.") from exc


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValidationError("kind", f"Unknown dataset kind {kind!r}.",
                              "Use 'chat' or 'preference'.")


def _format_hint(kind: str) -> str:
    if kind == "chat":
        return ('Each line must be a JSON object like {"messages": [{"role": "user", '
                '"content": "..."}, {"role": "assistant", "content": "..."}]}.')
    return ('Each line must be a JSON object with "prompt", "chosen" and "rejected" '
            '(strings or lists of messages).')
