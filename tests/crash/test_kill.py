"""kill -9 at chosen points of generation, training and export: nothing the operator kept is lost.

One small real project per module (the sample company's policies.md and faq.docx; ten
imported conversations, six of them accepted; two ratings). The real child
(``python -m core.jobs <job>``) runs in its own process group and is killed with SIGKILL
(child and any grandchildren) once it has reached a chosen point, plus a short random delay.
After every kill: the project opens and passes ``PRAGMA integrity_check``; every accepted
example, rating, finished training run and earlier export recorded before the kill is
unchanged; the killed run reads failed, never succeeded; no half export is listed; and the
pipeline resumes.

The points form three chains on the shared project, so that every kill costs one child start
and each resume is itself exercised again: training (6 points on one run, resumed from its
newest checkpoint after each kill except the first, which is killed before any checkpoint),
export of the finished run (6 points; re-run to completion after the 2nd and the 6th), then
generation (8 points, each attempt resuming the previous one; the last test finishes it).
The documents are a subset of the sample because embedding every passage of the whole
sample costs ~150 s on two cores, once per session.

The random delays come from ``random.Random(f"{SEED}:{point}")``; set TALKSMALL_CRASH_SEED to
replay a failure (every test prints its seed, point and delay).
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.jobs.events import parse_event_line, run_status
from core.jobs.launch import child_command, child_env, new_run_dir, write_spec
from core.project import Project, open_project

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("TALKSMALL_CRASH_SEED", "20261128"))
EVENT_TIMEOUT_S = 240  # the longest any chosen point may take to come (first embedding run)
GEN_LIMIT = 24
TRAIN_STEPS = 6
TRAIN_PARAMS = {"max_length": 256, "batch_size": 2, "eval_every": 1000, "save_every": 1,
                "sample_tokens": 0, "warmup_ratio": 0.0, "lr_start_ratio": 1.0,
                "min_lr_ratio": 1.0, "scheduler": "constant", "eval_fraction": 0.2,
                "lora": True}
# The cheapest generation that still runs every stage: the documents' own questions, no
# rewrites, no pairs; the embedded teacher, one item at a time.
GEN_SETTINGS = {"limit": GEN_LIMIT, "seed": 3, "per_chunk": 1, "max_rewrites": 0,
                "multi_turn_share": 0.0, "out_of_scope_share": 0.0, "pairs_per_example": 0,
                "tone_target": 0, "concurrency": 1}

Trigger = Callable[[dict[str, Any], list[dict[str, Any]]], bool]


# --- the child, and killing it ---------------------------------------------------------------


@dataclass
class Killed:
    """What one attempt did before (and, if the kill came late, after) the SIGKILL."""

    run_dir: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    finished: str | None = None  # the finished event's status, if the child got that far

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    def why(self) -> str:
        """The errors it reported and the end of its stderr.log, for a failure message."""
        try:
            log = (self.run_dir / "stderr.log").read_text(errors="replace")[-2000:]
        except OSError:
            log = ""
        return f"{self.run_dir.name}: {self.of_type('error')} {self.events[-3:]}\n{log}"


def _reader(stream: Any, lines: queue.Queue[str | None]) -> None:
    for raw in stream:
        lines.put(raw)
    lines.put(None)


def run_child(command: list[str], run_dir: Path, trigger: Trigger | None, delay_s: float,
              timeout_s: float = EVENT_TIMEOUT_S) -> Killed:
    """Run the child; once ``trigger`` says so (and ``delay_s`` later) SIGKILL its group.

    With ``trigger`` None the child runs to its end. Every wait is bounded: a child that never
    reaches the point is killed and the test fails.
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=child_env(), text=True, start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    result = Killed(run_dir)
    deadline = time.monotonic() + timeout_s
    fired = False
    try:
        while True:
            try:
                raw = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail(f"{run_dir.name}: no event for {timeout_s:.0f} s "
                            f"(last: {result.events[-1:]})")
            if raw is None:
                break
            event = parse_event_line(raw)
            if event is None:
                continue
            result.events.append(event)
            if event.get("type") == "finished":
                result.finished = str(event.get("status"))
            if trigger is not None and not fired and trigger(event, result.events):
                fired = True
                time.sleep(delay_s)  # the random part of the kill point, not a wait
                _kill_group(process)
                print(f"[killed {run_dir.name}] {delay_s} s after {_short(event)}")
                deadline = time.monotonic() + 60
        if trigger is not None and not fired:
            pytest.fail(f"{run_dir.name} ended ({result.finished}) before the kill point")
    finally:
        _kill_group(process)
        process.wait(timeout=60)
        assert process.stdout is not None
        process.stdout.close()
    return result


