"""OCR on the Review page through AppTest: image pages named before the review, the offer to read
them, progress with Stop, and the OCR note carried into the run record, history and exports."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from bench.scans import scan
from devtools.fake_upstream import Script
from devtools.sample_files import pdf_bytes, with_image_pages
from lib.analysis.documents import OCR_PAGES
from lib.analysis.ocr import OcrStatus, image_page_warning
from lib.runs import ocr_job
from lib.runs.exports import report_markdown
from lib.store.records import STATE_KEY, records_to_dataframe
from lib.ui.ocr_panel import JOBS_KEY
from tests.test_review_page import all_text, app, env  # noqa: F401  (env is a fixture)

needs_engine = pytest.mark.usefixtures("ocr_engine")  # skips, or fails under CRS_REQUIRE_OCR=1
TEXT_PAGES = [
    "1. Supply. The Supplier shall deliver the Products listed in Exhibit A to the Customer.",
    "3. Term. This Agreement runs for two years from the Effective Date.",
]
PDF = "application/pdf"


pytestmark = pytest.mark.usefixtures("empty_ocr_cache")


@pytest.fixture(scope="module")
def exhibit() -> tuple[bytes, str]:
    """A two-page text contract with a scanned exhibit as page 2, and the exhibit's text."""
    scanned = scan(1)
    return with_image_pages(pdf_bytes(TEXT_PAGES), scanned.pdf, [2]), scanned.truth[0]


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio[0].set_value("Upload a file").run()
    at.file_uploader[0].set_value((name, data, PDF)).run()
    assert not at.exception, at.exception
    return at


def shown(at: AppTest) -> str:
    """Every message on the page as the reader sees it: Markdown escapes taken out."""
    return all_text(at).replace("\\", "")


def wait_for_ocr(at: AppTest) -> AppTest:
    for job in list(at.session_state[JOBS_KEY].values()):
        job.join(120)
    return at.run()


def test_the_image_page_is_named_before_the_review(env, exhibit):  # noqa: F811
    at = upload(app(), "distributor.pdf", exhibit[0])
    warnings = [w.value.replace("\\", "") for w in at.warning]
    assert "P" + image_page_warning(2)[1:] + "." in warnings
    assert [b.label for b in at.button if b.key == "review_ocr"] == ["Read image page 2 with OCR"]


def test_missing_engine_says_how_to_add_it(env, exhibit, monkeypatch):  # noqa: F811
    missing = OcrStatus(False, "OCR is not installed. To add it: pip install the ocr extra.")
    monkeypatch.setattr("lib.ui.ocr_panel.ocr_status", lambda: missing)
    at = upload(app(), "distributor.pdf", exhibit[0])
    assert missing.message in shown(at)
    assert not [b for b in at.button if b.key == "review_ocr"]


@needs_engine
def test_ocr_fills_in_the_page_and_the_run_carries_the_note(env, exhibit):  # noqa: F811
    data, truth = exhibit
    at = upload(app(), "distributor.pdf", data)
    at.button(key="review_ocr").click().run()
    assert not at.exception, at.exception
    bars = [p for p in at.get("progress")]
    assert bars and "of 1 with OCR" in bars[0].proto.text
    assert [b.label for b in at.button if b.key == "review_ocr_stop"] == ["Stop OCR"]
    wait_for_ocr(at)
    note = "The text of page 2 read by OCR (tesseract)"
    assert note in shown(at)
    preview = at.text[0].value
    assert truth.split()[0] in preview and TEXT_PAGES[1][:20] in preview
    assert preview.index(truth.split()[0]) < preview.index(TEXT_PAGES[1][:20])

    env.push(Script(tokens=["## Overall risk: LOW\n", "Quote: “shall deliver the Products”"]))
    at.button(key="review").click().run()
    assert truth.split()[0] in env.streams()[-1].body["messages"][1]["content"]
    (record,) = at.session_state[STATE_KEY]
    assert record.text_source == "text of page 2 read by OCR (tesseract)"
    assert any(record.text_source in c.value.replace("\\", "") for c in at.caption)  # header
    assert list(records_to_dataframe([record])["text"]) == ["OCR"]
    assert at.dataframe[0].value["text"].iloc[0] == "OCR"
    assert "The text of page 2 read by OCR" in report_markdown(record).decode()


