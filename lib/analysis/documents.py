"""Uploaded bytes or pasted text → `Document`, or a `DocumentError` an analyst can act on.

PDF text comes from pypdfium2 (PDFium: fast, Apache/BSD licensed); DOCX from python-docx, walking
the body so paragraphs and tables keep their document order; text files are decoded by BOM, then
UTF-8, then charset-normalizer's best single-byte guess (cp1252 on a tie). All in memory.

Uploads are hostile input: `Limits` bounds what a file may cost before its parser runs (a DOCX's
declared uncompressed size and compression ratio, a PDF's page count); `lib.runs.document_sandbox`
runs this module in a child process with memory and time limits for what no check can foresee.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
SUPPORTED = {".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".md": "md", ".markdown": "md"}
# A page with fewer characters than this is treated as having no text layer.
MIN_PAGE_CHARS = 20
# PDFium writes \x02 where a word was hyphenated at a line end ("liabil\x02ity"): the word is one.
_LINE_END_HYPHEN = re.compile(r"\x02[ \t]*(?:\r\n|\r|\n)?[ \t]*")


@dataclass(frozen=True)
class Limits:
    """What one contract may cost to read. A 300-page contract is long; Word files compress text
    about 5-10 times, so 100:1 is a bomb, not a contract."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pages: int = 2_000
    max_unzipped_bytes: int = 200 * 1024 * 1024
    max_zip_ratio: float = 100.0
    max_zip_entries: int = 10_000
    max_paste_chars: int = 2_000_000


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
    # Where each page's text starts in `text` (PDFs), so a quote can name its page.
    page_starts: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.page_starts is not None:  # a list when read back from the parsing process
            object.__setattr__(self, "page_starts", tuple(self.page_starts))

    @property
    def char_count(self) -> int:
        return len(self.text)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def document_from_text(
    text: str, name: str = "Pasted contract", *, limits: Limits = Limits()
) -> Document:
    if len(text) > limits.max_paste_chars:
        raise DocumentError(
            f"The pasted text is {len(text):,} characters; the limit is "
            f"{limits.max_paste_chars:,}. Paste the part to review, or upload the file."
        )
    text = _normalise(text)
    return Document(name=name, text=text, kind="pasted", size_bytes=len(text.encode("utf-8")))


def load_document(
    data: bytes, filename: str, *, max_bytes: int | None = None, limits: Limits = Limits()
) -> Document:
    max_bytes = limits.max_bytes if max_bytes is None else max_bytes
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
        page_texts, warnings = _read_pdf(data, filename, limits.max_pages)
        text, page_starts = _join_pages([_normalise(t) for t in page_texts])
        pages: int | None = len(page_texts)
    elif kind == "docx":
        text, pages, warnings = _normalise(_read_docx(data, filename, limits)), None, []
    else:
        text, pages, warnings = _normalise(_read_text(data, filename)), None, []
    if not text.strip():
        raise DocumentError(f"“{filename}” contains no text.")
    return Document(filename, text, kind, len(data), pages, warnings, page_starts)


def _join_pages(page_texts: list[str]) -> tuple[str, tuple[int, ...]]:
    """Pages joined by a blank line; a page with no text starts where the next one does."""
    parts: list[str] = []
    starts: list[int] = []
    position = 0
    for page_text in page_texts:
        if page_text and parts:
            position += 2  # the blank line before this page
        starts.append(position)
        if page_text:
            parts.append(page_text)
            position += len(page_text)
    return "\n\n".join(parts), tuple(starts)


def _normalise(text: str) -> str:
    text = _LINE_END_HYPHEN.sub("", text)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip("\ufeff")


def _read_pdf(data: bytes, filename: str, max_pages: int) -> tuple[list[str], list[str]]:
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
        if len(pdf) > max_pages:
            raise DocumentError(
                f"“{filename}” has {len(pdf):,} pages; the limit is {max_pages:,}. Split it and "
                "review the part that matters."
            )
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
    return texts, warnings


def _check_zip(data: bytes, filename: str, limits: Limits) -> None:
    """Refuse a zip bomb from its directory, before anything is decompressed.

    The declared sizes can be trusted: `zipfile` stops each member at its declared size.
    """
    bomb = DocumentError(
        f"“{filename}” unpacks to far more than a Word document holds; it may be damaged or built "
        "to exhaust the server. Save it again from Word, or upload a PDF."
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
    if len(members) > limits.max_zip_entries:
        raise bomb
    unzipped = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    if unzipped > limits.max_unzipped_bytes or unzipped > limits.max_zip_ratio * max(packed, 1):
        raise bomb


def _read_docx(data: bytes, filename: str, limits: Limits) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DocumentError(
            f"“{filename}” is not a valid Word document (.docx). If it is an old .doc file, save "
            "it as .docx or PDF first."
        )
    try:
        _check_zip(data, filename, limits)
        document = docx.Document(io.BytesIO(data))
    except (DocumentError, MemoryError):
        raise
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
