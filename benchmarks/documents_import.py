"""Import speed against raw pypdf, and redaction recall on planted personal data.

1. Generates a 300-page text PDF (fpdf2), then times, in the same run and alternating,
   raw pypdf text extraction of every page against ``import_files`` (extraction, chunking,
   redaction and storage into a fresh project). Prints pages/s of each and the ratio, on
   wall-clock and on CPU time (the CPU ratio is steadier on a busy machine).
   Goal (issue 4): import >= 0.8x the raw extraction speed.
2. Generates support-ticket-like text with planted emails, phones, card numbers, IBANs,
   addresses and person names, runs the redactor, and prints the share of planted items
   fully covered by a redaction, per kind and overall. Goal: >= 95%.

Run: .venv/bin/python benchmarks/documents_import.py [--pages 300] [--repeat 3] [--json]
(needs the test extras: fpdf2).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FIRST = ["Priya", "Tom", "Aisha", "Oliver", "Sophie", "James", "Emily", "Mohammed", "Chloe",
         "Daniel", "Hannah", "Liam", "Grace", "Wiktoria", "Chidi", "Siobhan", "Harjit",
         "Amelia", "George", "Fatima", "Jack", "Olivia", "Ewan", "Megan", "Kwame", "Niamh"]
LAST = ["Raman", "Hughes", "Khan", "Walsh", "Turner", "Evans", "Patel", "Nowak", "Okafor",
        "Murphy", "Dhaliwal", "Clarke", "Bennett", "Taylor", "Wright", "Campbell", "Ahmed",
        "Kowalski", "Edwards", "Fletcher", "Osei", "Brennan", "Morgan", "Shaw"]
STREETS = ["Ropewalk Lane", "Harbour Street", "Mill Road", "Station Avenue", "Church Close",
           "Victoria Terrace", "Quay Parade", "Orchard Way", "Chandlers Row", "Kings Drive"]
TOWNS = ["Porthmere", "Leeds", "Bristol", "Manchester", "Norwich", "Cardiff", "York"]
POSTCODES = ["PM2 6RT", "LS1 4AP", "BS8 1TH", "M1 1AE", "NR2 4PD", "CF10 3AT", "YO1 7HH",
             "SW1A 1AA", "EC1V 9LT", "PM1 4QA"]
FILLER = ["The boiler stopped working again last night and the flat is cold.",
          "I would like to ask about the deposit return after moving out.",
          "Could you confirm when the next inspection is booked?",
          "The kitchen tap has been dripping since Monday.",
          "We are happy to give access for the contractor on Thursday morning.",
          "Thank you for sorting the window latch so quickly."]


# --- 1. speed -------------------------------------------------------------------------
def make_pdf(path: Path, pages: int, rng: random.Random) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.start_section(f"Section {number}: {rng.choice(STREETS)}")
        pdf.set_font("helvetica", "B", 14)
        pdf.cell(0, 10, f"Section {number}: tenancy notes", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=10)
        for _ in range(6):
            sentences = [rng.choice(FILLER) for _ in range(5)]
            if rng.random() < 0.3:
                who = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                sentences.append(f"Contact {who} on 07700 900{rng.randint(100, 999)} or at "
                                 f"{who.lower().replace(' ', '.')}@example.com.")
            pdf.multi_cell(0, 5, " ".join(sentences), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    pdf.output(str(path))


def raw_pypdf(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds to extract every page's text with pypdf alone."""
    import pypdf

    wall, cpu = time.perf_counter(), time.process_time()
    reader = pypdf.PdfReader(path)
    for page in reader.pages:
        page.extract_text()
    return time.perf_counter() - wall, time.process_time() - cpu


