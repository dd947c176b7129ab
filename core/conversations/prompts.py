"""Prompt templates and template data, read from resources/prompts/conversations/*.yaml.

Prompts are data, not code: an operator or a later model can change a template without a
code change, and every saved item names the template (``name@version``) that made it.
A template is a list of chat messages whose ``{placeholders}`` are filled with
``str.format_map``; values are inserted as they are (braces in a document are safe).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import TalkSmallError
from core.paths import resources_dir

_cache: dict[str, Any] = {}
_lock = threading.Lock()


def prompts_dir() -> Path:
    return resources_dir() / "prompts" / "conversations"


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: int
    messages: tuple[dict[str, str], ...]
    max_tokens: int = 160
    temperature: float = 0.7
    stop: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, **values: Any) -> list[dict[str, str]]:
        filled = _Values(values)
        return [{"role": m["role"], "content": m["content"].format_map(filled)}
                for m in self.messages]

    def request(self, *, seed: int | None = None, temperature: float | None = None,
                **values: Any) -> Any:
        """A ``core.teachers.ChatRequest`` for this template filled with ``values``."""
        from core.teachers import ChatRequest

        return ChatRequest(
            messages=self.render(**values), max_tokens=self.max_tokens,
            temperature=self.temperature if temperature is None else temperature,
            seed=seed, stop=list(self.stop) or None,
        )


class _Values(dict):
    def __missing__(self, key: str) -> str:
        raise TalkSmallError(f"A prompt template uses {{{key}}}, which the pipeline does not fill.",
                             f"Fix the template in {prompts_dir()} or reinstall the app.")


def load_yaml(name: str) -> Any:
    """A YAML file of the prompts folder, parsed once per process."""
    with _lock:
        if name not in _cache:
            import yaml

            path = prompts_dir() / f"{name}.yaml"
            try:
                _cache[name] = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise TalkSmallError(f"The prompt file {path} is missing or damaged ({exc}).",
                                     "Reinstall TalkSmall Studio.") from exc
        return _cache[name]


def template(name: str) -> PromptTemplate:
    data = load_yaml(name)
    try:
        messages = tuple({"role": str(m["role"]), "content": str(m["content"])}
                         for m in data["messages"])
        return PromptTemplate(
            name=str(data.get("name", name)), version=int(data.get("version", 1)),
            messages=messages, max_tokens=int(data.get("max_tokens", 160)),
            temperature=float(data.get("temperature", 0.7)),
            stop=tuple(str(s) for s in data.get("stop") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TalkSmallError(f"The prompt template {name}.yaml is malformed ({exc}).",
                             "Reinstall TalkSmall Studio.") from exc


def data(name: str, key: str) -> Any:
    """One entry of a template-data file (role_templates, conversation_templates, ...)."""
    content = load_yaml(name)
    if not isinstance(content, dict) or key not in content:
        raise TalkSmallError(f"{prompts_dir() / (name + '.yaml')} has no '{key}' entry.",
                             "Reinstall TalkSmall Studio.")
    return content[key]
