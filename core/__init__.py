"""TalkSmall Studio core: the headless library and CLI behind every wizard step.

Nothing in this package imports Qt (an import-linter contract checks it), and heavy
libraries (torch, transformers, trl, llama_cpp) are imported inside functions only.
"""

__version__ = "0.1.0"
