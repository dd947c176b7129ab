"""The wizard's navigation, walked with no window."""

from __future__ import annotations

from gui.wizard import STEPS, WizardFlow


def test_six_steps_in_order() -> None:
    assert [s.title for s in STEPS] == [
        "Project", "Documents", "Conversations", "Training", "Evaluation & rating",
        "Export & chat"]
    assert all(s.summary for s in STEPS)


def test_only_built_steps_with_their_needs_can_be_entered() -> None:
    flow = WizardFlow()
    assert flow.can_enter(0)
    assert flow.next_index() is None  # Documents needs a project with a valid profile
    assert flow.why_not(2) == "Create or open a project first."
    assert flow.why_not(3) == "Create or open a project first."
    assert flow.why_not(4) == "Create or open a project first."  # Evaluation is built
    assert flow.why_not(5) == "Create or open a project first."
    assert not flow.go(3) and not flow.go(4) and not flow.go(5)
    assert flow.current == 0


def test_blockers_follow_the_state() -> None:
    from dataclasses import replace

    steps = tuple(replace(s, built=True) for s in STEPS)
    flow = WizardFlow(steps)
    assert flow.why_not(1) == "Create or open a project first."
    flow.state.project = object()
    assert flow.why_not(1) == "Complete the company profile first."
    flow.state.profile_valid = True
    assert flow.next_index() == 1
    assert flow.go(1) and flow.previous_index() == 0
