"""Reading scanned contracts: find the pages whose content is a picture, and OCR them.

The engine is Tesseract, driven in-process through tesserocr. On generated 200-dpi scans with
skew, blur and noise it made about one error in 5,000 characters at about 1 s a page on two cores
(see `bench/ocr.py`); RapidOCR's packaged models made 1.5% (v3) and 10% (v1, which drops the
spaces between English words) at 2-4 s a page and four times the memory. Tesseract's own layout
analysis loses most of a page skewed by 3°, so pages are straightened first.

tesserocr is an optional extra: its wheel carries libtesseract, but the English model comes from
the system (`tesseract-ocr-eng`), so without either the app says how to add them instead of
failing.

Nothing here starts threads or touches Streamlit: a caller runs `ocr_pdf` on its own worker
thread, gets progress through `on_page` and stops it between pages with a `threading.Event`.
PDFium is not thread-safe, not even across documents, so every PDFium call here holds
`PDFIUM_LOCK`; other code that opens PDFs while OCR may be running should take it too. The lock is
let go while Tesseract reads, which is where the time goes.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

if TYPE_CHECKING:
    from PIL import Image

# A page with fewer characters of its own than this has no usable text layer.
MIN_PAGE_CHARS = 20
# A page with this much text of its own has a text layer: a text page, or a scan that was already
# read (a "searchable" PDF, whose invisible text lies over the picture). Less than this is a
# caption or a stamp, which does not make a picture readable.
TEXT_LAYER_CHARS = 200
# Numbers in a repeated line change from page to page: "Page 3 of 9", "ACME-000123".
_DIGITS = re.compile(r"\d+")
# Skew is searched within ± this many degrees; below DESKEW_MIN Tesseract copes by itself.
MAX_SKEW = 5.0
DESKEW_MIN = 0.5
# Skew is measured on a copy this many pixels on its long side: enough for text lines to show.
SKEW_SAMPLE_SIDE = 800
# A page whose ink makes rows this much sharper turned a quarter is lying sideways.
SIDEWAYS_RATIO = 2.0
# Tesseract's mean word confidence (0-100) past which a reading is kept without trying the page
# the other way up: about 95 on upright scans here, about 35 on upside-down ones.
CONFIDENT = 60
LANGUAGE = "eng"
DEFAULT_PAGE_CAP = 100
DEFAULT_DPI = 300
# A page rendered larger than this on its long side is scaled down: a poster-sized page at 300 dpi
# would take gigabytes, and text that large reads fine at lower resolution.
MAX_RENDER_SIDE = 7000
CACHE_SIZE = 16
INSTALL_HINT = (
    "pip install 'contract-review-studio[ocr]' and the English model with "
    "`apt-get install tesseract-ocr-eng` (or set TESSDATA_PREFIX to a folder holding "
    "eng.traineddata)"
)
# Where distributions put Tesseract's models; tesserocr's own wheel looks only in the current
# folder, so we name them. TESSDATA_PREFIX, when set, wins.
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/share/tesseract/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)

PageCallback = Callable[[int, int], None]
PDFIUM_LOCK = threading.RLock()


class OcrError(Exception):
    """OCR could not be done, with a message that says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OcrUnavailable(OcrError):
    """The OCR engine or its language model is not installed."""


class PdfEncrypted(OcrError):
    """The PDF needs a password."""


class PdfUnreadable(OcrError):
    """The bytes are not a PDF PDFium can open: damaged, truncated or something else."""


class TooManyPages(OcrError):
    """More pages were asked for than the configured cap allows in one run."""


class OcrCancelled(OcrError):
    """The caller set the cancel event; `pages_done` pages had been read by then."""

    def __init__(self, pages_done: int, total: int) -> None:
        super().__init__(f"OCR was stopped after {pages_done} of {total} pages.")
        self.pages_done = pages_done
        self.total = total


