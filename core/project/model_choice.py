"""Which models a project can train from, and which one it uses.

The embedded SmolLM2 is always available; the operator may add a local Hugging Face folder
or a GGUF file, each validated (architecture, size, chat template) before it is recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import ModelError
from core.models.embedded import embedded_model_info, is_embedded_converted
from core.models.inspect import inspect_model
from core.project.project import BASE_MODEL_KEY, Project

EMBEDDED = "embedded"


def add_model(project: Project, path: str | Path) -> dict[str, Any]:
    """Validate and record a model; returns its info. Nothing is recorded if it is unusable."""
    info = inspect_model(path)
    if not info.has_chat_template:
        raise ModelError(
            f"{info.path} has no chat template, so it cannot hold a conversation.",
            "Choose an instruct/chat model, or add a chat_template to its tokenizer_config.json.",
        )
    with project.store.transaction() as conn:
        conn.execute(
            "INSERT INTO models (kind, path, name, info) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET name = excluded.name, info = excluded.info",
            (info.kind, info.path, info.name, json.dumps(info.to_dict())),
        )
    return info.to_dict()


def remove_model(project: Project, path: str) -> None:
    with project.store.transaction() as conn:
        conn.execute("DELETE FROM models WHERE path = ?", (path,))
    if project.store.get_setting(BASE_MODEL_KEY) == path:
        project.store.set_setting(BASE_MODEL_KEY, EMBEDDED)


def set_base_model(project: Project, choice: str) -> None:
    if choice != EMBEDDED:
        resolved = str(Path(choice).expanduser().resolve())
        known = project.store.query("SELECT 1 FROM models WHERE path = ?", (resolved,))
        if not known:
            add_model(project, resolved)
        choice = resolved
    project.store.set_setting(BASE_MODEL_KEY, choice)


def base_model(project: Project) -> str:
    return project.store.get_setting(BASE_MODEL_KEY, EMBEDDED)


def list_models(project: Project | None = None) -> list[dict[str, Any]]:
    """The embedded model first, then the project's own; ``selected`` marks the base model."""
    selected = base_model(project) if project else EMBEDDED
    embedded = embedded_model_info().to_dict()
    embedded.update(selected=selected == EMBEDDED, ready_for_training=is_embedded_converted())
    models = [embedded]
    if project:
        for row in project.store.query("SELECT path, info FROM models ORDER BY id"):
            info = json.loads(row["info"])
            info.update(selected=selected == row["path"],
                        available=Path(row["path"]).exists(), ready_for_training=True)
            models.append(info)
    return models
