"""How a Word file's body reads as a contract's text: one walk for the text and for the Word file
sent back.

Paragraphs and tables come in document order, content controls' and nested tables' included. A
table is set apart by blank lines, one row to a line, its cells joined by " | "; a merged cell is
one cell (Word repeats it in every column it spans), while two cells that merely hold the same
words ("N/A", "$100") are two. A paragraph's text is what Word shows with changes accepted: its
runs, those of tracked insertions, fields and inline content controls included, deleted text and
text boxes left out (python-docx's `Paragraph.text` reads direct runs only, so "three (3)" added
as a tracked change vanished from "continues for three (3) years"). A paragraph that ends a
sentence is followed by a blank line: Word numbers clauses outside the text, so these gaps (and
the numbers `docx_numbering` writes back in) are what tell `split_clauses` where a clause ends.
The playbook's Word file finds each paragraph in this text in the same order
(`lib.runs.playbook_word`), through `paragraphs` and `paragraph_runs` here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from lib.analysis.clauses.segment import ends_sentence
from lib.analysis.docx_numbering import ListNumbers

# Run containers whose text Word does not show as the paragraph's (with changes accepted).
_NOT_SHOWN = {qn("w:del"), qn("w:moveFrom"), qn("w:txbxContent")}


def paragraph_runs(paragraph: Paragraph) -> list[Run]:
    """The runs whose text Word shows in the paragraph, in order."""
    runs = []
    for element in paragraph._p.iter(qn("w:r")):
        ancestor = element.getparent()
        while ancestor is not None and ancestor is not paragraph._p:
            if ancestor.tag in _NOT_SHOWN:
                break
            ancestor = ancestor.getparent()
        else:
            runs.append(Run(element, paragraph))
    return runs


def paragraph_text(paragraph: Paragraph) -> str:
    return "".join(run.text for run in paragraph_runs(paragraph))


def _blocks(container: Any, parent: Any) -> Iterator[Paragraph | Table]:
    """Paragraphs and tables of a body or cell, a block content control's included."""
    for child in container:
        if child.tag == qn("w:p"):
            yield Paragraph(child, parent)
        elif child.tag == qn("w:tbl"):
            yield Table(child, parent)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _blocks(content, parent)


def _cells(row: Any) -> list[Any]:
    """The row's cells, a merged one once."""
    cells, seen = [], set()
    for cell in row.cells:
        if id(cell._tc) not in seen:  # the row's cell list keeps every element alive meanwhile
            seen.add(id(cell._tc))
            cells.append(cell)
    return cells


def paragraphs(document: Any) -> Iterator[Paragraph]:
    """Every paragraph of the body in the order `word_text` writes them."""
    yield from _paragraphs_in(document.element.body, document._body)


def _paragraphs_in(container: Any, parent: Any) -> Iterator[Paragraph]:
    for block in _blocks(container, parent):
        if isinstance(block, Paragraph):
            yield block
        else:
            for row in block.rows:
                for cell in _cells(row):
                    yield from _paragraphs_in(cell._tc, cell)


def word_text(document: Any) -> str:
    numbers = ListNumbers(document)

    def numbered(paragraph: Paragraph) -> str:
        number = numbers.label(paragraph)
        text = paragraph_text(paragraph)
        return f"{number} {text}" if number and text.strip() else text

    def cell_text(cell: Any) -> str:
        lines = []
        for block in _blocks(cell._tc, cell):
            if isinstance(block, Paragraph):
                lines.append(numbered(block))
            else:  # a table in the cell: its rows, as the cell's lines
                lines += [" | ".join(cell_text(c) for c in _cells(row)) for row in block.rows]
        return "\n".join(lines).strip()

    lines: list[str] = []
    for block in _blocks(document.element.body, document._body):
        if isinstance(block, Paragraph):
            text = numbered(block)
            lines.append(text)
            if ends_sentence(text):
                lines.append("")
        else:
            lines.append("")
            lines += [" | ".join(cell_text(cell) for cell in _cells(row)) for row in block.rows]
            lines.append("")
    return "\n".join(lines)


def unread_parts(document: Any) -> list[str]:
    """What of the file holds text this walk does not read: text boxes, footnotes, endnotes and
    embedded documents (an `altChunk`). A footnote can carve out the cap its clause sets ("…
    except for data breaches, for which liability is unlimited"), so the analyst is told, not
    left to find the review silent."""
    body = document.element.body
    parts = []
    boxes = body.iter(qn("w:txbxContent"))
    if any("".join(box.itertext()).strip() for box in boxes):
        parts.append("text boxes")
    for kind in ("footnotes", "endnotes"):
        related = [
            rel.target_part
            for rel in document.part.rels.values()
            if not rel.is_external and rel.reltype.endswith(f"/{kind}")
        ]
        tag = qn(f"w:{kind[:-1]}")
        for part in related:
            try:
                notes = list(parse_xml(part.blob).iter(tag))
            except SyntaxError:  # lxml's XMLSyntaxError: a part Word could not show either
                parts.append(kind)
                break
            # Word's own separators are notes too (ids -1 and 0, or typed): only real ones count.
            if any(
                note.get(qn("w:type")) is None and "".join(note.itertext()).strip()
                for note in notes
            ):
                parts.append(kind)
                break
    if next(body.iter(qn("w:altChunk")), None) is not None:
        parts.append("embedded documents")
    return parts