@needs_engine
def test_a_full_scan_is_offered_to_ocr_and_a_second_session_reads_it_from_the_cache(
    env,  # noqa: F811
    monkeypatch,
):
    children: list[list[int]] = []  # the pages of each OCR child started
    start_child = ocr_job.OcrJob._read

    def counting(job: ocr_job.OcrJob) -> object:
        children.append(job.pages)
        return start_child(job)

    monkeypatch.setattr(ocr_job.OcrJob, "_read", counting)
    document = scan(2)
    at = upload(app(), "scan.pdf", document.pdf)
    assert any("has no text layer" in w.value for w in at.warning)
    at.button(key="review_ocr").click().run()
    wait_for_ocr(at)
    assert "The text of pages 1-2 read by OCR" in shown(at)
    assert document.truth[0].split()[0] in at.text[0].value
    assert children == [[1, 2]]

    again = upload(app(), "scan.pdf", document.pdf)
    again.button(key="review_ocr").click().run()
    wait_for_ocr(again)
    assert "The text of pages 1-2 read by OCR" in shown(again)
    assert children == [[1, 2]]  # no second reading: it came from the cache


def test_stop_ends_the_run_and_keeps_the_file_text(env, exhibit, monkeypatch):  # noqa: F811
    monkeypatch.setattr(
        ocr_job,
        "WORKER",
        (
            "-c",
            "import sys, time; "
            'sys.stdin.buffer.read(); print(\'{"page": 1, "total": 1}\', flush=True); '
            "time.sleep(120)",
        ),
    )
    monkeypatch.setattr("lib.ui.ocr_panel.ocr_status", lambda: OcrStatus(True, "ready"))
    at = upload(app(), "distributor.pdf", exhibit[0])
    at.button(key="review_ocr").click().run()
    (job,) = at.session_state[JOBS_KEY].values()
    deadline = time.monotonic() + 10
    while job.page == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    at.run()
    assert "Reading page 1 of 1 with OCR" in at.get("progress")[0].proto.text
    at.button(key="review_ocr_stop").click().run()
    job.join(5)
    at.run()
    assert "OCR was stopped after 0 of 1 pages" in shown(at)
    assert TEXT_PAGES[0][:20] in at.text[0].value  # the file's own text is still the contract
    assert [b.label for b in at.button if b.key == "review_ocr"] == ["Read image page 2 with OCR"]


def test_a_scan_over_the_page_cap_says_so_instead_of_offering(env, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CRS_OCR_MAX_PAGES", "1")
    monkeypatch.setattr("lib.ui.ocr_panel.ocr_status", lambda: OcrStatus(True, "ready"))
    at = upload(app(), "scan.pdf", scan(2).pdf)
    assert "2 pages need OCR; the limit is 1 pages" in shown(at)
    assert not [b for b in at.button if b.key == "review_ocr"]


def test_a_scan_says_what_to_do_on_the_page_that_reads_it(env, monkeypatch):  # noqa: F811
    """The warning said "the Review page offers it" on the Review page, and Review clicked
    before OCR said to paste a contract or upload a file, under the file just uploaded."""
    monkeypatch.setattr("lib.ui.ocr_panel.ocr_status", lambda: OcrStatus(True, ""))
    at = upload(app(), "scan.pdf", scan(1).pdf)
    assert any("has no text layer" in w.value for w in at.warning)
    assert OCR_PAGES not in shown(at) and "Review page offers" not in shown(at)
    at.button(key="review").click().run()
    assert "read it with OCR first" in shown(at)
    assert "upload a file first" not in shown(at) and env.streams() == []
    at.radio[0].set_value("Paste text").run()  # another way in: the usual sentence again
    at.button(key="review").click().run()
    assert "Paste a contract or upload a file first" in shown(at)
