"""Hybrid search over the company's chunks: BM25 (SQLite FTS5) and MiniLM cosine, fused by
reciprocal rank (RRF, k = 60), so an exact fee or product name and a paraphrase both find
their passage.

``search`` returns the top k whatever they score (the operator's search box shows why the
assistant answers as it does); ``retrieve`` keeps only hits whose cosine similarity to the
question reaches ``RELEVANCE_THRESHOLD``: an empty list means "nothing in the documents
answers this", and the caller escalates.

RELEVANCE_THRESHOLD, measured on the sample company (its 149 chunks; MiniLM over section +
text): the best chunk's cosine for the 29 held-out in-scope questions of
tests/core/retrieval/questions.jsonl was 0.28-0.83 (median 0.63; only "If I have no heating,
how fast will someone come out?" at 0.28 and "Which number should I ring when my flat is
flooding at night?" at 0.39 fall below 0.42), and for the 20 shipped off-topic questions
(resources/prompts/conversations/conversation_templates.yaml, as used by
core/conversations/plan.py) 0.06-0.40 (median 0.22; the highest "Can you help me fill in my tax
return?" 0.40, "What time does the supermarket close today?" 0.38, "What is the best mortgage
deal at the moment?" 0.34). Nonsense strings scored 0.15-0.23, German and Spanish questions
0.09-0.17. 0.42 escalates every off-topic question with a 0.02 margin and keeps 27 of 29
in-scope questions (93%); sentence-window vectors (max over windows) were tried and separated
worse (in-scope min 0.42, off-topic max 0.47). The two misses are still found by ``search``
(BM25 ranks them), so the operator sees them in the search box. tests/core/retrieval re-measure.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from core.errors import ValidationError
from core.retrieval.index import snapshot

if TYPE_CHECKING:
    import numpy as np

RELEVANCE_THRESHOLD = 0.42
RRF_K = 60  # the constant of Cormack et al.; larger flattens the rank differences
CANDIDATES = 50  # taken from each ranking before fusing
MAX_QUERY_CHARS = 2000  # MiniLM reads 256 word pieces (~1,000 characters) anyway
MAX_QUERY_TERMS = 32  # BM25 terms: more only slows FTS5 down
MAX_K = 50
SECTION_WEIGHT = 2.0  # a heading that matches ("Pets", "Deposits") counts double in BM25

# Words that carry no topic; BM25 would weight them low anyway, but every OR'ed term costs
# FTS5 a posting-list scan, and "the" is in every chunk.
STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it",
    "its", "me", "my", "no", "not", "of", "on", "or", "our", "please", "so", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "to", "us", "was", "we",
    "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you",
    "your", "m", "s", "t", "ve", "ll", "re", "d",  # the pieces of "I'm", "it's", "don't"
))


@dataclass(frozen=True)
class Hit:
    """One retrieved passage, with the evidence of why it was retrieved."""

    chunk_id: int
    document_id: int
    document: str  # the document's name, e.g. "policies.md"
    section: str
    text: str
    score: float  # fused reciprocal-rank score (higher is better)
    similarity: float  # cosine of the question to the chunk
    bm25_rank: int | None  # 1-based rank in the full-text ranking, None if not matched
    vector_rank: int | None  # 1-based rank by similarity, None if beyond the candidates
    relevant: bool  # similarity >= RELEVANCE_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def search(project: Any, query: str, k: int = 4) -> list[Hit]:
    """The k best passages for ``query`` by fused rank (relevant or not), best first.

    An empty index gives an empty list; an empty query is a ValidationError on "query".
    """
    import numpy as np

    text = clean_query(query)
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ValidationError("k", f"The number of passages must be 1 to {MAX_K}, not {k}.",
                              "Ask for a few passages, for example 4.")
    snap = snapshot(project)
    if snap.size == 0:
        return []
    sims = snap.matrix @ query_vector(text)
    top = min(CANDIDATES, snap.size)
    best = np.argpartition(-sims, top - 1)[:top] if top < snap.size else np.arange(snap.size)
    vector_ids = [int(snap.ids[i]) for i in best[np.argsort(-sims[best], kind="stable")]]
    bm25_ids = [i for i in bm25_ranking(project, text) if i in snap.rows]
    vector_rank = {cid: n for n, cid in enumerate(vector_ids, start=1)}
    bm25_rank = {cid: n for n, cid in enumerate(bm25_ids, start=1)}
    fused: dict[int, float] = {}
    for ranks in (vector_rank, bm25_rank):
        for cid, n in ranks.items():
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + n)
    order = sorted(fused, key=lambda cid: (-fused[cid], -sims[snap.rows[cid]], cid))
    # Text and names are read now, not from the snapshot: a chunk forgotten or edited since
    # the matrix was built is dropped or shown as it is now.
    chosen = order[:k + 8]
    rows = {row["id"]: row for row in _chunk_rows(project, chosen)}
    hits = []
    for cid in chosen:
        row = rows.get(cid)
        if row is None:
            continue
        similarity = round(float(sims[snap.rows[cid]]), 4)  # as shown, so as judged
        hits.append(Hit(chunk_id=cid, document_id=row["document_id"], document=row["name"],
                        section=row["section"], text=row["text"], score=round(fused[cid], 6),
                        similarity=similarity, bm25_rank=bm25_rank.get(cid),
                        vector_rank=vector_rank.get(cid),
                        relevant=similarity >= RELEVANCE_THRESHOLD))
        if len(hits) == k:
            break
    return hits


def retrieve(project: Any, query: str, k: int = 2) -> list[Hit]:
    """The passages to answer from: the top k that are relevant enough (empty: escalate)."""
    return [hit for hit in search(project, query, k) if hit.relevant]


def clean_query(query: Any) -> str:
    """The query with whitespace collapsed and cut to MAX_QUERY_CHARS; empty is refused."""
    text = " ".join(str(query or "").split())
    if not text:
        raise ValidationError("query", "The question is empty.",
                              "Type a question a customer might ask.")
    return text[:MAX_QUERY_CHARS]


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression: every topic word quoted, OR'ed. Quoting makes FTS5 syntax
    in the question (AND, NEAR, *, ^, quotes, colons, brackets) plain text."""
    words = re.findall(r"\w+", text.casefold())
    terms = [w for w in dict.fromkeys(words) if w not in STOPWORDS]
    if not terms:  # a question of only common words still searches something
        terms = list(dict.fromkeys(words))
    return " OR ".join(f'"{term}"' for term in terms[:MAX_QUERY_TERMS])


