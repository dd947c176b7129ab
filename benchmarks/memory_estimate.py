"""Memory estimate against the measured peak on long rows (issue 6).

Runs real short trainings through the project's engine (``core.training.engine.run_training``)
on the embedded SmolLM2-135M on the CPU, on conversations made to about N tokens, and prints
the engine's own summary.json numbers: estimate, measured peak and their ratio, plus the
estimate's parts. Each run is its own child process so its peak is its own; one at a time.

Run: .venv/bin/python benchmarks/memory_estimate.py [--cases 256:sft-lora:4,1024:sft-lora:2]
     [--steps 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CASES = "256:sft-lora:4,1024:sft-lora:2,2048:sft-lora:1,1024:sft:2"
FILLER = ("Your deposit is held in a government-backed scheme and returned within ten days "
          "of the end of the tenancy, less any agreed deductions for damage or unpaid rent. ")


def long_chats(tokens: int, count: int = 6) -> list[tuple[str, str, str]]:
    """Chats whose assistant answer is filler text of about ``tokens`` tokens (~28 a line)."""
    answer = FILLER * max(1, tokens // 30)
    return [("tenant", f"Question {i}: how does the deposit work?", answer) for i in range(count)]


def one_run(tokens: int, method: str, batch: int, steps: int) -> dict[str, Any]:
    from core.conversations.datasets import import_dataset
    from core.jobs.context import JobContext
    from core.jobs.events import EventWriter
    from core.project import create_project
    from core.project.profile import CompanyProfile
    from core.training.engine import run_training
    from core.training.spec import build_spec, parse_spec
    from tests.core.training.conftest import TINY, write_chats

    folder = Path(tempfile.mkdtemp(prefix="memest-"))
    project = create_project(folder / "p", company_name="Kestrel Quay Lettings")
    try:
        project.save_profile(CompanyProfile(company_name="Kestrel Quay Lettings",
                                            customer_roles=["tenant"]))
        import_dataset(project, write_chats(folder / "c.jsonl", long_chats(tokens)), kind="chat")
    finally:
        project.close()
    params = {**TINY, "max_length": tokens, "batch_size": batch, "max_steps": steps}
    spec = parse_spec(build_spec(folder / "p", method, preset="quick-cpu", params=params,
                                 device="cpu"))
    run_dir = folder / "run"
    run_dir.mkdir()
    with open(run_dir / "stdout.jsonl", "a") as stream:
        writer = EventWriter(run_dir, stream=stream)
        run_training(spec, JobContext(run_dir, writer))
        writer.close()
    summary = json.loads((run_dir / "summary.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    estimate = config["estimate"]
    return {"tokens": tokens, "method": method, "batch": batch,
            "estimate": summary["estimate_bytes"], "measured": summary["measured_bytes"],
            "parts": estimate["parts"], "tokens_per_step": estimate["tokens_per_step"],
            "precision": config["precision"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--child", default="")
    args = parser.parse_args()
    if args.child:
        tokens, method, batch = args.child.split(":")
        print("RESULT " + json.dumps(one_run(int(tokens), method, int(batch), args.steps)))
        return
    gib = 1024**3
    print(f"{'len':>5} {'method':>8} {'batch':>5} {'est GiB':>8} {'meas GiB':>9} {'meas/est':>8}")
    for case in args.cases.split(","):
        out = subprocess.run([sys.executable, __file__, "--child", case, "--steps",
                              str(args.steps)], capture_output=True, text=True, cwd=ROOT)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
        if not lines:
            print(f"{case}: failed\n{out.stderr[-2000:]}")
            continue
        r = json.loads(lines[-1][7:])
        print(f"{r['tokens']:>5} {r['method']:>8} {r['batch']:>5} {r['estimate'] / gib:>8.2f} "
              f"{r['measured'] / gib:>9.2f} {r['measured'] / r['estimate']:>8.2f}  "
              f"tokens/step={r['tokens_per_step']} parts="
              f"{ {k: round(v / gib, 2) for k, v in (r['parts'] or {}).items()} }", flush=True)


if __name__ == "__main__":
    main()
