"""Models: the embedded SmolLM2, the operator's own folders and GGUF files.

Importing this package is cheap (the GUI does it at start-up): torch, transformers, gguf and
llama_cpp are imported inside the functions that need them.
"""

from core.models.embedded import (
    EMBEDDED_NAME,
    embedded_gguf_path,
    embedded_hf_dir,
    embedded_model_info,
    is_embedded_converted,
    models_cache_dir,
)
from core.models.inspect import ModelInfo, inspect_model

__all__ = [
    "EMBEDDED_NAME",
    "ModelInfo",
    "embedded_gguf_path",
    "embedded_hf_dir",
    "embedded_model_info",
    "inspect_model",
    "is_embedded_converted",
    "models_cache_dir",
]
