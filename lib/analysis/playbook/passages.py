"""A contract cut into the passages evidence is chosen from: sentences and list items.

ContractNLI's annotators picked evidence from sentences and list items, so the checker ranks the
same kind of unit, cut by the clause finder's segmenter (exact offsets, page furniture left out).
Each passage knows its clause number and, where the document has pages, its page.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from lib.analysis.clauses.segment import split_clauses

# A passage longer than this is cut at its last word boundary before the limit; evidence an analyst
# reads in a table cell has to stay readable, and a run-on block is rarely one decision.
MAX_PASSAGE_CHARS = 1500


@dataclass(frozen=True)
class Passage:
    start: int
    end: int
    text: str
    clause: str | None
    heading: str | None
    page: int | None


def page_of(offset: int, page_starts: Sequence[int] | None) -> int | None:
    """1-based page of a character offset, when the document has pages."""
    if not page_starts:
        return None
    return max(1, bisect.bisect_right(page_starts, offset))


_LINE_BREAK = re.compile(r"\n[ \t]*(?=[A-Z0-9(\"“'\[–-])")
_HEADING_WORDS = 10


def _lines_apart(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A sentence split where a heading or a finished line stands above the next line.

    The segmenter joins a clause's heading ("2.03 Kept in Confidence") and a preamble's short
    lines to the sentence that follows; as evidence they would share its rank without deciding
    anything, so they stand apart.
    """
    pieces = []
    for match in _LINE_BREAK.finditer(text, start, end):
        line = text[start : match.start()].rstrip()
        if line and (line[-1] in ".:;" or len(line.split()) <= _HEADING_WORDS):
            pieces.append((start, match.start()))
            start = match.end()
    pieces.append((start, end))
    return pieces


# An item marker of a list written inline: "(i)", "(b)", "(12)", after a space.
_INLINE_ITEM = re.compile(r"(?<=\s)\((?:[a-z]|[ivx]{1,5}|\d{1,2})\)(?=\s)")
_ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii")
# The markers of a list, by its first: (a) (b) (c) …, (i) (ii) (iii) …, (1) (2) (3) …
_SEQUENCES = {
    "(a)": [f"({c})" for c in "abcdefghijklmnopqrstuvwxyz"],
    "(i)": [f"({r})" for r in _ROMAN],
    "(1)": [f"({n})" for n in range(1, 31)],
}


def _items_apart(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A sentence holding a list written inline ("information which (i) is or becomes public,
    (ii) was known …") cut before each item: ContractNLI's annotators took each item as a unit,
    and a position is often decided by one item alone. Only markers in sequence from the first
    item cut; a lone one ("in paragraph (b) of this clause") is a reference and stays."""
    cuts, expected = [start], None
    for match in _INLINE_ITEM.finditer(text, start, end):
        mark = match.group(0)
        if expected is None:
            expected = _SEQUENCES.get(mark)
            if expected is not None:
                cuts.append(match.start())
                expected = expected[1:]
        elif expected and mark == expected[0]:
            cuts.append(match.start())
            expected = expected[1:]
    if len(cuts) < 3:  # no list: at most one marker in sequence
        return [(start, end)]
    cuts.append(end)
    return [(a, b) for a, b in pairwise(cuts) if text[a:b].strip()]


def split_passages(text: str, page_starts: Sequence[int] | None = None) -> list[Passage]:
    """Every sentence and list item of the contract, in document order."""
    out: list[Passage] = []
    for clause in split_clauses(text):
        units = [
            item
            for sentence in clause.sentences()
            for piece in _lines_apart(text, sentence.start, sentence.end)
            for item in _items_apart(text, *piece)
        ]
        for unit_start, unit_end in units:
            start = unit_start
            if clause.number and text.startswith(clause.number, start):
                start += len(clause.number)
                while start < unit_end and text[start].isspace():
                    start += 1
            while start < unit_end:
                end = min(unit_end, start + MAX_PASSAGE_CHARS)
                if end < unit_end:
                    cut = text.rfind(" ", start + 1, end)
                    end = cut if cut > start else end
                piece = text[start:end].rstrip()
                end = start + len(piece)
                if piece.strip():
                    out.append(
                        Passage(
                            start,
                            end,
                            piece,
                            clause.cited_at(start),
                            clause.heading,
                            page_of(start, page_starts),
                        )
                    )
                start = max(end, start + 1)
                while start < unit_end and text[start].isspace():
                    start += 1
    return out


def covered_spans(
    passage_start: int, passage_end: int, spans: Sequence[Sequence[int]]
) -> list[int]:
    """Indices of the spans a passage covers at least half of (ContractNLI's evidence rule)."""
    hits = []
    for i, (s, e) in enumerate(spans):
        length = e - s
        overlap = min(passage_end, e) - max(passage_start, s)
        if length > 0 and overlap * 2 >= length:
            hits.append(i)
    return hits
