"""The list of recently opened projects, kept in the user's config folder."""

from __future__ import annotations

import json
import time
from pathlib import Path

from core.atomic import atomic_write_json
from core.paths import config_dir

MAX_RECENT = 10
FILE_NAME = "recent-projects.json"


def _path() -> Path:
    return config_dir() / FILE_NAME


def recent_projects() -> list[dict[str, object]]:
    """Most recent first: ``{"path", "name", "opened_at", "exists"}``."""
    try:
        entries = json.loads(_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(entries, list):
        return []
    result = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            folder = Path(entry["path"])
            result.append({**entry, "exists": (folder / "project.sqlite").is_file()})
    return result


def remember_project(path: Path, name: str) -> None:
    entries = [e for e in recent_projects() if e["path"] != str(path)]
    entries.insert(0, {"path": str(path), "name": name, "opened_at": time.time()})
    _save(entries[:MAX_RECENT])


def forget_project(path: Path) -> None:
    _save([e for e in recent_projects() if e["path"] != str(path)])


def _save(entries: list[dict[str, object]]) -> None:
    stored = [{k: v for k, v in e.items() if k != "exists"} for e in entries]
    try:
        atomic_write_json(_path(), stored)
    except OSError:
        pass  # an unwritable config folder must not stop the operator from working
