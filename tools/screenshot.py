"""Screenshot the real app window (run under Xvfb): python tools/screenshot.py OUT.png
[--project DIR] [--tab N]. Used to look at the GUI as an operator sees it."""

from __future__ import annotations

import argparse
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from gui.main_window import MainWindow
from gui.style import apply_style


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--project")
    parser.add_argument("--tab", type=int, default=0)
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    apply_style(app)
    window = MainWindow()
    if args.project:
        window.open_project_folder(args.project)
        window.project_page.tabs.setCurrentIndex(args.tab)
    window.show()

    def shoot() -> None:
        screen = window.screen()
        screen.grabWindow(0).copy(window.frameGeometry()).save(args.out)
        app.quit()

    QTimer.singleShot(2500, shoot)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
