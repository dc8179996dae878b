"""PDF and Word files built on the fly, for tests and benchmarks alike.

Generated rather than committed so that a reader sees, next to each test, exactly what text the
file holds; one builder per format so tests and benchmarks cannot drift into two notions of "a PDF
with these pages".
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from docx import Document
from fpdf import FPDF
from PIL import Image, ImageDraw

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


@dataclass(frozen=True)
class Page:
    """One page of `layout_pdf`: paragraphs of text, and a picture at `picture` (x, y, width,
    height in mm from the top left) showing the lines `pictured` (rows of a price list, say)."""

    text: Sequence[str] = ()
    picture: tuple[float, float, float, float] | None = None
    pictured: Sequence[str] = ()


def layout_pdf(pages: Sequence[Page], *, stamp: str | None = None) -> bytes:
    """An A4 PDF laid out page by page, with `stamp` as small print at the foot of every page:
    a filing agent's stamp, as on a contract filed as an exhibit. Each picture is drawn before the
    page's text, so text over a picture lies on it (as in a scan that carries its words)."""
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    pdf.set_font("helvetica", size=11)
    for page in pages:
        pdf.add_page()
        if page.picture is not None:
            x, y, width, height = page.picture
            pdf.image(_pictured(width, height, page.pictured), x=x, y=y, w=width, h=height)
        pdf.set_xy(pdf.l_margin, pdf.t_margin)
        for paragraph in page.text:
            pdf.multi_cell(0, 5.5, paragraph, new_x="LMARGIN", new_y="NEXT")
        if stamp:
            pdf.set_font_size(7)
            pdf.set_xy(pdf.l_margin, pdf.h - 18)
            pdf.multi_cell(0, 3.5, stamp)
            pdf.set_font_size(11)
    return bytes(pdf.output())


def _pictured(width_mm: float, height_mm: float, lines: Sequence[str]) -> io.BytesIO:
    """A grey-scale picture of `lines` in a ruled table, at 4 pixels a millimetre."""
    width, height = max(8, round(width_mm * 4)), max(8, round(height_mm * 4))
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((2, 2, width - 3, height - 3), outline=0, width=2)
    row = 24
    for number, line in enumerate(lines):
        top = 8 + number * row
        if top + row > height:
            break
        draw.text((12, top + 6), line, fill=0)
        draw.line((2, top + row, width - 3, top + row), fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    out.seek(0)
    return out


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


def form_pdf_bytes(printed: str, filled: str) -> bytes:
    """A one-page PDF with `printed` in its text and `filled` typed into a form field below it,
    as a fillable template comes back from a counterparty (the viewer draws the field's value)."""
    content = f"BT /F1 12 Tf 50 720 Td ({printed}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /NeedAppearances true >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [4 0 R] /Contents 5 0 R"
        b" /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
        b" >>",
        f"<< /Type /Annot /Subtype /Widget /FT /Tx /T (party) /Rect [50 600 560 700] /P 3 0 R"
        f" /V ({filled}) /F 4 >>".encode(),
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    ]
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    table = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{table}\n%%EOF\n".encode()
    )
    return out
