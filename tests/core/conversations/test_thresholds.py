"""The gate thresholds, re-measured on the sample company (see core/conversations/gates.py).

If a change to chunking, sources or the embedding model moves these numbers, this fails and
the thresholds (and their docstring) must be measured again.
"""

from __future__ import annotations

import numpy as np

from core.conversations import gates, prompts
from core.conversations.sources import faq_pair, load_chunks, outline, short_answer
from core.embeddings import embed, max_similarity


def test_grounding_threshold_separates_own_chunk_from_other_chunks(sample_project) -> None:
    chunks = [c for c in load_chunks(sample_project) if c.kind == "text"]
    items = []
    for chunk in chunks:
        pair = faq_pair(chunk)
        if pair:
            items.append((chunk, short_answer(pair[1])))
            continue
        items += [(chunk, short_answer(t.body))
                  for t in outline(chunk, skip=("Kestrel Quay Lettings",))]
    items = [(c, a) for c, a in items if a]
    assert len(items) >= 90
    windows = {c.id: embed(gates.chunk_windows(c.text)) for c in chunks}
    answers = embed([a for _, a in items])
    rng = np.random.default_rng(0)
    own, other = [], []
    for (chunk, _), vector in zip(items, answers, strict=True):
        own.append(max_similarity(vector, windows[chunk.id]))
        while True:
            pick = chunks[int(rng.integers(len(chunks)))]
            if pick.section != chunk.section:
                break
        other.append(max_similarity(vector, windows[pick.id]))
    own_pass = np.mean(np.array(own) >= gates.GROUNDING_THRESHOLD)
    other_pass = np.mean(np.array(other) >= gates.GROUNDING_THRESHOLD)
    print(f"\n[grounding >= {gates.GROUNDING_THRESHOLD}] own chunk {own_pass:.1%} pass "
          f"(min {min(own):.2f}), random other chunk {other_pass:.1%} pass")
    assert own_pass == 1.0
    assert other_pass <= 0.06


def test_shipped_off_topic_questions_are_out_of_scope(sample_project) -> None:
    chunks = [c for c in load_chunks(sample_project) if c.kind == "text"]
    windows = embed([w for c in chunks for w in gates.chunk_windows(c.text)])
    questions = prompts.data("conversation_templates", "off_topic_questions")
    passed = [q for q, v in zip(questions, embed(questions), strict=True)
              if gates.scope_gate(v, windows).ok]
    assert len(passed) >= len(questions) - 2
