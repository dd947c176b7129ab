"""Desktop entry point: ``talksmall-studio [PROJECT]`` or ``python -m gui.app``."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.style import apply_style

    app = QApplication.instance() or QApplication([sys.argv[0], *args])
    app.setApplicationName("TalkSmall Studio")
    app.setOrganizationName("TalkSmall")
    apply_style(app)
    window = MainWindow()
    if args and not args[0].startswith("-"):
        window.open_project_folder(args[0])
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
