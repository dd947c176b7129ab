"""Jobs that ship with the foundation: model conversion, GGUF export and a self-check."""

from __future__ import annotations

import importlib.util
import platform
import sys
import time
from typing import Any

from core.errors import TalkSmallError, ValidationError
from core.jobs.context import JobCancelled, JobContext


def convert_model(spec: dict[str, Any], ctx: JobContext) -> str:
    """Convert the embedded GGUF to a cached transformers folder (30-50 s the first time)."""
    from core.models.embedded import embedded_hf_dir

    ctx.check_stop()
    ctx.stage("convert", 1, 1)
    last_message = [""]

    def on_progress(fraction: float, message: str) -> None:
        # The converter reports a fraction in [0, 1]; the protocol counts steps out of 100.
        ctx.progress(round(100 * min(max(float(fraction), 0.0), 1.0)), 100)
        if message and message != last_message[0]:
            last_message[0] = message
            ctx.log("info", message)

    path = embedded_hf_dir(progress=on_progress)
    ctx.progress(100, 100)
    return str(path)


def export_gguf(spec: dict[str, Any], ctx: JobContext) -> str:
    """Export a Hugging Face folder as GGUF. Spec: ``hf_dir``, ``out`` (the .gguf path),
    ``quant`` (default f16; see core.export.SUPPORTED_QUANTS), optional ``source_gguf`` (the
    GGUF the model came from, whose tokenizer is copied). STOP cancels between tensors."""
    from core.export import export_gguf as export

    for key in ("hf_dir", "out"):
        if not spec.get(key):
            raise ValidationError(key, f"the export spec has no {key}",
                                  "start the export again from the app")
    ctx.check_stop()
    ctx.stage("export", 1, 1)
    last_message, last_step = [""], [-1]

    def on_progress(fraction: float, message: str) -> None:
        ctx.check_stop()  # raising here removes the temporary files, writes nothing
        step = round(100 * min(max(float(fraction), 0.0), 1.0))
        if step != last_step[0]:  # called once per tensor: report each percent once
            last_step[0] = step
            ctx.progress(step, 100)
        if message and message != last_message[0]:
            last_message[0] = message
            ctx.log("info", message)

    path = export(spec["hf_dir"], spec["out"], spec.get("quant", "f16"), progress=on_progress,
                  source_gguf=spec.get("source_gguf"))
    return str(path)


def selfcheck(spec: dict[str, Any], ctx: JobContext) -> str:
    """A real job, cheap enough for tests: report the runtime, then count down, honouring STOP.

    Spec keys (all optional): ``steps`` (5), ``delay_s`` (0.05), ``probe_torch`` (true: ask
    torch for CUDA/MPS), ``fail`` ("internal" | "talksmall" | "memory" | "disk", raised at
    ``fail_at`` step, default 1) to exercise the error paths end to end.
    """
    steps = int(spec.get("steps", 5))
    delay_s = float(spec.get("delay_s", 0.05))
    fail = spec.get("fail")
    fail_at = int(spec.get("fail_at", 1))

    device = probe_device() if spec.get("probe_torch", True) else "cpu (not probed)"
    python = platform.python_version()
    system = platform.platform(terse=True)
    ctx.log("info", f"python {python} ({sys.executable})")
    ctx.log("info", f"platform {system}")
    ctx.log("info", f"device {device}")

    ctx.stage("countdown", 1, 1)
    for step in range(1, steps + 1):
        if ctx.should_stop():
            ctx.log("info", f"stopping at step {step - 1} of {steps}")
            raise JobCancelled()
        if fail and step == fail_at:
            _fail(fail)
        if delay_s > 0:
            time.sleep(delay_s)
        ctx.progress(step, steps)
        ctx.metric(step, remaining=steps - step)
    return f"python {python}; {system}; device {device}"


def probe_device() -> str:
    """cuda, mps or cpu, the order training uses; torch is imported only here."""
    if importlib.util.find_spec("torch") is None:
        return "cpu (torch not installed)"
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _fail(kind: str) -> None:
    if kind == "talksmall":
        raise TalkSmallError("the self-check was asked to fail", "this is only a test")
    if kind == "memory":
        raise MemoryError("self-check simulated out of memory")
    if kind == "disk":
        import errno

        raise OSError(errno.ENOSPC, "No space left on device (self-check simulated)")
    raise RuntimeError("self-check simulated bug")