def _kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL the child itself, then whatever else is left in its process group.

    The child leads its own group (start_new_session), so the group id is its pid and the
    sweep reaches grandchildren (a launcher's workers) even after the child is gone.
    """
    if process.poll() is None:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _short(event: dict[str, Any]) -> str:
    shown = {k: v for k, v in event.items() if k in ("type", "name", "step", "id", "message")}
    return str(shown)[:160]


def after(kind: str, count: int = 1, **match: Any) -> Trigger:
    """Fires on the ``count``-th event of ``kind`` whose fields match (``step`` means >=)."""

    def fire(event: dict[str, Any], events: list[dict[str, Any]]) -> bool:
        def hit(e: dict[str, Any]) -> bool:
            if e.get("type") != kind:
                return False
            for name, value in match.items():
                if name == "step" and not (isinstance(e.get("step"), int) and
                                           e["step"] >= value):
                    return False
                if name == "message" and value not in str(e.get("message", "")):
                    return False
                if name not in ("step", "message") and e.get(name) != value:
                    return False
            return True

        return hit(event) and sum(1 for e in events if hit(e)) == count

    return fire


def delay_for(point: str, most_s: float) -> float:
    rng = random.Random(f"{SEED}:{point}")
    delay = round(rng.uniform(0.0, most_s), 3)
    print(f"\n[kill point {point}] seed {SEED}, delay {delay} s "
          f"(replay: TALKSMALL_CRASH_SEED={SEED})")
    return delay


# --- what must never be lost -----------------------------------------------------------------


def must_keep(project: Project) -> dict[str, Any]:
    """Accepted examples, ratings, finished training runs (folder + runs row), exports."""
    from core.export.bundle import list_exports, read_manifest
    from core.ratings import list_ratings
    from core.training.history import list_training_runs

    accepted = {r["id"]: (r["role"], r["messages"], r["system"]) for r in project.store.query(
        "SELECT id, role, messages, system FROM examples WHERE status = 'accepted'")}
    runs = {}
    for record in list_training_runs(project):
        if record["status"] != "succeeded":
            continue
        folder = Path(record["path"])
        files = {str(p.relative_to(folder)): p.stat().st_size
                 for p in (folder / "final").rglob("*") if p.is_file()}
        row = project.store.query("SELECT status, output FROM runs WHERE id = ?",
                                  (record["id"],))
        runs[record["id"]] = {"files": files, "row": tuple(row[0]) if row else None,
                              "summary": (folder / "summary.json").read_text()}
    exports = {e.name: {"created": e.created, "sizes": e.sizes,
                        "manifest": read_manifest(e.folder)} for e in list_exports(project)}
    return {"accepted": accepted, "ratings": [asdict(r) for r in list_ratings(project)],
            "runs": runs, "exports": exports}


def check_after_kill(root: Path, before: dict[str, Any],
                     replaced_export: str | None = None) -> dict[str, Any]:
    """The project opens, is intact, and still holds everything in ``before``.

    ``replaced_export``: the export being re-made when the child was killed. Once its new
    folder is renamed into place the job may still die before reporting success; the listed
    export may then be the new one, but only complete (every file its manifest names).
    """
    project = open_project(root)
    try:
        checked = [tuple(r) for r in project.store.query("PRAGMA integrity_check")]
        assert checked == [("ok",)]
        now = must_keep(project)
    finally:
        project.close()
    assert now["accepted"] == before["accepted"]
    assert now["ratings"] == before["ratings"]
    for run_id, kept in before["runs"].items():
        assert now["runs"].get(run_id) == kept, f"finished run {run_id} changed or vanished"
    exports = dict(now["exports"])
    if replaced_export is not None and exports.get(replaced_export) != \
            before["exports"].get(replaced_export) and replaced_export in exports:
        assert_export_complete(root / "exports" / replaced_export, exports[replaced_export])
        print(f"[export] {replaced_export} was replaced by a complete export before the kill")
        exports[replaced_export] = before["exports"].get(replaced_export)
    assert exports == before["exports"], "an export appeared, changed or vanished"
    return now


def assert_export_complete(folder: Path, listed: dict[str, Any]) -> None:
    """Every file the manifest names is there at its recorded size; nothing else is."""
    names = {p.name for p in folder.iterdir()}
    assert names == set(listed["sizes"]) | {"talksmall-export.json"}, names
    for name, size in listed["sizes"].items():
        assert (folder / name).stat().st_size == size, name


def assert_not_succeeded(killed: Killed) -> None:
    """A killed run reads failed; only a child that did report ``finished`` may say more."""
    status = run_status(killed.run_dir)
    if killed.finished is None:
        assert status == "failed", f"{killed.run_dir.name} reads {status} after kill -9"
    else:  # the kill came after the child had finished: it must read what it reported
        assert status == killed.finished


# --- the project -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from core.conversations.datasets import import_dataset
    from core.conversations.store import accept
    from core.documents import import_files
    from core.models.embedded import embedded_hf_dir
    from core.ratings import rate_answer
    from core.sample import init_sample
    from tests.core.training.conftest import write_chats

    started = time.monotonic()
    embedded_hf_dir()  # the training children load it from the session's cache
    folder = tmp_path_factory.mktemp("crash")
    project = init_sample(folder / "kestrel")
    try:
        documents = project.root / "sample-documents"
        results = import_files(project, [documents / "policies.md", documents / "faq.docx"])
        assert [r.status for r in results] == ["imported", "imported"]
        import_dataset(project, write_chats(folder / "chats.jsonl"), kind="chat")
        ids = [r[0] for r in project.store.query(
            "SELECT id FROM examples WHERE source = 'import' ORDER BY id")]
        assert accept(project, ids[:6]) == 6
        prompt = [{"role": "tenant", "content": "When is rent due?"}]
        rate_answer(project, prompt=prompt, role="tenant", model="base",
                    answer="On the first of the month.", up=True)
        rate_answer(project, prompt=prompt, role="tenant", model="base",
                    answer="Consult the documentation.", up=False)
    finally:
        project.close()
    print(f"\n[crash project] {time.monotonic() - started:.1f} s")
    state: dict[str, Any] = {"root": folder / "kestrel", "timings": {}}
    yield state
    print("\n[crash timings] " + ", ".join(f"{k} {v:.0f} s" for k, v in
                                            state["timings"].items()))


def _before(world: dict[str, Any]) -> dict[str, Any]:
    project = open_project(world["root"])
    try:
        return must_keep(project)
    finally:
        project.close()


def _timed(world: dict[str, Any], part: str, started: float) -> None:
    world["timings"][part] = world["timings"].get(part, 0.0) + time.monotonic() - started


# --- training: 6 kill points on one run, resumed from its newest checkpoint each time ------


@dataclass(frozen=True)
class Point:
    name: str
    trigger: Trigger
    most_delay_s: float
    fresh: bool = False  # training: start a new run instead of resuming the current one

    def __str__(self) -> str:
        return self.name


TRAIN_POINTS = [
    Point("t1-preparing", after("started"), 2.0, fresh=True),
    Point("t2-after-checkpoint-1", after("checkpoint", step=1), 0.3, fresh=True),
    Point("t3-at-step-3", after("progress", step=3), 0.6),
    Point("t4-after-a-step", after("metric"), 0.0),
    Point("t5-resume-starting", after("started"), 1.0),
    Point("t6-saving-final", after("stage", name="save"), 1.0),
]


def _train_command(world: dict[str, Any], fresh: bool) -> tuple[Path, list[str], int | None]:
    """A new run (as the GUI and ``talksmall train`` make it) or the current one resumed."""
    from core.training.engine import newest_checkpoint
    from core.training.launch import prepare_run, resume_command
    from core.training.spec import build_spec

    if not fresh:
        run_dir = world["train_run"]
        newest = newest_checkpoint(run_dir)
        assert newest is not None, f"{run_dir.name} has no checkpoint to resume from"
        return run_dir, resume_command(run_dir), int(newest.name.split("-")[-1])
    project = open_project(world["root"])
    try:
        spec = build_spec(project.root, "sft", preset="quick-cpu", params=dict(TRAIN_PARAMS),
                          max_steps=TRAIN_STEPS, device="cpu")
        run_dir, command = prepare_run(project, spec)
    finally:
        project.close()
    world["train_run"] = run_dir
    return run_dir, command, None


def _check_train_run(world: dict[str, Any], killed: Killed, resumed_from: int | None) -> None:
    from core.chat.runs import newest_run_with_model
    from core.training.history import list_training_runs

    assert_not_succeeded(killed)
    project = open_project(world["root"])
    try:
        row = project.store.query("SELECT status FROM runs WHERE id = ?",
                                  (killed.run_dir.name,))
        record = next(r for r in list_training_runs(project) if r["id"] == killed.run_dir.name)
        newest = newest_run_with_model(project)
    finally:
        project.close()
    if killed.finished != "succeeded":
        assert not row or row[0][0] != "succeeded", "the runs table calls a killed run succeeded"
        assert record["status"] == "failed" and record["output"] is None
        assert record["error"] is not None and record["error"]["message"]
        assert newest != killed.run_dir.name, "a killed run is offered as a model"
    if resumed_from is not None:
        said = [e["message"] for e in killed.of_type("log")
                if str(e.get("message", "")).startswith("resuming from")]
        if said or killed.of_type("progress"):
            assert said == [f"resuming from checkpoint-{resumed_from}"]


@pytest.mark.parametrize("point", TRAIN_POINTS, ids=str)
def test_training_survives_kill(world: dict[str, Any], point: Point) -> None:
    from core.errors import TalkSmallError
    from core.training.engine import newest_checkpoint
    from core.training.launch import resume_command

    started = time.monotonic()
    before = _before(world)
    run_dir, command, resumed_from = _train_command(world, point.fresh)
    killed = run_child(command, run_dir, point.trigger, delay_for(point.name,
                                                                  point.most_delay_s))
    check_after_kill(world["root"], before)
    _check_train_run(world, killed, resumed_from)
    if newest_checkpoint(run_dir) is None:  # killed before the first checkpoint
        with pytest.raises(TalkSmallError, match="no checkpoint") as caught:
            resume_command(run_dir)
        assert "new run" in caught.value.hint
    _timed(world, "training", started)


def test_training_resumes_to_success_after_the_kills(world: dict[str, Any]) -> None:
    from core.errors import TalkSmallError
    from core.jobs.events import run_status
    from core.training.history import list_training_runs
    from core.training.launch import resume_command

    started = time.monotonic()
    before = _before(world)
    if run_status(world["train_run"]) == "succeeded":
        # the last kill landed after the run had finished: a finished run is never resumed
        run_dir = world["train_run"]
        with pytest.raises(TalkSmallError, match="already finished"):
            resume_command(run_dir)
    else:
        run_dir, command, resumed_from = _train_command(world, fresh=False)
        done = run_child(command, run_dir, None, 0.0)
        assert done.finished == "succeeded", done.why()
        assert f"resuming from checkpoint-{resumed_from}" in [
            e["message"] for e in done.of_type("log")], done.why()
    check_after_kill(world["root"], before)
    project = open_project(world["root"])
    try:
        row = project.store.query("SELECT status, output FROM runs WHERE id = ?",
                                  (run_dir.name,))
        records = {r["id"]: r for r in list_training_runs(project)}
    finally:
        project.close()
    assert tuple(row[0]) == ("succeeded", str(run_dir / "final"))
    assert records[run_dir.name]["status"] == "succeeded"
    assert records[run_dir.name]["steps"] == TRAIN_STEPS
    assert (run_dir / "final" / "config.json").is_file()
    assert sum(1 for r in records.values() if r["status"] == "succeeded") == 1
    world["finished_run"] = run_dir.name
    _timed(world, "training", started)


def test_a_killed_run_is_not_counted_as_running(world: dict[str, Any]) -> None:
    started = time.monotonic()
    before = _before(world)
    keep = world["train_run"]
    run_dir, command, _ = _train_command(world, fresh=True)
    world["train_run"] = keep
    killed = run_child(command, run_dir, after("checkpoint", step=1),
                       delay_for("t7-info-after-checkpoint-1", 0.2))
    check_after_kill(world["root"], before)
    assert_not_succeeded(killed)
    _timed(world, "training", started)
    project = open_project(world["root"])
    try:
        runs = project.info()["runs"]
    finally:
        project.close()
    assert "running" not in runs, runs


# --- export: 6 kill points exporting the finished run; an earlier export must survive -------


EXPORT_POINTS = [
    Point("e1-converting-the-model", after("progress", step=3), 1.0),
    Point("e2-model-converted", after("progress", step=28), 0.5),
    Point("e3-hashing", after("progress", step=31), 0.3),
    Point("e4-indexing", after("log", message="Indexing"), 0.5),
    Point("e5-writing-the-card", after("progress", step=85), 0.3),
    Point("e6-saving", after("progress", step=100), 0.05),
]
RERUN_AFTER = ("e2-model-converted", "e6-saving")
KESTREL_SLUG = "kestrel-quay-lettings"  # core.export.bundle.default_name


def _export(world: dict[str, Any], point: Point | None) -> Killed:
    root = world["root"]
    run_dir = new_run_dir(root / "runs", "export-assistant")
    spec = write_spec(run_dir, {"project": str(root), "run": world["finished_run"],
                                "quants": ["f16"], "zip": False, "override_gates": True})
    command = child_command("export-assistant", spec, run_dir)
    if point is None:
        return run_child(command, run_dir, None, 0.0)
    return run_child(command, run_dir, point.trigger, delay_for(point.name, point.most_delay_s))


def _check_export_complete(root: Path) -> None:
    """The one listed export holds every file its manifest names, at the recorded size."""
    project = open_project(root)
    try:
        exports = must_keep(project)["exports"]
    finally:
        project.close()
    assert len(exports) == 1
    name, listed = next(iter(exports.items()))
    assert_export_complete(root / "exports" / name, listed)
    assert "model-f16.gguf" in listed["sizes"]


@pytest.mark.parametrize("point", EXPORT_POINTS, ids=str)
def test_export_survives_kill(world: dict[str, Any], point: Point) -> None:
    if "finished_run" not in world:
        pytest.skip("needs the finished training run of the tests above")
    started = time.monotonic()
    root = world["root"]
    before = _before(world)
    visible = sorted(p.name for p in (root / "exports").glob("[!.]*"))
    killed = _export(world, point)
    check_after_kill(root, before, replaced_export=f"{KESTREL_SLUG}-{world['finished_run']}")
    assert_not_succeeded(killed)
    if killed.finished != "succeeded":
        assert sorted(p.name for p in (root / "exports").glob("[!.]*")) == visible
    leftovers = sorted(p.name for p in (root / "exports").glob(".*"))
    print(f"[{point.name}] hidden leftovers in exports/: {leftovers}")
    if point.name in RERUN_AFTER:
        again = _export(world, None)
        assert again.finished == "succeeded", again.why()
        _check_export_complete(root)
    _timed(world, "export", started)


# --- generation: 8 kill points, each attempt resuming the one before ------------------------


GEN_POINTS = [
    Point("g1-loading-the-models", after("stage", name="generate"), 3.0),
    Point("g2-plan-saved", after("log", message="items planned"), 0.2),
    Point("g3-first-item", after("item"), 0.15),
    Point("g4-starting", after("started"), 1.0),
    Point("g5-second-item", after("item", 2), 0.0),
    Point("g6-third-item", after("item", 3), 0.15),
    Point("g7-first-item-at-once", after("item"), 0.0),
    Point("g8-fifth-item", after("item", 5), 0.1),
]


def _generate(world: dict[str, Any], point: Point | None) -> Killed:
    root = world["root"]
    run_dir = new_run_dir(root / "runs", "generate")
    spec = write_spec(run_dir, {"project": str(root), "teacher": {"kind": "embedded"},
                                "settings": dict(GEN_SETTINGS)})
    command = child_command("generate", spec, run_dir)
    if point is None:
        return run_child(command, run_dir, None, 0.0)
    return run_child(command, run_dir, point.trigger, delay_for(point.name, point.most_delay_s))


def _work_state(root: Path) -> tuple[set[str], int]:
    """Keys of the done work items (each must have exactly one example), and the todo count."""
    project = open_project(root)
    try:
        rows = project.store.query(
            "SELECT w.key, w.status, COUNT(e.id) FROM generation_work w "
            "LEFT JOIN examples e ON e.work_id = w.id GROUP BY w.id")
        orphans = project.store.query(
            "SELECT COUNT(*) FROM examples WHERE work_id IS NULL AND source != 'import'")
    finally:
        project.close()
    wrong = [(k, s, n) for k, s, n in rows if n != (1 if s == "done" else 0)]
    assert not wrong, f"work items with a missing or duplicated example: {wrong[:5]}"
    assert orphans[0][0] == 0
    return {k for k, s, _ in rows if s == "done"}, sum(1 for _, s, _ in rows if s == "todo")


def _check_generation(world: dict[str, Any], attempt: Killed) -> set[str]:
    done, _todo = _work_state(world["root"])
    reported = [e["id"] for e in attempt.of_type("item")]
    assert set(reported) <= done, "an item was reported before it was saved"
    seen: list[str] = world.setdefault("gen_reported", [])
    again = sorted(set(seen) & set(reported))
    assert not again, f"items made twice across resumes: {again}"
    assert len(reported) == len(set(reported))
    seen.extend(reported)
    assert done >= world.get("gen_done", set()), "a saved item was lost"
    world["gen_done"] = done
    return done


@pytest.mark.parametrize("point", GEN_POINTS, ids=str)
def test_generation_survives_kill(world: dict[str, Any], point: Point) -> None:
    started = time.monotonic()
    before = _before(world)
    killed = _generate(world, point)
    check_after_kill(world["root"], before)
    assert_not_succeeded(killed)
    done = _check_generation(world, killed)
    print(f"[{point.name}] {len(done)} items done, {len(killed.of_type('item'))} this attempt")
    _timed(world, "generation", started)


def test_generation_resumes_to_the_limit_after_the_kills(world: dict[str, Any]) -> None:
    started = time.monotonic()
    before = _before(world)
    done_before = len(world.get("gen_done", set()))
    final = _generate(world, None)
    assert final.finished == "succeeded", final.why()
    check_after_kill(world["root"], before)
    done = _check_generation(world, final)
    planned = next(int(e["message"].split()[0]) for e in final.of_type("log")
                   if "items planned" in str(e.get("message")))
    assert planned == GEN_LIMIT
    assert len(done) == planned and _work_state(world["root"])[1] == 0
    assert len(final.of_type("item")) == planned - done_before
    _timed(world, "generation", started)
