"""The built Linux bundle works outside the source tree with no Python on PATH (issue #10).

Everything here runs the bundle's own executables from a copy in a temp folder, with an
environment a fresh operator account would have (``env -i``-like: no venv, no PYTHONPATH):
``talksmall`` creates a project and imports chats, ``talksmall-studio`` starts under Xvfb and
opens it, ``talksmall train`` trains two steps on the embedded model through the
``talksmall-worker`` child. Timings are printed (run with ``-s``).

Skipped unless TALKSMALL_BUNDLE names a built bundle folder (the one holding the three
executables, e.g. /tmp/bundle/talksmall from ``installer/build.sh /tmp/bundle``).
``installer/check_bundle.sh`` builds the bundle and runs this module; ``.ci/run`` calls it
after the test suite.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

BUNDLE = os.environ.get("TALKSMALL_BUNDLE", "")
COMPANY = "Kestrel Quay Lettings"
CHATS = [
    ("tenant", "When is rent due?", "Rent is due on the first day of each month."),
    ("tenant", "Who fixes a broken boiler?", "Report it in the portal; we send an engineer."),
    ("owner", "When are owners paid?", "Owners are paid on the fifth working day."),
    ("prospect", "Do you allow pets?", "Pets are allowed with the owner's written consent."),
    ("tenant", "How do I end my tenancy?", "Give two months' notice in writing."),
]
# Two steps of a LoRA run kept short: the check is that training works, not what it learns.
TINY = {"max_length": 96, "batch_size": 2, "eval_every": 1000, "save_every": 1000,
        "sample_tokens": 0, "warmup_ratio": 0.0, "scheduler": "constant",
        "eval_fraction": 0.2}

pytestmark = [
    pytest.mark.installer,
    pytest.mark.skipif(not BUNDLE, reason="set TALKSMALL_BUNDLE to a built bundle folder"),
]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundle outside the source tree, an empty home, a chats file."""
    folder = tmp_path_factory.mktemp("bundle")
    shutil.copytree(BUNDLE, folder / "app", symlinks=True)
    (folder / "home").mkdir()
    (folder / "chats.jsonl").write_text("".join(json.dumps({"messages": [
        {"role": "system", "content": f"You answer for {COMPANY}."},
        {"role": role, "content": q}, {"role": "assistant", "content": a}]}) + "\n"
        for role, q, a in CHATS), encoding="utf-8")
    return folder


def clean_env(base: Path, **extra: str) -> dict[str, str]:
    """No venv, no PYTHONPATH: only what a fresh operator account has."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(base / "home"), "LANG": "C.UTF-8", **extra}


def talksmall(base: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    started = time.monotonic()
    proc = subprocess.run([str(base / "app" / "talksmall"), *args], env=clean_env(base),
                          cwd=base, capture_output=True, text=True, timeout=timeout)
    print(f"\n[bundle] talksmall {args[0]}: {time.monotonic() - started:.1f} s")
    assert proc.returncode == 0, f"talksmall {' '.join(args)} failed:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc


@pytest.fixture(scope="module")
def project(base: Path) -> Path:
    """A project made by the bundle's own command line, with the chats imported."""
    folder = base / "project"
    talksmall(base, "init", str(folder), "--company", COMPANY)
    out = talksmall(base, "dataset", "import", str(folder), str(base / "chats.jsonl"),
                    "--json").stdout
    assert json.loads(out)["imported"] == len(CHATS), out
    return folder


def test_worker_selfcheck(base: Path) -> None:
    """The job child starts torch from inside the bundle (not a Python on PATH)."""
    work = base / "selfcheck"
    work.mkdir()
    (work / "spec.json").write_text(json.dumps({"steps": 2, "delay_s": 0.01}), encoding="utf-8")
    started = time.monotonic()
    proc = subprocess.run([str(base / "app" / "talksmall-worker"), "selfcheck", "--spec",
                           str(work / "spec.json")], env=clean_env(base), cwd=base,
                          capture_output=True, text=True, timeout=120)
    print(f"\n[bundle] worker selfcheck: {time.monotonic() - started:.1f} s")
    assert proc.returncode == 0, (work / "stderr.log").read_text()
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert events[-1]["type"] == "finished" and events[-1]["status"] == "succeeded"
    logs = " ".join(e.get("message", "") for e in events if e["type"] == "log")
    assert str(base / "app") in logs


@pytest.mark.skipif(not (shutil.which("xvfb-run") and shutil.which("xwininfo")),
                    reason="needs xvfb-run and xwininfo (Debian: xvfb, x11-utils)")
