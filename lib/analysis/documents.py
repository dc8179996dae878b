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
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lib.analysis.ocr import OcrResult

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
SUPPORTED = {".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".md": "md", ".markdown": "md"}
# How much more "chaos" (charset-normalizer's measure of implausible text) cp1252 may show than
# the best reading and still be chosen: enough for "€" and "’". Some Central European (cp1250)
# and Turkish (cp1254) text reads as cp1252 without any chaos at all and is taken for it: a
# guessed encoding is therefore always named in a warning, for the analyst to check the preview.
CP1252_MARGIN = 0.05
# Image pages named one warning each, up to this many; the rest are counted in one more.
NAMED_IMAGE_PAGES = 10
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
    # Characters of text in one contract, pasted or read from a file (CRS_MAX_PASTE_CHARS): the
    # clause finder and the quote index hold about 100 bytes a character, and a Word file that
    # compresses only 6:1 can hold 100 million of them within the upload limit.
    max_chars: int = 2_000_000


class DocumentError(Exception):
    """A file we cannot read, with a message that says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NeedsOcr(DocumentError):
    """A PDF with no text layer at all: a scan, which only OCR can read.

    `reason` says so; `message` adds where the app offers OCR, for a front end that does not.
    The pages that offer it show the reason beside their offer: "the Review page offers it" read
    oddly on the Review page."""

    def __init__(self, reason: str, pages: int, image_pages: Sequence[int]) -> None:
        super().__init__(f"{reason} {OCR_PAGES}")
        self.reason = reason
        self.pages = pages
        self.image_pages = tuple(image_pages)


# Where this app reads a scan with OCR: every message that sends an analyst there names these.
OCR_OFFERED = "Review, Compare, Playbook and Portfolio pages and crs-batch"
OCR_PAGES = f"The {OCR_OFFERED} read it with OCR where the server has Tesseract."


def printable_name(name: str) -> str:
    """A document's name without control characters (NUL, line breaks, escapes): each becomes a
    space, and the ends are trimmed."""
    return "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in name).strip()


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
    # PDF pages that are pictures with (almost) no text: their content is not in `text`.
    image_pages: tuple[int, ...] = ()
    # Pages whose text was read by OCR, and what that means for a reader ("text of pages 2 and 5
    # read by OCR (tesseract)"); None when all the text is the file's own.
    ocr_pages: tuple[int, ...] = ()
    text_source: str | None = None

    def __post_init__(self) -> None:
        # Every front end's name, cleaned here once: a NUL no PostgreSQL text column takes, or a
        # line break that splits a history row, from a form, a file name or a folder.
        object.__setattr__(self, "name", printable_name(self.name))
        # Lists when read back from the parsing process.
        if self.page_starts is not None:
            object.__setattr__(self, "page_starts", tuple(self.page_starts))
        object.__setattr__(self, "image_pages", tuple(self.image_pages))
        object.__setattr__(self, "ocr_pages", tuple(self.ocr_pages))

    @property
    def from_ocr(self) -> bool:
        """Some of the text is OCR's reading, so quotes may differ from it by a letter or two."""
        return bool(self.ocr_pages)

    @property
    def char_count(self) -> int:
        return len(self.text)

    @property
    def sha256(self) -> str:
        return text_sha256(self.text)


def text_sha256(text: str) -> str:
    """What a run's record keeps of the text it read: a stored run is matched to a text by it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_from_text(
    text: str, name: str = "Pasted contract", *, limits: Limits = Limits()
) -> Document:
    if len(text) > limits.max_chars:
        raise DocumentError(
            f"The pasted text is {len(text):,} characters; the limit is "
            f"{limits.max_chars:,}. Paste the part to review."
        )
    text = _normalise(text)
    return Document(name=name, text=text, kind="pasted", size_bytes=len(text.encode("utf-8")))


def too_much_text(filename: str, text: str, limits: Limits) -> str | None:
    """Why a file's text is refused for its length (`Limits.max_chars`), or None: every way a
    file's text comes in (an upload, a folder, a ContractNLI file) is held to it."""
    if len(text) <= limits.max_chars:
        return None
    return (
        f"“{filename}” holds {len(text):,} characters of text; this app reads at most "
        f"{limits.max_chars:,} in one contract (CRS_MAX_PASTE_CHARS). Split it, or review the "
        "part that matters."
    )


def size_problem(filename: str, size: int, max_bytes: int) -> str | None:
    """Why a file of `size` bytes is refused, or None; told before its bytes are even read."""
    if size <= max_bytes:
        return None
    return (
        f"“{filename}” is {size / 1_048_576:.1f} MB; the limit is "
        f"{max_bytes / 1_048_576:.0f} MB. Split the contract or paste the relevant part."
    )


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
    too_big = size_problem(filename, len(data), max_bytes)
    if too_big is not None:
        raise DocumentError(too_big)
    if not data:
        raise DocumentError(f"“{filename}” is empty.")
    page_starts: tuple[int, ...] | None = None
    image_pages: list[int] = []
    if kind == "pdf":
        page_texts, image_pages = _read_pdf(data, filename, limits.max_pages)
        warnings = image_page_warnings(image_pages)
        text, page_starts = _join_pages([_normalise(t) for t in page_texts])
        pages: int | None = len(page_texts)
    elif kind == "docx":
        raw, warnings = _read_docx(data, filename, limits)
        text, pages = _normalise(raw), None
    else:
        decoded, guessed = _read_text(data, filename)
        text, pages = _normalise(decoded), None
        warnings = [] if guessed is None else [_guessed(filename, guessed, text)]
    if not text.strip():
        raise DocumentError(f"“{filename}” contains no text.")
    if (too_long := too_much_text(filename, text, limits)) is not None:
        raise DocumentError(too_long)
    return Document(
        filename, text, kind, len(data), pages, warnings, page_starts, tuple(image_pages)
    )


def image_page_warnings(image_pages: Sequence[int]) -> list[str]:
    """One warning per image page, so the analyst knows which pages the review cannot see."""
    from lib.analysis.ocr import image_page_warning

    named = [_sentence(image_page_warning(page)) for page in image_pages]
    if len(named) <= NAMED_IMAGE_PAGES:
        return named
    rest = len(named) - NAMED_IMAGE_PAGES
    return [*named[:NAMED_IMAGE_PAGES], f"{rest} more pages are images, not text, as well."]


def document_from_ocr(result: OcrResult, name: str, size_bytes: int) -> Document:
    """The PDF's text with its image pages read by OCR, page offsets kept for quotes."""
    ends = [*result.page_starts[1:], len(result.text)]
    page_texts = [
        _normalise(result.text[start:end]).strip()
        for start, end in zip(result.page_starts, ends, strict=True)
    ]
    text, page_starts = _join_pages(page_texts)
    if not text.strip():
        raise DocumentError(
            f"OCR found no text in “{name}”: its pages may be photographs, blank or too faint to "
            "read. Scan it again at 300 dpi, or paste the text."
        )
    listed = _page_list(result.pages_ocred)
    source = f"text of {listed} read by OCR ({result.engine})"
    return Document(
        name,
        text,
        "pdf",
        size_bytes,
        len(page_texts),
        [_sentence(w) for w in result.warnings],
        page_starts,
        ocr_pages=tuple(result.pages_ocred),
        text_source=source,
    )


def _page_list(pages: Sequence[int]) -> str:
    """ "page 3", "pages 2 and 5", "pages 1-8": runs collapsed, so a full scan reads short."""
    runs: list[tuple[int, int]] = []
    for page in sorted(pages):
        if runs and page == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], page)
        else:
            runs.append((page, page))
    parts = [str(a) if a == b else f"{a}-{b}" for a, b in runs]
    if len(pages) == 1:
        return f"page {parts[0]}"
    return f"pages {_listed(parts)}"


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


