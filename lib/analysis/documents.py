"""Uploaded bytes or pasted text → `Document`, or a `DocumentError` an analyst can act on.

PDF text comes from pypdfium2 (PDFium: fast, Apache/BSD licensed); DOCX from python-docx, walking
the body so paragraphs and tables keep their document order; text files are decoded by BOM, then
UTF-8, then charset-normalizer's best single-byte guess (cp1252 on a tie). All in memory.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
SUPPORTED = {".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".md": "md", ".markdown": "md"}
# A page with fewer characters than this is treated as having no text layer.
MIN_PAGE_CHARS = 20


class DocumentError(Exception):
    """A file we cannot read, with a message that says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Document:
    name: str
    text: str
    kind: str
    size_bytes: int
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)
    # Offset in `text` where each page begins (page 1 first), where the file has pages.
    page_starts: tuple[int, ...] | None = None

    @property
    def char_count(self) -> int:
        return len(self.text)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def document_from_text(text: str, name: str = "Pasted contract") -> Document:
    text = _normalise(text)
    return Document(name=name, text=text, kind="pasted", size_bytes=len(text.encode("utf-8")))


def load_document(data: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    suffix = PurePath(filename).suffix.lower()
    kind = SUPPORTED.get(suffix)
    if kind is None:
        raise DocumentError(
            f"“{filename}” is not a supported file type. Upload a PDF, Word (.docx), .txt or .md "
            "file, or paste the text."
        )
    if len(data) > max_bytes:
        raise DocumentError(
            f"“{filename}” is {len(data) / 1_048_576:.1f} MB; the limit is "
            f"{max_bytes / 1_048_576:.0f} MB. Split the contract or paste the relevant part."
        )
    if not data:
        raise DocumentError(f"“{filename}” is empty.")
    page_starts: tuple[int, ...] | None = None
    if kind == "pdf":
        text, pages, warnings, page_starts = _read_pdf(data, filename)
    elif kind == "docx":
        text, pages, warnings = _read_docx(data, filename), None, []
    else:
        text, pages, warnings = _read_text(data, filename), None, []
    text = _normalise(text)
    if not text.strip():
        raise DocumentError(f"“{filename}” contains no text.")
    return Document(filename, text, kind, len(data), pages, warnings, page_starts)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip("\ufeff")


def _read_pdf(data: bytes, filename: str) -> tuple[str, int, list[str], tuple[int, ...]]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DocumentError(
                f"“{filename}” is password-protected. Remove the password (e.g. print it to a new "
                "PDF) and upload it again."
            ) from None
        raise DocumentError(
            f"“{filename}” could not be read as a PDF; it may be damaged or incomplete. Try "
            "exporting it again."
        ) from None
    try:
        texts: list[str] = []
        empty_pages: list[int] = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            # Normalised per page, so the page offsets hold in the finished text.
            page_text = _normalise(textpage.get_text_bounded()).strip()
            textpage.close()
            page.close()
            if len(page_text) < MIN_PAGE_CHARS:
                empty_pages.append(index + 1)
            texts.append(page_text)
        pages = len(pdf)
    finally:
        pdf.close()
    if len(empty_pages) == pages:
        raise DocumentError(
            f"“{filename}” has no extractable text — it is probably a scan. Run OCR on it first "
            "(or export the original document as PDF) and upload that."
        )
    warnings = []
    if empty_pages:
        listed = ", ".join(map(str, empty_pages[:10])) + ("…" if len(empty_pages) > 10 else "")
        warnings.append(
            f"{len(empty_pages)} of {pages} pages have no text (pages {listed}); they may be "
            "scanned images and are missing from the review."
        )
    starts, offset = [], 0
    for page_text in texts:
        starts.append(offset)
        offset += len(page_text) + 2 if page_text else 0
    return "\n\n".join(t for t in texts if t), pages, warnings, tuple(starts)


def _read_docx(data: bytes, filename: str) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DocumentError(
            f"“{filename}” is not a valid Word document (.docx). If it is an old .doc file, save "
            "it as .docx or PDF first."
        )
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:
        raise DocumentError(
            f"“{filename}” could not be opened as a Word document; it may be damaged."
        ) from None
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [cell.text.strip() for cell in row.cells]
                lines.append(" | ".join(dict.fromkeys(cells)) if cells else "")
    return "\n".join(lines)


def _read_text(data: bytes, filename: str) -> str:
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    binary = DocumentError(
        f"“{filename}” looks like a binary file, not text. Upload the original PDF or Word file."
    )
    if b"\x00" in data[:8192]:
        raise binary
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise binary
    # Short Western text fits several code pages equally well; contracts written on Windows are
    # overwhelmingly cp1252, so it wins a tie.
    least_chaos = min(m.chaos for m in matches)
    tied = [m for m in matches if m.chaos == least_chaos]
    chosen = next((m for m in tied if m.encoding == "cp1252"), tied[0])
    return str(chosen)
