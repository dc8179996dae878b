"""4. Documents: extracting a generated 100-page PDF and 100-page DOCX, against `pdftotext`."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.stats import median
from devtools.sample_files import PAGE_BREAK, Block, docx_bytes, pdf_bytes
from lib.analysis.documents import load_document

PAGES = 100
REPEATS = 5
CLAUSE = (
    "{n}. The Supplier shall indemnify the Customer against all losses arising from any breach of "
    "this Agreement, save that liability under this clause shall not exceed the fees paid in the "
    "twelve months preceding the claim."
)


def make_pdf() -> bytes:
    clauses = iter(range(1, PAGES * 9 + 1))
    pages = [[CLAUSE.format(n=next(clauses)) for _ in range(9)] for _ in range(PAGES)]
    return pdf_bytes(pages, font_size=10)


def make_docx() -> bytes:
    clauses = iter(range(1, PAGES * 8 + 1))
    blocks: list[Block] = []
    for page in range(PAGES):
        blocks += [CLAUSE.format(n=next(clauses)) for _ in range(8)]
        blocks += [[["Item", "Fee", "Due"], [f"Service {page}", "€1,000", "30 days"]], PAGE_BREAK]
    return docx_bytes(blocks)


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