def bm25_ranking(project: Any, text: str, limit: int = CANDIDATES) -> list[int]:
    """Chunk ids by BM25 (best first); empty when no word of the question is indexed."""
    match = fts_query(text)
    if not match:
        return []
    rows = project.store.query(
        f"SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? "
        f"ORDER BY bm25(chunks_fts, {SECTION_WEIGHT}, 1.0) LIMIT ?", (match, limit))
    return [int(row[0]) for row in rows]


_query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_query_lock = threading.Lock()
QUERY_CACHE_SIZE = 256


def query_vector(text: str) -> np.ndarray:
    """The question's embedding; the last few hundred are kept (retyping, repeated tests)."""
    with _query_lock:
        cached = _query_cache.get(text)
        if cached is not None:
            _query_cache.move_to_end(text)
            return cached
    vector = _embed_single(text)
    with _query_lock:
        _query_cache[text] = vector
        while len(_query_cache) > QUERY_CACHE_SIZE:
            _query_cache.popitem(last=False)
    return vector


def _embed_single(text: str) -> np.ndarray:
    """One short text through ONNX Runtime when core.question_encoder is prepared (~5.6 ms),
    else on one torch thread (~13 ms). Measured on two busy cores (load ~6): 2 torch threads
    took 0.2-1.0 s a question (OpenMP threads waiting for each other), 1 thread 25 ms."""
    from core import embeddings, question_encoder

    vector = question_encoder.embed_question(text)
    if vector is not None:
        return vector
    return embeddings.embed([text], threads=1)[0]


def _chunk_rows(project: Any, ids: list[int]) -> list[Any]:
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return project.store.query(
        f"SELECT c.id, c.document_id, c.section, c.text, d.name FROM chunks c "
        f"JOIN documents d ON d.id = c.document_id WHERE c.id IN ({marks})", tuple(ids))
