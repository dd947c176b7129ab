"""The wizard's navigation as data (Electrum style): no widgets here.

Each step says what it is, whether it is built yet, and what must hold before the operator
may enter it. A test can walk the whole flow with no window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    summary: str  # one line: what the step does (shown under a step that is not built yet)
    built: bool
    # Why the step cannot be entered yet for this state, or "" when it can.
    blocker: Callable[[Any], str] = field(default=lambda state: "")


def _needs_project(state: Any) -> str:
    return "" if state.project is not None else "Create or open a project first."


def _needs_valid_profile(state: Any) -> str:
    missing = _needs_project(state)
    if missing:
        return missing
    return "" if state.profile_valid else "Complete the company profile first."


def needs_documents(state: Any) -> str:
    missing = _needs_valid_profile(state)
    if missing:
        return missing
    import sqlite3

    from core.documents import list_documents
    from core.errors import TalkSmallError

    try:
        imported = any(d["status"] == "imported" for d in list_documents(state.project))
    except (TalkSmallError, sqlite3.Error):  # a closed or broken project: Project says why
        imported = False
    return "" if imported else "Import documents first."


def _needs_conversations(state: Any) -> str:
    missing = needs_documents(state)
    if missing:
        return missing
    import sqlite3

    from core.conversations.store import count_examples
    from core.errors import TalkSmallError

    try:
        usable = count_examples(state.project, status=["kept", "accepted"])
    except (TalkSmallError, sqlite3.Error):
        usable = 0
    return "" if usable else "Generate or import training conversations first."


STEPS: tuple[Step, ...] = (
    Step("project", "Project",
         "Create or open a project, describe the company and choose the base model.", True),
    Step("documents", "Documents",
         "Import handbooks, FAQs, policies and support tickets; personal data is redacted.",
         True, _needs_valid_profile),
    Step("conversations", "Conversations",
         "Generate readable, deduplicated training conversations from your documents.",
         True, needs_documents),
    Step("training", "Training",
         "Fine-tune the model for your tone (SFT, then preference training) in the background.",
         True, _needs_conversations),
    Step("evaluation", "Evaluation & rating",
         "Compare models on held-out questions and rate answers blind.",
         True, _needs_valid_profile),
    Step("export", "Export & chat",
         "Export a GGUF file, chat with your assistant and serve it locally.",
         True, _needs_valid_profile),
)


@dataclass
class WizardState:
    """What navigation depends on; the main window keeps it current."""

    project: Any = None
    profile_valid: bool = False


class WizardFlow:
    def __init__(self, steps: tuple[Step, ...] = STEPS) -> None:
        self.steps = steps
        self.state = WizardState()
        self.current = 0

    def index_of(self, key: str) -> int:
        return next(i for i, step in enumerate(self.steps) if step.key == key)

    def why_not(self, index: int) -> str:
        """Why step ``index`` cannot be entered now ("" if it can)."""
        step = self.steps[index]
        if not step.built:
            return f"{step.title} is not available in this version yet."
        return step.blocker(self.state)

    def can_enter(self, index: int) -> bool:
        return not self.why_not(index)

    def next_index(self) -> int | None:
        """The next step the operator may enter, if any."""
        for index in range(self.current + 1, len(self.steps)):
            if self.can_enter(index):
                return index
        return None

    def previous_index(self) -> int | None:
        for index in range(self.current - 1, -1, -1):
            if self.can_enter(index):
                return index
        return None

    def go(self, index: int) -> bool:
        if not self.can_enter(index):
            return False
        self.current = index
        return True
