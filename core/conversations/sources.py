"""Structure first: what the documents already say as questions and answers.

A 135M teacher writes poor questions, so most conversations come from structure the
documents already have: FAQ entries (a heading that is a question, its text the answer),
support tickets (the customer's message and the agent's reply), and headings, including
the sub-headings inside a PDF chunk, turned into questions by per-role templates with the
paragraph under the heading as the extractive answer. Only the redacted text
(``chunks.text`` and the redacted ticket fields in ``chunks.meta``) is ever read.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from core.conversations import prompts
from core.conversations.escalation import clean_message, clean_reply
from core.conversations.text import (
    has_placeholder,
    normalise_space,
    split_sentences,
    strip_markdown,
)

_HEADING_MAX_WORDS = 8
_SKIP_TOPIC_RE = re.compile(r"^(contents|table of contents|introduction|frequently asked questions|"
                            r"faq|welcome\b.*|quick reference.*|appendix.*|part [a-z0-9]+\b.*)$",
                            re.IGNORECASE)
_JOIN_AFTER_RE = re.compile(r"(,|;|\b(and|or|the|a|an|of|to|in|for|with|by|on|at|your|our))$",
                            re.IGNORECASE)
_QUESTION_WORD_RE = re.compile(r"^(how|what|when|where|why|who|which|can|do|does|is|are|will|"
                               r"should|may)\b", re.IGNORECASE)
_PRONOUNS = {"your": "my", "yours": "mine", "yourself": "myself", "you": "I", "our": "your",
             "ours": "yours", "we": "you", "us": "you"}


@dataclass
class Chunk:
    """One redacted chunk with what the pipeline needs to know about its place."""

    id: int
    document_id: int
    document: str
    kind: str  # text | ticket
    section: str
    seq: int
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    first_of_section: bool = True

    @property
    def section_path(self) -> list[str]:
        return [p.strip() for p in self.section.split(">") if p.strip()]


@dataclass(frozen=True)
class Topic:
    """A heading inside a chunk and the text under it."""

    title: str
    body: str


def load_chunks(project: Any) -> list[Chunk]:
    rows = project.store.query(
        "SELECT c.id, c.document_id, d.name, c.kind, c.section, c.seq, c.text, c.meta "
        "FROM chunks c JOIN documents d ON d.id = c.document_id "
        "WHERE d.status = 'imported' ORDER BY c.document_id, c.seq")
    chunks: list[Chunk] = []
    seen_sections: set[tuple[int, str]] = set()
    for row in rows:
        key = (row["document_id"], row["section"])
        try:
            meta = json.loads(row["meta"] or "{}")
        except ValueError:
            meta = {}
        chunks.append(Chunk(row["id"], row["document_id"], row["name"], row["kind"],
                            row["section"] or "", row["seq"], row["text"], meta,
                            first_of_section=key not in seen_sections))
        seen_sections.add(key)
    return chunks


# --- text layout ------------------------------------------------------------------
def unwrap(text: str) -> str:
    """Join lines a PDF wrapped mid-sentence; keep headings, list items and rows apart."""
    out: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            out.append("")
            continue
        if out and out[-1] and (line[:1].islower() or _JOIN_AFTER_RE.search(out[-1])):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return "\n".join(out)


def is_heading(line: str) -> bool:
    words = line.split()
    return (0 < len(words) <= _HEADING_MAX_WORDS and line[:1].isupper()
            and not re.search(r"[.!:;,|]$|\d|£|\$|€|@", line))


def outline(chunk: Chunk, skip: tuple[str, ...] = ()) -> list[Topic]:
    """Headings in the chunk (and its section's own heading) with the text under each.

    A line counts as a heading when it is short, has no figures or end punctuation, and
    the line after it is a sentence (so a table's header row is not taken for a heading).
    ``skip`` holds titles never to ask about (the company name, the document's title).
    """
    lines = strip_markdown(unwrap(chunk.text)).split("\n")
    topics: list[Topic] = []
    title = chunk.section_path[-1] if chunk.section_path and chunk.first_of_section else ""
    body: list[str] = []
    skipped = tuple(s.lower() for s in skip if s)

    def close() -> None:
        text = "\n".join(body).strip()
        lowered = title.lower()
        if (title and text and not _SKIP_TOPIC_RE.match(title)
                and not any(s in lowered for s in skipped) and split_sentences(text)):
            topics.append(Topic(title, text))

    for index, line in enumerate(lines):
        nxt = next((n for n in lines[index + 1:] if n), "")
        if is_heading(line) and re.search(r"[.!?:]$", nxt) and not is_heading(nxt):
            close()
            title, body = line, []
        elif line:
            body.append(line)
    close()
    return topics


def faq_pair(chunk: Chunk) -> tuple[str, str] | None:
    """(question, answer) when the chunk's own heading is a question."""
    if chunk.kind != "text" or not chunk.section_path:
        return None
    question = chunk.section_path[-1]
    if not question.endswith("?") or not chunk.first_of_section:
        return None
    kept = [s for s in split_sentences(unwrap(chunk.text)) if not has_placeholder(s)]
    answer = normalise_space(" ".join(kept))
    return (question, answer) if answer else None


def ticket_pair(chunk: Chunk) -> tuple[str, str] | None:
    """(customer message, agent reply), both cleaned of greetings, sign-offs and placeholders."""
    if chunk.kind != "ticket":
        return None
    message = clean_message(str(chunk.meta.get("customer_message", "")))
    reply = clean_reply(str(chunk.meta.get("agent_reply", "")))
    return (message, reply) if message and reply else None


def ticket_subject(chunk: Chunk) -> str:
    return normalise_space(str(chunk.meta.get("subject", "")))


def thread_parent(subject: str) -> str | None:
    """"Re: Viewing for 2-bed" -> "Viewing for 2-bed"; None when not a reply."""
    match = re.match(r"^\s*(re|fw|fwd)\s*:\s*(.+)$", subject, re.IGNORECASE)
    return match.group(2).strip() if match else None


# --- roles and questions ---------------------------------------------------------------
@lru_cache(maxsize=1)
def _aliases() -> dict[str, list[str]]:
    return {str(k): [str(a).lower() for a in v]
            for k, v in (prompts.data("role_templates", "aliases") or {}).items()}


def section_role(section: str, roles: list[str]) -> str | None:
    """The customer role a section is written for ("Part A: For tenants > Rent" -> tenant)."""
    text = section.lower()
    for part in [p.strip() for p in text.split(">")]:
        for role in roles:
            names = {role, role + "s", *_aliases().get(role, [])}
            if any(re.search(rf"\b{re.escape(n)}\b", part) for n in names):
                return role
    return None


def customer_words(topic: str) -> str:
    """A heading as the customer would say it: "Your deposit" -> "my deposit"."""
    out = []
    for word in topic.split():
        bare = word.lower().strip(",.")
        out.append(_PRONOUNS.get(bare, word if word.isupper() and len(word) > 1 else
                                 word.lower()))
    return " ".join(out)


def topic_question(topic: str, role: str, seed: int) -> tuple[str, str]:
    """A question about a heading, from the role's templates; (question, template id)."""
    words = customer_words(topic)
    if _QUESTION_WORD_RE.match(topic) and not re.match(r"^how to\b", topic, re.IGNORECASE):
        return words[:1].upper() + words[1:].rstrip("?") + "?", "heading:as-is"
    if re.match(r"^how to\b", topic, re.IGNORECASE):
        return "How do I " + words[7:].rstrip("?") + "?", "heading:how-to"
    if re.match(r"^if\b", topic, re.IGNORECASE):
        return f"What happens {words}?", "heading:if"
    if re.match(r"^(before|after|during|when)\b", topic, re.IGNORECASE):
        return f"What should I do {words}?", "heading:when"
    templates = prompts.data("role_templates", "heading_questions")
    choices = templates.get(role) or templates["default"]
    index = random.Random(seed).randrange(len(choices))
    return str(choices[index]).format(topic=words), f"heading_questions.{role}[{index}]"


def answer_sentences(text: str) -> list[str]:
    """Sentences fit for an answer: whole sentences without redacted data (no table rows,
    headings or list intros)."""
    return [s for s in split_sentences(unwrap(text))
            if re.search(r"[.!?][\"')\]’”]*$", s) and len(s.split()) >= 3
            and not has_placeholder(s)]


def short_answer(text: str, max_words: int = 70, max_sentences: int = 3) -> str:
    """The first sentences of ``text`` up to a length a chat answer can have."""
    out: list[str] = []
    count = 0
    for sentence in answer_sentences(text):
        n = len(sentence.split())
        if out and (count + n > max_words or len(out) >= max_sentences):
            break
        out.append(sentence)
        count += n
    return " ".join(out)