def test_studio_starts_and_opens_project(base: Path, project: Path) -> None:
    """The window titled with the company appears, and the app is still running 5 s later."""
    script = """
      "$0" "$1" > "$2" 2>&1 & pid=$!
      for i in $(seq 1 600); do
        xwininfo -root -tree 2>/dev/null | grep -q "$3" && break; sleep 0.1; done
      xwininfo -root -tree | grep -q "$3" || { echo "no window"; exit 1; }
      echo "window mapped"
      sleep 5; kill -0 $pid || { echo "app exited"; exit 1; }
      kill $pid; wait $pid; exit 0
    """
    started = time.monotonic()
    proc = subprocess.Popen(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "bash", "-c", script,
         str(base / "app" / "talksmall-studio"), str(project), str(base / "gui.log"), COMPANY],
        env=clean_env(base, QT_QPA_PLATFORM="xcb"), cwd=base, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    mapped = None
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("window mapped"):
                mapped = time.monotonic() - started
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # xvfb-run, Xvfb and the app together
            proc.wait(timeout=30)
    log = (base / "gui.log").read_text() if (base / "gui.log").exists() else ""
    assert mapped is not None and proc.returncode == 0, f"the studio did not start:\n{log}"
    assert "Traceback" not in log
    print(f"\n[bundle] studio window mapped after {mapped:.1f} s (Xvfb start included)")


def test_cli_trains_two_steps_through_the_worker(base: Path, project: Path) -> None:
    """``talksmall train`` starts the bundled ``talksmall-worker`` child; the run succeeds."""
    sets = [a for name, value in TINY.items() for a in ("--set", f"{name}={value}")]
    out = talksmall(base, "train", str(project), "--method", "sft-lora", "--preset", "quick-cpu",
                    "--max-steps", "2", "--device", "cpu", *sets, "--json", timeout=900).stdout
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert events[-1]["type"] == "finished" and events[-1]["status"] == "succeeded", out
    assert [e["step"] for e in events if e["type"] == "progress"][-1] == 2
    assert any(e["type"] == "metric" and "loss" in e for e in events)
    info = json.loads(talksmall(base, "info", str(project), "--json").stdout)
    assert info["runs"] == {"succeeded": 1}, info["runs"]
    final = Path(events[-1]["output"])
    assert final.is_dir() and final.is_relative_to(project / "runs")
    assert json.loads((final.parent / "spec.json").read_text())["method"] == "sft-lora"


def test_sample_company_documents_search_and_chat(base: Path) -> None:
    """Document parsing (PDF, DOCX, Markdown, tickets), redaction, the embeddings index and
    llama.cpp answering with retrieval, all from inside the bundle."""
    folder = base / "sample"
    talksmall(base, "init", str(folder), "--sample")
    imported = json.loads(talksmall(base, "import", str(folder), str(folder / "sample-documents"),
                                    "--json").stdout)
    assert imported and all(row["status"] == "imported" for row in imported), imported
    assert sum(row["redactions"] for row in imported) > 0
    found = json.loads(talksmall(base, "search", str(folder), "When is my rent due?",
                                 "--json").stdout)
    assert found["hits"][0]["relevant"] and "1st of the month" in found["hits"][0]["text"]
    answer = json.loads(talksmall(base, "chat", str(folder), "--prompt", "When is my rent due?",
                                  "--max-tokens", "40", "--json").stdout)
    assert answer["text"].strip() and answer["passages"]
    assert Path(answer["model_path"]).is_relative_to(base / "app")


def test_install_adds_the_menu_entry_and_the_command(base: Path) -> None:
    """``install.sh`` from the unpacked bundle alone: menu entry, icon, ``talksmall`` on PATH."""
    home = base / "install-home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    proc = subprocess.run(["bash", str(base / "app" / "install.sh")], env=env, cwd=base,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    prefix = home / ".local" / "opt" / "talksmall"
    entry = (home / ".local" / "share" / "applications" / "talksmall-studio.desktop").read_text()
    fields = dict(line.split("=", 1) for line in entry.splitlines() if "=" in line)
    assert Path(fields["Exec"].split()[0]) == prefix / "talksmall-studio"
    assert (prefix / "talksmall-studio").is_file() and Path(fields["Icon"]).is_file()
    version = subprocess.run([str(home / ".local" / "bin" / "talksmall"), "--version"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout.strip(), version.stderr
    # Installing again replaces the copy (an update) and keeps working.
    again = subprocess.run(["bash", str(prefix / "install.sh")], env=env, cwd=base,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert (prefix / "talksmall").is_file()
