"""Plans and estimates, the saved build state, gate settings and the IPO -> SFT fallback rule
(fast: no model; the gates on real answers are in tests/core/export/test_bundle.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ValidationError
from core.pipeline.gates import GateSettings, load_gate_settings, save_gate_settings
from core.pipeline.plan import PLANS, STAGES, format_duration, get_plan
from core.pipeline.select import _regression
from core.pipeline.state import (
    can_continue,
    clear_state,
    is_complete,
    load_state,
    mark,
    new_state,
    next_stage,
    save_state,
)
from core.project import create_project, open_project


def test_plans_estimate_every_stage_and_the_cpu_plan_aims_at_half_an_hour():
    for plan in PLANS.values():
        estimate = plan.estimate()
        assert list(estimate) == list(STAGES) and all(v > 0 for v in estimate.values())
    assert 20 * 60 <= sum(PLANS["cpu"].estimate().values()) <= 40 * 60
    assert sum(PLANS["ci"].estimate().values()) < sum(PLANS["cpu"].estimate().values())
    assert get_plan("CI").name == "ci"
    with pytest.raises(ValidationError, match="no build plan called 'fast'"):
        get_plan("fast")
    assert format_duration(20) == "under a minute"
    assert format_duration(25 * 60) == "about 25 minutes"
    assert format_duration(70 * 60) == "about 1 h 10 min"


def test_state_survives_reopening_and_knows_what_is_left(tmp_path: Path):
    project = create_project(tmp_path / "p", company_name="Acme")
    assert load_state(project) is None and not can_continue(None)
    state = new_state("ci")
    save_state(project, state)
    assert next_stage(state) == "documents" and not can_continue(state)
    mark(project, state, "documents", "done", chunks=3)
    mark(project, state, "conversations", "running")
    project.close()
    project = open_project(tmp_path / "p")
    again = load_state(project)
    assert again["stages"]["documents"] == {**again["stages"]["documents"], "chunks": 3}
    assert next_stage(again) == "conversations" and can_continue(again)
    for name in STAGES:
        mark(project, again, name, "skipped" if name == "ipo" else "done")
    assert is_complete(again) and not can_continue(again)
    clear_state(project)
    assert load_state(project) is None
    project.close()


def test_gate_settings_are_checked_and_a_bad_stored_value_falls_back(tmp_path: Path):
    project = create_project(tmp_path / "p", company_name="Acme")
    with pytest.raises(ValidationError, match="between 0 and 1") as caught:
        GateSettings(min_readable_share=1.5)
    assert caught.value.field == "min_readable_share"
    save_gate_settings(project, GateSettings(golden_min_share=0.5))
    assert load_gate_settings(project).golden_min_share == 0.5
    project.store.set_setting("release_gates", {"min_readable_share": "lots"})
    assert load_gate_settings(project) == GateSettings()
    project.close()


def test_ipo_falls_back_when_it_regresses():
    sft = {"readable_share": 0.9, "similarity": 0.80}
    assert _regression({"readable_share": 0.88, "similarity": 0.79}, sft) == ""
    assert "less readable" in _regression({"readable_share": 0.8, "similarity": 0.8}, sft)
    assert "drift" in _regression({"readable_share": 0.9, "similarity": 0.7}, sft)
    assert _regression({"readable_share": None, "similarity": None}, sft) == ""
