"""Hostile uploads cost the server nothing: bombs are refused from the zip directory, huge PDFs
by page count, and a parser that crashes, hangs or runs out of memory ends only its child."""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile

import pypdfium2 as pdfium
import pytest

from devtools.sample_files import docx_bytes, image_pdf_bytes, pdf_bytes, with_image_pages
from lib.analysis.documents import DocumentError, Limits, document_from_text, load_document
from lib.analysis.ocr import image_page_warning
from lib.engine.limits import Sandbox
from lib.engine.settings import load_settings
from lib.runs.document_sandbox import UploadCache, read_upload

MB = 1024 * 1024

SAMPLE_DOCX = [
    "1. Parties: Acme Ltd and Société Générale.",
    [["Fee", "Due"], ["€10,000", "30 days"]],
    "2. Term: three years.",
]


def zip_of(member: str, size: int, chunk: bytes = b"\0" * MB) -> bytes:
    """A real .docx whose `member` is replaced by one that inflates to `size` bytes, written
    without holding it in memory."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx_bytes(SAMPLE_DOCX))) as original,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for info in original.infolist():
            if info.filename != member:
                archive.writestr(info, original.read(info))
        with archive.open(member, "w", force_zip64=True) as out:
            for _ in range(size // len(chunk)):
                out.write(chunk)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    return zip_of("word/document.xml", 300 * MB)


def many_pages(count: int) -> bytes:
    pdf = pdfium.PdfDocument.new()
    for _ in range(count):
        pdf.new_page(100, 100)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@pytest.fixture
def inflated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The archive members opened for reading from here on: a member is inflated only through
    `ZipFile.open`, so an empty list means nothing was decompressed."""
    opened: list[str] = []
    open_member = zipfile.ZipFile.open

    def recording_open(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            opened.append(getattr(name, "filename", name))
        return open_member(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    return opened


def test_a_zip_bomb_is_refused_before_anything_inflates(zip_bomb, inflated):
    assert len(zip_bomb) < 1 * MB
    with pytest.raises(DocumentError) as info:
        load_document(zip_bomb, "bomb.docx")
    assert "unpacks to far more" in info.value.message and "bomb.docx" in info.value.message
    assert inflated == []
    load_document(docx_bytes(SAMPLE_DOCX), "fine.docx")  # a real file is read through the same door
    assert "word/document.xml" in inflated


def test_a_docx_too_large_unpacked_is_refused_even_when_it_compresses_poorly(inflated):
    data = zip_of("word/document.xml", 4 * MB, chunk=os.urandom(MB))
    inflated.clear()  # building the file read the sample's members
    with pytest.raises(DocumentError) as info:
        load_document(data, "huge.docx", limits=Limits(max_unzipped_bytes=2 * MB))
    assert "unpacks to far more" in info.value.message
    assert inflated == []


def test_ten_thousand_pages_are_refused_with_the_limit_named():
    with pytest.raises(DocumentError) as info:
        read_upload(many_pages(10_000), "tall.pdf")
    assert "10,000 pages; the limit is 2,000" in info.value.message
    limits = dataclasses.replace(Limits(), max_pages=5)
    with pytest.raises(DocumentError, match="6 pages; the limit is 5"):
        load_document(many_pages(6), "six.pdf", limits=limits)


def test_the_child_reads_real_files_and_passes_warnings_back():
    document = read_upload(docx_bytes(SAMPLE_DOCX), "contract.docx")
    assert "Acme Ltd" in document.text and document.kind == "docx"
    assert "€10,000 | 30 days" in document.text and document.warnings == []
    pages = ["Clause one: the Supplier shall deliver.", "Clause two: the Customer shall pay."]
    data = with_image_pages(pdf_bytes(pages), image_pdf_bytes(), [2])
    document = read_upload(data, "c.pdf")
    assert document.pages == 3 and document.image_pages == (2,)
    assert document.warnings == ["P" + image_page_warning(2)[1:] + "."]
    assert document.page_starts == load_document(data, "c.pdf").page_starts


def test_a_crashing_reader_ends_its_child_not_the_server():
    with pytest.raises(DocumentError) as info:
        read_upload(b"%PDF-1.7", "crash.pdf", worker=("-c", "import os; os.abort()"))
    assert "made the document reader fail" in info.value.message


def test_a_hanging_reader_is_abandoned_after_the_time_limit():
    with pytest.raises(DocumentError) as info:
        read_upload(
            b"%PDF-1.7",
            "stall.pdf",
            sandbox=Sandbox(seconds=1),
            worker=("-c", "import time; time.sleep(60)"),
        )
    assert "longer than 1 s" in info.value.message


def test_a_reader_that_needs_too_much_memory_is_stopped_by_the_childs_limit(zip_bomb):
    # With the zip checks off only the child's address-space limit stands in the way.
    open_limits = Limits(max_unzipped_bytes=10**12, max_zip_ratio=10**9)
    with pytest.raises(DocumentError) as info:
        read_upload(zip_bomb, "bomb.docx", limits=open_limits, sandbox=Sandbox(memory_mb=256))
    assert "needs more than 256 MB" in info.value.message


def test_the_child_sees_no_keys_from_the_server_environment(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "operator-secret-must-not-reach-the-reader")
    script = (
        "import json, os, sys; keys = [k for k in os.environ if 'KEY' in k];"
        " sys.stdout.write(json.dumps({'error': repr(keys)}))"
    )
    with pytest.raises(DocumentError) as info:
        read_upload(b"x", "env.txt", worker=("-c", script))
    assert info.value.message == "[]"


def test_pasted_text_has_a_length_cap_with_a_clear_message():
    with pytest.raises(DocumentError) as info:
        document_from_text("x" * 101, limits=Limits(max_chars=100))
    assert "101 characters; the limit is 100" in info.value.message
    assert document_from_text("x" * 100, limits=Limits(max_chars=100)).char_count == 100


def test_a_file_with_more_text_than_a_contract_may_hold_is_refused_in_the_reader():
    """A Word file padded with incompressible data passes the zip ratio check yet held 100
    million characters, and the clause finder in the server took 12 GB on it: files are held to
    the same character cap as pasted text, in the child, before the text reaches the server."""
    limits = Limits(max_chars=1_000)
    words = "The Supplier shall deliver the goods. " * 40  # 1,520 characters
    for name, data in (("long.docx", docx_bytes([words])), ("long.txt", words.encode())):
        with pytest.raises(DocumentError) as info:
            read_upload(data, name, limits=limits)
        assert "characters of text" in info.value.message and "1,000" in info.value.message
    assert read_upload(words.encode(), "ok.txt", limits=Limits(max_chars=2_000)).text


def test_each_upload_is_read_once():
    calls: list[str] = []

    def reader(data: bytes, name: str):
        calls.append(name)
        if name == "bad.pdf":
            raise DocumentError("bad")
        return document_from_text(data.decode(), name)

    cache = UploadCache(size=2)
    for _ in range(3):
        assert cache.read(b"one", "a.txt", reader).text == "one"
        with pytest.raises(DocumentError):
            cache.read(b"%PDF", "bad.pdf", reader)
    assert calls == ["a.txt", "bad.pdf"]
    cache.read(b"two", "b.txt", reader)
    cache.read(b"one", "a.txt", reader)
    assert calls == ["a.txt", "bad.pdf", "b.txt", "a.txt"]


def test_operators_set_the_limits_from_the_environment():
    settings = load_settings({"CRS_MAX_PAGES": "50", "CRS_PARSE_SECONDS": "5"})
    limits, sandbox = settings.document_limits, settings.sandbox
    assert limits.max_pages == 50 and sandbox.seconds == 5
    assert limits.max_chars == Limits().max_chars
    # A typo is named, not taken for the default: the operator thinks the limit is set.
    for value in ("nope", "0", "-3"):
        with pytest.raises(ValueError, match="CRS_MAX_PASTE_CHARS must be a number"):
            load_settings({"CRS_MAX_PASTE_CHARS": value})
