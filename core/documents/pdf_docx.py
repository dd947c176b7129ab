"""PDF (pypdf) and DOCX (python-docx) extraction, with the checks that keep bad files out.

PDF headings come from the document outline (bookmarks) where it has one: a text line equal
to an outline title on its page starts a section. Running headers and footers (a first or
last line repeated on most pages) are dropped. A DOCX is a zip file, so its central
directory is checked for zip-bomb sizes before python-docx decompresses anything.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from typing import Any

from core.documents.chunking import Section
from core.documents.formats import DocumentError, Extraction, ImportCancelled, StopCheck

# A DOCX whose parts would unpack to more than this, or compress better than the ratio,
# is refused before it is opened (real documents compress 3-30x; zip bombs 1000x+).
MAX_DOCX_UNPACKED = 512 * 1024 * 1024
MAX_DOCX_RATIO = 200
_RATIO_MIN_SIZE = 1024 * 1024  # tiny parts may compress absurdly well and are harmless

_DIGITS_RE = re.compile(r"\d+")
_RUNNING_MAX = 90  # running headers and footers are short lines


# --- PDF ----------------------------------------------------------------------------
def extract_pdf(data: bytes, name: str, should_stop: StopCheck | None = None) -> Extraction:
    import pypdf

    # pypdf logs every repaired oddity as a warning; the operator gets our summary instead.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise _damaged_pdf(name, exc) from exc
    if encrypted:
        try:
            opened = reader.decrypt("")  # owner-only protection opens without a password
        except Exception:
            opened = 0
        if not opened:
            raise DocumentError(f"{name} is password-protected.",
                                "Open it with its password and save or print a copy without "
                                "one, then import that copy.")
    try:
        pages = list(reader.pages)
    except Exception as exc:
        raise _damaged_pdf(name, exc) from exc
    if not pages:
        raise DocumentError(f"{name} has no pages.", "Check that it is the file you meant.")

    texts: list[list[str]] = []
    unreadable: list[int] = []
    for index, page in enumerate(pages):
        if should_stop is not None and should_stop():
            raise ImportCancelled
        try:
            text = page.extract_text() or ""
        except Exception:
            text = ""
            unreadable.append(index + 1)
        texts.append([line.rstrip() for line in text.splitlines()])
    if not any(line.strip() for lines in texts for line in lines):
        if unreadable:
            raise _damaged_pdf(name, None)
        raise DocumentError(f"{name}: no text layer, OCR is not supported.",
                            "It looks like a scan. Import the document it was scanned from, "
                            "or a PDF with selectable text.")
    headings = _outline_headings(reader, pages)
    _drop_running_lines(texts, {title for found in headings.values() for _l, title in found})
    sections = _pdf_sections(texts, headings)
    warnings = []
    blank = [i + 1 for i, lines in enumerate(texts) if not any(x.strip() for x in lines)]
    blank = [p for p in blank if p not in unreadable]
    if unreadable:
        warnings.append(f"pages {_page_list(unreadable)} could not be read")
    if blank and len(blank) < len(pages):
        warnings.append(f"pages {_page_list(blank)} have no text layer (OCR is not supported)")
    meta: dict[str, Any] = {"outline": bool(headings)}
    try:
        title = (reader.metadata or {}).get("/Title")
        if title:
            meta["title"] = str(title)
    except Exception:
        pass
    return Extraction(sections, len(pages), meta, warnings)


def _damaged_pdf(name: str, exc: Exception | None) -> DocumentError:
    detail = f" ({type(exc).__name__}: {exc})" if exc else ""
    return DocumentError(f"{name} is damaged or not a PDF{detail}.",
                         "Open it in a PDF viewer; if it opens, print it to a new PDF and "
                         "import that.")


def _outline_headings(reader: Any, pages: list[Any]) -> dict[int, list[tuple[int, str]]]:
    """Page index -> [(depth, title)] from the PDF outline; empty when there is none."""
    index_of = {page.indirect_reference.idnum: i for i, page in enumerate(pages)
                if page.indirect_reference is not None}
    found: dict[int, list[tuple[int, str]]] = {}

    def page_of(item: Any) -> int | None:
        target = item.get("/Page")
        idnum = getattr(target, "idnum", None)
        if idnum in index_of:
            return index_of[idnum]  # the common case, without pypdf's page-tree walk
        return reader.get_destination_page_number(item)

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            try:
                page = page_of(item)
                title = " ".join(str(item.title).split())
            except Exception:
                continue
            if page is not None and page >= 0 and title:
                found.setdefault(page, []).append((depth, title))

    try:
        walk(reader.outline, 1)
    except Exception:
        return {}
    return found


def _drop_running_lines(texts: list[list[str]], keep: set[str]) -> None:
    """Remove header/footer lines that repeat (numbers aside) on at least half the pages.

    Only short lines among the first or last two of a page qualify, and outline titles
    ("Chapter 3") are headings, not running lines.
    """
    if len(texts) < 3:
        return
    edges: Counter[str] = Counter()
    for lines in texts:
        kept = [x for x in lines if x.strip()]
        keys = {_DIGITS_RE.sub("#", x.strip()) for x in (kept[:2] + kept[-2:])
                if len(x.strip()) <= _RUNNING_MAX and " ".join(x.split()) not in keep}
        edges.update(keys)
    running = {key for key, n in edges.items() if n >= max(3, len(texts) // 2)}
    if not running:
        return
    for lines in texts:
        lines[:] = [x for x in lines if _DIGITS_RE.sub("#", x.strip()) not in running]


def _pdf_sections(texts: list[list[str]], headings: dict[int, list[tuple[int, str]]]
                  ) -> list[Section]:
    stack: list[tuple[int, str]] = []
    sections: list[Section] = []

    def enter(level: int, title: str) -> None:
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))

    for index, lines in enumerate(texts):
        pending = list(headings.get(index, []))
        titles = {title for _lvl, title in pending}
        if pending and not any(" ".join(x.split()) in titles for x in lines):
            for level, title in pending:  # titles not printed on the page: start there
                enter(level, title)
            pending = []
        body: list[str] = []
        for line in lines:
            key = " ".join(line.split())
            match = next((h for h in pending if h[1] == key), None)
            if match is None:
                body.append(line)
                continue
            if "\n".join(body).strip():
                sections.append(Section(tuple(t for _l, t in stack), "\n".join(body), index + 1))
            body = []
            pending.remove(match)
            enter(*match)
        if "\n".join(body).strip():
            sections.append(Section(tuple(t for _l, t in stack), "\n".join(body), index + 1))
    return sections


def _page_list(pages: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(p) for p in pages[:limit])
    return shown + (f" and {len(pages) - limit} more" if len(pages) > limit else "")


# --- DOCX ---------------------------------------------------------------------------
def check_docx_zip(data: bytes, name: str) -> None:
    """Refuse a DOCX that is not a zip, not a Word document, or would unpack to a bomb."""
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentError(f"{name} is not a valid DOCX file (it is not a zip archive).",
                            "If it is an old .doc or another format renamed to .docx, open it "
                            "in Word or LibreOffice and save it as .docx.") from exc
    with archive:
        infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    worst = max((info.file_size / max(info.compress_size, 1) for info in infos
                 if info.file_size >= _RATIO_MIN_SIZE), default=0.0)
    if total > MAX_DOCX_UNPACKED or worst > MAX_DOCX_RATIO:
        raise DocumentError(
            f"{name} looks like a zip bomb (it would unpack to {total / 2**20:,.0f} MB, "
            f"compressed up to {worst:,.0f}x); it was not opened.",
            "Do not open it elsewhere either; ask whoever sent it for the real document.")
    if "word/document.xml" not in {info.filename for info in infos}:
        raise DocumentError(f"{name} is a zip archive but not a Word document.",
                            "Open it in Word or LibreOffice and save it as .docx.")


def extract_docx(data: bytes, name: str) -> Extraction:
    check_docx_zip(data, name)
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        items = list(document.iter_inner_content())
    except Exception as exc:
        raise DocumentError(f"{name} is damaged ({type(exc).__name__}: {exc}).",
                            "Open it in Word or LibreOffice and save it again.") from exc
    stack: list[tuple[int, str]] = []
    sections: list[Section] = []
    body: list[str] = []

    def flush() -> None:
        text = "\n\n".join(body).strip()
        if text:
            sections.append(Section(tuple(t for _l, t in stack), text))
        body.clear()

    for item in items:
        if isinstance(item, Table):
            body.append(_table_text(item))
            continue
        text = item.text.strip()
        level = _heading_level(item)
        if level is None or not text:
            if text:
                body.append(text)
            continue
        flush()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text))
    flush()
    return Extraction(sections, 0)


def _heading_level(paragraph: Any) -> int | None:
    try:
        style = paragraph.style.name or ""
    except Exception:
        return None
    if style == "Title":
        return 1
    match = re.fullmatch(r"Heading (\d)", style)
    return int(match.group(1)) if match else None


def _table_text(table: Any) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if not cells or cells[-1] != text:  # merged cells repeat their text
                cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
