"""The retrieved passages as the prompt block the chat, the server and training put before a
question: numbered, each with its document and section, so an answer (and the operator) can
say where a fact came from, and short, so a small model's context holds the question too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_PASSAGE_CHARS = 1200


def format_passages(hits: Sequence[Any], max_chars: int = MAX_PASSAGE_CHARS) -> str:
    """``[1] faq.docx - For tenants > Can I keep a pet?`` then the text, one per hit.

    A support ticket shows its agent's reply only (``company_words``). A passage longer than
    ``max_chars`` is cut at a word boundary and marked with "...".
    No hits give an empty string (the caller escalates rather than sending an empty block).
    """
    blocks = []
    for number, hit in enumerate(hits, start=1):
        where = f"{hit.document} - {hit.section}" if hit.section else hit.document
        text = company_words(hit.text)
        text = " ".join(text.split()) if len(text) > max_chars else text.strip()
        if len(text) > max_chars:
            text = text[:max_chars].rsplit(" ", 1)[0] + " ..."
        blocks.append(f"[{number}] {where}\n{text}")
    return "\n\n".join(blocks)


def company_words(text: str) -> str:
    """A passage as the model should read it: a support ticket's chunk ("Customer: ...\n
    Agent: ...", core/documents/tickets.py) becomes the agent's reply, the company's own words.

    Why: the 135M model copied the customer's half into answers ("I can see the house on Gull
    Terrace another way?" as the answer to Saturday viewing times, sample company, 2026-11-28).
    The customer's message still makes the ticket retrievable and stays in the search box;
    a ticket without a reply is shown whole (there is nothing else to show).
    """
    from core.documents.tickets import AGENT_PREFIX, CUSTOMER_PREFIX

    if text.startswith(CUSTOMER_PREFIX):
        _, found, reply = text.partition(AGENT_PREFIX)
        if found and reply.strip():
            return reply.strip()
    return text


def passage_ids(hits: Sequence[Any]) -> list[int]:
    """The chunk ids of the hits, in order: what an answer records as its sources."""
    return [int(hit.chunk_id) for hit in hits]
