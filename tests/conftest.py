"""Test-wide isolation: no test reads or writes the user's real config or cache."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# One fresh cache per test session (the cold path: first-run set-up is exercised every
# run); each test gets its own config folder (recent projects) below.
_SESSION_CACHE = Path(tempfile.mkdtemp(prefix="talksmall-test-cache-"))
os.environ["TALKSMALL_CACHE_DIR"] = str(_SESSION_CACHE)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("TALKSMALL_CONFIG_DIR", str(folder))
    return folder


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_CACHE, ignore_errors=True)
