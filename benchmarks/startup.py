"""Cold start to a usable main window, against a bare PySide6 window in the same run.

Goal (issue 3): <= 1.5 s, and torch / transformers never imported at start-up.
Run: .venv/bin/python benchmarks/startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
if MODE == "app":
    from gui.main_window import MainWindow
    from gui.style import apply_style
    apply_style(app)
    window = MainWindow()
else:
    window = QMainWindow()
window.show()
app.processEvents()
elapsed = time.perf_counter() - t0
heavy = sorted(m for m in ("torch", "transformers", "trl", "peft", "llama_cpp") if m in sys.modules)
print(json.dumps({"seconds": elapsed, "heavy": heavy}))
"""


def measure(mode: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    code = f"MODE = {mode!r}\n" + PROBE
    started = __import__("time").perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout
    total = __import__("time").perf_counter() - started  # includes interpreter start-up
    result = json.loads(out.strip().splitlines()[-1])
    result["process_seconds"] = total
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    measure("app")  # warm the OS file cache once, as a second launch would be
    base = [measure("bare") for _ in range(args.repeat)]
    app = [measure("app") for _ in range(args.repeat)]
    b = statistics.median(r["process_seconds"] for r in base)
    a = statistics.median(r["process_seconds"] for r in app)
    heavy = sorted({m for r in app for m in r["heavy"]})
    print(f"bare PySide6 window:    {b:.2f} s (median of {args.repeat}, process start to shown)")
    print(f"TalkSmall main window:  {a:.2f} s  -> {a / b:.2f}x the bare window; goal <= 1.5 s")
    print(f"heavy modules imported at start-up: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
