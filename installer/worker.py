"""Entry point of the bundle's two console executables, ``talksmall`` and ``talksmall-worker``.

Both are built from this one script and one analysis (installer/talksmall.spec), so the
second costs no extra build time; the executable's own name says which it is:

- ``talksmall-worker <job> --spec spec.json [--run-dir DIR]``: the child process for long
  jobs. In the installed bundle there is no ``python -m``; ``core.jobs.launch.child_command``
  picks this executable when the app runs frozen.
- ``talksmall ...``: the command line (``core.cli``), the same as ``pip install``'s.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    from core.jobs.launch import WORKER_NAME

    if Path(sys.executable).stem == WORKER_NAME:
        from core.jobs.__main__ import main as job_main

        return job_main()
    from core.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
