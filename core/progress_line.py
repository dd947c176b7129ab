"""One progress line for the command line: redrawn in place on a terminal, plain lines in a log.

Exporters report once per tensor (hundreds of calls); printing each would flood a log file
or CI output, so a line is written only when what it shows changes: on a terminal the whole
percent or the message, in a pipe the message alone.
"""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressLine:
    def __init__(self, stream: TextIO | None = None, width: int = 70) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown: tuple[int, str] | None = None
        self._open = False  # a redrawn line without its newline yet

    def __call__(self, fraction: float, message: str) -> None:
        percent = int(100 * min(max(float(fraction), 0.0), 1.0))  # 100 only when done
        text = message[:self.width]
        shown = (percent, text) if self.tty else (0, text)
        if shown != self._shown:
            self._shown = shown
            if self.tty:
                print(f"\r[{percent:3d}%] {text:<{self.width}}", end="", file=self.stream,
                      flush=True)
                self._open = True
            else:
                print(f"[{percent:3d}%] {text}", file=self.stream, flush=True)
        if percent >= 100:
            self.end()

    def end(self) -> None:
        """Finish a redrawn line so the next output starts on its own line."""
        if self._open:
            print(file=self.stream, flush=True)
            self._open = False
