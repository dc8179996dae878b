"""How a Word file's body reads as a contract's text: one walk for the text and for the Word file
sent back.

Paragraphs and tables come in document order. A table is set apart by blank lines, one row to a
line, its cells joined by " | "; a merged cell is one cell (Word repeats it in every column it
spans), while two cells that merely hold the same words ("N/A", "$100") are two. A paragraph that
ends a sentence is followed by a blank line: Word numbers clauses outside the text, so these
gaps (and the numbers `docx_numbering` writes back in) are what tell `split_clauses` where a
clause ends. The playbook's Word file finds each paragraph in this text in the same order
(`lib.runs.playbook_word`), so both walk the body through `paragraphs` here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from docx.table import Table
from docx.text.paragraph import Paragraph

from lib.analysis.clauses.segment import ends_sentence
from lib.analysis.docx_numbering import ListNumbers


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
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            yield block
        elif isinstance(block, Table):
            for row in block.rows:
                for cell in _cells(row):
                    yield from cell.paragraphs


def word_text(document: Any) -> str:
    numbers = ListNumbers(document)

    def numbered(paragraph: Paragraph) -> str:
        number = numbers.label(paragraph)
        text = paragraph.text
        return f"{number} {text}" if number and text.strip() else text

    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(numbered(block))
            if ends_sentence(block.text):
                lines.append("")
        elif isinstance(block, Table):
            lines.append("")
            for row in block.rows:
                cells = [
                    "\n".join(numbered(p) for p in cell.paragraphs).strip() for cell in _cells(row)
                ]
                lines.append(" | ".join(cells))
            lines.append("")
    return "\n".join(lines)
