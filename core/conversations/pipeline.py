"""generate_conversations: plan, then make and save one item at a time, resumably.

Every item is saved the moment it is made, kept or dropped, with its provenance (chunk,
templates, teacher, seed, scores), in one transaction that also marks its work-list entry
done; so a kill -9 loses at most the items in flight and a rerun continues from the work
list. With an endpoint teacher several items are made at once (``settings.concurrency``),
but they are saved in plan order and the duplicate check is repeated at save time, so the
result does not depend on which request came back first. A teacher that keeps failing
(endpoint down, rate limits that outlast the teacher's own retries) pauses the run with a
clear error; nothing is lost and the next run picks up the same items.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from core.conversations import gates, make, plan
from core.conversations.intents import IntentMatcher, parse_intents
from core.conversations.policy import PolicyFacts
from core.conversations.settings import GenerationSettings
from core.conversations.sources import load_chunks
from core.errors import ProjectError, ValidationError

MAX_TEACHER_FAILURES = 3  # consecutive failed items before the run pauses


@dataclass
class ItemEvent:
    """One finished item, for the progress callback and the job's ``item`` event."""

    key: str
    source: str
    role: str
    kept: bool
    reason: str
    example_id: int | None
    pairs: int
    gate: str | None = None


@dataclass
class Progress:
    done: int
    total: int
    item: ItemEvent | None = None
    message: str = ""
    level: str = "info"


@dataclass
class GenerationReport:
    planned: int = 0
    done_before: int = 0
    processed: int = 0
    kept: int = 0
    dropped: int = 0
    pairs: int = 0
    teacher_calls: int = 0
    seconds: float = 0.0
    stopped: bool = False
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    per_gate: dict[str, int] = field(default_factory=dict)

    @property
    def items_per_minute(self) -> float:
        return round(60 * self.processed / self.seconds, 1) if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["items_per_minute"] = self.items_per_minute
        return data


ProgressFn = Callable[[Progress], None]


def generate_conversations(project: Any, teacher: Any, settings: GenerationSettings, *,
                           progress: ProgressFn | None = None,
                           should_stop: Callable[[], bool] | None = None) -> GenerationReport:
    """Plan the work, then make every pending item; returns what this run did."""
    started = time.monotonic()
    report = GenerationReport()
    say = progress or (lambda _p: None)
    stop = should_stop or (lambda: False)
    profile = project.profile()
    roles = list(profile.customer_roles)
    errors = settings.validate(roles)
    if errors:
        field_name, message = next(iter(errors.items()))
        raise ValidationError(field_name, message, "Fix the generation settings.")
    chunks = load_chunks(project)
    if not chunks:
        raise ProjectError("There are no imported documents to make conversations from.",
                           "Import documents in the Documents step first.")
    company = profile.company_name.strip() or project.root.name
    items = plan.plan_work(chunks, roles, company, settings)
    plan.sync_plan(project, items)
    keys = {i.key for i in items}
    todo = plan.pending(project, keys)
    report.planned = len(items)
    report.done_before = len(items) - len(todo)
    say(Progress(report.done_before, report.planned,
                 message=f"{report.planned} items planned, {len(todo)} to do"))
    if not todo:
        report.seconds = round(time.monotonic() - started, 2)
        return report
    ctx = _context(project, teacher, settings, chunks, company, profile)
    workers = 1 if str(getattr(teacher, "name", "")).startswith("embedded:") else \
        settings.concurrency
    _run(project, ctx, todo, workers, report, say, stop)
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _context(project: Any, teacher: Any, settings: GenerationSettings, chunks: list[Any],
             company: str, profile: Any) -> make.Context:
    import numpy as np

    from core.embeddings import from_bytes

    target = settings.tone_target if settings.tone_target is not None else profile.tone_target
    by_id = {c.id: c for c in chunks}
    dedup = gates.DedupIndex(settings.dedup_threshold)
    for row in project.store.query(
            "SELECT role, messages, scores, question_vec FROM examples "
            "WHERE status IN ('kept', 'accepted') AND question_vec IS NOT NULL"):
        scope = json.loads(row["scores"] or "{}").get("dedup_scope")
        if not scope:  # imported: scoped by role and number of customer turns
            turns = sum(1 for m in json.loads(row["messages"]) if m["role"] != "assistant")
            scope = f"{row['role']}:{min(turns, 2)}"
        dedup.add(scope, from_bytes(row["question_vec"]))
    matcher = IntentMatcher(parse_intents(settings.intent_list)) if settings.intents else None
    ctx = make.Context(teacher=teacher, settings=settings, company=company, target=target,
                       facts=PolicyFacts.from_profile(profile), chunks=by_id, dedup=dedup,
                       matcher=matcher)
    texts = [c for c in chunks if c.kind == "text"]
    ctx.all_windows = (np.concatenate([ctx.windows(c.id) for c in texts]) if texts
                       else np.zeros((0, 384), dtype=np.float32))
    return ctx


