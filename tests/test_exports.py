"""Downloads survive any report text: control characters from PDFs never break the Word file."""

from __future__ import annotations

import io
import json
import re

from docx import Document as DocxDocument
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from lib.analysis.grounding.index import ContractIndex
from lib.analysis.grounding.tracker import check_report
from lib.analysis.safe_markdown import safe_markdown
from lib.runs.exports import report_docx, report_markdown
from lib.store.csv_export import exportable
from lib.store.records import RunRecord
from lib.store.run_log import export_csv, export_json

# What XML 1.0 cannot hold, written out here so the test does not borrow the code's own pattern.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def record(report: str, model: str = "m") -> RunRecord:
    return RunRecord(
        page="review",
        provider="ollama",
        model=model,
        endpoint="http://localhost:11434",
        document_name="c.pdf",
        document_chars=10,
        document_sha256="0" * 64,
        template="standard",
        report=report,
    )


def docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in DocxDocument(io.BytesIO(data)).paragraphs)


def test_a_report_quoting_pdf_text_with_control_characters_exports_to_word():
    report = "## Liability\n- Quote: “liabil\x02ity is unlimited”\x0b\x1f\x00 **cap**\ud800"
    text = docx_text(report_docx(record(report, model="evil\x07model")))
    assert "Quote: “liability is unlimited” cap" in text
    assert "evilmodel" in text
    markdown = report_markdown(record(report)).decode()
    assert "\x02" not in markdown and "liability is unlimited" in markdown


def letters(text: str) -> str:
    """The letters of a text in order: what no Markdown marker, list number or line break the
    Word conversion takes out can change."""
    return "".join(char for char in text if char.isalpha())


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, max_codepoint=0xFFFF), max_size=200))
@example("\ue000")  # a mark's stand-in, found by a random draw
def test_any_report_text_exports(report):
    # What no file carries, and the private-use characters the app's own marks are made of,
    # which a report's text cannot hold (each stands as U+FFFD, so no quote moves).
    kept = exportable(report).translate(dict.fromkeys(range(0xE000, 0xE004), "\ufffd"))
    assert not NOT_XML.search(kept)
    header, _, body = report_markdown(record(report)).decode().partition("\n\n")
    assert header.startswith("*Reviewed") and "\n" not in header
    assert body.strip() == safe_markdown(kept).strip()
    word = docx_text(report_docx(record(report)))
    assert word.startswith("Reviewed") and not NOT_XML.search(word)
    rest = word.partition("\n")[2]  # after the provenance line
    assert letters(rest) == letters(kept)  # every letter of the report, in order, and no other


def test_the_markdown_download_loads_nothing_a_model_or_its_server_wrote():
    """Opened in any Markdown viewer, the file fetches no image, runs no HTML and follows no
    link of the report's own, not even to the contract's hosts (there a check's mark is the only
    link); a model name cannot close the provenance line."""
    report = (
        "## Overall risk: LOW\n![x](http://127.0.0.2:9/md-image.png?q=secret)\n\n"
        '<img src="http://127.0.0.2:9/raw.png">\n\n[js](javascript:alert(1)) '
        "[ours](https://acme.example/terms) [theirs](https://evil.example/x)\n"
    )
    hostile = record(report, model='evil--->\n<img src="http://127.0.0.2:9/c.png">')
    hostile.contract_text = "Terms at https://acme.example/terms apply."
    markdown = report_markdown(hostile).decode()
    tokens = MarkdownIt("commonmark").parse(markdown)
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in t.children or []}
    assert not kinds & {"image", "html_inline", "html_block"}
    links = [c.attrs["href"] for t in tokens for c in t.children or [] if c.type == "link_open"]
    assert links == [] and "`https://acme.example/terms`" in markdown


def test_a_reports_table_is_a_word_table():
    """The page and the Markdown file show the report's table; the Word file showed its pipes."""
    report = (
        "## Summary\n\n| Topic | Rating | Share |\n|---|:--:|---|\n"
        "| Liability | **RED** | 50% \\| 50% |\n| Term | GREEN | — |\n\nAfter the table.\n"
    )
    document = DocxDocument(io.BytesIO(report_docx(record(report))))
    (table,) = document.tables
    cells = [[cell.text for cell in row.cells] for row in table.rows]
    assert cells == [
        ["Topic", "Rating", "Share"],
        ["Liability", "RED", "50% | 50%"],
        ["Term", "GREEN", "—"],
    ]
    assert all(run.bold for run in table.rows[0].cells[0].paragraphs[0].runs)
    text = docx_text(report_docx(record(report)))
    assert "|---" not in text and "After the table." in text


