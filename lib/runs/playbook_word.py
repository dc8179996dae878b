"""The Word file an analyst sends back: comments on the evidence, fallback language as redlines.

For an uploaded DOCX the same document comes back, formatting, numbering, tables and any tracked
changes it already carries kept; for PDF, TXT and pasted text, a DOCX of the text. Each evidence
passage gets a comment whose range is exactly the passage, even across several runs or inside a
table cell (verdict, position, reason). Each deviation or unaddressed position with fallback
language gets it as a tracked insertion (an unaddressed one with a closest candidate passage
quoted gets it in that passage's comment instead), and where the position says the fallback
replaces the deviating text, that text as a tracked deletion — all authored "Contract Review
Studio". Both
take the evidence's whole sentences (`split_sentences`, in its paragraph): a model quotes a
fragment, and fallback language is a sentence of its own, which inserted or substituted
mid-sentence left the clause garbled ("shall not derive{fallback} any benefit").

Comments use python-docx (1.2); revisions use docx-revisions. Runs are split at the passage's
edges here because both libraries anchor on whole runs. Macro-enabled files are refused.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
from dataclasses import dataclass

import docx
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from docx_revisions import RevisionParagraph, RevisionRun

from lib.analysis.clauses.segment import split_sentences
from lib.analysis.docx_text import paragraph_runs, paragraph_text, paragraphs
from lib.analysis.playbook.format import (
    CANDIDATE_LABEL,
    Evidence,
    PlaybookResult,
    Position,
    PositionResult,
    Verdict,
)
from lib.runs.exports import contract_stem, file_name_part
from lib.store.csv_export import exportable

AUTHOR = "Contract Review Studio"
INITIALS = "CRS"
_MACRO_MARKERS = ("vbaProject", "macroEnabled", "vbaData")


class WordFileError(ValueError):
    """The upload cannot be returned with comments (macro-enabled or unreadable)."""


@dataclass
class _Unit:
    """A run and where its text sits in the contract text."""

    run: Run
    start: int
    end: int


def word_file_name(result: PlaybookResult, document_name: str) -> str:
    """E.g. "nda - nda playbook - Built-in playbook checker (no model).docx": the checker named,
    so the two files of a comparison do not share a name."""
    stem = contract_stem(document_name)
    checker = file_name_part(result.checker)
    return f"{stem} - {result.playbook.id} playbook - {checker or 'checker'}.docx"


def _refuse_macros(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError):
        raise WordFileError("the file is not a Word document (.docx)") from None
    if any("vbaproject" in n.lower() for n in names) or any(m in types for m in _MACRO_MARKERS):
        raise WordFileError("macro-enabled Word files are refused: save it as a plain .docx")


def _map_units(document, text: str) -> list[_Unit]:
    """Every run located in the contract text, found paragraph by paragraph in order."""
    units: list[_Unit] = []
    cursor = 0
    for paragraph in paragraphs(document):
        para_text = paragraph_text(paragraph)
        if not para_text.strip():
            continue
        at = text.find(para_text, cursor)
        if at < 0:
            continue
        cursor = at + len(para_text)
        offset = at
        for run in paragraph_runs(paragraph):
            length = len(run.text)
            units.append(_Unit(run, offset, offset + length))
            offset += length
    return units


def _splittable(run: Run) -> bool:
    return all(child.tag in (qn("w:rPr"), qn("w:t")) for child in run._r)


def _split(run: Run, at: int) -> Run:
    """Cuts a plain-text run at `at`; returns the new run holding the text after the cut."""
    text = run.text
    tail = copy.deepcopy(run._r)
    run._r.addnext(tail)
    run.text = text[:at]
    tail_run = Run(tail, run._parent)
    tail_run.text = text[at:]
    return tail_run


def _runs_for(units: list[_Unit], start: int, end: int) -> list[_Unit]:
    """The runs covering exactly [start, end), splitting the runs at its edges."""
    i = 0
    while i < len(units):
        u = units[i]
        for edge in (start, end):
            if u.start < edge < u.end and _splittable(u.run):
                tail = _split(u.run, edge - u.start)
                units.insert(i + 1, _Unit(tail, edge, u.end))
                u.end = edge
        i += 1
    return [u for u in units if u.start < end and start < u.end and u.end > u.start]


def _comment_text(position: Position, result: PositionResult, on_passage: bool = False) -> str:
    """The comment's text; `on_passage` when it sits on one of the result's passages."""
    verdict = result.verdict.value.upper() if result.verdict else "NEEDS A MODEL"
    text = f"{verdict} — {position.title}\nPosition: {position.position}\n{result.reason}"
    if on_passage and result.candidates_only:
        text += f"\nThis passage is the {CANDIDATE_LABEL}."
        if position.fallback:
            text += (
                " No fallback language was inserted: if it does not address the position, "
                f"add: {position.fallback}"
            )
    return exportable(text)


def _text_document(text: str):
    """One paragraph per line; a character Word cannot hold becomes U+FFFD, keeping offsets."""
    document = docx.Document()
    for line in text.split("\n"):
        if exportable(line) != line:
            line = "".join(c if exportable(c) else "\ufffd" for c in line)
        document.add_paragraph(line)
    return document


def playbook_docx(result: PlaybookResult, text: str, original: bytes | None = None) -> bytes:
    """The Word file for one playbook check: `original` is the uploaded DOCX, if there was one.

    `text` is the contract text the checker read (the offsets of its evidence).
    """
    if original is not None:
        _refuse_macros(original)
        try:
            document = docx.Document(io.BytesIO(original))
        except Exception:
            raise WordFileError("the Word document could not be opened") from None
    else:
        document = _text_document(text)
        text = "\n".join(p.text for p in document.paragraphs)
    units = _map_units(document, text)
    playbook = result.playbook
    ends: list[tuple[PositionResult, Position, tuple[int, int] | None]] = []
    for r in result.results:
        position = playbook.position(r.position_id)
        if position is None:
            continue
        first: Evidence | None = None
        for evidence in r.evidence:
            if evidence.start < 0 or evidence.end <= evidence.start:
                continue
            covered = _runs_for(units, evidence.start, evidence.end)
            if not covered:
                continue
            document.add_comment(
                [u.run for u in covered], _comment_text(position, r, True), AUTHOR, INITIALS
            )
            first = first or evidence
        ends.append((r, position, _whole(text, first) if first else None))
    _redlines(document, units, ends)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# What opens a sentence without being its text: clause numbers ("2.04", "(b)") and a short
# run-in heading ("Liability. "), which a replaced sentence keeps.
_LEAD_IN = re.compile(
    r"(?:(?:\d+(?:\.\d+)*[.)]?|\(?(?:[a-z]{1,4}|[A-Z]|\d+)[.)])\s+"  # 2.04 | (b) | iv.
    r"|(?:[A-Z][\w'’&/-]*\s){0,5}[A-Z][\w'’&/-]*\.\s+)*"  # Limitation of Liability.
)


def _whole(text: str, evidence: Evidence) -> tuple[int, int]:
    """The evidence widened to the whole sentences it touches, within its own paragraph (line),
    less a clause number or run-in heading at the start."""
    line_start = text.rfind("\n", 0, evidence.start) + 1
    line_end = text.find("\n", evidence.end)
    line_end = len(text) if line_end < 0 else line_end
    touched = [
        s
        for s in split_sentences(text[line_start:line_end], line_start)
        if s.start < evidence.end and evidence.start < s.end
    ]
    if not touched:
        return evidence.start, evidence.end
    start = touched[0].start
    if (lead := _LEAD_IN.match(text, start, evidence.start)) is not None:
        start = lead.end()
    return min(start, evidence.start), max(touched[-1].end, evidence.end)


def _redlines(document, units: list[_Unit], ends) -> None:
    """Each position's fallback as a tracked insertion, in playbook order, and the text it
    replaces as a tracked deletion.

    Several positions may quote the same passage (an exclusive purchase that is also a
    worldwide non-compete): the passage is deleted once, as a deletion inside a deletion is
    not valid WordprocessingML, and each position's fallback follows the ones placed before it,
    so the redlines read in the playbook's order.

    A position found not addressed gets its fallback at the end of the document, except where
    the checker quotes a closest candidate passage: the verdict says nothing decides the
    position, yet that passage may well address it, and language added regardless could
    duplicate or contradict it. The fallback is then left out of the text and offered in the
    candidate's comment, for the analyst to add if the passage does not cover the position."""
    placed: list = []  # the insertions placed so far, which a later one goes after
    for r, position, span in ends:
        if not position.fallback or r.verdict not in (Verdict.DEVIATES, Verdict.NOT_ADDRESSED):
            continue
        fallback = exportable(position.fallback)
        runs = [u.run for u in _runs_for(units, *span)] if span else []
        if r.verdict is Verdict.NOT_ADDRESSED and span:
            continue  # offered in the candidate passage's comment
        if r.verdict is Verdict.DEVIATES and runs:
            # The last run is in the paragraph the fallback goes in, where the passage ends.
            paragraph = _paragraph_of(runs[-1])
            for run in runs if position.replace else []:
                if run._r.getparent().tag != qn("w:del"):  # deleted for an earlier position
                    RevisionRun.from_run(run).delete_tracked(author=AUTHOR)
            RevisionParagraph.from_paragraph(paragraph).add_tracked_insertion(
                " " + fallback, author=AUTHOR
            )
            # Added at the paragraph's end; moved to where the passage ends (after what it
            # replaces), so the redline reads in place before any sentence that follows.
            after = _in_paragraph(paragraph, runs[-1]._r)
            while (following := after.getnext()) is not None and (
                _comment_mark(following) or any(following is i for i in placed)
            ):
                # past the comments' ends (they cover the evidence alone) and the fallbacks
                # of earlier positions on the same passage
                after = following
            insertion = paragraph._p.findall(qn("w:ins"))[-1]
            after.addnext(insertion)
            placed.append(insertion)
        else:
            paragraph = document.add_paragraph()
            RevisionParagraph.from_paragraph(paragraph).add_tracked_insertion(
                fallback, author=AUTHOR
            )
            # No passage of the contract to hang its comment on: the comment goes on the
            # inserted language, so the file says which position it answers, and why.
            inserted = paragraph._p.findall(qn("w:ins"))[-1].findall(qn("w:r"))
            runs = [Run(run, paragraph) for run in inserted]
            if runs:
                document.add_comment(runs, _comment_text(position, r), AUTHOR, INITIALS)


def _comment_mark(element) -> bool:
    """A comment's range end, or the run holding its reference mark."""
    return element.tag == qn("w:commentRangeEnd") or (
        element.tag == qn("w:r") and element.find(qn("w:commentReference")) is not None
    )


def _in_paragraph(paragraph: Paragraph, element):
    """The paragraph's own child holding `element` (a run, or the deletion, link or field
    around it)."""
    while element.getparent() is not paragraph._p:
        element = element.getparent()
    return element


def _paragraph_of(run: Run) -> Paragraph:
    element = run._r.getparent()
    while element is not None and element.tag != qn("w:p"):
        element = element.getparent()
    return Paragraph(element, run._parent)
