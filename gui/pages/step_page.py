"""What the main window needs from the page of a wizard step, and nothing more.

Each step's page is its own widget in the main window's stack. The window asks the page for
its subtitle, hands it the open project (or None), asks whether it is busy and tells it to
stop its background work before the project closes. A page may also have a
``subtitle_changed`` signal for when its subtitle depends on what it shows.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from core.project import Project


@runtime_checkable
class StepPage(Protocol):
    def subtitle(self) -> str:
        """One or two sentences under the step's title: what to do here, now."""
        ...

    def show_project(self, project: Project | None) -> None:
        """Show this project (None: no project is open). Called for every page on a change."""
        ...

    def is_busy(self) -> bool:
        """True while the page has background work running."""
        ...

    def shutdown(self) -> None:
        """Stop background work and save; the project is about to close."""
        ...
