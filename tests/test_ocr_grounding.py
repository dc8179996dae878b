"""Quotes from a contract whose text came from OCR are checked with OCR's tolerance: during the
run (the tracker), when it ends (the record) and when the report is drawn again."""

from __future__ import annotations

import time

import pytest

from devtools.fake_upstream import FakeUpstream, Script
from lib.analysis.documents import Document, document_from_ocr, document_from_text
from lib.analysis.ocr import OcrResult
from lib.analysis.prompts import TEMPLATES, default_instructions
from lib.analysis.samples import load_sample
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.settings import Settings
from lib.runs.launch import RunRequest, launch
from lib.store.records import SessionHistory
from lib.store.run_log import RunLog

CONTRACT = load_sample("01_CANOPETROLEUM_INC_12_13_2007_EX_10_1_Sponsorship_Agreement.txt").text
# The sentence as OCR might have misread the page, quoted back by the model.
GARBLED = "Tbe Cornpany sha1l prodvce no lcss tban forty (40) origina1 episodcs of tbe Sbow"


def review(document: Document, upstream: FakeUpstream, tmp_path) -> tuple:
    upstream.push(Script(tokens=["## Obligations\n", f"- Quote: “{GARBLED}”\n"]))
    log = RunLog(tmp_path / "runs.sqlite3")
    record, live = launch(
        RunRequest(
            page="review",
            config=ProviderConfig(Provider.OLLAMA, "llama3.2", upstream.url, read_timeout=10),
            document=document,
            template_key="general",
            instructions=default_instructions(TEMPLATES["general"]),
            perspective="",
            max_tokens=512,
            temperature=0.2,
        ),
        history=SessionHistory([]),
        run_log=log,
        settings=Settings(history_db_path=tmp_path / "runs.sqlite3"),
    )
    deadline = time.monotonic() + 20
    while record.quotes_total is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return record, live, log.get(record.run_id)


@pytest.mark.parametrize("from_ocr", [True, False])
def test_a_misread_quote_is_close_on_ocr_text_and_not_found_on_file_text(
    fake_upstream, tmp_path, from_ocr
):
    if from_ocr:
        result = OcrResult(CONTRACT, [0], [1], "tesseract", 1.0)
        document = document_from_ocr(result, "sponsorship.pdf", 100)
    else:
        document = document_from_text(CONTRACT, "sponsorship.txt")
    record, live, stored = review(document, fake_upstream, tmp_path)
    assert live.tracker is not None and live.tracker.ocr is from_ocr
    assert record.quotes_total == 1
    assert (record.quotes_close, record.quotes_not_found) == ((1, 0) if from_ocr else (0, 1))
    assert stored.text_source == ("text of page 1 read by OCR (tesseract)" if from_ocr else None)
