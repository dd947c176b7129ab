"""The child-process protocol: events on disk and on stdout, run status, and a real child."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest

from core.errors import ValidationError
from core.jobs import registry
from core.jobs.context import JobCancelled, JobContext
from core.jobs.events import (
    EventWriter,
    make_event,
    parse_event_line,
    pid_alive,
    read_events,
    run_status,
    stream_events,
)
from core.jobs.launch import child_command, child_env, new_run_dir, write_spec

# --- events ------------------------------------------------------------------------------


def test_writer_puts_the_same_lines_on_the_stream_and_in_the_file(tmp_path: Path) -> None:
    stream = io.StringIO()
    with EventWriter(tmp_path, stream=stream) as writer:
        writer.emit("started", run="r1", job="selfcheck")
        writer.emit("progress", step=1, total=4, eta_s=3.5)
        writer.emit("metric", step=1, loss=2.31, eval_loss=2.4, lr=5e-4)
        writer.emit("log", level="info", message="naïve “quotes” ✓")
        writer.emit("finished", status="succeeded", output="out/")
    file_text = (tmp_path / "events.jsonl").read_text(encoding="utf-8")
    assert stream.getvalue() == file_text
    assert all(line.isascii() for line in file_text.splitlines())
    events = read_events(tmp_path / "events.jsonl")
    assert [e["type"] for e in events] == ["started", "progress", "metric", "log", "finished"]
    assert events[2] == {"type": "metric", "step": 1, "loss": 2.31, "eval_loss": 2.4, "lr": 5e-4}
    assert events[3]["message"] == "naïve “quotes” ✓"
    assert read_events(tmp_path) == events  # a run folder works too


def test_writer_appends_to_an_existing_run(tmp_path: Path) -> None:
    for status in ("cancelled", "succeeded"):
        with EventWriter(tmp_path, stream=io.StringIO()) as writer:
            writer.emit("started")
            writer.emit("finished", status=status)
    assert [e.get("status") for e in read_events(tmp_path)] == [
        None, "cancelled", None, "succeeded"
    ]


def test_reader_skips_a_torn_last_line_and_noise(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"type": "started", "run": "r"}\n'
        "Map: 100%|####| 164/164\n"
        '{"type": "progress", "step": 1, "total": 3, "eta_s": null}\n'
        '{"type": "progress", "st',
        encoding="utf-8",
    )
    assert [e["type"] for e in read_events(path)] == ["started", "progress"]
    assert read_events(tmp_path / "missing.jsonl") == []


def test_numpy_scalars_are_written_as_numbers(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    with EventWriter(tmp_path, io.StringIO()) as writer:
        writer.emit("metric", step=np.int64(3), loss=np.float32(1.5), path=tmp_path)
    assert read_events(tmp_path) == [
        {"type": "metric", "step": 3, "loss": 1.5, "path": str(tmp_path)}
    ]


def test_events_are_checked_when_made() -> None:
    assert make_event("stage", name="sft", index=3, of=6)["type"] == "stage"
    with pytest.raises(ValueError, match="unknown event type"):
        make_event("bogus")
    with pytest.raises(ValueError, match="lacks total"):
        make_event("progress", step=1)
    with pytest.raises(ValueError, match="finished status"):
        make_event("finished", status="done")
    assert parse_event_line(b'{"type": "log", "level": "info", "message": "x"}\r\n')["level"]
    assert parse_event_line("[1, 2]") is None
    assert parse_event_line('{"no": "type"}') is None
    lines = [b"loading weights...\n", b'{"type": "log", "level": "info", "message": "a"}\n',
             b'{"type": "fini', b'{"type": "finished", "status": "succeeded"}\n']
    assert [e["type"] for e in stream_events(iter(lines))] == ["log", "finished"]


# --- run status --------------------------------------------------------------------------


def _write(run_dir: Path, *events: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "events.jsonl", "a", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event) + "\n")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled"])
def test_status_comes_from_the_finished_event(tmp_path: Path, status: str) -> None:
    _write(tmp_path, {"type": "started"}, {"type": "finished", "status": status})
    assert run_status(tmp_path) == status


def test_a_run_that_died_without_finished_failed(tmp_path: Path) -> None:
    _write(tmp_path, {"type": "started"}, {"type": "progress", "step": 9, "total": 10})
    (tmp_path / "pid").write_text(f"{_dead_pid()}\n")
    assert run_status(tmp_path) == "failed"
    (tmp_path / "pid").unlink()
    assert run_status(tmp_path) == "failed"


def test_a_run_with_a_live_process_is_running(tmp_path: Path) -> None:
    _write(tmp_path, {"type": "started"}, {"type": "progress", "step": 1, "total": 10})
    (tmp_path / "pid").write_text(f"{os.getpid()}\n")
    assert pid_alive(os.getpid())
    assert run_status(tmp_path) == "running"


def test_a_resumed_run_is_judged_by_its_latest_attempt(tmp_path: Path) -> None:
    _write(tmp_path, {"type": "started"}, {"type": "finished", "status": "cancelled"})
    _write(tmp_path, {"type": "started"}, {"type": "progress", "step": 5, "total": 10})
    (tmp_path / "pid").write_text(f"{os.getpid()}\n")
    assert run_status(tmp_path) == "running"
    (tmp_path / "pid").write_text(f"{_dead_pid()}\n")
    assert run_status(tmp_path) == "failed"


# --- the context a job gets ----------------------------------------------------------------


def test_context_reports_progress_with_an_eta(tmp_path: Path) -> None:
    now = [100.0]
    stream = io.StringIO()
    ctx = JobContext(tmp_path, EventWriter(tmp_path, stream), clock=lambda: now[0])
    ctx.stage("sft", 1, 2)
    ctx.progress(0, 10)
    now[0] += 4.0
    ctx.progress(2, 10)  # 2 s a step, 8 steps to go
    now[0] += 2.0
    ctx.progress(3, 10)
    ctx.progress(10, 10)
    ctx.log("warning", "careful")
    ctx.metric(3, loss=1.5)
    ctx.checkpoint(3, tmp_path / "ck")
    events = read_events(tmp_path)
    etas = [e["eta_s"] for e in events if e["type"] == "progress"]
    assert etas == [None, 16.0, 14.0, 0.0]
    assert events[0] == {"type": "stage", "name": "sft", "index": 1, "of": 2}
    assert events[-3] == {"type": "log", "level": "warning", "message": "careful"}
    assert events[-1]["path"] == str(tmp_path / "ck")


def test_context_sees_the_stop_file(tmp_path: Path) -> None:
    ctx = JobContext(tmp_path, EventWriter(tmp_path, io.StringIO()))
    assert not ctx.should_stop()
    ctx.check_stop()
    (tmp_path / "STOP").touch()
    assert ctx.should_stop()
    with pytest.raises(JobCancelled):
        ctx.check_stop()


# --- registry and launch ---------------------------------------------------------------------


def test_registry_resolves_lazily_and_names_the_known_jobs() -> None:
    assert {"convert-model", "selfcheck"} <= set(registry.job_names())
    assert callable(registry.resolve("selfcheck"))
    with pytest.raises(ValidationError, match="unknown job") as caught:
        registry.resolve("nope")
    assert "selfcheck" in caught.value.hint


def test_child_command_runs_this_python_or_the_bundled_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "spec.json"
    command = child_command("selfcheck", spec, tmp_path)
    assert command == [
        sys.executable, "-m", "core.jobs", "selfcheck", "--spec", str(spec),
        "--run-dir", str(tmp_path),
    ]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "app" / "talksmall-studio"))
    worker = "talksmall-worker.exe" if os.name == "nt" else "talksmall-worker"
    assert child_command("selfcheck", spec, tmp_path)[:2] == [
        str(tmp_path / "app" / worker), "selfcheck"
    ]


def test_run_dirs_sort_by_start_and_specs_are_written_whole(tmp_path: Path) -> None:
    first = new_run_dir(tmp_path / "runs", "train")
    second = new_run_dir(tmp_path / "runs", "train")
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name[:15] <= second.name[:15]  # UTC yyyymmdd-HHMMSS first
    assert "-train-" in first.name
    path = write_spec(first, {"steps": 3, "name": "é"})
    assert json.loads(path.read_text(encoding="utf-8")) == {"steps": 3, "name": "é"}
    assert [p.name for p in first.iterdir()] == ["spec.json"]


def test_convert_model_maps_the_converter_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def embedded_hf_dir(progress=None):
        for fraction, message in [(0.0, "reading GGUF"), (0.5, "reading GGUF"), (1.0, "saved")]:
            progress(fraction, message)
        return tmp_path / "hf"

    fake = types.ModuleType("core.models.embedded")
    fake.embedded_hf_dir = embedded_hf_dir
    try:
        import core.models  # noqa: F401
    except ImportError:
        monkeypatch.setitem(sys.modules, "core.models", types.ModuleType("core.models"))
    monkeypatch.setitem(sys.modules, "core.models.embedded", fake)

    job = registry.resolve("convert-model")
    output = job({}, JobContext(tmp_path, EventWriter(tmp_path, io.StringIO())))
    assert output == str(tmp_path / "hf")
    events = read_events(tmp_path)
    assert [(e["step"], e["total"]) for e in events if e["type"] == "progress"] == [
        (0, 100), (50, 100), (100, 100), (100, 100)
    ]
    assert [e["message"] for e in events if e["type"] == "log"] == ["reading GGUF", "saved"]


# --- a real child: python -m core.jobs ---------------------------------------------------------


def _spec(run_dir: Path, **spec: object) -> Path:
    return write_spec(run_dir, {"steps": 3, "delay_s": 0, "probe_torch": False, **spec})


def _run(job: str, spec_path: Path, *extra: str) -> tuple[int, list[dict], str]:
    done = subprocess.run(
        [sys.executable, "-m", "core.jobs", job, "--spec", str(spec_path), *extra],
        capture_output=True, text=True, env=child_env(), timeout=120,
    )
    lines = done.stdout.splitlines()
    return done.returncode, [json.loads(line) for line in lines], done.stdout


def _popen(job: str, spec_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "core.jobs", job, "--spec", str(spec_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(),
    )


def _read_until(child: subprocess.Popen, kind: str) -> list[dict]:
    seen = []
    for line in child.stdout:
        seen.append(json.loads(line))
        if seen[-1]["type"] == kind:
            return seen
    raise AssertionError(f"the child ended before a {kind} event: {seen}")


def test_selfcheck_child_succeeds_and_stdout_equals_events_file(tmp_path: Path) -> None:
    code, events, _ = _run("selfcheck", _spec(tmp_path))
    assert code == 0
    assert events == read_events(tmp_path)
    assert events[0]["type"] == "started" and events[0]["pid"] > 0
    assert events[0]["run"] == tmp_path.name
    assert [(e["step"], e["total"]) for e in events if e["type"] == "progress"] == [
        (1, 3), (2, 3), (3, 3)
    ]
    assert events[-1]["type"] == "finished" and events[-1]["status"] == "succeeded"
    assert "python 3." in events[-1]["output"]
    assert run_status(tmp_path) == "succeeded"
    assert int((tmp_path / "pid").read_text()) == events[0]["pid"]


def test_run_dir_option_puts_the_run_elsewhere(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "specs")
    code, events, _ = _run("selfcheck", spec, "--run-dir", str(tmp_path / "run"))
    assert code == 0
    assert read_events(tmp_path / "run") == events
    assert not (tmp_path / "specs" / "events.jsonl").exists()


def test_stop_file_present_at_start_cancels(tmp_path: Path) -> None:
    spec = _spec(tmp_path, steps=1000)
    (tmp_path / "STOP").touch()
    code, events, _ = _run("selfcheck", spec)
    assert code == 3
    assert events[-1]["status"] == "cancelled"
    assert not [e for e in events if e["type"] == "progress"]
    assert run_status(tmp_path) == "cancelled"


def test_stop_file_cancels_a_running_child(tmp_path: Path) -> None:
    child = _popen("selfcheck", _spec(tmp_path, steps=100000, delay_s=0.01))
    try:
        _read_until(child, "progress")
        (tmp_path / "STOP").touch()
        out, _ = child.communicate(timeout=60)
    finally:
        child.kill() if child.poll() is None else None
    assert child.returncode == 3
    last = json.loads(out.splitlines()[-1])
    assert last["type"] == "finished" and last["status"] == "cancelled"
    assert run_status(tmp_path) == "cancelled"


@pytest.mark.skipif(os.name == "nt", reason="SIGTERM is POSIX")
def test_sigterm_ends_the_run_cancelled_with_whole_lines(tmp_path: Path) -> None:
    child = _popen("selfcheck", _spec(tmp_path, steps=100000, delay_s=0.001))
    try:
        _read_until(child, "progress")
        child.send_signal(signal.SIGTERM)
        out, _ = child.communicate(timeout=60)
    finally:
        child.kill() if child.poll() is None else None
    assert child.returncode == 3
    events = [json.loads(line) for line in out.splitlines()]  # every line parses
    assert events[-1]["status"] == "cancelled"
    assert read_events(tmp_path)[-1]["status"] == "cancelled"


@pytest.mark.parametrize(
    "content",
    [None, "{not json", "[1, 2, 3]"],
    ids=["missing", "invalid-json", "not-an-object"],
)
def test_bad_spec_gives_one_clear_error_and_exit_2(tmp_path: Path, content: str | None) -> None:
    spec = tmp_path / "spec.json"
    if content is not None:
        spec.write_text(content, encoding="utf-8")
    code, events, out = _run("selfcheck", spec)
    assert code == 2
    errors = [e for e in events if e["type"] == "error"]
    assert len(errors) == 1
    assert "spec" in errors[0]["message"] and str(spec) in errors[0]["message"]
    assert errors[0]["hint"]
    assert events[-1] == {**events[-1], "type": "finished", "status": "failed"}
    assert "Traceback" not in out


def test_unknown_job_is_a_usage_error(tmp_path: Path) -> None:
    code, events, _ = _run("no-such-job", _spec(tmp_path))
    assert code == 2
    assert "unknown job" in events[0]["message"] and "selfcheck" in events[0]["hint"]


def test_exception_in_a_job_is_an_error_event_and_a_traceback_in_stderr_log(
    tmp_path: Path,
) -> None:
    code, events, out = _run("selfcheck", _spec(tmp_path, fail="internal", fail_at=2))
    assert code == 1
    error = next(e for e in events if e["type"] == "error")
    assert error["code"] == "internal"
    assert "RuntimeError: self-check simulated bug" in error["message"]
    assert "stderr.log" in error["hint"]
    assert "Traceback" not in out and 'File "' not in out
    log = (tmp_path / "stderr.log").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log and "_fail" in log
    assert events[-1]["status"] == "failed"
    assert run_status(tmp_path) == "failed"


def test_talksmall_error_keeps_its_code_message_and_hint(tmp_path: Path) -> None:
    code, events, _ = _run("selfcheck", _spec(tmp_path, fail="talksmall"))
    assert code == 1
    error = next(e for e in events if e["type"] == "error")
    assert error == {
        "type": "error", "code": "error",
        "message": "the self-check was asked to fail", "hint": "this is only a test",
    }


def test_memory_error_becomes_out_of_memory_with_a_hint(tmp_path: Path) -> None:
    code, events, _ = _run("selfcheck", _spec(tmp_path, fail="memory"))
    assert code == 1
    error = next(e for e in events if e["type"] == "error")
    assert error["code"] == "out_of_memory"
    assert "batch size" in error["hint"]


def test_a_full_disk_is_named_with_what_to_do(tmp_path: Path) -> None:
    code, events, _ = _run("selfcheck", _spec(tmp_path, fail="disk"))
    assert code == 1
    error = next(e for e in events if e["type"] == "error")
    assert error["code"] == "disk_full"
    assert "free some disk space" in error["hint"]
    assert events[-1]["status"] == "failed"


def test_stray_prints_do_not_reach_the_event_stream(tmp_path: Path) -> None:
    # A job's own print() (or a C library's) goes to stderr.log, keeping stdout pure JSON.
    registry_path = tmp_path / "noisy_job.py"
    registry_path.write_text(
        "import os\n"
        "def run(spec, ctx):\n"
        "    print('hello from print')\n"
        "    os.write(1, b'raw fd write\\n')\n"
        "    return 'ok'\n",
        encoding="utf-8",
    )
    spec = _spec(tmp_path)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from core.jobs import registry; registry.register('noisy', 'noisy_job:run');"
        "from core.jobs.__main__ import main; sys.exit(main(sys.argv[2:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), "noisy", "--spec", str(spec)],
        capture_output=True, text=True, env=child_env(), timeout=60,
    )
    assert done.returncode == 0
    assert [json.loads(line)["type"] for line in done.stdout.splitlines()] == [
        "started", "finished"
    ]
    log = (tmp_path / "stderr.log").read_text(encoding="utf-8")
    assert "hello from print" in log and "raw fd write" in log


@pytest.mark.slow
def test_selfcheck_probes_the_device_with_torch(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    code, events, _ = _run("selfcheck", _spec(tmp_path, probe_torch=True, steps=1))
    assert code == 0
    device = next(e["message"] for e in events if e.get("message", "").startswith("device"))
    assert device.split()[1] in ("cpu", "cuda", "mps")
