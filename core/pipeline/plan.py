"""What "Build my assistant" will do on this machine, and about how long it will take.

Three plans. ``gpu`` uses every conversation the documents give and the paper-sized
recipes; ``cpu`` is sized to finish in about half an hour on a 2-core laptop with the
embedded model (LoRA, a capped number of conversations and steps); ``ci`` is the tiny
configuration the tests and CI run (a few items and steps: it checks that everything works,
it teaches the model next to nothing). ``auto`` picks gpu where CUDA is present, else cpu.

The time estimate multiplies each stage's amount of work by a per-unit time measured on
2 CPU cores (see docs/decisions.md, "Build my assistant"); on a GPU the training units are
much faster. It is a forecast shown before starting, not a promise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.errors import ValidationError

STAGES = ("documents", "conversations", "sft", "ipo", "evaluate", "export")
STAGE_TITLES = {
    "documents": "Check documents and search index",
    "conversations": "Write training conversations",
    "sft": "Teach the tone (SFT)",
    "ipo": "Prefer the better answers (IPO)",
    "evaluate": "Evaluate against the base model",
    "export": "Check release gates and export",
}


@dataclass(frozen=True)
class BuildPlan:
    name: str
    description: str
    generate_limit: int | None  # work items for the teacher (None: all the plan makes)
    held_out_share: float
    sft_method: str
    sft_preset: str
    sft_steps: int | None
    ipo_method: str
    ipo_preset: str
    ipo_steps: int | None
    eval_limit: int | None
    quants: tuple[str, ...]
    make_zip: bool
    sft_params: tuple[tuple[str, Any], ...] = ()  # Advanced settings over the preset's
    ipo_params: tuple[tuple[str, Any], ...] = ()
    # seconds per unit on 2 CPU cores (measured; see the module docstring)
    seconds_per_item: float = 9.0
    seconds_per_sft_step: float = 14.0
    seconds_per_ipo_step: float = 16.0
    seconds_per_answer: float = 4.0
    export_seconds: float = 40.0
    fixed_seconds: float = 60.0  # model loading, conversion, index checks

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["quants"] = list(self.quants)
        data["sft_params"], data["ipo_params"] = dict(self.sft_params), dict(self.ipo_params)
        return data

    def estimate(self, items: int | None = None, eval_questions: int | None = None
                 ) -> dict[str, float]:
        """Seconds per stage; ``items`` is the planned work when ``generate_limit`` is None."""
        work = self.generate_limit if self.generate_limit is not None else (items or 200)
        sft_steps = self.sft_steps if self.sft_steps is not None else max(work // 4, 10)
        ipo_steps = self.ipo_steps if self.ipo_steps is not None else max(work // 16, 4)
        questions = self.eval_limit if self.eval_limit is not None else (
            eval_questions or max(work // 10, 4))
        # base, prompted, retrieval, SFT and IPO with retrieval answer every question
        return {
            "documents": 5.0,
            "conversations": work * self.seconds_per_item,
            "sft": self.fixed_seconds + sft_steps * self.seconds_per_sft_step,
            "ipo": self.fixed_seconds + ipo_steps * self.seconds_per_ipo_step,
            "evaluate": self.fixed_seconds / 2 + 5 * questions * self.seconds_per_answer,
            "export": self.export_seconds * max(len(self.quants), 1),
        }


PLANS: dict[str, BuildPlan] = {
    "gpu": BuildPlan(
        name="gpu", description="GPU: every conversation the documents give, full-size "
        "recipes (Talk Small SFT, then IPO), every evaluation question, q4_k_m export.",
        generate_limit=None, held_out_share=0.1, sft_method="sft", sft_preset="talk-small",
        sft_steps=None, ipo_method="ipo", ipo_preset="talk-small", ipo_steps=None,
        eval_limit=None, quants=("q4_k_m",), make_zip=True,
        seconds_per_sft_step=1.0, seconds_per_ipo_step=1.5, seconds_per_answer=1.0),
    "cpu": BuildPlan(
        name="cpu", description="CPU: about half an hour on a laptop: 60 conversations, a "
        "15-step LoRA tone run and a short IPO run, 12 evaluation questions, q4_k_m export.",
        generate_limit=60, held_out_share=0.15, sft_method="sft-lora", sft_preset="tone-lora",
        sft_steps=15, ipo_method="ipo", ipo_preset="tone-lora", ipo_steps=4, eval_limit=12,
        quants=("q4_k_m",), make_zip=True,
        # measured on 2 busy cores: 17 items/min; grounded rows of ~1,500 tokens train at
        # ~60 tokens/s, so a 4-row SFT step takes 60-90 s
        seconds_per_item=3.5, seconds_per_sft_step=70.0, seconds_per_ipo_step=60.0,
        # the preset's effective batch of 32 long grounded rows is minutes a step on 2 cores
        sft_params=(("batch_size", 4), ("grad_accum", 1)),
        ipo_params=(("batch_size", 2), ("grad_accum", 1))),
    "ci": BuildPlan(
        name="ci", description="Tiny check: a few conversations and training steps, two "
        "evaluation questions, f16 export. Teaches next to nothing.",
        generate_limit=12, held_out_share=0.2, sft_method="sft-lora", sft_preset="quick-cpu",
        sft_steps=2, ipo_method="ipo", ipo_preset="quick-cpu", ipo_steps=1, eval_limit=2,
        quants=("f16",), make_zip=False),
}


def auto_plan_name() -> str:
    from core.training.device import detect_device

    return "gpu" if detect_device().kind == "cuda" else "cpu"


def get_plan(name: str | None) -> BuildPlan:
    chosen = (name or "auto").strip().lower()
    if chosen == "auto":
        chosen = auto_plan_name()
    if chosen not in PLANS:
        raise ValidationError("plan", f"There is no build plan called {name!r}.",
                              f"Choose one of: auto, {', '.join(PLANS)}.")
    return PLANS[chosen]


def format_duration(seconds: float) -> str:
    """"about 25 minutes" / "about 1 h 10 min" / "under a minute"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    return f"about {minutes // 60} h {minutes % 60:02d} min"