@dataclass(frozen=True)
class OcrResult:
    """The whole document's text: OCR for `pages_ocred`, the PDF's own text for the others.

    `page_starts[i]` is where page i+1 begins in `text`, so a finding can be traced to its page.
    """

    text: str
    page_starts: list[int]
    pages_ocred: list[int]
    engine: str
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def copy(self) -> OcrResult:
        """A copy whose lists the caller may change without changing what the cache holds."""
        return replace(
            self,
            page_starts=list(self.page_starts),
            pages_ocred=list(self.pages_ocred),
            warnings=list(self.warnings),
        )


@dataclass(frozen=True)
class OcrStatus:
    available: bool
    message: str


class Engine(Protocol):
    """Something that reads page images; `open` holds whatever is costly to set up for a run."""

    name: str

    def open(self) -> AbstractContextManager[Callable[[Image.Image], str]]: ...


def tessdata_dir() -> Path | None:
    candidates = [os.environ.get("TESSDATA_PREFIX", ""), *TESSDATA_DIRS]
    for folder in candidates:
        if folder and (Path(folder) / "eng.traineddata").is_file():
            return Path(folder)
    return None


class Tesseract:
    """Tesseract through tesserocr: in-process, and it lets go of the GIL while it reads."""

    name = "tesseract"

    def status(self) -> OcrStatus:
        try:
            import tesserocr
        except ImportError:
            return OcrStatus(False, f"OCR is not installed. To add it: {INSTALL_HINT}.")
        if tessdata_dir() is None:
            return OcrStatus(
                False, f"Tesseract's English model was not found. To add it: {INSTALL_HINT}."
            )
        return OcrStatus(True, f"OCR by Tesseract {tesserocr.tesseract_version().split()[1]}.")

    @contextmanager
    def open(self) -> Iterator[Callable[[Image.Image], str]]:
        status = self.status()
        if not status.available:
            raise OcrUnavailable(status.message)
        import tesserocr

        with tesserocr.PyTessBaseAPI(path=str(tessdata_dir()), lang=LANGUAGE) as api:

            def read(image: Image.Image) -> str:
                best, best_confidence = "", -1
                for turned in orientations(image):
                    api.SetImage(deskew(turned))
                    text: str = api.GetUTF8Text()
                    confidence: int = api.MeanTextConf()
                    if confidence > best_confidence:
                        best, best_confidence = text, confidence
                    if confidence >= CONFIDENT or not text.strip():
                        break  # sure enough, or nothing to read either way up (a blank page)
                return best

            yield read


DEFAULT_ENGINE = Tesseract()


def _ink(image: Image.Image) -> Image.Image:
    """The page's ink as a small black-and-white copy (`SKEW_SAMPLE_SIDE` on its long side)."""
    import numpy as np
    from PIL import Image

    grey = image.convert("L")
    scale = SKEW_SAMPLE_SIDE / max(grey.size)
    if scale < 1:
        grey = grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))))
    return Image.fromarray(((np.asarray(grey) < 128) * 255).astype(np.uint8))


def _sharpness(ink: Image.Image, angle: float) -> float:
    """How sharply the rows of ink change from row to row with the page turned by `angle`: the
    most where text lines run level."""
    import numpy as np
    from PIL import Image

    turned = ink.rotate(angle, resample=Image.Resampling.NEAREST, expand=True)
    rows = np.asarray(turned, dtype=np.float32).sum(axis=1)
    return float(np.sum(np.diff(rows) ** 2))


def skew_angle(image: Image.Image) -> float:
    """Degrees to turn `image` counter-clockwise so its text lines run level.

    Projection profile: the angle at which the rows of ink are sharpest (the row sums change most
    from row to row) is the one where lines are level. The packaged deskew tools pull in
    scikit-image or OpenCV for what is a few array sums here.
    """
    import numpy as np

    ink = _ink(image)
    coarse = max(np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.5), key=lambda a: _sharpness(ink, a))
    fine = np.arange(coarse - 0.5, coarse + 0.51, 0.1)
    return float(max(fine, key=lambda a: _sharpness(ink, a)))


