"""The built Linux bundle runs outside the source tree with no Python on PATH (issue #10).

Skipped unless TALKSMALL_BUNDLE names a built bundle folder (the one holding
``talksmall-studio`` and ``talksmall-worker``, e.g. /tmp/bundle/talksmall from
``installer/build.sh /tmp/bundle``): the build takes many minutes, so CI runs it on its own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = os.environ.get("TALKSMALL_BUNDLE", "")

pytestmark = [
    pytest.mark.installer,
    pytest.mark.skipif(not BUNDLE, reason="set TALKSMALL_BUNDLE to a built bundle folder"),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundle outside the source tree, plus specs written by installer/make_specs."""
    base = tmp_path_factory.mktemp("bundle")
    shutil.copytree(BUNDLE, base / "app", symlinks=True)
    subprocess.run([sys.executable, str(ROOT / "installer" / "make_specs.py"), str(base / "work")],
                   check=True, cwd=ROOT)
    (base / "home").mkdir()
    return base


def clean_env(base: Path, **extra: str) -> dict[str, str]:
    """No venv, no PYTHONPATH: only what a fresh operator account has."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(base / "home"), "LANG": "C.UTF-8", **extra}


def run_worker(app: Path, job: str, timeout: float) -> list[dict]:
    spec = app / "work" / job / "spec.json"
    proc = subprocess.run([str(app / "app" / "talksmall-worker"), job, "--spec", str(spec)],
                          env=clean_env(app), cwd=app, capture_output=True, text=True,
                          timeout=timeout)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    log = (spec.parent / "stderr.log")
    assert proc.returncode == 0, log.read_text() if log.exists() else proc.stderr
    return events


def test_worker_selfcheck(app: Path) -> None:
    events = run_worker(app, "selfcheck", timeout=120)
    assert events[-1]["type"] == "finished" and events[-1]["status"] == "succeeded"
    logs = " ".join(e.get("message", "") for e in events if e["type"] == "log")
    assert str(app / "app") in logs  # the frozen worker, not a Python from PATH


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="needs xvfb-run")
def test_studio_starts_and_opens_project(app: Path) -> None:
    studio = app / "app" / "talksmall-studio"
    proc = subprocess.Popen(["xvfb-run", "-a", str(studio), str(app / "work" / "project")],
                            env=clean_env(app, QT_QPA_PLATFORM="xcb"), cwd=app,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=20)
        pytest.fail(f"talksmall-studio exited with {proc.returncode}:\n{out}")
    except subprocess.TimeoutExpired:
        pass  # still running after 20 s: it started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # xvfb-run, Xvfb and the app together
        proc.communicate(timeout=30)


def test_worker_trains_two_steps(app: Path) -> None:
    events = run_worker(app, "train", timeout=900)
    assert events[-1]["status"] == "succeeded"
    assert (app / "work" / "train" / "final").is_dir()
