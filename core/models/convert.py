"""Turn a llama-family GGUF into a plain Hugging Face folder (fp32 safetensors) for training.

Training runs through transformers, which can read a GGUF only by dequantizing it on every
load (~15-20 s on two cores, most of it rebuilding the tokenizer and re-reading metadata).
Doing that once and saving an ordinary folder makes later loads take well under a second.

transformers 5.x loads a llama GGUF through its "legacy" path: the weights come out dense and
already un-permuted (llama.cpp stores q/k rows in its own rotary order), but the model is still
flagged as GGUF-quantized and refuses ``save_pretrained``. So the weights are moved into a
clean model built from the same config (no quantization config), which saves normally. The
GGUF has no ``output.weight`` (tied embeddings); ``tie_word_embeddings`` carries that over.

This writes into ``out_dir`` and nothing else; the caller makes the result atomic.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

Progress = Callable[[float, str], None]

_DROP_CONFIG_KEYS = ("quantization_config", "_name_or_path", "_model_name_or_path",
                     "transformers_version", "_commit_hash")


def gguf_to_hf(gguf_file: Path, out_dir: Path, progress: Progress,
               model_card: str | None = None) -> None:
    """Dequantize ``gguf_file`` to fp32 and save model, tokenizer and chat template in out_dir.

    ``progress`` gets fractions of this conversion (0..1) and a message per stage.
    """
    progress(0.0, "Loading the conversion libraries")
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # tqdm bars would garble the job's event stream
    try:
        folder, name = str(gguf_file.parent), gguf_file.name
        progress(0.1, "Rebuilding the tokenizer from the GGUF")
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        progress(0.3, "Dequantizing the weights to fp32")
        # The GGUF loader draws its own tqdm bar on stderr, whatever the settings above say;
        # it would garble a terminal's progress line, so its stderr goes to a buffer.
        with contextlib.redirect_stderr(io.StringIO()):
            loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name,
                                                          dtype=torch.float32)
        progress(0.8, "Saving the weights as safetensors")
        settings = loaded.config.to_dict()
        for key in _DROP_CONFIG_KEYS:
            settings.pop(key, None)
        config = AutoConfig.for_model(**settings)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(loaded.state_dict(), strict=True, assign=True)
        model.tie_weights()
        model.generation_config = loaded.generation_config
        del loaded
        model.save_pretrained(out_dir)
        progress(0.95, "Saving the tokenizer and chat template")
        context = getattr(config, "max_position_embeddings", None)
        if isinstance(context, int) and context > 0:
            tokenizer.model_max_length = context
        tokenizer.save_pretrained(out_dir)
        if model_card:
            (out_dir / "README.md").write_text(model_card, encoding="utf-8")
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    progress(1.0, "Converted")
