"""OCR runs in a child process: progress, Stop, the cache, and every bad input ending in a clear
message while the server process carries on."""

from __future__ import annotations

import time

import pytest

from bench.scans import scan
from devtools.sample_files import image_pdf_bytes, pdf_bytes
from lib.analysis.documents import DocumentError, document_from_ocr
from lib.engine.limits import OcrLimits
from lib.engine.settings import load_settings
from lib.runs.ocr_job import OcrJob, too_many_pages

needs_engine = pytest.mark.usefixtures("ocr_engine")  # skips, or fails under CRS_REQUIRE_OCR=1
# A child that reads its input, says it is on page 1, then hangs: Stop and the time limit must
# end it.
HANGING = (
    "-c",
    'import sys, time; sys.stdin.buffer.read(); print(\'{"page": 1, "total": 3}\', flush=True);'
    " time.sleep(120)",
)


pytestmark = pytest.mark.usefixtures("empty_ocr_cache")


def finished(job: OcrJob, timeout: float = 120) -> OcrJob:
    job.join(timeout)
    assert job.finished
    return job


@needs_engine
def test_a_two_page_scan_is_read_with_progress_and_page_offsets() -> None:
    document = scan(2)
    job = OcrJob(document.pdf, [1, 2])
    seen = set()
    while not job.finished:
        seen.add(job.page)
        time.sleep(0.05)
    assert job.error is None and job.result is not None
    assert {1, 2} <= seen and job.page == 2
    assert job.result.pages_ocred == [1, 2] and len(job.result.page_starts) == 2
    read = document_from_ocr(job.result, "scan.pdf", len(document.pdf))
    second_page = read.text[read.page_starts[1] :]
    assert document.truth[1].split()[0] in second_page.split()[:5]


@needs_engine
def test_the_same_file_is_read_once_then_comes_from_the_cache() -> None:
    document = scan(1)
    first = finished(OcrJob(document.pdf, [1]))
    # Were a child started again, this one would fail: the result must come from the cache.
    again = finished(OcrJob(document.pdf, [1], worker=("-c", "import os; os.abort()")))
    assert again.error is None and again.result == first.result


def test_stop_ends_the_child_mid_page() -> None:
    job = OcrJob(b"%PDF", [1, 2, 3], worker=HANGING)
    deadline = time.monotonic() + 10
    while job.page == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    job.stop()
    finished(job, 30)  # the child's page never ends (it sleeps 120 s): it was killed mid-page
    assert job.stopped and job.result is None
    assert job.error == "OCR was stopped after 0 of 3 pages; nothing was changed."


def test_a_run_past_its_time_is_ended_with_a_clear_message() -> None:
    limits = OcrLimits(base_seconds=1.0, seconds_per_page=0.5)
    job = finished(OcrJob(b"%PDF", [1], limits, worker=HANGING), 60)  # the child sleeps 120 s
    assert job.result is None and not job.stopped
    assert job.error is not None and "longer than 2 s" in job.error and "page 1 of 1" in job.error


def test_a_crashing_child_is_a_clear_message_and_not_the_servers_end() -> None:
    job = finished(OcrJob(b"%PDF", [1], worker=("-c", "import os; os.abort()")))
    assert job.result is None and "could not be processed" in (job.error or "")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (pdf_bytes(["secret terms"], password="pw"), "password-protected"),
        (b"%PDF-1.4 broken", "damaged"),
    ],
)
def test_encrypted_or_corrupt_pdfs_are_clear_messages(data: bytes, fragment: str) -> None:
    job = finished(OcrJob(data, [1]))
    assert job.result is None and fragment in (job.error or "")


def test_a_scan_over_the_page_cap_is_refused_before_reading() -> None:
    limits = OcrLimits(page_cap=100)
    assert too_many_pages(100, limits) is None
    message = too_many_pages(300, limits)
    assert message is not None and "300 pages need OCR" in message and "100" in message
    job = finished(OcrJob(b"%PDF", range(1, 301), limits, worker=("-c", "import os; os.abort()")))
    assert job.error == message


@needs_engine
def test_an_image_with_no_text_ends_in_a_clear_message() -> None:
    job = finished(OcrJob(image_pdf_bytes(), [1]))
    assert job.result is not None and not job.result.text.strip()
    with pytest.raises(DocumentError, match="OCR found no text"):
        document_from_ocr(job.result, "blank.pdf", 1)


def test_operators_set_the_ocr_limits() -> None:
    limits = load_settings({"CRS_OCR_MAX_PAGES": "300"}).ocr_limits
    assert limits.page_cap == 300 and limits.memory_mb == OcrLimits().memory_mb
    with pytest.raises(ValueError, match="CRS_OCR_MEMORY_MB must be a number above 0"):
        load_settings({"CRS_OCR_MEMORY_MB": "nonsense"})
