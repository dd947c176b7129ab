"""Shared fixtures for training tests: a real project with a tiny, real dataset.

The conversations and pairs are imported with the same importer an operator uses
(core.conversations.datasets), and training runs the embedded model on the CPU for a few
steps, so every test exercises the real path (tokenizer, template, TRL, torch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SYSTEM = "You answer customers of Kestrel Quay Lettings. Be brief and friendly."

CHATS = [
    ("tenant", "Can I pay my rent by card?", "Yes. Pay by card in the tenant portal."),
    ("tenant", "My boiler is broken. Who fixes it?", "We do. Report it in the portal today."),
    ("tenant", "When is rent due?", "Rent is due on the first day of each month."),
    ("tenant", "Can I keep a cat?", "Ask us first. Most flats allow one cat."),
    ("owner", "When do you pay me the rent?", "We pay you five days after the tenant pays."),
    ("owner", "What is your fee?", "Our fee is ten percent of the monthly rent."),
    ("owner", "Who checks the flat?", "We inspect it twice a year and send you photos."),
    ("owner", "Can I sell with a tenant in?", "Yes. We will help you talk to the tenant."),
    ("prospect", "Do you have flats near the quay?", "Yes. See the list on our website."),
    ("prospect", "How much is the deposit?", "The deposit is five weeks of rent."),
]

PAIRS = [
    ("tenant", "Can I pay my rent by card?", "Yes. Pay by card in the tenant portal.",
     "Payment modalities are governed by clause 7(b) of your tenancy agreement."),
    ("tenant", "When is rent due?", "Rent is due on the first day of each month.",
     "Consult the documentation."),
    ("owner", "What is your fee?", "Our fee is ten percent of the monthly rent.",
     "Fees vary and are subject to change without notice."),
    ("owner", "Who checks the flat?", "We inspect it twice a year and send you photos.",
     "Inspections are not our responsibility."),
    ("prospect", "How much is the deposit?", "The deposit is five weeks of rent.",
     "Please refer to the applicable statutory instruments."),
    ("prospect", "Do you have flats near the quay?", "Yes. See the list on our website.",
     "No."),
    ("tenant", "Can I keep a cat?", "Ask us first. Most flats allow one cat.",
     "Animals are prohibited in all circumstances whatsoever."),
    ("owner", "When do you pay me the rent?", "We pay you five days after the tenant pays.",
     "Payment timing is determined by internal processes."),
]

QUESTIONS = ["Can I pay my rent by card?"]


def write_chats(path: Path, chats: list[tuple[str, str, str]] = CHATS) -> Path:
    lines = [json.dumps({"messages": [{"role": "system", "content": SYSTEM},
                                      {"role": role, "content": q},
                                      {"role": "assistant", "content": a}]})
             for role, q, a in chats]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_pairs(path: Path, pairs: list[tuple[str, str, str, str]] = PAIRS) -> Path:
    lines = [json.dumps({"prompt": [{"role": "system", "content": SYSTEM},
                                    {"role": role, "content": q}],
                         "chosen": good, "rejected": bad})
             for role, q, good, bad in pairs]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def embedded_dir(embedded_conversion: Any) -> Path:
    return embedded_conversion.path


@pytest.fixture(scope="session")
def train_project(tmp_path_factory: pytest.TempPathFactory, embedded_dir: Path) -> Path:
    """A project with the tiny chats and pairs imported; returns its folder."""
    from core.conversations.datasets import import_dataset
    from core.project import create_project
    from core.project.profile import CompanyProfile

    folder = tmp_path_factory.mktemp("train-project")
    project = create_project(folder / "kestrel", company_name="Kestrel Quay Lettings")
    try:
        project.save_profile(CompanyProfile(company_name="Kestrel Quay Lettings",
                                            customer_roles=["tenant", "owner", "prospect"]))
        import_dataset(project, write_chats(folder / "chats.jsonl"), kind="chat")
        import_dataset(project, write_pairs(folder / "pairs.jsonl"), kind="preference")
    finally:
        project.close()
    return folder / "kestrel"


@pytest.fixture
def run_ctx(tmp_path: Path) -> Callable[..., Any]:
    """A real JobContext writing events into a fresh run folder."""
    from core.jobs.context import JobContext
    from core.jobs.events import EventWriter

    writers: list[Any] = []

    def make(name: str = "run") -> Any:
        run_dir = tmp_path / name
        run_dir.mkdir(exist_ok=True)
        writer = EventWriter(run_dir, stream=open(run_dir / "stdout.jsonl", "a"))  # noqa: SIM115
        writers.append(writer)
        return JobContext(run_dir, writer)

    yield make
    for writer in writers:
        writer.close()
        writer.stream.close()


TINY = {"max_length": 96, "batch_size": 2, "eval_every": 1000, "save_every": 1000,
        "sample_tokens": 0, "warmup_ratio": 0.0, "lr_start_ratio": 1.0, "min_lr_ratio": 1.0,
        "scheduler": "constant", "eval_fraction": 0.2}


def tiny_spec(project: Path, method: str, **params: Any) -> Any:
    """A validated TrainSpec for a few CPU steps on the tiny data."""
    from core.training.spec import build_spec, parse_spec

    preset = params.pop("preset", "quick-cpu")
    options = {k: params.pop(k) for k in ("base", "questions", "resume", "insist", "dry_run")
               if k in params}
    merged = {**TINY, **params}
    return parse_spec(build_spec(project, method, preset=preset, params=merged, device="cpu",
                                 **options))


class WeightRecorder:
    """Watches one tensor of the policy and of the reference through a real run.

    ``policy[k]`` is the policy tensor after step k (0: before training); ``reference[k]`` the
    reference tensor after step k and every callback of that step (e.g. a re-sync).
    """

    def __init__(self, policy_name: str, reference_name: str | None = None,
                 lora_module: str | None = None) -> None:
        from transformers import TrainerCallback

        self.policy_name, self.reference_name = policy_name, reference_name
        self.lora_module = lora_module
        self.policy: dict[int, Any] = {}
        self.reference: dict[int, Any] = {}
        self.trainer: Any = None
        recorder = self

        class _Callback(TrainerCallback):
            def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                recorder._policy(state.global_step)
                recorder._reference(state.global_step)

            def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                recorder._reference(state.global_step)

            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                recorder._policy(state.global_step)

            def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                recorder._reference(state.global_step)

        self.callback = _Callback()
        self.callback.bind_trainer = self.bind_trainer  # type: ignore[attr-defined]

    def bind_trainer(self, trainer: Any) -> None:
        self.trainer = trainer

    def _policy(self, step: int) -> None:
        model = self.trainer.model
        if self.lora_module is not None:
            from core.training.variants import lora_delta

            module = dict(model.named_modules())[self.lora_module]
            self.policy[step] = lora_delta(module).clone()
        else:
            self.policy[step] = model.get_parameter(self.policy_name).detach().float().clone()

    def _reference(self, step: int) -> None:
        if self.reference_name is None:
            return
        ref = self.trainer.ref_model if self.trainer.ref_model is not None else self.trainer.model
        self.reference[step] = ref.get_parameter(self.reference_name).detach().float().clone()