def _read_pdf(data: bytes, filename: str, max_pages: int) -> tuple[list[str], list[int]]:
    """Each page's text, and the pages whose content is a picture (`ocr.picture_pages`)."""

    from lib.analysis.ocr import (
        PdfEncrypted,
        PdfUnreadable,
        has_own_text,
        open_pdf,
        page_view,
        pdf_page,
        picture_pages,
    )

    try:
        pdf = open_pdf(data)
    except PdfEncrypted:
        raise DocumentError(
            f"“{filename}” is password-protected. Remove the password (e.g. print it to a new "
            "PDF) and upload it again."
        ) from None
    except PdfUnreadable:
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
        views = []
        for index in range(len(pdf)):
            page = pdf_page(pdf, index)
            views.append(page_view(page))
            page.close()
    finally:
        pdf.close()
    pictures = picture_pages(views)
    if pictures and not has_own_text(views):
        pages = len(views)
        raise NeedsOcr(
            f"“{filename}” has no text layer — it is a scan of {pages} "
            f"page{'s' if pages != 1 else ''}, so only OCR can read it.",
            pages,
            pictures,
        )
    # Normalised per page, so the page offsets hold in the finished text.
    return [_normalise(view.text).strip() for view in views], pictures


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


def _read_docx(data: bytes, filename: str, limits: Limits) -> tuple[str, list[str]]:
    """The body's text as `docx_text.word_text` lays it out, and a warning naming the parts of
    the file with text that is not read."""
    import docx

    from lib.analysis.docx_text import unread_parts, word_text

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
    unread = unread_parts(document)
    warnings = (
        [f"“{filename}” has text in its {_listed(unread)}, which is not read: check it by hand."]
        if unread
        else []
    )
    return word_text(document), warnings


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _read_text(data: bytes, filename: str) -> tuple[str, str | None]:
    """The text, and the encoding when it had to be guessed (no BOM, not UTF-8)."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), None
    if (utf16 := _utf16_without_bom(data)) is not None:
        return utf16, None
    binary = DocumentError(
        f"“{filename}” looks like a binary file, not text. Upload the original PDF or Word file."
    )
    if b"\x00" in data[:8192]:
        raise binary
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise binary
    # Short Western text fits several code pages about equally well, and charset-normalizer often
    # leaves cp1252 out of its matches ("Société" read as cp775's "Sociķtķ"). Contracts written
    # on Windows are overwhelmingly cp1252, so it wins whenever it reads the text nearly as well
    # as the best; a text it reads badly (a Polish contract's "ł") goes to the best reading.
    least_chaos = min(m.chaos for m in matches)
    western = from_bytes(data, cp_isolation=["cp1252"]).best()
    if western is not None and western.chaos <= least_chaos + CP1252_MARGIN:
        return str(western), "cp1252"
    best = next(m for m in matches if m.chaos == least_chaos)
    return str(best), best.encoding


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 saved without its mark (some Windows tools): Latin text has a zero byte in every
    other place, which the binary check would take for a binary file."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    pairs = len(sample) // 2
    for encoding, zeros in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
        if zeros.count(0) >= 0.8 * pairs:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def _guessed(filename: str, encoding: str, text: str) -> str:
    """The letters to check are those a wrong guess garbles: the accents of a text in Latin
    letters, the text itself in any other script (a Japanese Shift-JIS file has no accents)."""
    letters = [c for c in text if c.isalpha() and not c.isascii()]
    latin = all(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    check = "its accented letters (é, ł, €)" if latin else "its text"
    return (
        f"“{filename}” does not say how its text is encoded; it was read as {encoding}. Check "
        f"{check} in the preview; if it reads wrongly, save the file as UTF-8."
    )


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