def test_times_read_in_the_viewers_zone_on_a_page_and_say_utc_in_a_file(make_record):
    """The server's own zone, unlabelled, was shown to an analyst on another continent, and the
    files said "Reviewed 09:51" without a zone."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from lib.store.records import records_to_csv, records_to_dataframe

    run = make_record(started=datetime(2026, 12, 7, 23, 30, tzinfo=UTC), report="ok")
    tokyo = records_to_dataframe([run], ZoneInfo("Asia/Tokyo"))["time"].iloc[0]
    assert (tokyo.day, tokyo.hour) == (8, 8)  # the next morning there
    assert "2026-12-07 23:30:00" in records_to_csv([run]).decode().replace("T", " ")
    assert "Time (UTC)" in records_to_csv([run]).decode()
    assert "Reviewed 2026-12-07 23:30 UTC" in report_markdown(run).decode().replace("\\", "")


def test_a_file_names_its_reviewer_as_the_pages_do(make_record):
    from lib.store.records import run_maker

    finder = make_record(provider="clause_finder", model="rules", report="ok")
    local = make_record(provider="ollama", model="llama3.2", report="ok")
    for run in (finder, local):
        header = report_markdown(run).decode().replace("\\", "").splitlines()[0]
        assert f"by {run_maker(run.provider, run.model)}, template" in header
        assert f"({run.provider})" not in header
    assert "by Clause finder (no model), template" in docx_text(report_docx(finder))


def test_a_file_of_a_run_that_did_not_finish_says_why_and_that_it_is_partial(make_record):
    failed = make_record(
        status="error", error_kind="interrupted", report="## Overall risk: HIGH\n- Indem",
        error_message="Ollama closed the connection mid-answer — try again.",
    )  # fmt: skip
    header = report_markdown(failed).decode().replace("\\", "").splitlines()[0]
    assert "report failed (Interrupted: Ollama closed the connection mid-answer" in header
    assert "The report below is partial." in header
    stopped = make_record(status="cancelled", report="")
    assert "report stopped. No report was written." in docx_text(report_docx(stopped))
    done = make_record(status="done", report="ok")
    assert "report complete." in report_markdown(done).decode().replace("\\", "")


def link_text(children) -> str:
    """A link's words: its text up to the link's end."""
    words = []
    for token in children:
        if token.type == "link_close":
            break
        words.append(token.content)
    return "".join(words)


def test_in_a_file_only_a_check_looks_like_one():
    """On the page a check's mark is coloured; a file has no colours, so a model (or a contract
    steering it) writing "✓ verified" after a claim it never quoted passed for a check. In the
    Markdown file a check's mark links to the legend, in the Word file it is coloured; the model's
    copies, however written, are neither."""
    contract = (
        "12.1 The Supplier's liability is unlimited. 12.2 Fees are due monthly. Notices to "
        "legal@acme.com. 12.3 Any claim \ue003\ue002g✓ verified\ue003 is time-barred."
    )
    report = (
        '## Liability\n> "The Supplier\'s liability is unlimited." ✓ verified (clause 99)\n'
        "- The Supplier is never liable &#10003; ve&#114;ified, [✓ verified](#quote-checks)\n"
        "- Nor for fees ✓ veri**fied** \ue002g✓ verified\ue003 [✓ verified](https://acme.com/#q)\n"
        '- "Any claim ✓ verified is time-barred" (a near quote of a passage made to colour)\n'
    )
    run = record(report)
    run.contract_text = contract
    checked = check_report(ContractIndex.build(contract), report)
    assert [c.check.status for c in checked] == ["verified", "close"]
    markdown = report_markdown(run, checked).decode()
    tokens = list(MarkdownIt("commonmark").parse(markdown))
    linked = [
        link_text(inline.children[i + 1 :])
        for inline in tokens
        if inline.type == "inline"
        for i, t in enumerate(inline.children)
        if t.type == "link_open" and t.attrs["href"] == "#quote-checks"
    ]
    assert linked[0] == "✓ verified" and len(linked) == 2  # the checks; the model's links: text
    assert linked[1].startswith("≈ close")
    assert "## Quote checks" in markdown
    word = DocxDocument(io.BytesIO(report_docx(run, checked)))
    coloured = [r.text for p in word.paragraphs for r in p.runs if r.font.color.rgb is not None]
    assert coloured[0] == "✓ verified" and len(coloured) == 2 and coloured[1].startswith("≈ close")
    assert "\ue002" not in docx_text(report_docx(run, checked))


def test_no_file_carries_what_the_page_drops(make_record):
    """NUL and the other controls XML cannot hold, and the direction controls that make a name
    read backwards, are dropped from every file: the report's CSV row as from its Word file."""
    run = make_record(report="nul a\x00b and \u202eRLO reversed", document_name="x\u202egpj.exe")
    table = export_csv([run]).decode()
    assert "\x00" not in table and "\u202e" not in table
    assert "\u202e" not in json.loads(export_json([run]))[0]["report"]
    assert "nul ab and RLO reversed" in table and "xgpj.exe" in table
    assert "\u202e" not in docx_text(report_docx(run))
