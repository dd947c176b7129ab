"""Which device trains (CUDA, then Apple MPS, then the CPU) and in which number format.

On the CPU, bf16 is only worth it where the hardware does it natively (AVX512_BF16 or AMX):
elsewhere autocast to bf16 is emulated and runs ~25x slower, silently. The decision is made
at run time, on the machine that trains, and written into the run's config.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # cuda | mps | cpu
    name: str  # e.g. "NVIDIA H100 80GB HBM3" or "cpu (AVX512, 2 cores)"
    capability: str  # torch's CPU capability, or the CUDA compute capability
    bf16: bool  # bf16 is fast here
    fp16: bool
    threads: int  # CPU threads torch should use
    memory_total: int  # bytes: RAM (cpu, mps) or GPU memory (cuda)
    memory_available: int  # bytes free now
    device_count: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        precision = "bf16" if self.bf16 else "fp32"
        if self.kind == "cpu":
            return f"device cpu ({self.capability.lower()}, {precision}, {self.threads} threads)"
        return f"device {self.kind} ({self.name}, {precision})"


def physical_cores() -> int:
    """Physical cores (hyper-threads only contend for the same FMA units in training)."""
    try:
        import psutil

        count = psutil.cpu_count(logical=False)
    except ImportError:  # pragma: no cover - psutil is a dependency
        count = None
    return max(1, count or os.cpu_count() or 1)


def cpu_has_fast_bf16() -> bool:
    """AVX512_BF16 or AMX, as torch sees them (falls back to /proc/cpuinfo flags)."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability().upper()
    if "AMX" in capability or "BF16" in capability:
        return True
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(torch.cpu, probe, None)
        if check is not None:
            try:
                if check():
                    return True
            except RuntimeError:  # pragma: no cover - probe not built in
                pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = handle.read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def detect_device(prefer: str = "auto") -> DeviceInfo:
    """The device a run will use; ``prefer`` may force cpu (tests, benchmarks) or cuda / mps."""
    import torch

    if prefer not in ("auto", "cpu", "cuda", "mps"):
        from core.errors import ValidationError

        raise ValidationError("device", f"Unknown device {prefer!r}.",
                              "Use auto, cpu, cuda or mps.")
    if prefer in ("auto", "cuda") and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        free, total = torch.cuda.mem_get_info(0)
        return DeviceInfo(kind="cuda", name=props.name, capability=f"{props.major}.{props.minor}",
                          bf16=torch.cuda.is_bf16_supported(), fp16=True,
                          threads=physical_cores(), memory_total=int(total),
                          memory_available=int(free), device_count=torch.cuda.device_count())
    mps = getattr(torch.backends, "mps", None)
    if prefer in ("auto", "mps") and mps is not None and mps.is_available():
        ram_total, ram_free = _ram()
        return DeviceInfo(kind="mps", name="Apple GPU", capability="mps", bf16=False, fp16=True,
                          threads=physical_cores(), memory_total=ram_total,
                          memory_available=ram_free)
    if prefer in ("cuda", "mps"):
        from core.errors import TalkSmallError

        raise TalkSmallError(f"No {prefer.upper()} device is available on this computer.",
                             "Choose 'auto' or 'cpu' as the device.")
    ram_total, ram_free = _ram()
    capability = torch.backends.cpu.get_cpu_capability()
    cores = physical_cores()
    return DeviceInfo(kind="cpu", name=f"cpu ({capability}, {cores} cores)",
                      capability=capability, bf16=cpu_has_fast_bf16(), fp16=False,
                      threads=cores, memory_total=ram_total, memory_available=ram_free)


def choose_precision(device: DeviceInfo, requested: str = "auto") -> str:
    """fp32 / bf16 / fp16 for this device; an impossible request is refused, not ignored."""
    from core.errors import ValidationError

    if requested == "auto":
        if device.bf16:
            return "bf16"
        return "fp16" if device.kind == "cuda" else "fp32"
    if requested == "bf16" and not device.bf16:
        raise ValidationError("precision", f"bf16 is not fast on this {device.kind} "
                              f"({device.capability}).", "Choose auto or fp32.")
    if requested == "fp16" and device.kind == "cpu":
        raise ValidationError("precision", "fp16 training is not supported on the CPU.",
                              "Choose auto or fp32.")
    return requested


def _ram() -> tuple[int, int]:
    import psutil

    memory = psutil.virtual_memory()
    return int(memory.total), int(memory.available)
