"""A project: the folder the operator chose, with project.sqlite and its sub-folders."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import __version__
from core.errors import ProjectError
from core.project.profile import CompanyProfile
from core.project.store import DB_NAME, ProjectStore

if TYPE_CHECKING:
    from core.project.lock import ProjectLock

SUBFOLDERS = ("files", "runs", "exports")
PROFILE_KEY = "profile"
BASE_MODEL_KEY = "base_model"  # "embedded" or the path of a model in the models table


@dataclass
class Project:
    root: Path
    store: ProjectStore
    # The window lock (core/project/lock.py) when a GUI window opened it; closing releases it.
    lock: ProjectLock | None = field(default=None, compare=False, repr=False)

    # --- folders ---------------------------------------------------------------
    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    # --- profile ---------------------------------------------------------------
    def profile(self) -> CompanyProfile:
        return CompanyProfile.from_dict(self.store.get_setting(PROFILE_KEY))

    def save_profile(self, profile: CompanyProfile) -> None:
        """Saves the draft as it is, valid or not: typed work is never lost."""
        self.store.set_setting(PROFILE_KEY, profile.to_dict())

    @property
    def name(self) -> str:
        return self.profile().company_name.strip() or self.root.name

    # --- summary ---------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        profile = self.profile()
        errors = profile.validate()
        runs: dict[str, int] = {}
        for row in self.store.query("SELECT id, status FROM runs"):
            status = self._live_status(row["id"], row["status"])
            runs[status] = runs.get(status, 0) + 1
        return {
            "path": str(self.root),
            "name": self.name,
            "schema_version": self.store.schema_version,
            "app_version": __version__,
            "profile": profile.to_dict(),
            "profile_valid": not errors,
            "profile_errors": errors,
            "system_prompt": profile.system_prompt(),
            "base_model": self.store.get_setting(BASE_MODEL_KEY, "embedded"),
            "models": [dict(row) for row in self.store.query(
                "SELECT kind, name, path FROM models ORDER BY id")],
            "runs": runs,
        }

    def _live_status(self, run_id: str, status: str) -> str:
        """A row says "running" until its job records the end; a job killed with -9 never
        does, so the run folder (events and the pid's liveness) decides."""
        if status != "running":
            return status
        from core.jobs.events import run_status

        folder = self.runs_dir / run_id
        return run_status(folder) if folder.is_dir() else "failed"

    def close(self) -> None:
        try:
            self.store.close()
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None


def create_project(folder: str | os.PathLike[str], company_name: str = "") -> Project:
    """Create a new project in ``folder`` (created if missing; may hold other files)."""
    root = Path(folder).expanduser().resolve()
    if (root / DB_NAME).exists():
        raise ProjectError(
            f"{root} already holds a TalkSmall project.",
            "Open it instead, or choose another folder.",
        )
    if root.exists() and not root.is_dir():
        raise ProjectError(f"{root} is a file, not a folder.", "Choose or name a folder.")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(
            f"Cannot create the folder {root}: {exc.strerror or exc}.",
            "Choose a folder you can write to, for example in your Documents.",
        ) from exc
    _check_writable(root)
    for sub in SUBFOLDERS:
        (root / sub).mkdir(exist_ok=True)
    store = ProjectStore.create(root / DB_NAME)
    project = Project(root, store)
    if company_name:
        project.save_profile(CompanyProfile(company_name=company_name))
    else:
        project.save_profile(CompanyProfile())
    return project


def open_project(folder: str | os.PathLike[str]) -> Project:
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise ProjectError(f"{root} does not exist or is not a folder.", "Choose a project folder.")
    store = ProjectStore.open(root / DB_NAME)
    for sub in SUBFOLDERS:
        try:
            (root / sub).mkdir(exist_ok=True)
        except OSError:
            pass  # read-only media: the project still opens for reading
    return Project(root, store)


def _check_writable(root: Path) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=".talksmall-probe-", dir=root)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ProjectError(
            f"Cannot write to {root}: {exc.strerror or exc}.",
            "Choose a folder you can write to, for example in your Documents.",
        ) from exc
