"""The optional hidden prefix ``<analysis>...</analysis><intent>NAME</intent>`` and its labels.

With intents on, an assistant turn is trained as
``<analysis>The tenant asks about fees. The answer is in policies.md.</analysis>
<intent>fees_and_payments</intent>Late rent costs £30 ...``, so a served model states what it
understood before answering (On-Brand and On-Policy). The prefix is stored apart from the
visible answer and added only when a dataset is exported with intents; ``strip_hidden``
removes it at inference, including a half-streamed prefix, so no customer ever sees it.
Intent labels come from the operator's list; a question is matched to the label whose
"name: description" is most similar (embeddings), which a 135M teacher could not do better.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.conversations import prompts

if TYPE_CHECKING:
    import numpy as np

ACCOUNT_INTENT = "account_action"
OFF_TOPIC_INTENT = "out_of_scope"
_HIDDEN_RE = re.compile(r"\s*<analysis>.*?</analysis>\s*|\s*<intent>.*?</intent>\s*", re.DOTALL)
_OPEN_RE = re.compile(r"^\s*<(analysis|intent)>", re.DOTALL)
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


@dataclass(frozen=True)
class Intent:
    name: str
    description: str

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def text(self) -> str:
        return f"{self.label}: {self.description}" if self.description else self.label


def default_intent_lines() -> list[str]:
    return [str(line) for line in prompts.data("intents", "intents")]


def parse_intents(lines: list[str] | None) -> list[Intent]:
    """"name: description" lines (or bare names) as intents; empty -> the defaults."""
    out: list[Intent] = []
    for line in lines or default_intent_lines():
        name, _, description = str(line).partition(":")
        name = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
        if name and _NAME_RE.match(name) and name not in {i.name for i in out}:
            out.append(Intent(name, description.strip()))
    return out


class IntentMatcher:
    """Nearest intent by embedding similarity of the question to "label: description"."""

    def __init__(self, intents: list[Intent]) -> None:
        from core.embeddings import embed

        self.intents = intents
        self._vectors = embed([i.text for i in intents])

    def match(self, question_vec: np.ndarray, *, kind: str = "in_scope") -> tuple[str, float]:
        """(intent name, similarity); escalations take their fixed intent when listed."""
        names = [i.name for i in self.intents]
        if kind == "account" and ACCOUNT_INTENT in names:
            return ACCOUNT_INTENT, 1.0
        if kind == "off_topic" and OFF_TOPIC_INTENT in names:
            return OFF_TOPIC_INTENT, 1.0
        from core.embeddings import cosine

        candidates = [i for i, n in enumerate(names)
                      if kind != "in_scope" or n not in (ACCOUNT_INTENT, OFF_TOPIC_INTENT)]
        candidates = candidates or list(range(len(names)))
        sims = cosine(question_vec, self._vectors[candidates])[0]
        best = int(sims.argmax())
        return names[candidates[best]], round(float(sims[best]), 3)

    def label(self, name: str) -> str:
        return next((i.label for i in self.intents if i.name == name), name.replace("_", " "))


def analysis_text(kind: str, role: str, label: str, where: str) -> str:
    templates = prompts.data("intents", "analysis")
    key = {"account": "account", "off_topic": "off_topic"}.get(kind, "in_scope")
    return str(templates[key]).format(role=role, label=label, where=where or "our documents")


def add_hidden(answer: str, analysis: str | None, intent: str | None) -> str:
    """The assistant turn as trained with intents on."""
    prefix = ""
    if analysis:
        prefix += f"<analysis>{analysis}</analysis>"
    if intent:
        prefix += f"<intent>{intent}</intent>"
    return prefix + answer


def split_hidden(text: str) -> tuple[str | None, str | None, str]:
    """(analysis, intent, visible answer) of a model's output."""
    analysis = re.search(r"<analysis>(.*?)</analysis>", text, re.DOTALL)
    intent = re.search(r"<intent>(.*?)</intent>", text, re.DOTALL)
    return (analysis.group(1).strip() if analysis else None,
            intent.group(1).strip() if intent else None, strip_hidden(text))


def strip_hidden(text: str) -> str:
    """The visible answer: complete tags removed; an unfinished prefix (streaming) hides all."""
    visible = _HIDDEN_RE.sub("", text)
    if _OPEN_RE.match(visible):
        return ""
    return visible.strip()
