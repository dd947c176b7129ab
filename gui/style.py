"""The application's look: Fusion with a calm light palette and one stylesheet."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#2f6fde"
ERROR = "#c62828"
MUTED = "#6b7280"
SUCCESS = "#2e7d32"

STYLESHEET = f"""
QMainWindow, QWidget#page {{ background: #f6f7f9; }}
QWidget#sidebar {{ background: #1f2937; }}
QLabel#brand {{ color: white; font-size: 17px; font-weight: 600; padding: 18px 16px 2px 16px; }}
QLabel#brandSub {{ color: #9ca3af; font-size: 11px; padding: 0 16px 14px 16px; }}
QListWidget#steps {{ background: transparent; border: none; color: #e5e7eb; outline: 0; }}
QListWidget#steps::item {{ padding: 0px; border: none; }}
QListWidget#steps::item:selected {{ background: #374151; border-left: 3px solid {ACCENT}; }}
QLabel#pageTitle {{ font-size: 22px; font-weight: 600; color: #111827; }}
QLabel#pageSubtitle {{ color: {MUTED}; font-size: 13px; }}
QGroupBox {{ background: white; border: 1px solid #e5e7eb; border-radius: 8px;
            margin-top: 14px; padding: 14px 12px 12px 12px; font-weight: 600; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 12px; padding: 0 4px; color: #111827; }}
QLabel.fieldError, QLabel#fieldError {{ color: {ERROR}; font-size: 12px; }}
QLabel#hint {{ color: {MUTED}; font-size: 12px; }}
QLabel#saved {{ color: {MUTED}; font-size: 12px; }}
QLineEdit, QPlainTextEdit {{ background: white; border: 1px solid #d1d5db;
            border-radius: 5px; padding: 5px; selection-background-color: {ACCENT}; }}
QLineEdit:focus, QPlainTextEdit:focus {{ border: 1px solid {ACCENT}; }}
QLineEdit[invalid="true"], QPlainTextEdit[invalid="true"] {{ border: 1px solid {ERROR}; }}
QPushButton {{ background: white; border: 1px solid #d1d5db; border-radius: 5px;
              padding: 6px 14px; color: #111827; }}
QPushButton:hover {{ background: #f3f4f6; }}
QPushButton:disabled {{ color: #9ca3af; background: #f3f4f6; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border: 1px solid {ACCENT}; }}
QPushButton#primary:hover {{ background: #2559b8; }}
QPushButton#primary:disabled {{ background: #9db8ea; border-color: #9db8ea; }}
QTableWidget {{ background: white; border: 1px solid #e5e7eb; gridline-color: #f0f1f3; }}
QHeaderView::section {{ background: #f9fafb; border: none; border-bottom: 1px solid #e5e7eb;
                        padding: 5px; font-weight: 600; color: #374151; }}
QWidget#navBar {{ background: transparent; border-top: 1px solid #e5e7eb; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ background: transparent; padding: 7px 16px; color: {MUTED}; border: none;
               border-bottom: 2px solid transparent; font-weight: 600; }}
QTabBar::tab:selected {{ color: #111827; border-bottom: 2px solid {ACCENT}; }}
"""


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#f6f7f9"))
    palette.setColor(QPalette.ColorRole.Base, QColor("white"))
    palette.setColor(QPalette.ColorRole.Text, QColor("#111827"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#111827"))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("white"))
    app.setPalette(palette)
    font = QFont(app.font())
    font.setPointSize(10)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)
