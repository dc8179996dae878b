"""Fake scans of a real contract, so OCR accuracy can be measured against known text.

A text PDF is printed with fpdf2, each page rendered to a bitmap with pypdfium2, degraded the way a
cheap office scanner degrades paper (slight skew, blur, sensor noise) and packed into a PDF that
has images only. The text layer of the printed PDF is the ground truth, page by page, so the truth
is exactly what was drawn — no guessing where fpdf2 broke lines or pages.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from fpdf import FPDF
from PIL import Image, ImageFilter

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ocr"


@dataclass(frozen=True)
class Degradation:
    """How badly a page is scanned; the defaults are a tired office scanner."""

    dpi: int = 200
    angle: float = 0.8
    blur: float = 0.7
    noise: float = 12.0
    seed: int = 7


CLEAN = Degradation(angle=0.0, blur=0.0, noise=0.0)
NOISY = Degradation()


@dataclass(frozen=True)
class Scan:
    pdf: bytes
    truth: list[str]


def contract_text() -> str:
    return (FIXTURE / "services_agreement.txt").read_text(encoding="utf-8")


def text_pdf(text: str, pages: int, font_size: float = 12) -> bytes:
    """Print `text` (repeated if short) onto exactly `pages` Letter pages."""
    pdf = FPDF(format="letter")
    pdf.set_margins(25, 25, 25)
    pdf.set_auto_page_break(True, margin=25)
    pdf.set_font("times", size=font_size)
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    index = 0
    pdf.add_page()
    while True:
        paragraph = paragraphs[index % len(paragraphs)]
        index += 1
        for line in pdf.multi_cell(0, font_size * 0.5, paragraph, dry_run=True, output="LINES"):
            if pdf.will_page_break(font_size * 0.5):
                if pdf.page_no() == pages:
                    return bytes(pdf.output())
                pdf.add_page()
            pdf.cell(0, font_size * 0.5, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(font_size * 0.3)


def page_texts(pdf_bytes: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        texts = []
        for page in pdf:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
        return texts
    finally:
        pdf.close()


def degrade(image: Image.Image, how: Degradation) -> Image.Image:
    grey = image.convert("L")
    if how.angle:
        grey = grey.rotate(how.angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    if how.blur:
        grey = grey.filter(ImageFilter.GaussianBlur(how.blur))
    if how.noise:
        rng = np.random.default_rng(how.seed)
        pixels = np.asarray(grey, dtype=np.float32)
        pixels += rng.normal(0.0, how.noise, pixels.shape)
        grey = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return grey


def images_pdf(images: list[Image.Image], dpi: int) -> bytes:
    """An image-only PDF, as a scanner writes it."""
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return out.getvalue()


def render(pdf_bytes: bytes, dpi: int) -> list[Image.Image]:
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        return [page.render(scale=dpi / 72).to_pil() for page in pdf]
    finally:
        pdf.close()


def scan(pages: int, how: Degradation = NOISY, font_size: float = 12) -> Scan:
    printed = text_pdf(contract_text(), pages, font_size)
    images = [degrade(image, how) for image in render(printed, how.dpi)]
    return Scan(images_pdf(images, how.dpi), page_texts(printed))


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