def ours(path: Path, workdir: Path, index: int) -> tuple[float, float, dict]:
    """(wall, CPU) seconds of import_files into a fresh project, and its result."""
    from core.documents import import_files
    from core.project import create_project

    project = create_project(workdir / f"project-{index}")
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        (result,) = import_files(project, [path])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        project.close()
    if result.status != "imported":
        raise SystemExit(f"import failed: {result.message}")
    return wall, cpu, result.to_dict()


def bench_speed(pages: int, repeat: int) -> dict:
    rng = random.Random(4)
    with tempfile.TemporaryDirectory(prefix="talksmall-bench-") as tmp:
        workdir = Path(tmp)
        pdf = workdir / "long.pdf"
        started = time.perf_counter()
        make_pdf(pdf, pages, rng)
        generated = time.perf_counter() - started
        import pypdf

        actual_pages = len(pypdf.PdfReader(pdf).pages)
        ours(pdf, workdir, -1)  # warm-up: imports, name lists, regexes
        raw_runs, our_runs, result = [], [], {}
        for index in range(repeat):  # alternate, so both see the same machine load
            raw_runs.append(raw_pypdf(pdf))
            wall, cpu, result = ours(pdf, workdir, index)
            our_runs.append((wall, cpu))

    def summary(runs: list[tuple[float, float]], which: int) -> dict:
        times = [r[which] for r in runs]
        return {"best": min(times), "median": statistics.median(times),
                "all": [round(t, 3) for t in times]}

    raw_wall, our_wall = summary(raw_runs, 0), summary(our_runs, 0)
    raw_cpu, our_cpu = summary(raw_runs, 1), summary(our_runs, 1)
    return {
        "pages": actual_pages, "pdf_generate_s": round(generated, 2),
        "raw_wall_s": raw_wall["all"], "import_wall_s": our_wall["all"],
        "raw_cpu_s": raw_cpu["all"], "import_cpu_s": our_cpu["all"],
        "raw_pages_per_s": round(actual_pages / raw_wall["best"], 1),
        "import_pages_per_s": round(actual_pages / our_wall["best"], 1),
        "ratio_wall_best": round(raw_wall["best"] / our_wall["best"], 3),
        "ratio_wall_median": round(raw_wall["median"] / our_wall["median"], 3),
        "ratio_cpu_best": round(raw_cpu["best"] / our_cpu["best"], 3),
        "ratio_cpu_median": round(raw_cpu["median"] / our_cpu["median"], 3),
        "chunks": result.get("chunks"), "redactions": result.get("redactions"),
    }


