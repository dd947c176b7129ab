"""Long jobs run in a child process that reports through JSON-line events.

``python -m core.jobs <job> --spec spec.json`` runs one job (see ``__main__``); the GUI's
job runner and the CLI start it with ``launch.child_command``. This package stays light:
job code (torch and friends) is imported only when its job runs.
"""

from core.jobs.context import JobCancelled, JobContext
from core.jobs.events import EventWriter, read_events, run_status
from core.jobs.launch import child_command, child_env, new_run_dir, write_spec

__all__ = [
    "EventWriter",
    "JobCancelled",
    "JobContext",
    "child_command",
    "child_env",
    "new_run_dir",
    "read_events",
    "run_status",
    "write_spec",
]
