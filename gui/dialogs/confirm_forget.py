"""Ask before forgetting a document, saying exactly how much will go.

The safe answer ("Keep it") is the default button, so Enter never deletes by accident.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.style import ERROR


def impact_text(impact: dict[str, int]) -> str:
    """ "42 chunks, 1 redaction" from forget_impact's counts (zero counts left out)."""
    parts = []
    for key, count in impact.items():
        if not count:
            continue
        noun = key.replace("_", " ")
        if count == 1 and noun.endswith("s"):
            noun = noun[:-1]
        parts.append(f"{count:,} {noun}")
    return ", ".join(parts)


class ConfirmForgetDialog(QDialog):
    def __init__(self, name: str, impact: dict[str, int],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Forget this document?")
        self.setModal(True)
        layout = QVBoxLayout(self)
        title = QLabel(f"Forget “{name}”?")
        title.setStyleSheet("font-size: 15px; font-weight: 600;")
        layout.addWidget(title)
        counts = impact_text(impact)
        what = (f"everything made from it: {counts}" if counts
                else "its entry in the project (nothing was made from it yet)")
        self.message = QLabel(
            f"This removes the stored copy of the file and {what}. Your original file is "
            "not touched. This cannot be undone.")
        self.message.setWordWrap(True)
        self.message.setMinimumWidth(380)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        self.forget_button = QPushButton("&Forget document")
        self.forget_button.setStyleSheet(
            f"QPushButton {{ background: {ERROR}; color: white; border-color: {ERROR}; }}")
        self.forget_button.setAutoDefault(False)
        self.keep_button = QPushButton("&Keep it")
        self.keep_button.setDefault(True)
        buttons.addButton(self.forget_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(self.keep_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.forget_button.clicked.connect(self.accept)
        self.keep_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.keep_button.setFocus()


def confirm_forget(name: str, impact: dict[str, int], parent: QWidget | None = None) -> bool:
    """Show the dialog modally; True when the operator chose to forget."""
    dialog = ConfirmForgetDialog(name, impact, parent)
    try:
        return dialog.exec() == QDialog.DialogCode.Accepted
    finally:
        dialog.deleteLater()
