"""Scans in a batch are read with OCR as the Review page reads them: by crs-batch (or left out
with `--no-ocr`, or where the server has no OCR, saying so), and on the Portfolio page after its
one OCR button. The tests that run Tesseract read a 1-page scan."""

from __future__ import annotations

import io
from hashlib import sha256
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image
from streamlit.testing.v1 import AppTest

from bench.scans import scan
from devtools.sample_files import image_pdf_bytes, pdf_bytes
from lib.analysis.ocr import OcrStatus
from lib.cli.batch import main
from lib.engine.settings import load_settings
from lib.runs.batch import RUNNING, BatchSettings
from lib.runs.batch_sources import FOLDER_PREFIX
from lib.runs.scans import Scan, take_scan
from lib.store.batch_store import BatchStatus, BatchStore, ItemStatus
from lib.store.run_log import RunLog
from lib.ui.ocr_panel import SCAN_JOBS_KEY
from lib.ui.portfolio_sections import DOCUMENTS_KEY
from tests.test_portfolio_page import PAGE, page_env

needs_engine = pytest.mark.usefixtures("ocr_engine")  # skips, or fails under CRS_REQUIRE_OCR=1
TEXT = "1. Governing law. This Agreement is governed by the laws of Utopia."
PDF = "application/pdf"


pytestmark = pytest.mark.usefixtures("empty_ocr_cache")


@pytest.fixture(scope="module")
def scanned() -> tuple[bytes, str]:
    """A 1-page scan of a services agreement, and its first line of parties as printed."""
    page = scan(1)
    return page.pdf, "Oaktree Capital Management"


def folder(tmp_path: Path, scan_pdf: bytes) -> Path:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "scan.pdf").write_bytes(scan_pdf)
    (contracts / "text.pdf").write_bytes(pdf_bytes([TEXT]))
    return contracts


def run(tmp_path: Path, contracts: Path, *options: str) -> tuple[int, Path]:
    out = tmp_path / "out"
    argv = ["run", "--folder", str(contracts), "--model", "clause-finder", "--out", str(out)]
    return main([*argv, *options]), out / "reports" / "Clause finder (no model)"


@needs_engine
def test_crs_batch_reads_a_scan_with_ocr_and_reviews_it(tmp_path, monkeypatch, capsys, scanned):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    code, reports = run(tmp_path, folder(tmp_path, scanned[0]))
    assert code == 0
    assert sorted(p.name for p in reports.iterdir()) == ["scan.md", "text.md"]
    report = (reports / "scan.md").read_text()
    assert "The text of page 1 read by OCR (tesseract)" in report
    assert f'"{scanned[1]}' in report  # a quote from the text OCR read
    err = capsys.readouterr().err
    assert "ocr scan.pdf: Reading page 1 of 1 with OCR…" in err
    assert "skipped" not in err


def test_no_ocr_leaves_a_scan_out_saying_how_to_read_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    monkeypatch.setattr("lib.runs.scans.ocr_status", lambda: OcrStatus(True, "OCR by Tesseract."))
    code, reports = run(tmp_path, folder(tmp_path, image_pdf_bytes()), "--no-ocr")
    assert code == 0
    assert [p.name for p in reports.iterdir()] == ["text.md"]
    err = capsys.readouterr().err
    assert (
        "skipped scan.pdf: “scan.pdf” has no text layer — it is a scan of 1 page, so only OCR can "
        "read it. Run without --no-ocr to read it with OCR." in err
    )


