"""Block quantization (q8_0, q4_k_m) by llama.cpp itself, through llama-cpp-python.

llama.cpp's quantizer knows the per-tensor rules we would otherwise have to copy (which
tensors stay f32, which get a larger type in "_M" mixes, the fallback when a row length is not
a multiple of the 256-wide k-quant block, e.g. SmolLM2's 576), and it is the code that will
read the file, so its output is the reference. It runs as one blocking C call (~1.5 s for a
135M model): it cannot report progress or be cancelled part-way.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

from core.errors import ModelError

QUANT_FTYPES = {"q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M"}


def quantize_gguf(source: Path, target: Path, quant: str, threads: int | None = None) -> None:
    """Quantize the f32/f16 GGUF ``source`` into ``target`` (which the caller makes atomic)."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelError(f"Cannot quantize to {quant}: llama-cpp-python is not installed.",
                         "Run ./run.sh again to install the app's packages, or export f16."
                         ) from exc
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, QUANT_FTYPES[quant])
    params.nthread = threads or os.cpu_count() or 1
    # llama.cpp logs a line per tensor through llama-cpp-python's logger, whose level table
    # predates ggml's current one (warnings arrive as errors): silence it; failure is the
    # return code.
    chatter = logging.getLogger("llama-cpp-python")
    level = chatter.level
    chatter.setLevel(logging.CRITICAL + 1)
    try:
        failed = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(),
                                                ctypes.byref(params))
    finally:
        chatter.setLevel(level)
    if failed:
        raise ModelError(f"llama.cpp could not quantize {source.name} to {quant} (code {failed}).",
                         "Check the free disk space, or export f16 instead.")
