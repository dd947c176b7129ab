"""Training: SFT (full or LoRA) and preference training (IPO in three variants, DPO).

This package is light to import (no torch at import time): presets, the hyperparameter
schema, spec building and the run history are safe to use from the GUI process. The
trainer itself runs in the ``train`` child job (core.training.job -> engine).
"""

from core.training.history import list_training_runs, run_record
from core.training.params import schema as params_schema
from core.training.params import validate_value
from core.training.presets import METHOD_HELP, METHODS, load_presets, resolve_params
from core.training.spec import build_spec, parse_spec

__all__ = [
    "METHODS",
    "METHOD_HELP",
    "build_spec",
    "list_training_runs",
    "load_presets",
    "params_schema",
    "parse_spec",
    "resolve_params",
    "run_record",
    "validate_value",
]
