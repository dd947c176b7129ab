"""Text and structure out of each supported file format, with one clear message per failure.

Every extractor returns sections (heading path + text + page) for the chunker. Parsers are
imported inside functions: the GUI imports this module at start-up and must stay fast.
Ticket exports (CSV, JSON, JSONL) are read by ``core.documents.tickets`` instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.documents.chunking import Section
from core.errors import TalkSmallError

DOCUMENT_SUFFIXES = frozenset({".pdf", ".docx", ".txt", ".md", ".markdown", ".html", ".htm"})
TICKET_SUFFIXES = frozenset({".csv", ".json", ".jsonl"})
SUPPORTED_SUFFIXES = DOCUMENT_SUFFIXES | TICKET_SUFFIXES
FORMAT_OF_SUFFIX = {".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".md": "md",
                    ".markdown": "md", ".html": "html", ".htm": "html", ".csv": "csv",
                    ".json": "json", ".jsonl": "jsonl"}

_MD_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(```|~~~)")
# Private-use characters (not whitespace, unlike the ASCII separators) that mark block
# boundaries and heading lines in the text rebuilt from HTML.
_BLOCK_MARK = "\ue000"
_HEADING_MARK = "\ue001"
_HTML_DROP = ("script", "style", "nav", "noscript", "template", "iframe", "svg", "head",
              "object", "embed", "canvas")
_HTML_BLOCKS = ("p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "section",
                "article", "main", "aside", "header", "footer", "blockquote", "pre", "figure",
                "figcaption", "address", "form", "fieldset", "hr", "br", "td", "th")
_WESTERN = "cp1252"
_WESTERN_SLACK = 0.15  # how much more "chaos" (charset-normalizer's mess score) we accept
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class DocumentError(TalkSmallError):
    """One file cannot be imported; the message names the file."""

    code = "document"


class ImportCancelled(Exception):
    """Raised between pages or files when the operator cancels."""


@dataclass
class Extraction:
    sections: list[Section]
    pages: int  # pages (PDF) or sections
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


StopCheck = Callable[[], bool]


def format_of(path: Path) -> str:
    return FORMAT_OF_SUFFIX.get(path.suffix.lower(), path.suffix.lower().lstrip("."))


def extract_document(data: bytes, name: str, fmt: str,
                     should_stop: StopCheck | None = None) -> Extraction:
    """Sections of a document file (not a ticket export). Raises DocumentError."""
    if fmt == "pdf":
        from core.documents.pdf_docx import extract_pdf

        extraction = extract_pdf(data, name, should_stop)
    elif fmt == "docx":
        from core.documents.pdf_docx import extract_docx

        extraction = extract_docx(data, name)
    elif fmt in ("txt", "md"):
        text, encoding = decode_text(data, name)
        extraction = Extraction(markdown_sections(text.splitlines()), 0, {"encoding": encoding})
    elif fmt == "html":
        extraction = extract_html(data, name)
    else:
        raise DocumentError(f"{name}: the format '{fmt}' is not a document format.",
                            "Import it as a ticket export, or convert it to PDF or DOCX.")
    if not any(s.text.strip() for s in extraction.sections):
        raise DocumentError(f"{name} has no text to import.",
                            "Check that the file is the one you meant; it looks empty.")
    if fmt != "pdf":
        extraction.pages = len(extraction.sections)
    return extraction


# --- plain text and Markdown ----------------------------------------------------
def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """The text and the encoding it was in; refuses files that look binary."""
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"),
                          (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
                          (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return _refuse_binary(data.decode(encoding), name), encoding
            except UnicodeDecodeError:
                break
    if b"\x00" in data[:65536]:
        raise _binary_error(name)
    try:
        return _refuse_binary(data.decode("utf-8"), name), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise _binary_error(name)
    # Western European text often decodes cleanly in cp1250, cp1252 and cp1257 alike, and
    # charset-normalizer breaks such ties arbitrarily; Windows-1252 is by far the likeliest.
    western = next((m for m in matches if m.encoding == _WESTERN
                    or _WESTERN in m.could_be_from_charset), None)
    if western is not None and western.chaos <= best.chaos + _WESTERN_SLACK:
        try:
            return _refuse_binary(data.decode(_WESTERN), name), _WESTERN
        except UnicodeDecodeError:
            pass
    return _refuse_binary(str(best), name), best.encoding


def _refuse_binary(text: str, name: str) -> str:
    sample = text[:65536]
    if sample and len(_CONTROL_RE.findall(sample)) > max(2, len(sample) // 200):
        raise _binary_error(name)
    return text


def _binary_error(name: str) -> DocumentError:
    return DocumentError(f"{name} looks like a binary file, not text.",
                         "Check the file; if it is a document, give it its real extension "
                         "(.pdf, .docx, ...).")


def markdown_sections(lines: Iterable[str], heading: Callable[[str], tuple[int, str] | None]
                      | None = None) -> list[Section]:
    """Sections split at heading lines ('#' headings by default), with the heading path."""
    heading = heading or _markdown_heading
    stack: list[tuple[int, str]] = []
    sections: list[Section] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(body).strip("\n")
        if text.strip():
            sections.append(Section(tuple(t for _lvl, t in stack), text))
        body.clear()

    for line in lines:
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        found = None if in_fence else heading(line)
        if found is None:
            body.append(line.rstrip())
            continue
        flush()
        level, title = found
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
    flush()
    return sections


def _markdown_heading(line: str) -> tuple[int, str] | None:
    match = _MD_HEADING_RE.match(line)
    if not match or not match.group(2).strip():
        return None
    return len(match.group(1)), match.group(2).strip()


# --- HTML ---------------------------------------------------------------------------
def extract_html(data: bytes, name: str) -> Extraction:
    """Visible text of a page: scripts, styles and navigation dropped, headings kept."""
    from bs4 import BeautifulSoup

    text, encoding = decode_text(data, name)
    try:
        soup = BeautifulSoup(text, "lxml")
    except Exception as exc:  # lxml copes with nearly anything; this is the last resort
        raise DocumentError(f"{name} could not be read as HTML ({exc}).",
                            "Open it in a browser and save it again.") from exc
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup(list(_HTML_DROP)):
        tag.decompose()
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            words = tag.get_text(" ", strip=True)
            tag.replace_with(f"{_BLOCK_MARK}{_HEADING_MARK}{level} {words}{_BLOCK_MARK}"
                             if words else _BLOCK_MARK)
    for tag in soup.find_all(list(_HTML_BLOCKS)):
        tag.insert_before(_BLOCK_MARK)
        tag.insert_after(_BLOCK_MARK)
    flat = re.sub(r"\s+", " ", soup.get_text())
    blocks = [b.strip() for b in flat.split(_BLOCK_MARK)]
    lines: list[str] = []
    for block in blocks:
        if block:
            lines.extend((block, ""))
    sections = markdown_sections(lines, _html_heading)
    return Extraction(sections, 0, {"encoding": encoding, "title": title})


def _html_heading(line: str) -> tuple[int, str] | None:
    if not line.startswith(_HEADING_MARK):
        return None
    level, _, title = line[1:].partition(" ")
    return int(level), title.strip()
