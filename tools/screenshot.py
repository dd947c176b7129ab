"""Screenshot the real app window (run under Xvfb): python tools/screenshot.py OUT.png
[--project DIR] [--tab N] [--step N] [--import PATH...] [--view NAME] [--redacted]
[--select KIND] [--page-tab N] [--train --wait S] [--ask TEXT [--compare]] [--serve].
Used to look at the GUI as an operator sees it.

--step N switches the wizard to step N (1 = Project, 2 = Documents, ...) when it can be
entered; --import adds files through the Documents page (as a drop would) and shoots once
they are in; --view NAME opens that document in the viewer (--redacted shows it as the
assistant sees it, --select KIND selects the first redaction of that kind); --page-tab N
shows tab N (0-based) of a page that has tabs (Conversations: 1 = Review, 2 = Summary).
"""

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
    parser.add_argument("--step", type=int, default=1, help="wizard step, 1-based")
    parser.add_argument("--view", help="open this document (by file name) in the viewer")
    parser.add_argument("--redacted", action="store_true", help="viewer: the assistant's view")
    parser.add_argument("--select", help="viewer: select the first redaction of this kind")
    parser.add_argument("--page-tab", type=int, help="tab of the step's page, 0-based")
    parser.add_argument("--train", action="store_true",
                        help="Training page: press Train and shoot once --wait seconds passed")
    parser.add_argument("--wait", type=float, default=2.5, help="seconds before the shot")
    parser.add_argument("--ask", help="Export & chat page: ask this and shoot once answered")
    parser.add_argument("--serve", action="store_true",
                        help="Export & chat page: start the server and shoot once it runs")
    parser.add_argument("--compare", action="store_true",
                        help="with --ask: the base model answers beside the assistant")
    parser.add_argument("--build", action="store_true",
                        help="also shoot the Build my assistant dialog (OUT-build.png)")
    parser.add_argument("--import", dest="paths", nargs="+", default=[],
                        help="files or folders to import on the Documents page first")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    apply_style(app)
    window = MainWindow()
    if args.project:
        window.open_project_folder(args.project)
        window.project_page.tabs.setCurrentIndex(args.tab)
    if args.step != 1:
        window.go_to(args.step - 1)
        if window.flow.current != args.step - 1:
            print(f"step {args.step}: {window.flow.why_not(args.step - 1)}", file=sys.stderr)
    if args.page_tab is not None:
        tabs = getattr(window.current_page(), "tabs", None)
        if tabs is not None:
            tabs.setCurrentIndex(args.page_tab)
        table = getattr(window.current_page(), "table", None)
        if table is not None and table.rowCount():
            table.selectRow(0)  # shows what a selection shows (the source chunk)
    if args.view:
        _open_document(window, args.view, args.redacted, args.select)
    window.show()
    if args.build:
        window.open_build()

    def shoot() -> None:
        screen = window.screen()
        screen.grabWindow(0).copy(window.frameGeometry()).save(args.out)
        if args.build:
            dialog = window.build_dialog
            dialog.grab().save(args.out.replace(".png", "-build.png"))
        if args.train:
            window.training_page.shutdown()
        window.export_page.shutdown()  # asks the run to stop (it checkpoints first)
        app.quit()

    if args.paths:
        window.go_to(window.flow.index_of("documents"))
        window.documents_page.import_finished.connect(
            lambda _results: QTimer.singleShot(1000, shoot))
        QTimer.singleShot(500, lambda: window.documents_page.import_paths(args.paths))
    elif args.ask:
        chat = window.export_page.chat
        window.go_to(window.flow.index_of("export"))
        chat.compare_box.setChecked(args.compare)
        chat.hidden_box.setChecked(True)
        last = chat.right if args.compare else chat.left
        last.answered.connect(lambda _answer: QTimer.singleShot(int(args.wait * 1000), shoot))
        chat.question.setText(args.ask)
        QTimer.singleShot(500, chat.send)
    elif args.serve:
        page = window.export_page
        window.go_to(window.flow.index_of("export"))
        page.tabs.setCurrentWidget(page.serve)
        page.serve.port_box.setValue(8765)
        page.serve.running_changed.connect(
            lambda _running: QTimer.singleShot(int(args.wait * 1000), shoot))
        QTimer.singleShot(500, page.serve.start)
    elif args.train:
        page = window.training_page
        page.estimate_ready.connect(lambda _estimate: page.train())
        QTimer.singleShot(int(args.wait * 1000), shoot)
    else:
        QTimer.singleShot(int(args.wait * 1000), shoot)
    return app.exec()


def _open_document(window: MainWindow, name: str, redacted: bool, kind: str | None) -> None:
    page = window.documents_page
    window.go_to(window.flow.index_of("documents"))
    index = page.table.row_named(name)
    if index < 0:
        print(f"no document named {name!r}", file=sys.stderr)
        return
    page.open_document(page.table.rows[index])
    page.viewer.set_redacted_view(redacted)
    if kind:
        first = next((r for r in page.viewer.redactions if r["kind"] == kind), None)
        if first is not None:
            page.viewer.select_redaction(first["id"])


if __name__ == "__main__":
    sys.exit(main())
