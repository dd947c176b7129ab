"""``talksmall search``: the passages a question would retrieve, with their scores.

Registered by core/cli.py (``add_commands``). Errors are TalkSmallErrors (one line, non-zero
exit); ``--json`` prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import Any

PREVIEW_CHARS = 300


def add_commands(sub: Any) -> None:
    p = sub.add_parser("search", help="show the passages a question would retrieve")
    p.add_argument("project", type=Path, help="project folder")
    p.add_argument("query", help="the question, in quotes")
    p.add_argument("--k", type=int, default=4, metavar="N", help="passages to show (default 4)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    from core.project import open_project
    from core.retrieval import RELEVANCE_THRESHOLD, search

    project = open_project(args.project)
    try:
        hits = search(project, args.query, k=args.k)
    finally:
        project.close()
    result = {"query": args.query, "threshold": RELEVANCE_THRESHOLD,
              "relevant": sum(hit.relevant for hit in hits),
              "hits": [hit.to_dict() for hit in hits]}
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else format_hits(result))
    return 0


def format_hits(result: dict[str, Any]) -> str:
    hits = result["hits"]
    if not hits:
        return "no passages: the project has no imported documents yet"
    lines = []
    for number, hit in enumerate(hits, start=1):
        mark = "relevant" if hit["relevant"] else "below threshold"
        ranks = (f"bm25 #{hit['bm25_rank'] or '-'}, vector #{hit['vector_rank'] or '-'}")
        lines.append(f"{number}. similarity {hit['similarity']:.2f} ({mark})  score "
                     f"{hit['score']:.4f}  [{ranks}]")
        lines.append(f"   {hit['document']}" + (f" - {hit['section']}" if hit["section"] else ""))
        preview = " ".join(hit["text"].split())
        if len(preview) > PREVIEW_CHARS:
            preview = preview[:PREVIEW_CHARS].rsplit(" ", 1)[0] + " ..."
        lines += textwrap.wrap(preview, 96, initial_indent="   ", subsequent_indent="   ")
    if not result["relevant"]:
        lines.append(f"no passage reaches the relevance threshold ({result['threshold']:.2f}):"
                     " the assistant would escalate this question")
    return "\n".join(lines)