def orientations(image: Image.Image) -> Iterator[Image.Image]:
    """The page as it is likeliest to read, then turned half round: a page scanned sideways (its
    text lines run down it, as a landscape exhibit's do) comes a quarter turn first, and which
    of the two ways up is right only reading tells (`Tesseract` keeps the surer reading). OCR of
    a sideways or upside-down page was gibberish, read without a word of warning."""
    ink = _ink(image)
    upright = image
    if _sharpness(ink, 90) > SIDEWAYS_RATIO * _sharpness(ink, 0):
        upright = image.rotate(90, expand=True)
    yield upright
    yield upright.rotate(180, expand=True)


def deskew(image: Image.Image) -> Image.Image:
    from PIL import Image

    angle = skew_angle(image)
    if abs(angle) < DESKEW_MIN:
        return image
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def ocr_status() -> OcrStatus:
    return DEFAULT_ENGINE.status()


def ocr_available() -> bool:
    return ocr_status().available


def image_page_warning(page: int) -> str:
    return f"page {page} is an image — its content is not in the text; run OCR to include it"


def image_only_pages(pdf_bytes: bytes) -> list[int]:
    """1-based pages whose content is a picture (see `picture_pages`): the ones OCR would read."""
    with PDFIUM_LOCK:
        pdf = open_pdf(pdf_bytes)
        try:
            return _image_only(pdf)
        finally:
            pdf.close()


# (file hash, pages, dpi, engine)
CacheKey = tuple[str, tuple[int, ...], int, str]


@dataclass(frozen=True)
class PageView:
    """What one PDF page shows, as far as telling a picture page from a text page needs: its text
    (as PDFium extracts it), the area its text covers and the area its pictures cover, in square
    points."""

    text: str
    text_area: float
    picture_area: float


def page_view(page: pdfium.PdfPage) -> PageView:
    """The page's text, and where its text and its pictures are. The caller holds `PDFIUM_LOCK`
    where OCR may run. The text's area only matters beside a picture, so a page without one (most
    of a contract) skips measuring it."""
    width, height = page.get_size()
    pictures = sum(
        _area(image.get_bounds(), width, height)
        for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])
    )
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_bounded()
        text_area = (
            sum(_area(textpage.get_rect(index)) for index in range(textpage.count_rects()))
            if pictures > 0
            else 0.0
        )
    finally:
        textpage.close()
    return PageView(text, text_area, min(pictures, width * height))


def picture_pages(pages: Sequence[PageView]) -> list[int]:
    """1-based pages whose content is a picture: what the review cannot see without OCR.

    The one rule the image-page warning, the OCR offer and the batch reader share. A page is a
    picture when it has one and either
    - it has (almost) no text of its own: a scan, a photo, an exhibit. Text of its own leaves out
      a line repeated on every page (a filing agent's stamp, a running header, a Bates number):
      that line says nothing about what this page shows; or
    - its own text is a caption or a stamp (less than a text layer) and its pictures cover more
      of the page than that text does: a price list pictured under a heading.
    A page whose own text makes a text layer is text, whatever pictures it holds: a letter with
    a logo, or a scan that already carries its words (a searchable PDF).
    """
    if not any(page.picture_area > 0 for page in pages):
        return []
    own = own_texts(pages)
    return [
        number
        for number, (page, text) in enumerate(zip(pages, own, strict=True), start=1)
        if _is_picture(page, text)
    ]


def _is_picture(page: PageView, own_text: str) -> bool:
    if page.picture_area <= 0:
        return False
    if len(own_text) < MIN_PAGE_CHARS:
        return True
    if len(own_text) >= TEXT_LAYER_CHARS:
        return False
    own_text_area = page.text_area * _chars(own_text) / _chars(page.text)
    return page.picture_area > own_text_area


def has_own_text(pages: Sequence[PageView]) -> bool:
    """Some page has text of its own; without it a file with picture pages is a scan that only
    OCR can read, whatever stamp runs along its pages."""
    return any(len(text) >= MIN_PAGE_CHARS for text in own_texts(pages))


