"""Prepare what installer/check_bundle.sh feeds the bundle, using the SOURCE venv.

``python installer/make_specs.py WORKDIR`` writes WORKDIR/project (a project with a few chats
imported), WORKDIR/selfcheck/spec.json and WORKDIR/train/spec.json (sft-lora, quick-cpu,
two steps on the embedded model). Why from the source venv: the bundle has no headless
"create project" entry point (the GUI is its only front door), so the check creates the
project here and the bundle's GUI opens it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CHATS = [
    ("tenant", "When is rent due?", "Rent is due on the first day of each month."),
    ("tenant", "Who fixes a broken boiler?", "Report it in the portal; we send an engineer."),
    ("owner", "When are owners paid?", "Owners are paid on the fifth working day."),
    ("prospect", "Do you allow pets?", "Pets are allowed with the owner's written consent."),
    ("tenant", "How do I end my tenancy?", "Give two months' notice in writing."),
]
TINY = {"max_length": 96, "batch_size": 2, "eval_every": 1000, "save_every": 1000,
        "sample_tokens": 0, "warmup_ratio": 0.0, "lr_start_ratio": 1.0, "min_lr_ratio": 1.0,
        "scheduler": "constant", "eval_fraction": 0.2}


def main(workdir: Path) -> None:
    from core.conversations.datasets import import_dataset
    from core.project import create_project
    from core.training.spec import build_spec

    workdir.mkdir(parents=True, exist_ok=True)
    chats = workdir / "chats.jsonl"
    chats.write_text("".join(json.dumps({"messages": [
        {"role": "system", "content": "You answer for Kestrel Quay Lettings."},
        {"role": role, "content": q}, {"role": "assistant", "content": a}]}) + "\n"
        for role, q, a in CHATS), encoding="utf-8")
    project = create_project(workdir / "project", company_name="Kestrel Quay Lettings")
    try:
        import_dataset(project, chats, kind="chat")
    finally:
        project.close()
    for name, spec in (
        ("selfcheck", {"steps": 2, "delay_s": 0.01}),
        ("train", build_spec(workdir / "project", "sft-lora", preset="quick-cpu", max_steps=2,
                             params=TINY, device="cpu")),
    ):
        (workdir / name).mkdir(exist_ok=True)
        (workdir / name / "spec.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
