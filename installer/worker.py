"""Entry point of ``talksmall-worker``, the bundle's second executable.

In the installed desktop bundle there is no ``python -m``: the GUI starts long jobs through
this executable with the same arguments (``<job> --spec spec.json [--run-dir DIR]``);
``core.jobs.launch.child_command`` picks it when the app runs frozen.
"""

from __future__ import annotations

import sys

from core.jobs.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
