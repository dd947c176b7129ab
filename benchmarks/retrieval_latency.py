"""Retrieval latency over 10,000 chunks: hybrid search against its own parts.

1. Builds a temporary project with N chunks (default 10,000) recombined from the sample
   company's sentences (handbook, FAQ, policies: 3-7 sentences each, under a real heading),
   inserted through the chunks table so the FTS5 triggers index them as an import would.
2. Vectors: every distinct sentence is embedded once with MiniLM and a chunk's vector is the
   normalised sum of its sentences' vectors, written to chunk_vectors with the right text
   hash, so the index takes them as current (embedding 10,000 chunks for real takes ~20 min
   on two cores and measures nothing about search; ``--embed-all`` does it anyway).
3. Times ~200 distinct questions (held-out questions, off-topic questions and sentence
   openings), alternating within one run:
   - ``search`` cold: the question's embedding included (what a new chat question costs);
   - ``search`` warm: the same questions again, embedding cached (the retrieval itself);
   - baselines: the FTS5 BM25 query alone, the NumPy matmul + top-k alone, MiniLM alone
     (as search embeds a question: ONNX Runtime once core.question_encoder is prepared; on
     one torch thread, the fall-back; and through embed()'s defaults).
   Prints p50 / p95 of each (wall clock, and the calling thread's CPU time, which a busy
   shared machine inflates less) and the ratios. Goal (issue 12): p95 <= 20 ms on 2 cores.

Run: .venv/bin/python benchmarks/retrieval_latency.py [--chunks 10000] [--queries 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def sentences_by_heading() -> list[tuple[str, list[str]]]:
    """(heading, sentences) from the sample company's text sources."""
    from core.sample import sample_dir

    sources = [sample_dir() / "source" / "handbook.md", sample_dir() / "source" / "faq.md",
               sample_dir() / "policies.md"]
    sections: list[tuple[str, list[str]]] = []
    for path in sources:
        heading, body = path.stem, []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                if body:
                    sections.append((heading, body))
                heading, body = line.lstrip("# ").strip(), []
            elif line.strip() and not line.startswith(("---", "title:", "subtitle:")):
                text = re.sub(r"\[\[\w+:([^\]]*)\]\]", r"\1", line.strip("-* "))
                body += [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 20]
        if body:
            sections.append((heading, body))
    return sections


