"""Another process holding a project open as a window does (tests of the window lock)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.jobs.launch import child_env

HOLDER = """
import sys
from core.project import open_locked
project = open_locked(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()  # hold until the test closes stdin or kills us
project.close()
print("released", flush=True)
"""


@contextmanager
def held_elsewhere(project_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """A child that has opened ``project_dir`` with the lock; killed on the way out.

    Closing its stdin makes it close the project and print "released"."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(project_dir)], text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env())
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