def own_texts(pages: Sequence[PageView]) -> list[str]:
    """Each page's text without the lines repeated on every page, on their own lines."""
    lines = [_lines(page.text) for page in pages]
    repeated = _repeated_lines(lines)
    return ["\n".join(line for line in page if _shape(line) not in repeated) for page in lines]


def _repeated_lines(pages: list[list[str]]) -> set[str]:
    """Lines (numbers aside: "Page 3", "ACME-000123") found on every page of two or more."""
    if len(pages) < 2:
        return set()
    counts = Counter(shape for page in pages for shape in {_shape(line) for line in page})
    return {shape for shape, count in counts.items() if count == len(pages)}


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _shape(line: str) -> str:
    return _DIGITS.sub("#", line)


def _chars(text: str) -> int:
    """Characters that drew something: text areas cover ink, not the spaces between lines."""
    return max(1, sum(1 for char in text if not char.isspace()))


def _area(
    box: tuple[float, float, float, float], width: float | None = None, height: float | None = None
) -> float:
    """The area of a (left, bottom, right, top) box, cut to the page when its size is given."""
    left, bottom, right, top = box
    if width is not None and height is not None:
        left, right = max(left, 0.0), min(right, width)
        bottom, top = max(bottom, 0.0), min(top, height)
    return max(0.0, right - left) * max(0.0, top - bottom)


