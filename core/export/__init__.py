"""Export a trained model as a GGUF file that llama.cpp, Ollama and LM Studio can run.

Light to import: torch and llama_cpp are never needed, gguf and numpy only once an export runs.
"""

from core.export.gguf_export import SUPPORTED_QUANTS, export_gguf, write_float_gguf
from core.export.hparams import SUPPORTED_ARCHITECTURES

__all__ = ["SUPPORTED_ARCHITECTURES", "SUPPORTED_QUANTS", "export_gguf", "write_float_gguf"]
