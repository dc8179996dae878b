"""OCR of scanned pages: which pages are images, reading them, and every way a run can end.

The control-flow tests (progress, cancel, cap, cache) drive a counting engine so they run without
Tesseract; the accuracy test reads a generated scan with the real engine and is skipped, saying
what to install, where Tesseract is absent (CI sets CRS_REQUIRE_OCR=1 so it fails there instead).
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw
from rapidfuzz.distance import Levenshtein

from bench.scans import CLEAN, NOISY, Degradation, images_pdf, render, scan, squash
from devtools.sample_files import Page, layout_pdf
from lib.analysis import ocr
from lib.analysis.documents import NeedsOcr, image_page_warnings, load_document
from lib.engine.settings import load_settings
from lib.runs.batch_sources import read_files

TEXT = "This page has a real text layer, long enough to count as text. " * 3


pytestmark = pytest.mark.usefixtures("empty_ocr_cache")


class CountingEngine:
    """Reads every image as a numbered line, so tests can see what was read and how often."""

    name = "counting"

    def __init__(self, on_read: Callable[[int], None] | None = None, text: str = "read") -> None:
        self.reads = 0
        self.opened = 0
        self.on_read = on_read
        self.text = text

    @contextmanager
    def open(self) -> Iterator[Callable[[Image.Image], str]]:
        self.opened += 1

        def read(image: Image.Image) -> str:
            self.reads += 1
            if self.on_read is not None:
                self.on_read(self.reads)
            return f"{self.text} {self.reads}" if self.text else ""

        yield read


def picture(width: int = 200, height: int = 120) -> Image.Image:
    image = Image.new("L", (width, height), 255)
    ImageDraw.Draw(image).rectangle((20, 20, width - 20, height - 20), outline=0, width=4)
    return image


def mixed_pdf() -> bytes:
    """1 text, 2 a picture only, 3 text beside a logo, 4 blank, 5 a stamped full-page picture."""
    buffer = io.BytesIO()
    picture().save(buffer, "PNG")
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, TEXT)
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=20, y=20, w=150)
    pdf.add_page()
    pdf.multi_cell(0, 6, TEXT)
    pdf.image(io.BytesIO(buffer.getvalue()), x=20, y=80, w=30)
    pdf.add_page()
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=0, y=0, w=pdf.w, h=pdf.h)
    pdf.set_xy(10, 5)
    pdf.cell(0, 5, "CONFIDENTIAL  Bates ACME-000123  Page 5")
    return bytes(pdf.output())


def pictures_pdf(pages: int) -> bytes:
    return images_pdf([picture() for _ in range(pages)], 72)


def encrypted_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, TEXT)
    return bytes(pdf.output())


def test_image_only_pages_names_the_picture_page_not_text_or_blank_pages() -> None:
    assert ocr.image_only_pages(mixed_pdf()) == [2, 5]


# A filed exhibit's pages, each with whether its content is a picture. Areas in mm on A4.
STAMP = "Source: ACME CORP, 10-K, 3/2/2020 | Filed by Example Filings LLC"
LONG_STAMP = (
    f"{STAMP} | The information contained herein may not be copied, adapted or distributed and "
    "is not warranted to be accurate, complete or timely. The user assumes all risks for any "
    "damages or losses arising from any use of this information."
)
LETTER = [
    "1. Supply. The Supplier shall deliver the Products listed in Exhibit A to the Customer "
    "at the prices set out there, within thirty days of each written order.",
    "2. Term. This Agreement runs for two years from the Effective Date and renews for one "
    "year at a time unless either party gives notice ninety days before it ends.",
]
PRICES = ["Item      Unit      Price", "Widget A  each  USD 12.00", "Widget B  box  USD 90.00"]
WHOLE_PAGE = (0.0, 0.0, 210.0, 297.0)
HALF_PAGE = (15.0, 40.0, 180.0, 140.0)
FILING_PAGES = {
    "a text page with a logo": (Page(LETTER, picture=(15.0, 8.0, 30.0, 15.0)), False),
    "a scan": (Page(picture=WHOLE_PAGE, pictured=PRICES * 10), True),
    "a price list pictured on half a page": (Page(picture=HALF_PAGE, pictured=PRICES), True),
    "a blank page": (Page(), False),
    "a price list under its heading": (
        Page(["Exhibit A - Price list"], picture=HALF_PAGE, pictured=PRICES),
        True,
    ),
    "a scan that carries its words": (Page(LETTER * 2, picture=WHOLE_PAGE), False),
}


@pytest.mark.parametrize("stamp", [None, STAMP, LONG_STAMP], ids=["plain", "stamp", "long-stamp"])
def test_picture_pages_are_what_the_pages_show_under_any_filing_stamp(stamp: str | None) -> None:
    pages = [page for page, _ in FILING_PAGES.values()]
    expected = [n for n, (_, picture) in enumerate(FILING_PAGES.values(), 1) if picture]
    data = layout_pdf(pages, stamp=stamp)
    assert ocr.image_only_pages(data) == expected  # what OCR reads
    document = load_document(data, "exhibit.pdf")  # the warning and the OCR offer
    assert document.image_pages == tuple(expected)
    assert document.warnings == image_page_warnings(expected)
    assert LETTER[0][:40] in document.text


@pytest.mark.parametrize("name", FILING_PAGES)
def test_each_fixture_page_alone_gets_its_answer(name: str) -> None:
    page, picture = FILING_PAGES[name]
    assert ocr.image_only_pages(layout_pdf([page])) == ([1] if picture else [])


def test_a_scan_under_a_filing_stamp_is_a_scan_not_a_document_of_stamps() -> None:
    data = layout_pdf([Page(picture=WHOLE_PAGE, pictured=PRICES)] * 3, stamp=STAMP)
    with pytest.raises(NeedsOcr) as info:
        load_document(data, "filed-scan.pdf")
    assert info.value.pages == 3 and info.value.image_pages == (1, 2, 3)


def test_the_batch_reader_sees_the_same_picture_pages() -> None:
    pages = [page for page, _ in FILING_PAGES.values()]
    data = layout_pdf(pages, stamp=STAMP)
    (document,) = read_files([("exhibit.pdf", data)], load_settings({})).documents
    assert document.image_pages == tuple(ocr.image_only_pages(data)) == (2, 3, 5)
    assert document.warnings == image_page_warnings([2, 3, 5])


def test_warning_names_the_page_and_what_to_do() -> None:
    assert ocr.image_page_warning(5) == (
        "page 5 is an image — its content is not in the text; run OCR to include it"
    )


def test_ocr_keeps_text_pages_and_fills_in_the_image_page() -> None:
    engine = CountingEngine()
    result = ocr.ocr_pdf(mixed_pdf(), engine=engine)
    assert result.pages_ocred == [2, 5]
    assert engine.reads == 2
    assert len(result.page_starts) == 5
    page_two = result.text[result.page_starts[1] : result.page_starts[2]]
    assert page_two.strip() == "read 1"
    assert result.text[result.page_starts[0] :].startswith("This page has a real text layer")
    assert result.text[result.page_starts[2] :].startswith("This page has a real text layer")
    assert result.engine == "counting"


def test_a_pdf_without_image_pages_needs_no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tesserocr", None)
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, TEXT)
    result = ocr.ocr_pdf(bytes(pdf.output()))
    assert result.pages_ocred == []
    assert result.text.startswith("This page has a real text layer")


def test_progress_counts_the_pages_being_read() -> None:
    seen: list[tuple[int, int]] = []
    ocr.ocr_pdf(
        pictures_pdf(3),
        [1, 2, 3],
        lambda n, total: seen.append((n, total)),
        engine=CountingEngine(),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_runs_on_a_worker_thread_while_the_caller_reads_pdfs() -> None:
    data = pictures_pdf(3)
    seen: list[tuple[int, int]] = []
    results: list[ocr.OcrResult] = []
    worker = threading.Thread(
        target=lambda: results.append(
            ocr.ocr_pdf(
                data, on_page=lambda n, total: seen.append((n, total)), engine=CountingEngine()
            )
        )
    )
    worker.start()
    while worker.is_alive():
        assert ocr.image_only_pages(mixed_pdf()) == [2, 5]
    worker.join()
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert results[0].pages_ocred == [1, 2, 3]


def test_cancel_stops_between_pages() -> None:
    cancel = threading.Event()
    engine = CountingEngine(on_read=lambda n: cancel.set() if n == 2 else None)
    with pytest.raises(ocr.OcrCancelled) as caught:
        ocr.ocr_pdf(pictures_pdf(4), [1, 2, 3, 4], cancel=cancel, engine=engine)
    assert engine.reads == 2
    assert (caught.value.pages_done, caught.value.total) == (2, 4)
    assert "2 of 4" in caught.value.message


def test_cancel_before_start_reads_nothing() -> None:
    cancel = threading.Event()
    cancel.set()
    engine = CountingEngine()
    with pytest.raises(ocr.OcrCancelled):
        ocr.ocr_pdf(pictures_pdf(2), cancel=cancel, engine=engine)
    assert engine.reads == 0


def test_a_cancelled_run_is_not_cached() -> None:
    cancel = threading.Event()
    cancel.set()
    data = pictures_pdf(2)
    with pytest.raises(ocr.OcrCancelled):
        ocr.ocr_pdf(data, cancel=cancel, engine=CountingEngine())
    engine = CountingEngine()
    assert ocr.ocr_pdf(data, engine=engine).pages_ocred == [1, 2]
    assert engine.reads == 2


def test_page_cap_refuses_before_reading_anything() -> None:
    engine = CountingEngine()
    with pytest.raises(ocr.TooManyPages) as caught:
        ocr.ocr_pdf(pictures_pdf(3), page_cap=2, engine=engine)
    assert engine.opened == 0
    assert "3 pages need OCR" in caught.value.message
    assert "limit is 2" in caught.value.message


def test_pages_outside_the_document_are_refused() -> None:
    with pytest.raises(ocr.OcrError, match="no page 7"):
        ocr.ocr_pdf(pictures_pdf(2), [1, 7], engine=CountingEngine())


def test_callers_cannot_change_what_the_cache_holds() -> None:
    data = pictures_pdf(1)
    ocr.ocr_pdf(data, engine=CountingEngine()).warnings.append("changed by a caller")
    assert ocr.ocr_pdf(data, engine=CountingEngine()).warnings == []


def test_same_file_and_pages_are_read_once() -> None:
    data = pictures_pdf(2)
    engine = CountingEngine()
    first = ocr.ocr_pdf(data, engine=engine)
    again = ocr.ocr_pdf(bytes(data), engine=engine)
    assert again == first
    assert engine.reads == 2
    ocr.ocr_pdf(data, [1], engine=engine)
    assert engine.reads == 3


def test_cache_forgets_the_least_recently_used() -> None:
    cache = ocr._Cache(2)
    results = [ocr.OcrResult(str(n), [0], [1], "e", 0.0) for n in range(3)]
    cache.put(("a",), results[0])
    cache.put(("b",), results[1])
    assert cache.get(("a",)) is results[0]
    cache.put(("c",), results[2])
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) is results[0]


def test_image_without_text_gives_empty_text_and_says_so() -> None:
    result = ocr.ocr_pdf(pictures_pdf(2), engine=CountingEngine(text=""))
    assert result.text.strip() == ""
    assert "page 1: OCR found no text on the image." in result.warnings
    assert "OCR found no text on any of the pages it read." in result.warnings


READERS = [ocr.image_only_pages, lambda data: ocr.ocr_pdf(data, engine=CountingEngine())]
NOT_PDFS = [b"", b"%PDF-1.7\n this is not really a PDF", b"\x00" * 64, pictures_pdf(2)[:400]]


@pytest.mark.parametrize("data", NOT_PDFS)
@pytest.mark.parametrize("reader", READERS)
def test_corrupt_pdf_is_a_clear_error(reader: Callable[[bytes], object], data: bytes) -> None:
    with pytest.raises(ocr.PdfUnreadable, match="damaged"):
        reader(data)


@pytest.mark.parametrize("reader", READERS)
def test_encrypted_pdf_is_a_clear_error(reader: Callable[[bytes], object]) -> None:
    with pytest.raises(ocr.PdfEncrypted, match="password"):
        reader(encrypted_pdf())


def test_missing_engine_says_how_to_add_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tesserocr", None)
    assert not ocr.ocr_available()
    assert "pip install 'contract-review-studio[ocr]'" in ocr.ocr_status().message
    with pytest.raises(ocr.OcrUnavailable, match="tesseract-ocr-eng"):
        ocr.ocr_pdf(pictures_pdf(1))


def test_missing_language_model_says_how_to_add_it(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tesserocr", reason="needs tesserocr to reach the model check")
    monkeypatch.setattr(ocr, "TESSDATA_DIRS", ())
    monkeypatch.delenv("TESSDATA_PREFIX", raising=False)
    status = ocr.ocr_status()
    assert not status.available
    assert "English model was not found" in status.message


@pytest.mark.parametrize("angle", [-3.0, 2.0, 0.0])
def test_skew_is_measured_on_a_scanned_page(angle: float) -> None:
    page = render(scan(1, replace(NOISY, angle=angle)).pdf, 150)[0]
    assert ocr.skew_angle(page) == pytest.approx(-angle, abs=0.3)


def test_a_level_page_is_left_alone() -> None:
    page = render(scan(1, CLEAN).pdf, 100)[0]
    assert ocr.deskew(page) is page


# Tesseract alone loses most of a page skewed by 3°; straightened first, it reads it. A page
# scanned sideways or upside down read as gibberish ("AOU] BY} Ul SIDNPoIg"), without a warning.
@pytest.mark.parametrize(
    "how",
    [CLEAN, replace(NOISY, angle=3.0), *(replace(NOISY, angle=a) for a in (90.0, -90.0, 180.0))],
    ids=["clean", "skewed-3", "sideways", "sideways-other-way", "upside-down"],
)
@pytest.mark.usefixtures("ocr_engine")
def test_tesseract_reads_a_scan_with_few_errors(how: Degradation) -> None:
    page = scan(1, how)
    assert ocr.image_only_pages(page.pdf) == [1]
    result = ocr.ocr_pdf(page.pdf, dpi=200)
    truth = squash(page.truth[0])
    assert len(truth) > 1000
    assert Levenshtein.normalized_distance(squash(result.text), truth) <= 0.05
    assert result.engine == "tesseract"
