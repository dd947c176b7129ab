"""One colour and one label per kind of personal data, shared by the viewer and its legend."""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPixmap

# kind -> (label, light background for highlighted text, strong colour for swatches/underlines)
KINDS: dict[str, tuple[str, str, str]] = {
    "email": ("Email", "#dbeafe", "#2563eb"),
    "phone": ("Phone", "#dcfce7", "#16a34a"),
    "card": ("Card number", "#fee2e2", "#dc2626"),
    "iban": ("IBAN", "#ede9fe", "#7c3aed"),
    "address": ("Address", "#ffedd5", "#ea580c"),
    "name": ("Person name", "#ccfbf1", "#0d9488"),
    "term": ("Always-redact term", "#fce7f3", "#db2777"),
}
_OTHER = ("Personal data", "#e5e7eb", "#6b7280")


def label(kind: str) -> str:
    return KINDS.get(kind, _OTHER)[0] if kind in KINDS else kind.capitalize() or _OTHER[0]


def background(kind: str) -> QColor:
    return QColor(KINDS.get(kind, _OTHER)[1])


def strong(kind: str) -> QColor:
    return QColor(KINDS.get(kind, _OTHER)[2])


def swatch(kind: str, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(strong(kind))
    return QIcon(pixmap)
