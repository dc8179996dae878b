"""Downloads of a report: the Markdown as written, and a Word document for people who edit in Word.

The Word conversion understands only what the report skeleton uses (headings, bullets, numbered
lists, quotes, bold); model output is treated as text throughout, never as markup to execute.
Control characters are dropped from both (`exportable`): Word's XML cannot hold them (python-docx
refuses the whole document), and a model quoting a PDF passage passes them on.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from datetime import UTC
from pathlib import PurePath

from docx import Document
from docx.shared import Pt, RGBColor

from lib.analysis.grounding import LEGEND, CheckedQuote, annotate_markdown
from lib.analysis.grounding.annotate import LEGEND_HEADING, MARK_CLOSE, MARK_OPEN
from lib.analysis.safe_markdown import escape_markdown, safe_markdown
from lib.engine.errors import error_title
from lib.engine.run_stats import RunStatus
from lib.store.csv_export import exportable
from lib.store.records import RunRecord, run_maker

_BOLD = re.compile(r"\*\*(.+?)\*\*")
# A quote check's mark in the Word text (`annotate.suffix`): its tint's initial, then its words.
_MARK = re.compile(f"{MARK_OPEN}([gor])(.*?){MARK_CLOSE}")
_TINTS = {
    "g": RGBColor(0x2E, 0x7D, 0x32),
    "o": RGBColor(0xB2, 0x5E, 0x09),
    "r": RGBColor(0xC6, 0x28, 0x28),
}

_NUMBERED = re.compile(r"^\d+[.)]\s+")
# A Markdown table: rows of cells between pipes, the header's followed by a rule ("|---|:--:|").
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_CELL_EDGE = re.compile(r"(?<!\\)\|")


def _provenance(record: RunRecord) -> str:
    when = record.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return exportable(
        f"Reviewed {when} by {run_maker(record.provider, record.model)}, template "
        f"{record.template}; "
        f"report {_outcome(record)}."
        + (
            f" The {record.text_source}; quotes were matched allowing for OCR errors."
            if record.text_source
            else ""
        )
        # What the run's page said beside it (a page of the contract not read, a cut answer).
        + "".join(f" {' '.join(note.split())}" for note in record.notes)
    )


def _outcome(record: RunRecord) -> str:
    """What the page says of a run that did not finish, for a reader who has only the file."""
    if record.status is RunStatus.DONE:
        return record.status.label
    partial = " The report below is partial" if record.report.strip() else " No report was written"
    if record.status is not RunStatus.ERROR:
        return f"{record.status.label}.{partial}"
    title = error_title(record.error_kind)
    reason = " ".join((record.error_message or "").split()).rstrip(".")
    return f"{record.status.label} ({title}{': ' + reason if reason else ''}).{partial}"


def file_name_part(text: str, limit: int = 60) -> str:
    """A name (a contract's, a model's) as a download's file name may carry it: letters of any
    script kept, no path, no leading dot (a hidden file)."""
    return " ".join(re.sub(r"[^\w().,@·-]+", " ", text).split())[:limit].lstrip(". ")


def contract_stem(document_name: str) -> str:
    """The contract's name without its extension, as a file name may carry it, where every
    download's and report file's name starts; a folder batch's "a/x.txt" keeps its folder
    ("a x"), or two folders' "x.txt" read alike."""
    path = PurePath(document_name or "contract")
    stem = str(path.with_suffix("")) if path.name not in ("", ".", "..") else ""
    return file_name_part(stem, 120) or "contract"


def review_file_name(record: RunRecord, extension: str, reviewer: str | None = None) -> str:
    """E.g. "MSA - Claude · claude-sonnet-5-5 review.md": the reviewer named (as a page names it,
    "Left: …", where given), so the two reports of a comparison do not share a name."""
    maker = file_name_part(reviewer or run_maker(record.provider, record.model))
    return f"{contract_stem(record.document_name)} - {maker or 'review'} review.{extension}"


