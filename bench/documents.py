"""4. Documents: extracting a generated 100-page PDF and 100-page DOCX, against `pdftotext`."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from docx import Document as DocxDocument
from fpdf import FPDF

from bench.stats import median
from lib.analysis.documents import load_document

PAGES = 100
REPEATS = 5
CLAUSE = (
    "{n}. The Supplier shall indemnify the Customer against all losses arising from any breach of "
    "this Agreement, save that liability under this clause shall not exceed the fees paid in the "
    "twelve months preceding the claim."
)


def make_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    n = 0
    for _ in range(PAGES):
        pdf.add_page()
        for _ in range(9):
            n += 1
            pdf.multi_cell(0, 5, CLAUSE.format(n=n), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def make_docx() -> bytes:
    doc = DocxDocument()
    n = 0
    for page in range(PAGES):
        for _ in range(8):
            n += 1
            doc.add_paragraph(CLAUSE.format(n=n))
        table = doc.add_table(rows=2, cols=3)
        for cell, text in zip(table.rows[0].cells, ("Item", "Fee", "Due"), strict=True):
            cell.text = text
        for cell, text in zip(
            table.rows[1].cells, (f"Service {page}", "€1,000", "30 days"), strict=True
        ):
            cell.text = text
        doc.add_page_break()
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _median_time(fn) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return median(times)


def run() -> list[dict]:
    pdf, docx = make_pdf(), make_docx()
    results = []
    ours_pdf = _median_time(lambda: load_document(pdf, "bench.pdf"))
    row = {
        "document": f"{PAGES}-page text PDF",
        "ours_s": ours_pdf,
        "pdftotext_s": None,
        "ratio": None,
    }
    if shutil.which("pdftotext"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.pdf"
            path.write_bytes(pdf)
            reference = _median_time(
                lambda: subprocess.run(
                    ["pdftotext", str(path), "-"], check=True, capture_output=True
                )
            )
        row.update(pdftotext_s=reference, ratio=ours_pdf / reference)
    results.append(row)
    ours_docx = _median_time(lambda: load_document(docx, "bench.docx"))
    results.append(
        {"document": f"{PAGES}-page DOCX", "ours_s": ours_docx, "pdftotext_s": None, "ratio": None}
    )
    return results