def _run(project: Any, ctx: make.Context, todo: list[plan.WorkItem], workers: int,
         report: GenerationReport, say: ProgressFn, stop: Callable[[], bool]) -> None:
    from core.teachers import TeacherError

    done = report.done_before
    failures = 0
    queue = list(todo)
    in_flight: dict[Future[make.ExampleDraft], plan.WorkItem] = {}
    finished: dict[int, tuple[plan.WorkItem, make.ExampleDraft | BaseException]] = {}
    next_to_save = 0
    order = {item.key: n for n, item in enumerate(todo)}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="generate") as pool:
        try:
            while queue or in_flight:
                while queue and len(in_flight) < workers and not stop():
                    item = queue.pop(0)
                    in_flight[pool.submit(make.make, item, ctx)] = item
                if not in_flight:
                    report.stopped = True
                    break
                finished_now, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                for future in finished_now:
                    item = in_flight.pop(future)
                    error = future.exception()
                    finished[order[item.key]] = (item, error if error else future.result())
                while next_to_save < len(todo) and next_to_save in finished:
                    item, outcome = finished.pop(next_to_save)
                    next_to_save += 1
                    if isinstance(outcome, BaseException) and \
                            not isinstance(outcome, TeacherError):
                        outcome = _error_draft(item, outcome, say, done, report.planned)
                    if isinstance(outcome, BaseException):
                        failures += 1
                        say(Progress(done, report.planned, level="warning",
                                     message=f"{item.key}: the teacher failed "
                                             f"({outcome.message}); it stays in the work list"))
                        if not outcome.retryable or failures >= MAX_TEACHER_FAILURES:
                            raise outcome
                        continue
                    failures = 0
                    event = _save(project, ctx, item, outcome)
                    done += 1
                    _count(report, item, outcome, event)
                    say(Progress(done, report.planned, item=event))
        finally:
            queue.clear()
            for future in in_flight:
                future.cancel()
    if stop() and (queue or next_to_save < len(todo)):
        report.stopped = True


def _error_draft(item: plan.WorkItem, error: BaseException, say: ProgressFn, done: int,
                 total: int) -> make.ExampleDraft:
    """An item whose maker failed unexpectedly is saved as dropped (gate "error") and logged,
    so one bad chunk cannot stop every later run at the same place."""
    import traceback

    if not isinstance(error, Exception):
        raise error
    detail = "".join(traceback.format_exception(error)).strip().splitlines()[-1]
    say(Progress(done, total, level="error",
                 message=f"{item.key}: unexpected error, item skipped ({detail})"))
    return make.ExampleDraft(item.source, item.role, [], "dropped", gate="error",
                             reason=f"internal error: {detail}"[:300], chunk_id=item.chunk_id,
                             chunk2_id=item.chunk2_id)


def _save(project: Any, ctx: make.Context, item: plan.WorkItem,
          draft: make.ExampleDraft) -> ItemEvent:
    """One transaction: the example (kept or dropped), its pairs, the work item done."""
    from core.embeddings import to_bytes

    if draft.status == "kept" and draft.question_vec is not None:
        with ctx.lock:
            result = ctx.dedup.check(draft.dedup_scope, draft.question_vec)
            if result.ok:
                ctx.dedup.add(draft.dedup_scope, draft.question_vec)
        if not result.ok:
            make.drop(draft, result)
            draft.pairs = []
    provenance = {"teacher": getattr(ctx.teacher, "name", "unknown"), "seed": ctx.seed(item)}
    scores = {k: v for k, v in draft.scores.items() if v is not None}
    scores["dedup_scope"] = draft.dedup_scope or None
    with project.store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO examples (work_id, chunk_id, chunk2_id, source, role, messages, intent,"
            " analysis, status, gate, reason, flesch, grounding, scores, template, teacher,"
            " seed, question_vec) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (item.id, draft.chunk_id, draft.chunk2_id, draft.source, draft.role,
             json.dumps(draft.messages, ensure_ascii=False), draft.intent, draft.analysis,
             draft.status, draft.gate, draft.reason or None, draft.flesch, draft.grounding,
             json.dumps(scores, ensure_ascii=False), ", ".join(dict.fromkeys(draft.templates)),
             provenance["teacher"], provenance["seed"],
             to_bytes(draft.question_vec) if draft.question_vec is not None else None))
        example_id = int(cursor.lastrowid)
        prompt = json.dumps(draft.messages[:-1], ensure_ascii=False)
        for pair in draft.pairs if draft.status == "kept" else []:
            conn.execute(
                "INSERT INTO pairs (example_id, chunk_id, source, role, prompt, chosen, rejected,"
                " status, decided_by, scores, template, teacher, seed) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, 'kept', ?, ?, ?, ?, ?)",
                (example_id, draft.chunk_id, pair.source, draft.role, prompt, pair.chosen,
                 pair.rejected, pair.decided_by, json.dumps(pair.scores, ensure_ascii=False,
                                                            default=str),
                 ", ".join(pair.templates) or None, provenance["teacher"], provenance["seed"]))
        outcome = "kept" if draft.status == "kept" else f"dropped: {draft.reason}"
        conn.execute(
            "UPDATE generation_work SET status = 'done', outcome = ?, attempts = attempts + 1,"
            " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
            (outcome, item.id))
    return ItemEvent(item.key, item.source, item.role, draft.status == "kept", draft.reason,
                     example_id, len(draft.pairs) if draft.status == "kept" else 0, draft.gate)


def _count(report: GenerationReport, item: plan.WorkItem, draft: make.ExampleDraft,
           event: ItemEvent) -> None:
    report.processed += 1
    report.teacher_calls += draft.teacher_calls
    stats = report.per_source.setdefault(item.source, {"items": 0, "kept": 0, "dropped": 0})
    stats["items"] += 1
    if event.kept:
        report.kept += 1
        stats["kept"] += 1
        report.pairs += event.pairs
    else:
        report.dropped += 1
        stats["dropped"] += 1
        gate = event.gate or "other"
        report.per_gate[gate] = Counter(report.per_gate)[gate] + 1
