"""Typed generation settings: what the Conversations form edits and the job spec carries.

Saved in the project (setting ``generation``) so the form, the CLI and a resumed run agree.
Like the company profile, drafts are saved as typed and ``validate`` returns every problem
keyed by field; ``generate_conversations`` refuses invalid settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.conversations import gates

SETTINGS_KEY = "generation"
PAIR_SOURCES = ("formal", "ungrounded", "off_policy", "judge")
REWRITE_MODES = ("needed", "always")


@dataclass
class GenerationSettings:
    """How much to generate and how strictly to gate it.

    per_chunk: questions per chunk and role: the document's own (FAQ question, heading,
        ticket) plus ``per_chunk - 1`` more written by the teacher (paraphrases, new
        questions). 1 means structure only.
    per_role: per-role override of per_chunk (0 leaves a role out); roles come from the
        company profile.
    limit: at most this many work items in the plan (None: all); a small limit still
        covers every source, because the plan interleaves them.
    out_of_scope_share: share of items that must be escalated (off-topic refusals and
        account requests, half each); as many "answer, don't escalate" items as account
        requests are added to the in-scope side.
    multi_turn_share: share of in-scope items made into follow-up or clarification chats.
    intents / intent_list: the optional hidden <analysis>/<intent> prefix and its labels
        ("name: description" lines; empty list = the defaults).
    tone_target: Flesch reading ease an answer needs (None: the profile's target).
    rewrite: "needed" rewrites only answers below the target; "always" asks the teacher to
        rewrite every answer in the company's voice (best with an endpoint teacher).
    """

    per_chunk: int = 2
    per_role: dict[str, int] = field(default_factory=dict)
    limit: int | None = None
    out_of_scope_share: float = 0.15
    multi_turn_share: float = 0.15
    intents: bool = False
    intent_list: list[str] = field(default_factory=list)
    tone_target: float | None = None
    max_rewrites: int = 3
    rewrite: str = "needed"
    grounding_threshold: float = gates.GROUNDING_THRESHOLD
    dedup_threshold: float = gates.DEDUP_THRESHOLD
    pairs_per_example: int = 1
    pair_sources: list[str] = field(default_factory=lambda: list(PAIR_SOURCES))
    concurrency: int = 4
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> GenerationSettings:
        """Known keys only; values of the wrong type fall back to the default (drafts)."""
        data = dict(data or {})
        settings = cls()
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            default = getattr(settings, f.name)
            try:
                setattr(settings, f.name, _coerce(f.name, value, default))
            except (TypeError, ValueError):
                continue
        return settings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def count_for(self, role: str) -> int:
        return int(self.per_role.get(role, self.per_chunk))

    def validate(self, roles: list[str] | None = None) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not 1 <= self.per_chunk <= 20:
            errors["per_chunk"] = "Questions per chunk must be between 1 and 20."
        for role, count in self.per_role.items():
            if roles is not None and role not in roles:
                errors["per_role"] = f'"{role}" is not one of the profile\'s customer roles.'
            elif not 0 <= int(count) <= 20:
                errors["per_role"] = f"Questions per chunk for {role} must be 0 to 20."
        if self.limit is not None and self.limit < 1:
            errors["limit"] = "The limit must be at least 1 (or empty for no limit)."
        if not 0 <= self.out_of_scope_share <= 0.5:
            errors["out_of_scope_share"] = "The out-of-scope share must be between 0 and 50%."
        if not 0 <= self.multi_turn_share <= 0.5:
            errors["multi_turn_share"] = "The multi-turn share must be between 0 and 50%."
        if self.tone_target is not None and not 0 <= self.tone_target <= 100:
            errors["tone_target"] = "The tone target is a Flesch score between 0 and 100."
        if not 0 <= self.max_rewrites <= 10:
            errors["max_rewrites"] = "Rewrites must be between 0 and 10."
        if self.rewrite not in REWRITE_MODES:
            errors["rewrite"] = "Rewrite must be 'needed' or 'always'."
        if not 0 < self.grounding_threshold < 1:
            errors["grounding_threshold"] = "The grounding threshold is between 0 and 1."
        if not 0 < self.dedup_threshold <= 1:
            errors["dedup_threshold"] = "The dedup threshold is between 0 and 1."
        if not 0 <= self.pairs_per_example <= len(PAIR_SOURCES):
            errors["pairs_per_example"] = f"Pairs per example must be 0 to {len(PAIR_SOURCES)}."
        unknown = [s for s in self.pair_sources if s not in PAIR_SOURCES]
        if unknown:
            errors["pair_sources"] = (f"Unknown pair source {unknown[0]!r}; choose from "
                                      f"{', '.join(PAIR_SOURCES)}.")
        if not 1 <= self.concurrency <= 32:
            errors["concurrency"] = "Requests in flight must be between 1 and 32."
        if self.intents and any(":" in i and not i.split(":", 1)[0].strip()
                                for i in self.intent_list):
            errors["intent_list"] = "Each intent needs a name before its description."
        return errors


def _coerce(name: str, value: Any, default: Any) -> Any:
    if name == "limit":
        return None if value in (None, "", 0) else int(value)
    if name == "tone_target":
        return None if value in (None, "") else float(value)
    if name == "per_role":
        return {str(k): int(v) for k, v in dict(value).items()}
    if name in ("intent_list", "pair_sources"):
        if isinstance(value, str):
            value = [line for line in value.splitlines()]
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return str(value)


def load_settings(project: Any) -> GenerationSettings:
    return GenerationSettings.from_dict(project.store.get_setting(SETTINGS_KEY))


def save_settings(project: Any, settings: GenerationSettings) -> None:
    project.store.set_setting(SETTINGS_KEY, settings.to_dict())
