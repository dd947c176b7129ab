"""The command line's progress line: redrawn on a terminal, one line per message in a log."""

from __future__ import annotations

import io

from core.progress_line import ProgressLine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_per_new_message_only():
    log = io.StringIO()
    line = ProgressLine(log)
    for step in range(200):
        line(step / 400, "Writing weights")
    line(0.6, "Quantizing")
    line(1.0, "Done")
    assert log.getvalue().splitlines() == ["[  0%] Writing weights", "[ 60%] Quantizing",
                                           "[100%] Done"]


def test_a_terminal_redraws_when_the_percent_changes_and_ends_the_line():
    screen = Terminal()
    line = ProgressLine(screen, width=10)
    for step in range(1000):
        line(step / 1000, "Writing")
    line(1.0, "Done")
    text = screen.getvalue()
    assert text.count("\r") == 101 and text.endswith("[100%] Done      \n")
