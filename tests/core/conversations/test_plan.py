"""The work list: deterministic, interleaved, stored, and updated without losing work."""

from __future__ import annotations

from collections import Counter

from core.conversations import plan
from core.conversations.settings import GenerationSettings
from core.conversations.sources import load_chunks

ROLES = ["tenant", "owner", "prospect"]


def _plan(project, **settings):
    return plan.plan_work(load_chunks(project), ROLES, "Kestrel Quay Lettings",
                          GenerationSettings(**settings))


def test_the_plan_is_deterministic_and_structure_first(sample_project) -> None:
    first, second = _plan(sample_project), _plan(sample_project)
    assert [i.key for i in first] == [i.key for i in second]
    assert len({i.key for i in first}) == len(first)
    sources = Counter(i.source for i in first)
    assert sources["faq"] == 37 and sources["ticket"] == 58 and sources["thread"] == 1
    assert sources["heading"] > 60
    assert sources["paraphrase"] == 37 and sources["teacher"] > 50  # per_chunk 2: one more each


def test_out_of_scope_share_and_the_answer_dont_escalate_balance(sample_project) -> None:
    items = _plan(sample_project, out_of_scope_share=0.15)
    sources = Counter(i.source for i in items)
    escalations = sources["off_topic"] + sources["account"]
    assert abs(escalations / len(items) - 0.15) < 0.03
    assert sources["answer_dont_escalate"] == sources["account"]
    assert {"follow_up", "clarify"} <= set(sources)


def test_a_small_limit_still_covers_every_source(sample_project) -> None:
    items = _plan(sample_project, limit=len(plan.SOURCES))
    assert {i.source for i in items} == set(plan.SOURCES)
    assert [i.position for i in items] == list(range(len(plan.SOURCES)))


def test_per_role_counts_and_structure_only(sample_project) -> None:
    items = _plan(sample_project, per_chunk=1, per_role={"owner": 0})
    assert not any(i.role == "owner" for i in items)
    assert not any(i.source in ("paraphrase", "teacher") for i in items)


def test_sync_keeps_done_items_and_drops_stale_todo(sample_project) -> None:
    items = _plan(sample_project, limit=20)
    assert plan.sync_plan(sample_project, items) == {"planned": 20, "added": 20, "removed": 0}
    assert plan.sync_plan(sample_project, items)["added"] == 0
    done = items[0]
    with sample_project.store.transaction() as conn:
        conn.execute("UPDATE generation_work SET status = 'done' WHERE key = ?", (done.key,))
    smaller = _plan(sample_project, limit=5)
    assert plan.sync_plan(sample_project, smaller)["removed"] == 15
    left = plan.pending(sample_project)
    assert [i.key for i in left] == [i.key for i in smaller[1:]]
    assert sample_project.store.query(
        "SELECT status FROM generation_work WHERE key = ?", (done.key,))[0][0] == "done"