def build_project(folder: Path, n_chunks: int, embed_all: bool, rng: random.Random) -> tuple:
    import numpy as np

    from core.embeddings import MODEL_NAME, embed, to_bytes
    from core.project import create_project
    from core.retrieval.index import embed_input, text_hash

    project = create_project(folder / "bench", company_name="Bench Lets")
    sections = sentences_by_heading()
    chunks = []
    for _ in range(n_chunks):
        heading, body = rng.choice(sections)
        picked = [rng.choice(body) for _ in range(rng.randint(3, 7))]
        chunks.append((heading, picked))
    started = time.perf_counter()
    with project.store.transaction() as conn:
        doc = conn.execute("INSERT INTO documents (name, source_path, format, status) "
                           "VALUES ('synthetic.md', 'synthetic.md', 'md', 'imported')").lastrowid
        for seq, (heading, picked) in enumerate(chunks):
            text = " ".join(picked)
            conn.execute("INSERT INTO chunks (document_id, seq, section, original_text, text, "
                         "token_count) VALUES (?, ?, ?, ?, ?, ?)",
                         (doc, seq, heading, text, text, len(text) // 4))
    insert_s = time.perf_counter() - started
    started = time.perf_counter()
    if not embed_all:
        distinct = sorted({s for _, picked in chunks for s in picked})
        vectors = dict(zip(distinct, embed(distinct, cache=True), strict=True))
        rows = project.store.query("SELECT id, section, text FROM chunks ORDER BY seq")
        with project.store.transaction() as conn:
            for row, (_, picked) in zip(rows, chunks, strict=True):
                vector = np.sum([vectors[s] for s in picked], axis=0)
                vector /= np.linalg.norm(vector)
                conn.execute("INSERT INTO chunk_vectors (chunk_id, model, text_hash, vector) "
                             "VALUES (?, ?, ?, ?)",
                             (row["id"], MODEL_NAME,
                              text_hash(embed_input(row["section"], row["text"])),
                              to_bytes(vector)))
    from core.retrieval import update_index

    summary = update_index(project)
    return project, {"insert_s": round(insert_s, 2),
                     "vectors_s": round(time.perf_counter() - started, 2), **summary}


def questions(n: int, rng: random.Random) -> list[str]:
    from core.conversations import prompts

    held_out = Path(__file__).resolve().parent.parent / "tests/core/retrieval/questions.jsonl"
    out = [json.loads(line)["question"] for line in held_out.read_text().splitlines() if line]
    out += prompts.data("conversation_templates", "off_topic_questions")
    openings = [s for _, body in sentences_by_heading() for s in body]
    rng.shuffle(openings)
    for sentence in openings:
        words = sentence.split()
        out.append("What about " + " ".join(words[: rng.randint(4, 9)]).rstrip(".,") + "?")
    return list(dict.fromkeys(out))[:n]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(p95 * 1000, 2), "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


def run(n_chunks: int, n_queries: int, embed_all: bool) -> dict:
    import numpy as np

    from core import question_encoder
    from core.embeddings import embed
    from core.retrieval import search
    from core.retrieval.hybrid import CANDIDATES, _embed_single, bm25_ranking, query_vector
    from core.retrieval.index import snapshot

    rng = random.Random(12)
    with tempfile.TemporaryDirectory(prefix="talksmall-retrieval-bench-") as tmp:
        project, built = build_project(Path(tmp), n_chunks, embed_all, rng)
        try:
            qs = questions(n_queries, rng)
            embed(["warm up the model"])
            encoder = question_encoder.prepare()  # update_index did; the status is reported
            search(project, "warm up the index")
            snap = snapshot(project)
            keys = ("search_cold", "search_warm", "fts5", "matmul", "embed_query", "embed_torch",
                    "embed_default")
            times: dict[str, list[float]] = {k: [] for k in keys}
            cpu: dict[str, list[float]] = {k: [] for k in keys}

            def timed(key: str, fn, *args) -> object:
                w0, c0 = time.perf_counter(), time.thread_time()
                result = fn(*args)
                cpu[key].append(time.thread_time() - c0)
                times[key].append(time.perf_counter() - w0)
                return result

            def embed_torch(q: str) -> object:
                return embed([q], threads=1)[0]

            def top_k(vector) -> object:
                sims = snap.matrix @ vector
                return np.argpartition(-sims, CANDIDATES - 1)[:CANDIDATES]

            for q in qs:
                timed("search_cold", search, project, q, 4)
                timed("search_warm", search, project, q, 4)
                timed("fts5", bm25_ranking, project, q)
                timed("matmul", top_k, query_vector(q))
                timed("embed_query", _embed_single, q + " ")  # uncached, as search embeds
                timed("embed_torch", embed_torch, q + "   ")  # the fall-back
                timed("embed_default", embed, [q + "  "])  # embed() on all torch threads
        finally:
            project.close()
    stats = {k: percentiles(v) for k, v in times.items()}
    cpu_stats = {k: percentiles(v) for k, v in cpu.items()}
    parts = stats["fts5"]["p50_ms"] + stats["matmul"]["p50_ms"]
    return {
        "chunks": n_chunks, "queries": len(qs), "build": built, "question_encoder": encoder,
        "cpu_count": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
        "latency": stats,
        "cpu_time_of_calling_thread": cpu_stats,
        "ratios": {
            "search_warm_p50_over_fts5_plus_matmul_p50": round(
                stats["search_warm"]["p50_ms"] / parts, 2) if parts else None,
            "search_warm_p50_over_fts5_p50": round(
                stats["search_warm"]["p50_ms"] / stats["fts5"]["p50_ms"], 2),
            "search_warm_p50_over_matmul_p50": round(
                stats["search_warm"]["p50_ms"] / stats["matmul"]["p50_ms"], 2),
            "embed_query_p50_over_torch_p50": round(
                stats["embed_query"]["p50_ms"] / stats["embed_torch"]["p50_ms"], 2),
            "search_cold_p50_over_embed_query_p50": round(
                stats["search_cold"]["p50_ms"] / stats["embed_query"]["p50_ms"], 2),
        },
        "goal": "search p95 <= 20 ms on 2 cores",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--embed-all", action="store_true",
                        help="embed every chunk with MiniLM (slow) instead of sentence sums")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report = run(args.chunks, args.queries, args.embed_all)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    build = report["build"]
    print(f"{report['chunks']:,} chunks (insert {build['insert_s']} s, vectors "
          f"{build['vectors_s']} s), {report['queries']} queries, {report['cpu_count']} CPUs, "
          f"load average {report['load_average']}")
    print(f"{'':<34}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    labels = {"search_cold": "search (question embedded)", "search_warm":
              "search (embedding cached)", "fts5": "FTS5 BM25 query alone",
              "matmul": "NumPy matmul + top-k alone",
              "embed_query": f"question as search embeds ({report['question_encoder'][:12]})",
              "embed_torch": "MiniLM question, PyTorch 1 thread",
              "embed_default": "MiniLM question, embed() default"}
    for key, label in labels.items():
        s = report["latency"][key]
        print(f"{label:<34}{s['p50_ms']:>9}{s['p95_ms']:>9}{s['mean_ms']:>9}")
    print("CPU time of the calling thread (steadier on a busy machine; BLAS and torch worker "
          "threads not counted):")
    for key, label in labels.items():
        s = report["cpu_time_of_calling_thread"][key]
        print(f"{label:<34}{s['p50_ms']:>9}{s['p95_ms']:>9}{s['mean_ms']:>9}")
    for key, value in report["ratios"].items():
        print(f"{key:<52}{value}")
    print(f"goal: {report['goal']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
