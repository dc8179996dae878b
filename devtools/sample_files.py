"""PDF and Word files built on the fly, for tests and benchmarks alike.

Generated rather than committed so that a reader sees, next to each test, exactly what text the
file holds; one builder per format so tests and benchmarks cannot drift into two notions of "a PDF
with these pages".
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from fpdf import FPDF
from PIL import Image

PAGE_BREAK = "\f"
"""A block of `docx_bytes` that starts a new page."""

Block = str | Sequence[Sequence[str]]
"""A paragraph (a string) or a table (rows of cell texts)."""


def pdf_bytes(
    pages: Sequence[str | Sequence[str]], *, password: str | None = None, font_size: int = 12
) -> bytes:
    """A text PDF with one page per item; a page is one paragraph or a list of paragraphs.

    The core PDF fonts are Latin-1 only: text outside it cannot be written this way.
    """
    pdf = FPDF()
    pdf.set_font("helvetica", size=font_size)
    for page in pages:
        pdf.add_page()
        for paragraph in [page] if isinstance(page, str) else page:
            pdf.multi_cell(0, font_size / 2, paragraph, new_x="LMARGIN", new_y="NEXT")
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    return bytes(pdf.output())


def image_pdf_bytes() -> bytes:
    """A one-page PDF holding only a picture: what a scanned contract looks like to a parser."""
    picture = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(picture, format="PNG")
    picture.seek(0)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(picture, x=10, y=10, w=100)
    return bytes(pdf.output())


def with_image_pages(text_pdf: bytes, image_pdf: bytes, at: Sequence[int]) -> bytes:
    """`text_pdf` with the pages of `image_pdf` put in so they become pages `at` (1-based): a
    contract whose exhibit or signature page was scanned."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(text_pdf)
    pictures = pdfium.PdfDocument(image_pdf)
    for number, source in zip(sorted(at), range(len(pictures)), strict=False):
        document.import_pages(pictures, [source], index=number - 1)
    out = io.BytesIO()
    document.save(out)
    pictures.close()
    document.close()
    return out.getvalue()


def docx_bytes(blocks: Sequence[Block]) -> bytes:
    """A Word document of paragraphs, tables and page breaks (`PAGE_BREAK`), in order."""
    document = Document()
    for block in blocks:
        if block == PAGE_BREAK:
            document.add_page_break()
        elif isinstance(block, str):
            document.add_paragraph(block)
        else:
            table = document.add_table(rows=len(block), cols=max(len(row) for row in block))
            for cells, texts in zip(table.rows, block, strict=True):
                for cell, text in zip(cells.cells, texts, strict=False):
                    cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
