"""The on-disk project: folder layout, project.sqlite, company profile, recent list."""

from core.project.lock import ProjectLock, lock_opened, open_locked
from core.project.profile import CompanyProfile
from core.project.project import Project, create_project, open_project
from core.project.recent import forget_project, recent_projects, remember_project

__all__ = [
    "CompanyProfile",
    "Project",
    "ProjectLock",
    "create_project",
    "forget_project",
    "lock_opened",
    "open_locked",
    "open_project",
    "recent_projects",
    "remember_project",
]