# --- 2. recall ----------------------------------------------------------------------------
def _luhn_complete(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return digits + str((10 - total % 10) % 10)


def _iban(rng: random.Random, country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{country}{98 - number % 97:02d}{bban}"


def planted_item(kind: str, rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    digits = f"{rng.randint(0, 999):03d}"
    if kind == "email":
        return rng.choice([f"{first}.{last}@example.com".lower(),
                           f"{first[0]}{last}{rng.randint(1, 99)}@mail.example.org".lower(),
                           f"{last.lower()}_{first.lower()}@example.net"])
    if kind == "phone":
        return rng.choice([f"07700 900{digits}", f"+44 7700 900{digits}", f"01632 960{digits}",
                           f"020 7946 0{digits}", f"(0161) 496 0{digits}"])
    if kind == "card":
        prefix = rng.choice(["4", "51", "37", "6011"])
        length = 15 if prefix == "37" else 16
        number = _luhn_complete(prefix + "".join(str(rng.randint(0, 9))
                                                  for _ in range(length - len(prefix) - 1)))
        sep = rng.choice([" ", "-", ""])
        return sep.join(number[i:i + 4] for i in range(0, len(number), 4))
    if kind == "iban":
        if rng.random() < 0.5:
            bban = "NWBK" + "".join(str(rng.randint(0, 9)) for _ in range(14))
            iban = _iban(rng, "GB", bban)
        else:
            iban = _iban(rng, "DE", "".join(str(rng.randint(0, 9)) for _ in range(18)))
        return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if rng.random() < 0.5 \
            else iban
    if kind == "address":
        return (f"{rng.randint(1, 120)} {rng.choice(STREETS)}, {rng.choice(TOWNS)} "
                f"{rng.choice(POSTCODES)}")
    if kind == "name":
        return f"{first} {last}"
    raise ValueError(kind)


TEMPLATES = {
    "email": ["You can email me at {x} any time.", "My new email is {x}, please update it."],
    "phone": ["Please call me on {x} after five.", "My mobile number is {x}."],
    "card": ["I paid with my card {x} but it failed.", "Card number {x} was charged twice."],
    "iban": ["Please refund to IBAN {x}.", "My bank account is {x} if you need it."],
    "address": ["I now live at {x}.", "Please send the letter to {x} instead."],
    "name": ["My partner {x} will be at the flat.", "Kind regards,\n{x}",
             "Hi, this is {x} from flat 3.", "The contractor spoke to {x} yesterday."],
}


def bench_recall(items_per_kind: int) -> dict | None:
    try:
        from core.documents.redact import find_pii
    except ImportError:
        return None
    rng = random.Random(7)
    found: dict[str, list[int]] = {kind: [0, 0] for kind in TEMPLATES}
    misses: list[str] = []
    started = time.perf_counter()
    for kind, templates in TEMPLATES.items():
        for _ in range(items_per_kind):
            item = planted_item(kind, rng)
            before = " ".join(rng.choice(FILLER) for _ in range(2))
            sentence = rng.choice(templates).format(x=item)
            text = f"{before}\n\n{sentence} {rng.choice(FILLER)}"
            start = text.index(item)
            covered = set()
            for span in find_pii(text):
                covered.update(range(span.start, span.end))
            wanted = {i for i in range(start, start + len(item)) if not text[i].isspace()}
            found[kind][1] += 1
            if wanted <= covered:
                found[kind][0] += 1
            elif len(misses) < 12:
                misses.append(f"{kind}: {item!r} in {sentence!r}")
    seconds = time.perf_counter() - started
    hit = sum(v[0] for v in found.values())
    total = sum(v[1] for v in found.values())
    return {"recall": round(hit / total, 4), "items": total, "seconds": round(seconds, 2),
            "per_kind": {k: round(v[0] / v[1], 4) for k, v in found.items()},
            "examples_missed": misses}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--items", type=int, default=100, help="planted items per kind")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    speed = bench_speed(args.pages, args.repeat)
    recall = bench_recall(args.items)
    if args.json:
        print(json.dumps({"speed": speed, "recall": recall}, indent=2))
        return 0
    print(f"PDF: {speed['pages']} pages (generated in {speed['pdf_generate_s']} s)")
    print(f"raw pypdf extraction  {speed['raw_pages_per_s']:>7} pages/s  wall {speed['raw_wall_s']}"
          f"  cpu {speed['raw_cpu_s']}")
    print(f"import_files          {speed['import_pages_per_s']:>7} pages/s  wall "
          f"{speed['import_wall_s']}  cpu {speed['import_cpu_s']}")
    print(f"  ({speed['chunks']} chunks, {speed['redactions']} redactions)")
    print(f"ratio (goal >= 0.8x)  wall: best {speed['ratio_wall_best']:.2f}x, median "
          f"{speed['ratio_wall_median']:.2f}x;  cpu: best {speed['ratio_cpu_best']:.2f}x, "
          f"median {speed['ratio_cpu_median']:.2f}x")
    if recall is None:
        print("redaction recall: core.documents.redact is not there yet")
    else:
        kinds = ", ".join(f"{k} {v:.0%}" for k, v in recall["per_kind"].items())
        print(f"redaction recall       {recall['recall']:.1%} of {recall['items']} planted "
              f"items (goal >= 95%): {kinds}")
        for miss in recall["examples_missed"]:
            print(f"  missed {miss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
