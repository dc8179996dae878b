"""What a batch takes in from a folder or from uploads, on the Portfolio page and in crs-batch
alike: a copy of a contract under another name is run once, and every file not read is named with
why, before anything is estimated or sent."""

from __future__ import annotations

import csv
from pathlib import Path

from streamlit.testing.v1 import AppTest

from devtools.sample_files import pdf_bytes
from lib.cli.batch import main
from lib.engine.settings import load_settings
from lib.runs.batch_sources import folder_contracts, read_files
from lib.ui.portfolio_sections import DOCUMENTS_KEY
from tests.test_portfolio_page import PAGE, page_env

ALPHA = "1. Governing Law. The laws of Utopia govern this Agreement between Acme and Beta."
BETA = "1. Term. This Agreement between Gamma and Delta lasts two years."
SAME_TEXT = ("duplicate_of_alpha.txt", "same text as alpha.txt")
CSV_TYPE = "not a contract file type: .csv (a batch reads .pdf, .docx, .txt, .md, .markdown)"


def data_room(tmp_path: Path) -> Path:
    """Two contracts, a copy of one under another name, an empty file, a spreadsheet, and the
    bookkeeping files an operating system or a tool leaves."""
    folder = tmp_path / "room"
    (folder / ".git").mkdir(parents=True)
    (folder / "alpha.txt").write_text(ALPHA)
    (folder / "beta.txt").write_text(BETA)
    (folder / "duplicate_of_alpha.txt").write_text(ALPHA)
    (folder / "empty.txt").write_text("")
    (folder / "notes.csv").write_text("a,b\n")
    (folder / ".DS_Store").write_bytes(b"\0\1")
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return folder


def test_a_folder_reads_a_copy_once_and_names_every_file_it_does_not_read(tmp_path):
    loaded = folder_contracts(data_room(tmp_path), load_settings({}))
    assert [d.name for d in loaded.documents] == ["alpha.txt", "beta.txt"]
    assert loaded.problems == [
        SAME_TEXT,
        ("empty.txt", "“empty.txt” is empty."),
        ("notes.csv", CSV_TYPE),
    ]


def test_a_link_out_of_an_allowed_folder_is_named_not_read(tmp_path):
    folder, outside = data_room(tmp_path), tmp_path / "secret.txt"
    outside.write_text(BETA + " Secret.")
    (folder / "link.txt").symlink_to(outside)
    settings = load_settings({"CRS_BATCH_DIRS": str(folder)})
    loaded = folder_contracts(folder, settings, settings.batch_dirs)
    assert ("link.txt", "a link to a file outside the allowed folder") in loaded.problems
    assert [d.name for d in loaded.documents] == ["alpha.txt", "beta.txt"]


def test_uploads_of_the_same_text_are_read_once_whatever_their_names():
    files = [
        ("a.txt", ALPHA.encode()),
        ("copy of a.txt", ALPHA.encode()),
        ("a.txt", ALPHA.encode()),
    ]
    loaded = read_files(files, load_settings({}))
    assert [d.name for d in loaded.documents] == ["a.txt"]
    assert loaded.problems == [
        ("copy of a.txt", "same text as a.txt"),
        ("a.txt", "same text as a.txt"),
    ]


def test_a_pdf_and_its_text_export_are_read_once_and_a_letter_apart_are_two_contracts():
    """Copies of one contract that differ only in spacing (a PDF's wrapped lines against its
    text export's CRLF, trailing spaces, runs of spaces, a no-break space) were both reviewed,
    billed twice; a letter or a comma apart, both are still read."""
    law = (
        "1. Governing Law. The laws of Utopia govern this Agreement between Acme Ltd and Beta"
        " GmbH, and each party submits to the courts of Utopia City for every dispute under it."
    )
    term = "2. Term. This Agreement lasts two years from the date both parties sign it."
    spaced = law.replace("Ltd and", "Ltd \u00a0 and")
    export = f"  {spaced}  \r\n\r\n{term}\t\r\n"
    files = [
        ("msa.pdf", pdf_bytes([[law, term]])),
        ("msa.txt", export.encode()),
        ("msa spaced.txt", f"{law}\n{term}".replace("Term.", "Term .").encode()),
        ("msa comma.txt", f"{law}\n{term}".replace("years from", "years, from").encode()),
    ]
    loaded = read_files(files, load_settings({}))
    pdf_text = loaded.documents[0].text
    assert "\n" in pdf_text.strip() and pdf_text != export  # wrapped: not the export's text
    assert [d.name for d in loaded.documents] == ["msa.pdf", "msa spaced.txt", "msa comma.txt"]
    assert loaded.problems == [("msa.txt", "same text as msa.pdf")]


def test_crs_batch_skips_a_copy_before_its_estimate_and_runs_it_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    folder, out = data_room(tmp_path), tmp_path / "out"
    argv = ["run", "--folder", str(folder), "--model", "clause-finder", "--out", str(out)]
    assert main([*argv, "--estimate"]) == 0
    printed = capsys.readouterr()
    assert "skipped duplicate_of_alpha.txt: same text as alpha.txt" in printed.err
    assert f"skipped notes.csv: {CSV_TYPE}" in printed.err
    assert ".DS_Store" not in printed.err and "HEAD" not in printed.err
    assert "estimate in all: 2 runs" in printed.out
    assert main(argv) == 0
    with (out / "runs.csv").open(encoding="utf-8") as runs_csv:
        runs = list(csv.DictReader(runs_csv))
    assert sorted(r["contract"] for r in runs) == ["alpha.txt", "beta.txt"]


def test_portfolio_names_a_folders_copy_and_its_other_files_as_left_out(tmp_path, monkeypatch):
    page_env(tmp_path, monkeypatch)
    monkeypatch.setenv("CRS_BATCH_DIRS", str(data_room(tmp_path)))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.radio(key="pf_source").set_value("folder").run()
    assert not at.exception, at.exception
    assert list(at.session_state[DOCUMENTS_KEY]) == ["alpha.txt", "beta.txt"]
    warnings = [w.value.replace("\\", "") for w in at.warning]  # as read: Markdown unescaped
    assert "duplicate_of_alpha.txt: same text as alpha.txt. It is left out." in warnings
    assert f"notes.csv: {CSV_TYPE}. It is left out." in warnings
    assert "empty.txt: “empty.txt” is empty. It is left out." in warnings


def test_portfolio_reads_an_uploaded_copy_once(tmp_path, monkeypatch):
    page_env(tmp_path, monkeypatch)
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.radio(key="pf_source").set_value("upload").run()
    files = [
        ("alpha.txt", ALPHA.encode(), "text/plain"),
        ("copy.txt", ALPHA.encode(), "text/plain"),
    ]
    at.file_uploader(key="pf_files").set_value(files).run()
    assert not at.exception, at.exception
    assert list(at.session_state[DOCUMENTS_KEY]) == ["alpha.txt"]
    assert "copy.txt: same text as alpha.txt. It is left out." in [w.value for w in at.warning]


def test_many_files_left_out_are_one_table_below_the_first_warnings(tmp_path, monkeypatch):
    page_env(tmp_path, monkeypatch)
    folder = data_room(tmp_path)
    for n in range(20):
        (folder / f"sheet {n:02d}.xlsx").write_bytes(b"PK")
    monkeypatch.setenv("CRS_BATCH_DIRS", str(folder))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.radio(key="pf_source").set_value("folder").run()
    assert not at.exception, at.exception
    assert len(at.warning) == 10
    (table,) = [e for e in at.expander if e.label == "13 more files left out"]
    assert len(table.dataframe[0].value) == 13
