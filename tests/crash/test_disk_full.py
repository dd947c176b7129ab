"""Disk full while writing a checkpoint or an export: a clear message, the previous checkpoint
intact and resumable, and nothing half-written presented as a result.

The fault is injected from outside the product: the training child gets a ``sitecustomize``
on its PYTHONPATH that makes one named file of one checkpoint fail with ENOSPC after writing
half of its bytes (a real torn file on disk); the export test patches the zip writer the same
way in-process. Everything else is real: the embedded model, TRL, the job protocol, the run
history, the exporter.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.jobs.events import read_events
from core.jobs.launch import child_env
from core.project import Project, create_project, open_project

pytestmark = pytest.mark.slow

FAULT_ENV = "TALKSMALL_TEST_DISK_FULL_AT"

# Runs at the child's start-up (Python imports ``sitecustomize`` from the path by itself).
SHIM = '''
import builtins, errno, os

_target = os.environ.get("TALKSMALL_TEST_DISK_FULL_AT", "")


def _hit(path):
    return isinstance(path, (str, os.PathLike)) and \\
        os.fspath(path).replace(os.sep, "/").endswith(_target)


def _full():
    return OSError(errno.ENOSPC, "No space left on device")


if _target.endswith(".json"):  # written with open(): write half, then the disk is full
    _open = builtins.open

    class _HalfFile:
        def __init__(self, handle):
            self._handle = handle

        def write(self, data):
            self._handle.write(data[: len(data) // 2])
            self._handle.flush()
            raise _full()

        def __getattr__(self, name):
            return getattr(self._handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._handle.close()

    def _patched_open(file, mode="r", *args, **kwargs):
        handle = _open(file, mode, *args, **kwargs)
        return _HalfFile(handle) if "w" in mode and _hit(file) else handle

    builtins.open = _patched_open
elif _target.endswith(".safetensors"):  # safetensors writes from Rust: patch its save_file
    import safetensors.torch as _st

    _save_file = _st.save_file

    def _patched_save_file(tensors, filename, metadata=None):
        if not _hit(filename):
            return _save_file(tensors, filename, metadata=metadata)
        data = _st.save(tensors, metadata=metadata)
        with open(filename, "wb") as handle:
            handle.write(data[: len(data) // 2])
        raise _full()

    _st.save_file = _patched_save_file
'''


@pytest.fixture(scope="module")
def embedded_dir() -> Path:
    from core.models import embedded

    return embedded.embedded_hf_dir()


@pytest.fixture
def train_project(tmp_path: Path, embedded_dir: Path) -> Path:
    from core.conversations.datasets import import_dataset
    from core.project.profile import CompanyProfile
    from tests.core.training.conftest import write_chats

    project = create_project(tmp_path / "kestrel", company_name="Kestrel Quay Lettings")
    try:
        project.save_profile(CompanyProfile(company_name="Kestrel Quay Lettings",
                                            customer_roles=["tenant", "owner", "prospect"]))
        import_dataset(project, write_chats(tmp_path / "chats.jsonl"), kind="chat")
    finally:
        project.close()
    return tmp_path / "kestrel"


def _run_child(command: list[str], fault: str | None,
               shim_dir: Path) -> subprocess.CompletedProcess:
    env = child_env()
    env.pop(FAULT_ENV, None)
    if fault is not None:
        env[FAULT_ENV] = fault
        env["PYTHONPATH"] = os.pathsep.join([str(shim_dir), env["PYTHONPATH"]])
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def _last_attempt(run_dir: Path) -> list[dict[str, Any]]:
    events = read_events(run_dir)
    start = max(i for i, e in enumerate(events) if e["type"] == "started")
    return events[start:]


@pytest.mark.parametrize("torn_file", ["trainer_state.json", "adapter_model.safetensors"])
def test_disk_full_at_checkpoint_2_keeps_checkpoint_1_and_resumes(
        train_project: Path, tmp_path: Path, torn_file: str) -> None:
    from safetensors.torch import load_file

    from core.jobs.__main__ import DISK_FULL_HINT
    from core.training import list_training_runs
    from core.training.engine import newest_checkpoint
    from core.training.launch import prepare_run, resume_command
    from core.training.spec import build_spec
    from tests.core.training.conftest import TINY

    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    (shim_dir / "sitecustomize.py").write_text(SHIM, encoding="utf-8")
    params = {**TINY, "max_steps": 3, "save_every": 1, "batch_size": 4, "max_length": 48,
              "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.0}
    spec = build_spec(train_project, "sft-lora", preset="quick-cpu", params=params,
                      device="cpu")
    project = open_project(train_project)
    try:
        run_dir, command = prepare_run(project, spec)
    finally:
        project.close()

    done = _run_child(command, f"checkpoint-2/{torn_file}", shim_dir)
    assert done.returncode == 1, done.stdout[-2000:]
    events = _last_attempt(run_dir)
    error = next(e for e in events if e["type"] == "error")
    assert error["code"] == "disk_full", error
    assert "disk is full" in error["message"] and error["hint"] == DISK_FULL_HINT
    assert events[-1]["type"] == "finished" and events[-1]["status"] == "failed"

    checkpoints = run_dir / "checkpoints"
    torn = checkpoints / "checkpoint-2"
    assert (torn / torn_file).is_file()  # the half-written file is really there ...
    assert newest_checkpoint(run_dir) == checkpoints / "checkpoint-1"  # ... and not trusted
    first = checkpoints / "checkpoint-1"
    state = json.loads((first / "trainer_state.json").read_text())
    assert state["global_step"] == 1
    assert load_file(str(first / "adapter_model.safetensors"))  # complete and loadable
    assert (first / "optimizer.pt").stat().st_size > 0

    project = open_project(train_project)
    try:
        record = next(r for r in list_training_runs(project) if r["id"] == run_dir.name)
        row = project.store.query("SELECT status FROM runs WHERE id = ?", (run_dir.name,))
    finally:
        project.close()
    assert record["status"] == "failed" and record["output"] is None
    assert record["error"]["code"] == "disk_full"
    assert row[0]["status"] == "failed"

    # Space is back: Resume continues from checkpoint-1 and finishes the run.
    resumed = _run_child(resume_command(run_dir), None, shim_dir)
    assert resumed.returncode == 0, resumed.stdout[-2000:]
    events = _last_attempt(run_dir)
    assert any(e["type"] == "log" and "resuming from checkpoint-1" in e["message"]
               for e in events)
    progress = [e["step"] for e in events if e["type"] == "progress"]
    assert progress and progress[0] == 2 and progress[-1] == 3  # step 1 was not redone
    assert events[-1]["status"] == "succeeded"
    assert (run_dir / "final" / "config.json").is_file()
    assert newest_checkpoint(run_dir) == checkpoints / "checkpoint-3"
    project = open_project(train_project)
    try:
        record = next(r for r in list_training_runs(project) if r["id"] == run_dir.name)
    finally:
        project.close()
    assert record["status"] == "succeeded" and record["steps"] == 3


# --- export -------------------------------------------------------------------------------


@pytest.fixture
def export_project(tmp_path: Path, embedded_dir: Path) -> Iterator[tuple[Project, str]]:
    """A project whose finished run links to the embedded model (no training needed)."""
    from tests.core.chat.test_runs import RUN, fake_finished_run

    project = create_project(tmp_path / "acme", company_name="Acme Lettings")
    fake_finished_run(project.runs_dir, embedded_dir)
    yield project, RUN
    project.close()


def test_disk_full_while_zipping_an_export_leaves_no_result(
        export_project: tuple[Project, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from core.errors import ValidationError
    from core.export.bundle import export_assistant, list_exports

    project, run_id = export_project
    before = export_assistant(project, run_id, ["f16"], name="before", override_gates=True)
    before_files = {p.name: p.stat().st_size for p in before.folder.iterdir()}
    before_zip = before.zip_path.read_bytes() if before.zip_path else b""
    exports = Path(project.exports_dir)
    listing = sorted(p.name for p in exports.iterdir())

    real_write = zipfile.ZipFile.write

    def write_until_the_gguf(self: zipfile.ZipFile, filename: Any, arcname: Any = None,
                             *args: Any, **kwargs: Any) -> None:
        if str(filename).endswith(".gguf"):  # the big file: half of it fits, then no more
            with open(filename, "rb") as source, self.open(str(arcname), "w",
                                                           force_zip64=True) as target:
                target.write(source.read(os.path.getsize(filename) // 2))
                raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, filename, arcname, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "write", write_until_the_gguf)
    with pytest.raises(ValidationError) as failed:
        export_assistant(project, run_id, ["f16"], name="after", override_gates=True)
    assert failed.value.field == "out"
    assert f"The disk holding {exports} is full" in failed.value.message
    assert "nothing was exported" in failed.value.message
    assert "Free some disk space" in failed.value.hint

    assert [e.name for e in list_exports(project)] == ["before"]  # nothing new is listed
    assert sorted(p.name for p in exports.iterdir()) == listing  # no temp folder or zip left
    assert {p.name: p.stat().st_size for p in before.folder.iterdir()} == before_files
    assert before.zip_path is not None and before.zip_path.read_bytes() == before_zip