class _Cache:
    """Results by (file hash, pages, dpi, engine), so Compare and reruns do not OCR again."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[CacheKey, OcrResult] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> OcrResult | None:
        with self._lock:
            result = self._items.get(key)
            if result is not None:
                self._items.move_to_end(key)
            return result

    def put(self, key: CacheKey, result: OcrResult) -> None:
        with self._lock:
            self._items[key] = result
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = _Cache(CACHE_SIZE)


def cache_key(pdf_bytes: bytes, pages: list[int], dpi: int, engine: str) -> CacheKey:
    """The cache's key, for callers that read pages elsewhere (a child process) and keep the
    result here."""
    return (hashlib.sha256(pdf_bytes).hexdigest(), tuple(sorted(set(pages))), dpi, engine)


def ocr_pdf(
    pdf_bytes: bytes,
    pages: list[int] | None = None,
    on_page: PageCallback | None = None,
    cancel: threading.Event | None = None,
    *,
    page_cap: int = DEFAULT_PAGE_CAP,
    dpi: int = DEFAULT_DPI,
    engine: Engine = DEFAULT_ENGINE,
) -> OcrResult:
    """The document's text with `pages` (default: the image-only ones) read by OCR.

    `on_page(n, total)` is called before the n-th page to be read; `cancel` is checked before
    each page, so a run stops within one page's time and raises `OcrCancelled`.
    """
    with PDFIUM_LOCK:
        pdf = open_pdf(pdf_bytes)
    try:
        with PDFIUM_LOCK:
            count = len(pdf)
            wanted = _image_only(pdf) if pages is None else sorted(set(pages))
        outside = [p for p in wanted if not 1 <= p <= count]
        if outside:
            raise OcrError(f"The PDF has {count} pages; there is no page {outside[0]}.")
        if len(wanted) > page_cap:
            raise TooManyPages(
                f"{len(wanted)} pages need OCR; the limit is {page_cap} pages in one run. "
                "Split the PDF, or choose the pages to read."
            )
        key = cache_key(pdf_bytes, wanted, dpi, engine.name)
        cached = CACHE.get(key)
        if cached is not None:
            return cached.copy()
        started = time.perf_counter()
        texts, warnings = _read_pages(pdf, count, wanted, on_page, cancel, dpi, engine)
    finally:
        with PDFIUM_LOCK:
            pdf.close()
    result = _assemble(texts, wanted, engine.name, time.perf_counter() - started, warnings)
    CACHE.put(key, result)
    return result.copy()


def _read_pages(
    pdf: pdfium.PdfDocument,
    count: int,
    wanted: list[int],
    on_page: PageCallback | None,
    cancel: threading.Event | None,
    dpi: int,
    engine: Engine,
) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    warnings: list[str] = []
    with engine.open() if wanted else nullcontext(_nothing_to_read) as read:
        done = 0
        for number in range(1, count + 1):
            if number not in wanted:
                with PDFIUM_LOCK:
                    texts.append(_page_text(pdf, number))
                continue
            if cancel is not None and cancel.is_set():
                raise OcrCancelled(done, len(wanted))
            if on_page is not None:
                on_page(done + 1, len(wanted))
            with PDFIUM_LOCK:
                image = _render(pdf, number, dpi)
            text = "" if image is None else read(image).strip()
            done += 1
            if image is None:
                warnings.append(f"page {number} could not be rendered, so it was not read.")
            elif not text:
                warnings.append(f"page {number}: OCR found no text on the image.")
            texts.append(text)
    return texts, warnings


def _nothing_to_read(image: Image.Image) -> str:
    raise AssertionError("no page was to be read")


def _render(pdf: pdfium.PdfDocument, number: int, dpi: int) -> Image.Image | None:
    page = pdf_page(pdf, number - 1)
    try:
        width, height = page.get_size()
        scale = min(dpi / 72, MAX_RENDER_SIDE / max(width, height, 1))
        image: Image.Image = page.render(scale=scale, grayscale=True).to_pil()
        return image
    except pdfium.PdfiumError:
        return None
    finally:
        page.close()


def _assemble(
    texts: list[str], ocred: list[int], engine: str, seconds: float, warnings: list[str]
) -> OcrResult:
    starts: list[int] = []
    position = 0
    for text in texts:
        starts.append(position)
        position += len(text) + 2
    if ocred and not any(texts[p - 1] for p in ocred):
        warnings = [*warnings, "OCR found no text on any of the pages it read."]
    return OcrResult("\n\n".join(texts), starts, ocred, engine, seconds, warnings)


def open_pdf(pdf_bytes: bytes) -> pdfium.PdfDocument:
    """The PDF, its form filler started so that a filled form field's value can be read with
    its page (`pdf_page`); `PdfEncrypted` or `PdfUnreadable` when it cannot be opened."""
    try:
        pdf = pdfium.PdfDocument(pdf_bytes)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise PdfEncrypted(
                "The PDF is password-protected. Remove the password (e.g. print it to a new PDF) "
                "and upload it again."
            ) from None
        raise PdfUnreadable(
            "The file could not be read as a PDF; it may be damaged or incomplete. Try exporting "
            "it again."
        ) from None
    with suppress(pdfium.PdfiumError):  # no forms to fill is no reason to refuse it
        pdf.init_forms()
    return pdf


def pdf_page(pdf: pdfium.PdfDocument, index: int) -> pdfium.PdfPage:
    """Page `index` (from 0) with what its annotations draw made part of it: a filled form
    field's value ("Acme Ltd", "$250,000") is on the page as printed, but not in its text, and a
    contract's parties and fees were read as blanks. (PDFium reads a flattened page's new text
    only once it is loaded again.)"""
    page = pdf[index]
    if pdfium_c.FPDFPage_GetAnnotCount(page.raw) and (
        pdfium_c.FPDFPage_Flatten(page.raw, pdfium_c.FLAT_NORMALDISPLAY) == pdfium_c.FLATTEN_SUCCESS
    ):
        page.close()
        page = pdf[index]
    return page


def _image_only(pdf: pdfium.PdfDocument) -> list[int]:
    views = []
    for index in range(len(pdf)):
        page = pdf_page(pdf, index)
        try:
            views.append(page_view(page))
        finally:
            page.close()
    return picture_pages(views)


def _page_text(pdf: pdfium.PdfDocument, number: int) -> str:
    page = pdf_page(pdf, number - 1)
    try:
        textpage = page.get_textpage()
        text: str = textpage.get_text_bounded().strip()
        textpage.close()
        return text
    finally:
        page.close()
