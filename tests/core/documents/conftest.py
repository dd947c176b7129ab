"""Real files for the Documents tests, good and bad, generated with the real libraries.

Nothing here is a hand-written imitation of a format: PDFs come from fpdf2 and pypdf, DOCX
files from python-docx and zipfile, images from Pillow. Each fixture writes its file into
the test's temporary folder and returns the path.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.project import Project, create_project
from core.sample import sample_documents

CP1252_TEXT = ("# Café notes\n\nThe tenant’s deposit – £500 – is held “safely”. Naïve résumé, "
               "à bientôt, garçon; 5 € fee.\n\n## Straße\n\nGrüße aus München.\n")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    proj = create_project(tmp_path / "project", company_name="Test Lets")
    yield proj
    proj.close()


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def sample_files() -> dict[str, Path]:
    return {p.name: p for p in sample_documents()}


# --- PDF ------------------------------------------------------------------------------
def make_text_pdf(path: Path, pages: int, headings: bool = True) -> Path:
    """A text PDF with a heading and paragraphs on every page, and an outline."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    for number in range(1, pages + 1):
        pdf.add_page()
        if headings:
            pdf.start_section(f"Chapter {number}")
            pdf.set_font("helvetica", "B", 14)
            pdf.cell(0, 10, f"Chapter {number}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=10)
        pdf.multi_cell(0, 5, f"Page {number} says: the rent is due on day {number}. " * 12)
        pdf.ln(3)
        pdf.multi_cell(0, 5, "A second paragraph about repairs and deposits. " * 10)
    pdf.output(str(path))
    return path


@pytest.fixture
def text_pdf(inbox: Path) -> Path:
    return make_text_pdf(inbox / "guide.pdf", 3)


@pytest.fixture
def corrupt_pdf(inbox: Path) -> Path:
    noise = random.Random(1).randbytes(3000)
    path = inbox / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.7\n" + noise + b"\n%%EOF\n")
    return path


@pytest.fixture
def encrypted_pdf(inbox: Path, sample_files: dict[str, Path]) -> Path:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=str(sample_files["handbook.pdf"]))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    path = inbox / "locked.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    return path


@pytest.fixture
def owner_only_pdf(inbox: Path, text_pdf: Path) -> Path:
    """Encrypted with an empty user password: viewers open it without asking."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=str(text_pdf))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    path = inbox / "restricted.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    return path


@pytest.fixture
def scanned_pdf(inbox: Path) -> Path:
    """Pages that are only an image of text, as a scanner makes them: no text layer."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 800), "white")
    draw = ImageDraw.Draw(image)
    for line in range(20):
        draw.text((40, 40 + line * 30), f"Scanned tenancy agreement, clause {line}",
                  fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.image(io.BytesIO(buffer.getvalue()), x=10, y=10, w=180)
    path = inbox / "scan.pdf"
    pdf.output(str(path))
    return path


# --- DOCX ---------------------------------------------------------------------------
def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Tenant guide", level=0)
    document.add_paragraph("Welcome to your new home.")
    document.add_heading("Rent", level=1)
    document.add_paragraph("Rent is due on the first day of the month.")
    document.add_heading("Late rent", level=2)
    document.add_paragraph("A late fee of £30 applies after 14 days.")
    document.add_heading("Repairs", level=1)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Priority", "Attends within"
    table.cell(1, 0).text, table.cell(1, 1).text = "Emergency", "4 hours"
    document.save(str(path))
    return path


@pytest.fixture
def good_docx(inbox: Path) -> Path:
    return make_docx(inbox / "guide.docx")


@pytest.fixture
def zip_bomb_docx(inbox: Path) -> Path:
    """A zip whose document.xml unpacks to 64 MB from about 64 KB (ratio ~1000)."""
    path = inbox / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(64):
                member.write(block)
    return path


@pytest.fixture
def not_zip_docx(inbox: Path) -> Path:
    path = inbox / "old-format.docx"
    # An OLE2 header, as an old Word .doc renamed to .docx starts.
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000)
    return path


# --- text -------------------------------------------------------------------------------
@pytest.fixture
def binary_txt(inbox: Path) -> Path:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, format="PNG")
    path = inbox / "notes.txt"
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def empty_file(inbox: Path) -> Path:
    path = inbox / "empty.md"
    path.write_bytes(b"")
    return path


@pytest.fixture
def cp1252_txt(inbox: Path) -> Path:
    path = inbox / "legacy.txt"
    path.write_bytes(CP1252_TEXT.encode("cp1252"))
    return path


@pytest.fixture
def latin1_md(inbox: Path) -> Path:
    path = inbox / "french.md"
    path.write_bytes(("# Règles\n\nLe café est très bon. Où est la gare? Déjà vu, élève, "
                      "à côté.\n" * 10).encode("latin-1"))
    return path


@pytest.fixture
def oversize_pdf(inbox: Path) -> Path:
    """An 80 MB file (sparse: costs no disk) against the default 50 MB limit."""
    path = inbox / "huge.pdf"
    with path.open("wb") as handle:
        handle.write(b"%PDF-1.7\n")
        handle.truncate(80 * 1024 * 1024)
    return path


@pytest.fixture
def script_html(inbox: Path) -> Path:
    scripts = "".join(f"<script>var tracker{i} = function() {{ return {i}; }};</script>"
                      for i in range(50))
    html = f"""<!doctype html><html><head><title>Pet policy</title>
<style>body {{ color: red; }} .secret {{ display: none }}</style>{scripts}</head>
<body onload="init()"><nav><a href="/">Home</a> | <a href="/about">About us</a></nav>
{scripts}<h1>Pets</h1><p>Small pets are allowed with
   written consent.</p><script>document.write("injected text")</script>
<h2>Deposits</h2><p>No extra deposit for a cat.</p><noscript>Enable JavaScript</noscript>
<style>p {{ margin: 0 }}</style><ul><li>Dogs: ask first</li><li>Fish: fine</li></ul>
</body></html>"""
    path = inbox / "pets.html"
    path.write_text(html, encoding="utf-8")
    return path


# --- tickets ----------------------------------------------------------------------------
@pytest.fixture
def ragged_csv(inbox: Path) -> Path:
    lines = [
        "ticket_id,created_at,customer_message,agent_reply",
        "T1,2024-01-01,My boiler is broken,We will send someone",
        "T2,2024-01-02,Too few fields",
        "T3,2024-01-03,Where do I pay rent?,Use the portal",
        "T4,2024-01-04,Too,many,fields,here",
        "T5,2024-01-05,Can I keep a cat?,Yes with consent",
    ]
    path = inbox / "ragged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def semicolon_csv(inbox: Path) -> Path:
    lines = [
        "Ticket #;Date;Customer Message;Agent Response;Subject",
        "A-1;03/01/2024;\"Hello; my rent is late, sorry\";No problem, pay by Friday;Rent",
        "A-2;04/01/2024;The café's heating – broken;We’ll send an engineer;Heating",
    ]
    path = inbox / "export.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path
