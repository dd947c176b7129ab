"""An Ollama Modelfile for an exported model: the chat template in Ollama's Go syntax.

Ollama does not run the model's Jinja chat template; it needs its own Go template. We
translate the two template families our exporter supports (ChatML: SmolLM2, Qwen 2.5;
Llama 3 headers) by recognising them, and refuse anything else rather than guess: a wrong
template gives a model that loads and then answers badly.

The model was trained with the customer's role (tenant, owner...) in the turn header, not
"user"; the template writes Ollama's "user" turns with the project's first customer role,
as ``talksmall serve`` does for API "user" turns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import ModelError

# What llama.cpp's ChatEngine samples with (core.chat.engine), so Ollama answers alike.
PARAMETERS = (("temperature", "0.2"), ("top_p", "0.95"), ("top_k", "40"), ("min_p", "0.05"),
              ("repeat_penalty", "1.0"), ("num_ctx", "4096"))


@dataclass(frozen=True)
class OllamaTemplate:
    family: str  # chatml | llama3
    template: str  # Go template text
    stops: tuple[str, ...]


def ollama_template(chat_template: str, customer_role: str = "user") -> OllamaTemplate:
    """The Go template and stop tokens equivalent to ``chat_template`` (a Jinja template)."""
    user = customer_role or "user"
    if "<|im_start|>" in chat_template and "<|im_end|>" in chat_template:
        template = (
            "{{- range .Messages }}<|im_start|>"
            f'{{{{ if eq .Role "user" }}}}{user}{{{{ else }}}}{{{{ .Role }}}}{{{{ end }}}}\n'
            "{{ .Content }}<|im_end|>\n"
            "{{ end }}<|im_start|>assistant\n")
        return OllamaTemplate("chatml", template, ("<|im_end|>", "<|im_start|>"))
    if "<|start_header_id|>" in chat_template and "<|eot_id|>" in chat_template:
        template = (
            "{{- range .Messages }}<|start_header_id|>"
            f'{{{{ if eq .Role "user" }}}}{user}{{{{ else }}}}{{{{ .Role }}}}{{{{ end }}}}'
            "<|end_header_id|>\n\n{{ .Content }}<|eot_id|>"
            "{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n")
        return OllamaTemplate("llama3", template, ("<|eot_id|>", "<|start_header_id|>"))
    raise ModelError(
        "Cannot write the Ollama Modelfile: the model's chat template is neither ChatML "
        "(<|im_start|>) nor Llama 3 (<|start_header_id|>), and a guessed template would make "
        "the model answer badly.",
        "Train from a SmolLM2, Qwen 2.5 or Llama 3.x base model, whose templates are known.")


def render_modelfile(gguf_name: str, template: OllamaTemplate, system_prompt: str, *,
                     company: str, customer_role: str, model_name: str) -> str:
    """The Modelfile text: a comment header, FROM, TEMPLATE, SYSTEM and PARAMETER lines."""
    header = [
        f"# Ollama Modelfile for the support assistant of {company}, made by TalkSmall Studio.",
        "#",
        "# TONE ONLY, WITHOUT COMPANY FACTS: Ollama runs the model alone. It writes in the",
        "# company's voice but does not search the company's documents, so it may not know",
        "# (or may invent) prices, dates and policies. For answers grounded in the documents",
        "# run `talksmall serve <this folder>` or `talksmall chat <this folder>` instead.",
        "#",
        f"# Create and run:   ollama create {ollama_name(model_name)} -f Modelfile",
        f"#                   ollama run {ollama_name(model_name)}",
        "#",
        "# Hidden tags: the model may start an answer with <analysis>...</analysis> and",
        "# <intent>...</intent>, notes for the operator (what the customer wants, the intent",
        "# label). Ollama shows them as they are: remove them before a customer sees the",
        "# answer (TalkSmall's chat and server do).",
        "#",
        f'# Customer turns are written with the role "{customer_role}", as in training.',
        f"# FROM points at {gguf_name}; point it at another model-*.gguf of this folder to use",
        "# another size.",
        "",
        f"FROM ./{gguf_name}",
        "",
        f'TEMPLATE """{template.template}"""',
        "",
        f'SYSTEM """{_triple_quote_safe(system_prompt)}"""',
        "",
    ]
    header += [f'PARAMETER stop "{stop}"' for stop in template.stops]
    header += [f"PARAMETER {name} {value}" for name, value in PARAMETERS]
    return "\n".join(header) + "\n"


def _triple_quote_safe(text: str) -> str:
    return text.replace('"""', '"\u200b""')


def ollama_name(name: str) -> str:
    """A model name Ollama accepts (lowercase letters, digits, dashes)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "assistant"
