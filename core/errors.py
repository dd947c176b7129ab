"""Errors that cross a boundary (CLI, GUI, child process) as a message and a hint.

Users never see a traceback: every failure a user can cause or fix is raised as a
``TalkSmallError`` whose ``message`` names the file or field and whose ``hint`` says
what to do next. The CLI prints ``error: <message> <hint>``; the GUI shows both.
"""

from __future__ import annotations


class TalkSmallError(Exception):
    """A failure with a plain-language message and an optional next step."""

    code = "error"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ProjectError(TalkSmallError):
    """The project folder or its database cannot be created, opened or used."""

    code = "project"


class ValidationError(TalkSmallError):
    """A field or input value is not acceptable; ``field`` names it."""

    code = "validation"

    def __init__(self, field: str, message: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.field = field


class ModelError(TalkSmallError):
    """A model file or folder cannot be used."""

    code = "model"
