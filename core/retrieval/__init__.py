"""Facts through retrieval: the company index (SQLite FTS5 + MiniLM vectors, kept in step with
the chunks) and hybrid search over it. The assistant is the fine-tuned model (tone) plus this
index (facts): chat, the server and retrieval-augmented training all retrieve through here.

Importing this package is cheap: NumPy and the embedding model load on the first search.
"""

from core.retrieval.hybrid import RELEVANCE_THRESHOLD, Hit, retrieve, search
from core.retrieval.index import forget_cache, update_index
from core.retrieval.passages import format_passages, passage_ids

__all__ = [
    "RELEVANCE_THRESHOLD",
    "Hit",
    "forget_cache",
    "format_passages",
    "passage_ids",
    "retrieve",
    "search",
    "update_index",
]
