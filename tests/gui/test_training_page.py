"""The Training page: set up, estimate, train (fake child), cancel, resume, history, close."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.conversations.datasets import import_dataset
from core.documents import import_files
from core.jobs.events import read_events
from core.sample import init_sample
from gui.main_window import MainWindow
from gui.pages.training import TrainingPage
from tests.core.training.conftest import write_chats, write_pairs
from tests.fakes import fake_child_command, recording

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def data_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample company with one document and a small real chat and preference dataset."""
    folder = tmp_path_factory.mktemp("training") / "kestrel"
    project = init_sample(folder)
    try:
        [result] = import_files(project, [folder / "sample-documents" / "policies.md"])
        assert result.status == "imported"
        import_dataset(project, write_chats(folder.parent / "chats.jsonl"), kind="chat")
        import_dataset(project, write_pairs(folder.parent / "pairs.jsonl"), kind="preference")
    finally:
        project.close()
    return folder


def _window(qtbot, folder: Path, estimate: bool = False) -> MainWindow:
    win = MainWindow()
    win.training_page.auto_estimate = estimate
    qtbot.addWidget(win)
    win.show()
    win.open_project_folder(folder)
    assert win.project is not None
    return win


def go_to_training(qtbot, win: MainWindow) -> TrainingPage:
    rect = win.steps.visualItemRect(win.steps.item(3))
    qtbot.mouseClick(win.steps.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    page = win.training_page
    assert win.pages.currentWidget() is page and win.title.text() == "Training"
    return page


@pytest.fixture
def trained(qtbot, data_template: Path, tmp_path: Path):
    folder = tmp_path / "kestrel"
    shutil.copytree(data_template, folder)
    win = _window(qtbot, folder)
    page = go_to_training(qtbot, win)
    page.estimate = {"refusal": None}  # the estimate has its own (slow) test
    page._update_buttons()
    yield win, page
    win.close()


def _use_fake(page: TrainingPage, name: str, *options: str) -> None:
    page.child_command = lambda run_dir: fake_child_command(name, run_dir, *options)


def test_blocked_until_there_are_conversations(qtbot, tmp_path: Path) -> None:
    project = init_sample(tmp_path / "k")
    import_files(project, [tmp_path / "k" / "sample-documents" / "policies.md"])
    project.close()
    win = _window(qtbot, tmp_path / "k")
    assert win.flow.why_not(3) == "Generate or import training conversations first."
    assert not win.steps.is_step_enabled(3)
    win.close()


@pytest.mark.slow
def test_the_estimate_is_real_and_a_hopeless_config_is_refused(qtbot, trained) -> None:
    _win, page = trained
    page.auto_estimate = True
    with qtbot.waitSignal(page.estimate_ready, timeout=240_000,
                          check_params_cb=lambda e: "estimate" in e or "error" in e) as ready:
        page.update_estimate()
    estimate = ready.args[0]
    assert estimate["refusal"] is None, estimate
    assert estimate["estimate"]["memory_gib"] > 0.3 and estimate["rows"] >= 8
    assert "GiB of memory" in page.estimate_label.text()
    assert page.train_button.isEnabled()

    page.advanced_box.setChecked(True)
    page.advanced.set_value("batch_size", 1024)
    page.advanced.set_value("max_length", 131072)
    with qtbot.waitSignal(page.estimate_ready, timeout=60_000,
                          check_params_cb=lambda e: bool(e.get("refusal"))):
        pass
    assert page.refusal.isVisible() and "GiB" in page.refusal.text()
    assert not page.train_button.isEnabled()
    assert "needs about" in page.train_button.toolTip()


def test_advanced_fields_are_validated_as_typed(qtbot, trained) -> None:
    _win, page = trained
    page.advanced_box.setChecked(True)
    field = page.advanced.fields["learning_rate"]
    field.clear()
    qtbot.keyClicks(field, "fast")
    assert "learning_rate must be a number" in page.advanced.error_labels["learning_rate"].text()
    assert not page.train_button.isEnabled()
    field.clear()
    qtbot.keyClicks(field, "5e-6")
    assert page.advanced.errors() == {}
    assert page.advanced.overrides() == {"learning_rate": 5e-6}
    assert page.spec()["params"]["learning_rate"] == 5e-6
    # the preference section appears for preference methods, with the method's own defaults
    page.method.setCurrentIndex(page.method.findData("dpo"))
    assert page.advanced.groups["preference"].isVisibleTo(page)
    assert not page.advanced.groups["sft"].isVisibleTo(page)
    assert page.spec()["params"]["beta"] == 0.1
    page.method.setCurrentIndex(page.method.findData("sft-lora"))
    assert page.advanced.groups["lora"].isVisibleTo(page)
    assert page.preset.findData("talk-small") < 0  # the paper's preset is full fine-tuning


def test_answer_from_company_information_sets_the_grounded_ratio(qtbot, trained) -> None:
    _win, page = trained
    assert page.grounded.isChecked() and page.spec()["params"]["grounded_ratio"] == 0.75
    page.grounded.click()
    assert page.advanced.overrides()["grounded_ratio"] == 0.0
    assert page.spec()["params"]["grounded_ratio"] == 0.0
    page.grounded.click()
    assert page.spec()["params"]["grounded_ratio"] == 0.75
    page.advanced.set_value("grounded_ratio", 0)  # typed in Advanced: the switch follows
    assert not page.grounded.isChecked()
    page.preset.setCurrentIndex(page.preset.findData("from-scratch"))  # 1024 tokens: no room
    assert not page.grounded.isChecked()
    page.preset.setCurrentIndex(page.preset.findData("quick-cpu"))
    assert page.grounded.isChecked()


def test_train_shows_progress_charts_samples_and_history(qtbot, trained) -> None:
    _win, page = trained
    _use_fake(page, "train_short", "--delay", "0.01")
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
        assert page.tabs.currentIndex() == 1 and not page.train_button.isEnabled()
    assert done.args == ["succeeded"]
    assert [s for s, _ in page.charts.data["loss"]] == list(range(1, 13))
    assert [s for s, _ in page.charts.data["eval_loss"]] == [6, 12]
    assert page.charts.has_charts()  # drawn, since the page was shown
    assert "Can I pay my rent by card?" in page.samples.toPlainText()
    assert "164 training and 18 validation" in page.log.toPlainText()
    assert page.status.text().startswith("Done")
    record = page.history.records[0]
    assert record["status"] == "succeeded" and record["method"] == "sft"
    spec = json.loads((Path(record["path"]) / "spec.json").read_text())
    assert spec["method"] == "sft" and spec["preset"] == "quick-cpu"
    assert page.history.item(0, 1).text() == "succeeded"


def test_a_crashed_run_shows_failed_with_the_reason(qtbot, trained) -> None:
    _win, page = trained
    _use_fake(page, "out_of_memory")
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as done:
        page.train()
    assert done.args == ["failed"]
    assert page.error.isVisible() and "batch" in page.error.text().lower()
    assert page.history.records[0]["status"] == "failed"

    _use_fake(page, "train_short", "--crash-after", "8")
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as done:
        page.train()
    assert done.args == ["failed"]
    assert "stopped unexpectedly" in page.error.text()
    assert [r["status"] for r in page.history.records[:2]] == ["failed", "failed"]
    page.history.selectRow(0)
    assert "Why it failed" in page.run_details.text()


def test_cancel_then_resume_continues_the_charts(qtbot, trained) -> None:
    _win, page = trained
    _use_fake(page, "train_short", "--delay", "0.3")
    page.train()
    qtbot.waitUntil(lambda: len(page.charts.data["loss"]) >= 3, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
        assert "Stopping" in page.status.text()
    assert done.args == ["cancelled"]
    before = len(page.charts.data["loss"])
    record = page.history.records[0]
    run_dir = Path(record["path"])
    page.history.selectRow(0)
    assert not page.resume_button.isEnabled()  # nothing to resume from yet
    checkpoint = run_dir / "checkpoints" / "checkpoint-3"  # as the trainer leaves one
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text('{"global_step": 3}')
    page.refresh_history()
    page.history.selectRow(0)
    assert page.resume_button.isEnabled()
    _use_fake(page, "train_short")
    with qtbot.waitSignal(page.run_finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(page.resume_button, Qt.MouseButton.LeftButton)
    assert done.args == ["succeeded"]
    assert len(page.charts.data["loss"]) == before + 12  # the earlier points stay
    assert json.loads((run_dir / "spec.json").read_text())["resume"] is True
    assert page.history.records[0]["status"] == "succeeded"


def test_close_leaving_it_running_then_reopen_reattaches(qtbot, trained) -> None:
    win, page = trained
    folder = win.project.root
    _use_fake(page, "train_short", "--delay", "0.25")
    page.train()
    qtbot.waitUntil(lambda: len(page.charts.data["loss"]) >= 2, timeout=TIMEOUT_MS)
    run_dir = page.job.run_dir
    asked: list[str] = []
    page.ask_close_choice = lambda: asked.append("asked") or "cancel"
    win.close()
    assert win.isVisible() and page.job.is_running()  # "Cancel" keeps the app open
    page.ask_close_choice = lambda: "leave"
    win.close()
    assert not win.isVisible() and not page.job.is_running()
    assert asked == ["asked"]

    again = _window(qtbot, folder)
    reopened = go_to_training(qtbot, again)
    assert reopened.job.is_running() and reopened.job.run_dir == run_dir
    assert reopened.charts.data["loss"]  # redrawn from the run's events
    with qtbot.waitSignal(reopened.run_finished, timeout=TIMEOUT_MS) as done:
        pass
    assert done.args == ["succeeded"]
    assert [s for s, _ in reopened.charts.data["loss"]] == list(range(1, 13))
    again.close()


def test_close_stopping_the_run_asks_it_to_stop(qtbot, trained) -> None:
    win, page = trained
    _use_fake(page, "train_short", "--hang")
    page.train()
    qtbot.waitUntil(lambda: page.job.run_dir is not None
                    and (page.job.run_dir / "pid").exists(), timeout=TIMEOUT_MS)
    run_dir = page.job.run_dir
    page.ask_close_choice = lambda: "stop"
    win.close()
    assert (run_dir / "STOP").exists()
    qtbot.waitUntil(lambda: any(e.get("type") == "finished" for e in read_events(run_dir)),
                    timeout=TIMEOUT_MS)
    assert read_events(run_dir)[-1]["status"] == "cancelled"
    assert recording("train_short").exists()