def test_an_estimate_reads_no_scan_and_counts_them(tmp_path, monkeypatch, capsys):
    """`--estimate` runs nothing, yet it read every scan with OCR first (minutes a scan)."""
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    monkeypatch.setattr("lib.runs.scans.ocr_status", lambda: OcrStatus(True, "OCR by Tesseract."))

    def no_ocr(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an estimate runs no OCR")

    monkeypatch.setattr("lib.runs.scans.read_scan", no_ocr)
    code, _ = run(tmp_path, folder(tmp_path, image_pdf_bytes()), "--estimate")
    assert code == 0
    printed = capsys.readouterr()
    assert "estimate text.pdf · Clause finder (no model): " in printed.out
    assert "estimate in all: 1 run, " in printed.out
    assert (
        "1 scan would be read with OCR first, which an estimate does not do, so it is not in it:"
        " scan.pdf" in printed.out
    )
    assert "skipped" not in printed.err and "ocr scan.pdf" not in printed.err


def test_without_tesseract_a_scan_is_left_out_saying_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    missing = OcrStatus(False, "OCR is not installed. To add it: pip install the ocr extra.")
    monkeypatch.setattr("lib.runs.scans.ocr_status", lambda: missing)
    code, reports = run(tmp_path, folder(tmp_path, image_pdf_bytes()))
    assert code == 0 and [p.name for p in reports.iterdir()] == ["text.md"]
    err = capsys.readouterr().err
    assert "skipped scan.pdf: “scan.pdf” has no text layer" in err
    assert f"only OCR can read it. {missing.message}" in err


def two_page_scan() -> bytes:
    pdf = FPDF()
    for _ in range(2):
        picture = io.BytesIO()
        Image.new("RGB", (200, 100), "white").save(picture, format="PNG")
        pdf.add_page()
        pdf.image(picture, x=10, y=10, w=100)
    return bytes(pdf.output())


def test_a_scan_ocr_cannot_read_is_left_out_with_why_and_the_batch_runs(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    monkeypatch.setenv("CRS_OCR_MAX_PAGES", "1")
    monkeypatch.setattr("lib.runs.scans.ocr_status", lambda: OcrStatus(True, "OCR by Tesseract."))
    code, reports = run(tmp_path, folder(tmp_path, two_page_scan()))
    assert code == 0 and [p.name for p in reports.iterdir()] == ["text.md"]
    assert (
        "skipped scan.pdf: “scan.pdf”: 2 pages need OCR; the limit is 1 pages in one run"
        in capsys.readouterr().err
    )


@needs_engine
def test_portfolio_reads_the_uploaded_scans_with_one_button(tmp_path, monkeypatch, scanned):
    page_env(tmp_path, monkeypatch)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio(key="pf_source").set_value("upload").run()
    files = [("scan.pdf", scanned[0], PDF), ("text.pdf", pdf_bytes([TEXT]), PDF)]
    at.file_uploader(key="pf_files").set_value(files).run()
    assert not at.exception, at.exception
    assert list(at.session_state[DOCUMENTS_KEY]) == ["text.pdf"]
    assert any("scan.pdf: “scan.pdf” has no text layer" in w.value for w in at.warning)
    (offer,) = [b for b in at.button if b.key == "pf_upload_ocr_scans"]
    assert offer.label == "Read the scan with OCR"
    offer.click().run()
    for job in list(at.session_state[SCAN_JOBS_KEY].values()):
        job.join(120)
    at.run()
    assert not at.exception, at.exception
    texts = at.session_state[DOCUMENTS_KEY]
    assert sorted(texts) == ["scan.pdf", "text.pdf"]
    assert scanned[1] in texts["scan.pdf"]
    assert not any("has no text layer" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "pf_upload_ocr_scans"]


CLAUSE_FINDER = {"provider": "clause_finder", "model": "rules", "base_url": "",
                 "context_length": None}  # fmt: skip


def stopped_folder_batch(log: Path, contracts: Path, scan_sha256: str) -> str:
    """A stopped batch of the folder's two files by the clause finder, neither run yet."""
    store = BatchStore(RunLog(log))
    source = FOLDER_PREFIX + str(contracts.resolve())
    text = sha256(TEXT.encode()).hexdigest()
    batch_id = store.create("scans", {**BatchSettings(source=source).__dict__}, [CLAUSE_FINDER],
                            [("scan.pdf", scan_sha256, "clause_finder:rules@"),
                             ("text.pdf", text, "clause_finder:rules@")])  # fmt: skip
    store.set_status(batch_id, BatchStatus.STOPPED)
    return batch_id


def resume_on_the_page(at: AppTest, batch_id: str) -> list[str]:
    """Resume clicked, and the page drawn once it ended; the warnings the click drew."""
    at.button(key=f"pf_resume_{batch_id}").click().run()
    warned = [w.value for w in at.warning]
    runner = RUNNING.get(batch_id)
    assert runner is not None and runner.wait(60)
    at.run()
    assert not at.exception
    return warned


def test_portfolios_resume_reads_a_folders_scan_as_crs_batch_does_and_names_one_it_cannot(
    tmp_path, monkeypatch
):
    """The page's Resume read the folder without OCR: the scan's run was left out in silence,
    the batch stayed unfinished, and every Resume did the same again."""
    log = page_env(tmp_path, monkeypatch)
    contracts = folder(tmp_path, two_page_scan())
    monkeypatch.setenv("CRS_BATCH_DIRS", str(tmp_path))
    monkeypatch.setenv("CRS_OCR_MAX_PAGES", "1")
    monkeypatch.setattr("lib.runs.scans.ocr_status", lambda: OcrStatus(True, "OCR by Tesseract."))
    batch_id = stopped_folder_batch(log, contracts, "x")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    warned = resume_on_the_page(at, batch_id)
    # The same sentence crs-batch prints, from OCR's own reason (as crs-batch reads the scan).
    said = "scan.pdf · Clause finder (no model) was not resumed: “scan.pdf”: 2 pages need OCR"
    assert any(said in w for w in warned)
    assert any(said in c.value for c in at.caption)  # the grid's note keeps it
    unfinished = [m.value for m in at.markdown if "runs not finished" in m.value]
    assert unfinished and "1 run could not resume: “scan.pdf”: 2 pages need OCR" in unfinished[0]
    items = {i.contract: i.status for i in BatchStore(RunLog(log)).items(batch_id)}
    assert items == {"scan.pdf": ItemStatus.NOT_RESUMED, "text.pdf": ItemStatus.DONE}


@needs_engine
def test_portfolios_resume_runs_a_folders_scan_read_with_ocr(tmp_path, monkeypatch, scanned):
    log = page_env(tmp_path, monkeypatch)
    contracts = folder(tmp_path, scanned[0])
    monkeypatch.setenv("CRS_BATCH_DIRS", str(tmp_path))
    read = take_scan(
        Scan("scan.pdf", ("k",), lambda: scanned[0], "a scan", (1,)),
        load_settings({}, {}).ocr_limits,
    )
    assert not isinstance(read, str)
    batch_id = stopped_folder_batch(log, contracts, read.sha256)
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    resume_on_the_page(at, batch_id)
    items = {i.contract: i.status for i in BatchStore(RunLog(log)).items(batch_id)}
    assert items == {"scan.pdf": ItemStatus.DONE, "text.pdf": ItemStatus.DONE}
    assert not [m for m in at.markdown if "runs not finished" in m.value]
