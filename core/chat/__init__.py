"""Chat with the assistant: a GGUF model plus retrieval over the company's documents.

``ChatEngine`` answers (whole or streamed), ``build_prompt`` is the one prompt format shared
with training, ``model_for_run`` gives a trained run a GGUF to chat with.
"""

from core.chat.engine import Answer, ChatEngine, ChatStream, Hidden, Turn, passage_dict
from core.chat.hidden import HiddenFilter
from core.chat.prompt import PASSAGES_HEADING, build_prompt, last_question
from core.chat.runs import model_for_run

__all__ = ["PASSAGES_HEADING", "Answer", "ChatEngine", "ChatStream", "Hidden", "HiddenFilter",
           "Turn", "build_prompt", "last_question", "model_for_run", "passage_dict"]