def _report_text(
    record: RunRecord,
    checked: Sequence[CheckedQuote] | None,
    markdown: bool = True,
    sanitise: Callable[[str], str] | None = None,
) -> str:
    """The report as written (through `sanitise`), with each quote's check after it and the
    legend at the end where quotes were checked; free of control characters either way. A file
    has no colours: each mark takes a form the model's text cannot (a link to the legend in
    Markdown, a coloured run in Word), so a model's own "✓ verified" does not pass for one."""

    def clean(text: str) -> str:
        return sanitise(exportable(text)) if sanitise else exportable(text)

    marked = annotate_markdown(
        record.report, checked or (), colour=False, markdown=markdown, sanitise=clean
    )
    legend = f"\n\n## {LEGEND_HEADING}\n\n{LEGEND}" if checked else ""
    return exportable(marked + legend)


def report_markdown(record: RunRecord, checked: Sequence[CheckedQuote] | None = None) -> bytes:
    """The report as the page draws it, but for links: a Markdown viewer opening the file loads
    nothing, runs nothing and follows no link of the report's own (`safe_markdown`), and the
    provenance line (a server names its models) is text."""
    # No link of the report's own, not even to the contract's hosts: in a file, where no colour
    # tells them apart, a check's mark is the only link (a model's "[✓ verified](https://the
    # contract's host/#quote-checks)" passed for one).
    report = _report_text(record, checked, sanitise=safe_markdown)
    return f"*{escape_markdown(_provenance(record))}*\n\n{report.strip()}\n".encode()


def _cells(line: str) -> list[str]:
    """A Markdown table row's cells, an escaped pipe ("\\|") kept as text."""
    inner = line.strip().removeprefix("|")
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip().replace("\\|", "|") for cell in _CELL_EDGE.split(inner)]


def _add_table(document, rows: list[list[str]]) -> None:
    """A report's Markdown table as a Word table (the page and the Markdown file show one)."""
    width = max(len(row) for row in rows)
    table = document.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            paragraph = table.cell(r, c).paragraphs[0]
            _add_runs(paragraph, text)
            if r == 0:
                for run in paragraph.runs:
                    run.bold = True


def _add_runs(paragraph, text: str) -> None:
    """Text with its bold, and each quote check's mark in its colour."""
    position = 0
    for match in _MARK.finditer(text):
        _add_bold_runs(paragraph, text[position : match.start()])
        run = paragraph.add_run(match.group(2))
        run.font.color.rgb, run.italic = _TINTS[match.group(1)], True
        position = match.end()
    _add_bold_runs(paragraph, text[position:])


def _add_bold_runs(paragraph, text: str) -> None:
    position = 0
    for match in _BOLD.finditer(text):
        paragraph.add_run(text[position : match.start()])
        paragraph.add_run(match.group(1)).bold = True
        position = match.end()
    paragraph.add_run(text[position:])


def _unmarked(text: str) -> str:
    """A line with its marks as words alone (a heading takes no coloured run)."""
    return _MARK.sub(lambda match: match.group(2), text)


def report_docx(record: RunRecord, checked: Sequence[CheckedQuote] | None = None) -> bytes:
    document = Document()
    document.styles["Normal"].font.size = Pt(10.5)
    note = document.add_paragraph()
    note.add_run(_provenance(record)).italic = True
    lines = [raw.rstrip() for raw in _report_text(record, checked, markdown=False).splitlines()]
    at = 0
    while at < len(lines):
        line = lines[at]
        at += 1
        if not line.strip():
            continue
        if _TABLE_ROW.match(line) and at < len(lines) and _TABLE_RULE.match(lines[at]):
            rows = [_cells(line)]
            at += 1
            while at < len(lines) and _TABLE_ROW.match(lines[at]):
                rows.append(_cells(lines[at]))
                at += 1
            _add_table(document, rows)
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            level = min(len(heading.group(1)), 4)
            document.add_heading(_unmarked(heading.group(2)).replace("**", ""), level=level)
        elif re.match(r"^\s*[-*+]\s+", line):
            _add_runs(
                document.add_paragraph(style="List Bullet"), re.sub(r"^\s*[-*+]\s+", "", line)
            )
        elif _NUMBERED.match(line.strip()):
            _add_runs(document.add_paragraph(style="List Number"), _NUMBERED.sub("", line.strip()))
        elif line.startswith(">"):
            _add_runs(document.add_paragraph(style="Quote"), line.lstrip("> "))
        else:
            _add_runs(document.add_paragraph(), line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
