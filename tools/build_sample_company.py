"""Rebuild the shipped sample company (resources/sample_company) from its text sources.

    python tools/build_sample_company.py          # write handbook.pdf, faq.docx, tickets.csv,
                                                  # pii_manifest.json
    python tools/build_sample_company.py --check  # rebuild in memory, fail if anything differs

Sources (plain text, readable and editable) live in resources/sample_company/source/:

- handbook.md: a small Markdown subset (front matter, #/##/### headings, paragraphs, "- " bullets,
  pipe tables, **bold**, and "@pagebreak" lines) rendered to handbook.pdf with fpdf2.
- faq.md: "# Role" groups and "## Question" headings with answer paragraphs, rendered to
  faq.docx with python-docx (questions use the built-in "Heading 2" style).
- tickets.txt: the support-ticket export, rendered to tickets.csv with the csv module. Personal
  data is marked [[kind:text]] in the source; the CSV gets the plain text and every marked item
  is listed, with character offsets, in pii_manifest.json (ground truth for redaction recall).

policies.md and company.json are hand-written and are not generated. The output is deterministic:
fixed creation dates, fixed zip timestamps, no randomness. This is a developer tool; fpdf2 and
python-docx are imported only here (pip install fpdf2 python-docx).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPANY_DIR = ROOT / "resources" / "sample_company"
SOURCE_DIR = COMPANY_DIR / "source"

FIXED_DATE = dt.datetime(2024, 1, 8, 9, 0, 0, tzinfo=dt.UTC)
ZIP_DATE = (2024, 1, 8, 9, 0, 0)

CSV_COLUMNS = [
    "ticket_id",
    "created_at",
    "channel",
    "customer_role",
    "subject",
    "customer_message",
    "agent_reply",
    "status",
]
ROLES = {"tenant", "owner", "prospect"}
CHANNELS = {"email", "web_form", "live_chat", "phone", "portal"}
STATUSES = {"open", "resolved", "closed", "escalated", "pending_customer"}
PII_KINDS = {"name", "email", "phone", "address", "iban", "card", "card_details", "bank_account"}

# Business contact details that appear in agent replies. They are not personal data; a
# redaction step may still mask them (precision), but they are not counted for recall.
COMPANY_CONTACTS = [
    "01632 960415",
    "01632 960999",
    "0800 111 999",
    "hello@kestrelquay.example",
    "repairs@kestrelquay.example",
    "accounts@kestrelquay.example",
    "complaints@kestrelquay.example",
]

# Map a few typographic characters to Latin-1 so the core PDF fonts can draw every character.
TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
)


# --------------------------------------------------------------------------------------------
# A small Markdown subset


@dataclass
class Block:
    kind: str  # h1, h2, h3, para, bullets, table, pagebreak
    text: str = ""
    items: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def read_source(name: str) -> str:
    text = (SOURCE_DIR / name).read_text(encoding="utf-8").translate(TYPOGRAPHY)
    try:
        text.encode("latin-1")
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        raise SystemExit(f"{name}: character {bad!r} is outside Latin-1") from exc
    return text


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    meta: dict[str, str] = {}
    if text.startswith("---\n"):
        end = text.index("\n---\n", 4)
        for line in text[4:end].splitlines():
            key, _, value = line.partition(":")
            meta[key.strip()] = value.strip()
        text = text[end + 5 :]
    return meta, text


def parse_markdown(text: str) -> list[Block]:
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block("para", " ".join(para)))
            para.clear()

    for raw in text.splitlines():
        line = raw.rstrip()
        if not line:
            flush()
            continue
        if line == "@pagebreak":
            flush()
            blocks.append(Block("pagebreak"))
            continue
        heading = re.match(r"^(#{1,3}) (.+)$", line)
        if heading:
            flush()
            blocks.append(Block(f"h{len(heading.group(1))}", heading.group(2).strip()))
            continue
        if line.startswith("- "):
            flush()
            if not blocks or blocks[-1].kind != "bullets":
                blocks.append(Block("bullets"))
            blocks[-1].items.append(line[2:].strip())
            continue
        if line.startswith("|"):
            flush()
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-+:?", c) for c in cells):
                continue  # the header separator row
            if not blocks or blocks[-1].kind != "table":
                blocks.append(Block("table"))
            blocks[-1].rows.append(cells)
            continue
        if blocks and blocks[-1].kind == "bullets" and raw.startswith("  ") and not para:
            blocks[-1].items[-1] += " " + line.strip()  # continuation of a bullet
            continue
        para.append(line.strip())
    flush()
    return blocks


def strip_inline(text: str) -> str:
    return text.replace("**", "")


# --------------------------------------------------------------------------------------------
# handbook.pdf (fpdf2, core fonts)

NAVY = (23, 51, 84)
TEAL = (31, 122, 122)
GREY = (90, 90, 90)
LIGHT = (232, 240, 242)


def build_handbook(company_name: str) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    meta, body = split_front_matter(read_source("handbook.md"))
    blocks = parse_markdown(body)
    title = meta.get("title", "Handbook")

    class Handbook(FPDF):
        def footer(self) -> None:
            if self.page_no() == 1:
                return
            self.set_y(-14)
            self.set_draw_color(*TEAL)
            self.set_line_width(0.3)
            self.line(self.l_margin, self.get_y() - 2, self.w - self.r_margin, self.get_y() - 2)
            self.set_font("Helvetica", "", 8)
            self.set_text_color(*GREY)
            self.cell(0, 5, f"{company_name} - {title}", align="L")
            self.set_x(self.l_margin)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    pdf = Handbook(format="A4", unit="mm")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(f"{company_name} - {title}")
    pdf.set_author(company_name)
    pdf.set_subject(meta.get("subtitle", ""))
    pdf.set_creator("tools/build_sample_company.py")
    pdf.set_producer("fpdf2")
    pdf.set_lang("en-GB")
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(True, margin=22)
    pdf.alias_nb_pages()

    # Cover
    pdf.add_page()
    pdf.set_fill_color(*NAVY)
    pdf.rect(0, 0, pdf.w, 112, style="F")
    pdf.set_fill_color(*TEAL)
    pdf.rect(0, 112, pdf.w, 4, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(22, 40)
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, company_name.upper(), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 30)
    pdf.multi_cell(0, 13, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*NAVY)
    pdf.set_xy(22, 132)
    pdf.set_font("Helvetica", "", 14)
    pdf.multi_cell(150, 7.5, meta.get("subtitle", ""), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    pdf.set_font("Helvetica", "", 11)
    pdf.set_text_color(*GREY)
    for line in (
        "For tenants, owners and people looking for a home",
        meta.get("edition", ""),
    ):
        pdf.cell(0, 6.5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(22, 250)
    pdf.set_font("Helvetica", "", 9.5)
    for line in (
        f"{company_name} Ltd, 14 Chandlers Row, Porthmere, PM1 4QA",
        "Office 01632 960415  |  24-hour emergency repairs 01632 960999",
        "hello@kestrelquay.example  |  www.kestrelquay.example",
        "Fictional company: sample data shipped with TalkSmall Studio.",
    ):
        pdf.cell(0, 5.2, line, new_x="LMARGIN", new_y="NEXT")

    # Contents page, filled in at the end
    def render_toc(pdf: FPDF, outline: list) -> None:
        pdf.set_xy(pdf.l_margin, pdf.t_margin)
        pdf.set_text_color(*NAVY)
        pdf.set_font("Helvetica", "B", 20)
        pdf.cell(0, 12, "Contents", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        for section in outline:
            if section.level > 1:
                continue
            top = section.level == 0
            if top:
                pdf.ln(2)
            pdf.set_font("Helvetica", "B" if top else "", 11 if top else 10)
            pdf.set_text_color(*(NAVY if top else (40, 40, 40)))
            indent = 0 if top else 6
            label = section.name
            page = str(section.page_number)
            width = pdf.epw - indent - 12
            pdf.set_x(pdf.l_margin + indent)
            link = pdf.add_link(page=section.page_number)
            pdf.cell(width, 6.4, label, link=link)
            pdf.cell(12, 6.4, page, align="R", new_x="LMARGIN", new_y="NEXT", link=link)

    pdf.add_page()
    pdf.insert_toc_placeholder(render_toc, pages=1)

    body_size = 10.5
    line_h = 5.2

    def heading(text: str, level: int) -> None:
        sizes = {1: 19, 2: 14, 3: 11.5}
        gaps = {1: 2, 2: 5, 3: 3.5}
        needed = {1: 40, 2: 30, 3: 22}
        if pdf.get_y() + needed[level] > pdf.page_break_trigger:
            pdf.add_page()
        elif pdf.get_y() > pdf.t_margin + 1:
            pdf.ln(gaps[level])
        if level < 3:
            pdf.start_section(text, level=level - 1)
        pdf.set_font("Helvetica", "B", sizes[level])
        pdf.set_text_color(*(NAVY if level < 3 else TEAL))
        pdf.multi_cell(0, sizes[level] * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        if level == 1:
            pdf.set_draw_color(*TEAL)
            pdf.set_line_width(0.6)
            y = pdf.get_y() + 1.5
            pdf.line(pdf.l_margin, y, pdf.l_margin + 30, y)
            pdf.ln(6)
        else:
            pdf.ln(1.5)

    def body_font() -> None:
        pdf.set_font("Helvetica", "", body_size)
        pdf.set_text_color(30, 30, 30)

    for block in blocks:
        if block.kind == "pagebreak":
            pdf.add_page()
        elif block.kind in {"h1", "h2", "h3"}:
            heading(block.text, int(block.kind[1]))
        elif block.kind == "para":
            body_font()
            pdf.multi_cell(
                0, line_h, block.text, markdown=True, new_x="LMARGIN", new_y="NEXT", align="L"
            )
            pdf.ln(2.2)
        elif block.kind == "bullets":
            body_font()
            for item in block.items:
                if pdf.get_y() + line_h * 2 > pdf.page_break_trigger:
                    pdf.add_page()
                y = pdf.get_y()
                pdf.set_fill_color(*TEAL)
                pdf.circle(x=pdf.l_margin + 2.2, y=y + line_h / 2, radius=0.8, style="F")
                pdf.set_x(pdf.l_margin + 6)
                pdf.multi_cell(
                    pdf.epw - 6,
                    line_h,
                    item,
                    markdown=True,
                    new_x="LMARGIN",
                    new_y="NEXT",
                    align="L",
                )
                pdf.ln(0.8)
            pdf.ln(1.6)
        elif block.kind == "table":
            ncols = len(block.rows[0])
            widths = {2: (45, 55), 3: (28, 45, 27)}.get(ncols)
            pdf.set_font("Helvetica", "", 9.2)
            pdf.set_text_color(30, 30, 30)
            pdf.set_draw_color(180, 190, 195)
            pdf.set_line_width(0.2)
            pdf.set_fill_color(255, 255, 255)
            headings_style = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=NAVY)
            with pdf.table(
                col_widths=widths,
                line_height=4.8,
                padding=1.6,
                text_align="LEFT",
                headings_style=headings_style,
                cell_fill_color=LIGHT,
                cell_fill_mode="ROWS",
                markdown=True,
            ) as table:
                for row in block.rows:
                    cells = table.row()
                    for value in row:
                        cells.cell(value)
            pdf.ln(4)
    return bytes(pdf.output())


# --------------------------------------------------------------------------------------------
# faq.docx (python-docx)


def parse_faq() -> tuple[dict[str, str], list[tuple[str, list[tuple[str, list[str]]]]]]:
    meta, body = split_front_matter(read_source("faq.md"))
    groups: list[tuple[str, list[tuple[str, list[str]]]]] = []
    for block in parse_markdown(body):
        if block.kind == "h1":
            groups.append((block.text, []))
        elif block.kind == "h2":
            groups[-1][1].append((block.text, []))
        elif block.kind == "para":
            groups[-1][1][-1][1].append(block.text)
        else:
            raise SystemExit(f"faq.md: unsupported block {block.kind}")
    return meta, groups


def normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip (docx) with fixed timestamps so rebuilding gives identical bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def build_faq(company_name: str) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    meta, groups = parse_faq()
    doc = Document()
    props = doc.core_properties
    naive = FIXED_DATE.replace(tzinfo=None)
    props.author = company_name
    props.last_modified_by = company_name
    props.title = f"{company_name} - {meta.get('title', 'FAQ')}"
    props.subject = "Frequently asked questions for tenants, owners and prospects"
    props.keywords = "lettings, tenants, owners, prospects, FAQ"
    props.comments = "Fictional sample data shipped with TalkSmall Studio."
    props.created = naive
    props.modified = naive
    props.last_printed = naive
    props.revision = 1

    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)
    navy = RGBColor(*NAVY)
    for style_name in ("Title", "Heading 1", "Heading 2"):
        doc.styles[style_name].font.color.rgb = navy

    doc.add_heading(meta.get("title", "Frequently Asked Questions"), level=0)
    intro = doc.add_paragraph(meta.get("subtitle", ""))
    intro.runs[0].italic = True
    doc.add_paragraph(
        "If your question is not answered here, contact us on 01632 960415 (Monday to Friday "
        "9:00-17:30, Saturday 10:00-13:00) or at hello@kestrelquay.example. For emergency "
        "repairs, phone 01632 960999 at any time."
    )
    for role, pairs in groups:
        doc.add_heading(role, level=1)
        for question, answer in pairs:
            doc.add_heading(question, level=2)
            for para in answer:
                p = doc.add_paragraph(strip_inline(para))
                p.paragraph_format.space_after = Pt(6)
    footer = doc.sections[0].footer.paragraphs[0]
    footer.text = f"{company_name} - Frequently Asked Questions - January 2024 (fictional sample)"
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    buf = io.BytesIO()
    doc.save(buf)
    return normalise_zip(buf.getvalue())


# --------------------------------------------------------------------------------------------
# tickets.csv and pii_manifest.json

MARK = re.compile(r"\[\[([a-z_]+):(.+?)\]\]", re.S)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w£])\+?\(?\d[\d ()-]{8,}\d(?!\w)")


@dataclass
class Ticket:
    header: dict[str, str]
    customer: str
    agent: str


def parse_tickets() -> list[Ticket]:
    text = read_source("tickets.txt")
    tickets: list[Ticket] = []
    chunks = re.split(r"(?m)^=== ", text)
    for chunk in chunks[1:]:
        ticket_id, _, rest = chunk.partition("\n")
        head, _, rest = rest.partition("--- customer\n")
        customer, _, agent = rest.partition("--- agent\n")
        header = {"ticket_id": ticket_id.strip()}
        for line in head.strip().splitlines():
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
        tickets.append(Ticket(header, customer.strip(), agent.strip()))
    return tickets


def unmark(text: str, ticket_id: str, field_name: str, items: list[dict]) -> str:
    out: list[str] = []
    pos = 0
    length = 0
    for m in MARK.finditer(text):
        kind, value = m.group(1), m.group(2)
        if kind not in PII_KINDS:
            raise SystemExit(f"{ticket_id}: unknown PII kind {kind!r}")
        before = text[pos : m.start()]
        out.append(before)
        length += len(before)
        items.append(
            {
                "ticket_id": ticket_id,
                "field": field_name,
                "kind": kind,
                "text": value,
                "start": length,
                "end": length + len(value),
            }
        )
        out.append(value)
        length += len(value)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def check_unmarked(row: dict[str, str], items: list[dict]) -> None:
    """Fail when personal data in a ticket is not marked (so the manifest stays complete)."""
    tid = row["ticket_id"]
    for field_name in ("customer_message", "agent_reply", "subject"):
        text = row[field_name]
        spans = [
            (i["start"], i["end"])
            for i in items
            if i["ticket_id"] == tid and i["field"] == field_name
        ]

        def covered(start: int, end: int, spans: list[tuple[int, int]] = spans) -> bool:
            return any(s <= start and end <= e for s, e in spans)

        for pattern in (EMAIL, PHONE):
            for m in pattern.finditer(text):
                value = m.group(0).strip()
                if covered(m.start(), m.end()) or value in COMPANY_CONTACTS:
                    continue
                if pattern is PHONE and not re.search(r"\d{3}.*\d{3}", value):
                    continue
                if any(value in c or c in value for c in COMPANY_CONTACTS):
                    continue
                if pattern is PHONE and re.fullmatch(r"[\d ,]+", value) and "," in value:
                    continue
                raise SystemExit(f"{tid}: unmarked {pattern.pattern[:12]}... {value!r}")
        tokens = {
            tok
            for i in items
            if i["ticket_id"] == tid and i["kind"] == "name"
            for tok in re.findall(r"[A-Z][a-z]{2,}", i["text"])
        }
        for tok in tokens:
            for m in re.finditer(rf"\b{re.escape(tok)}\b", text):
                if not covered(m.start(), m.end()):
                    raise SystemExit(f"{tid}: name {tok!r} in {field_name} is not marked")


def build_tickets() -> tuple[bytes, bytes]:
    tickets = parse_tickets()
    items: list[dict] = []
    rows: list[dict[str, str]] = []
    action_claims: list[str] = []
    seen: set[str] = set()
    for t in tickets:
        h = t.header
        tid = h["ticket_id"]
        if tid in seen:
            raise SystemExit(f"duplicate ticket {tid}")
        seen.add(tid)
        created = dt.datetime.fromisoformat(h["created_at"])
        if h["customer_role"] not in ROLES:
            raise SystemExit(f"{tid}: bad role {h['customer_role']}")
        if h["channel"] not in CHANNELS:
            raise SystemExit(f"{tid}: bad channel {h['channel']}")
        if h["status"] not in STATUSES:
            raise SystemExit(f"{tid}: bad status {h['status']}")
        if h["channel"] == "live_chat" and (
            created.weekday() > 4 or not dt.time(9) <= created.time() <= dt.time(17, 30)
        ):
            raise SystemExit(f"{tid}: live chat outside its hours")
        if h.get("action_claim") == "yes":
            action_claims.append(tid)
        row = {
            "ticket_id": tid,
            "created_at": created.isoformat(),
            "channel": h["channel"],
            "customer_role": h["customer_role"],
            "subject": unmark(h["subject"], tid, "subject", items),
            "customer_message": unmark(t.customer, tid, "customer_message", items),
            "agent_reply": unmark(t.agent, tid, "agent_reply", items),
            "status": h["status"],
        }
        check_unmarked(row, items)
        for item in items:
            if item["ticket_id"] == tid:
                assert row[item["field"]][item["start"] : item["end"]] == item["text"]
        rows.append(row)

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    csv_bytes = buf.getvalue().encode("utf-8")

    counts: dict[str, int] = {}
    for item in items:
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    manifest = {
        "description": (
            "Ground truth for the personal data planted in tickets.csv (all fictional). "
            "start/end are character offsets into the named CSV field. company_contacts are "
            "business details that appear in agent replies and are not personal data. "
            "action_claims lists tickets whose agent reply claims an account action "
            "(refund, waiver, payment, change of records) that an assistant cannot take."
        ),
        "source": "tickets.csv",
        "rows": len(rows),
        "counts": dict(sorted(counts.items())),
        "distinct_values": {
            kind: len({i["text"] for i in items if i["kind"] == kind}) for kind in sorted(counts)
        },
        "items": items,
        "company_contacts": COMPANY_CONTACTS,
        "action_claims": action_claims,
    }
    manifest_bytes = (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    return csv_bytes, manifest_bytes


# --------------------------------------------------------------------------------------------


def build_all() -> dict[str, bytes]:
    company = json.loads((COMPANY_DIR / "company.json").read_text(encoding="utf-8"))
    name = company["company_name"]
    csv_bytes, manifest_bytes = build_tickets()
    return {
        "handbook.pdf": build_handbook(name),
        "faq.docx": build_faq(name),
        "tickets.csv": csv_bytes,
        "pii_manifest.json": manifest_bytes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if outputs are out of date")
    args = parser.parse_args(argv)
    outputs = build_all()
    stale = []
    for filename, data in outputs.items():
        path = COMPANY_DIR / filename
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(filename)
            continue
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ROOT)} ({len(data):,} bytes)")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
