"""The Conversations step: teacher-generated, readability-gated, deduplicated training data.

Structure first (FAQ entries, tickets, headings), answers kept extractive where the teacher
is not grounded, the teacher used to paraphrase and rewrite for tone, and gates (format,
length, facts, policy, grounding, Flesch, dedup, scope) deciding. Every item is saved as it
is made, with provenance, and the run resumes from its work list.

Importing this package is cheap: the embedding model, llama.cpp and textstat load on use.
"""

from core.conversations.datasets import export_dataset, import_dataset
from core.conversations.pipeline import GenerationReport, Progress, generate_conversations
from core.conversations.settings import GenerationSettings, load_settings, save_settings

__all__ = [
    "GenerationReport",
    "GenerationSettings",
    "Progress",
    "export_dataset",
    "generate_conversations",
    "import_dataset",
    "load_settings",
    "save_settings",
]
