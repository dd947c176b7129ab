"""The two kinds of message line every page shows: a grey hint and a red error.

Their look comes from the style sheet (gui/style.py) through the object name, so a page only
says which kind it wants; the error line starts hidden and shows a TalkSmallError as its
message followed by what to do.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel


def hint_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    return label


def error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("fieldError")
    label.setWordWrap(True)
    label.hide()
    return label


def show_error(label: QLabel, error: Any) -> None:
    """Show ``error`` (a TalkSmallError, or message text) with its hint on ``label``."""
    hint = getattr(error, "hint", "")
    label.setText(f"{error} {hint}".strip())
    label.show()
