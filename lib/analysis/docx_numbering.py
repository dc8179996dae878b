"""The clause numbers Word draws beside its paragraphs ("9.", "9.1", "(a)"), which are not text.

A contract written in Word numbers its clauses with automatic numbering: python-docx gives a
paragraph's text without them, so every quote would cite "unnumbered paragraph" and the clause
splitter would find no clause starts. No maintained library computes them (python-docx issue
#1454 lists twenty requests), so this follows Word's rules far enough for contracts: a level's
pattern (`w:lvlText`, "%1.%2"), its start, its number format, deeper levels restarting under a
new higher one, and lists that share a definition counting on together. Bullets and unusual
formats give no number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docx.oxml.ns import qn

_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
          (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))  # fmt: skip
_LEVELS = 9


@dataclass(frozen=True)
class _Level:
    start: int
    format: str
    text: str


def _roman(n: int) -> str:
    out = []
    for value, letters in _ROMAN:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


def _letters(n: int) -> str:
    """Word's letters: a … z, then aa … zz, then aaa …"""
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1) if n > 0 else ""


_FORMATS = {
    "decimal": str,
    "decimalZero": lambda n: f"{n:02d}",
    "lowerLetter": _letters,
    "upperLetter": lambda n: _letters(n).upper(),
    "lowerRoman": _roman,
    "upperRoman": lambda n: _roman(n).upper(),
}


def _val(element: Any, tag: str) -> str | None:
    child = element.find(qn(tag)) if element is not None else None
    return child.get(qn("w:val")) if child is not None else None


class ListNumbers:
    """Paragraph by paragraph, in document order, the number Word shows before each."""

    def __init__(self, document: Any) -> None:
        self._levels: dict[str, dict[int, _Level]] = {}
        self._abstract_of: dict[str, str] = {}
        self._counts: dict[str, list[int | None]] = {}
        try:
            numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return  # no numbering part: nothing is numbered
        for abstract in numbering.findall(qn("w:abstractNum")):
            levels: dict[int, _Level] = {}
            for level in abstract.findall(qn("w:lvl")):
                start = _val(level, "w:start")
                levels[int(level.get(qn("w:ilvl"), "0"))] = _Level(
                    int(start) if start and start.isdigit() else 1,
                    _val(level, "w:numFmt") or "decimal",
                    _val(level, "w:lvlText") or "",
                )
            self._levels[abstract.get(qn("w:abstractNumId"), "")] = levels
        for num in numbering.findall(qn("w:num")):
            abstract_id = _val(num, "w:abstractNumId")
            if abstract_id is not None:
                self._abstract_of[num.get(qn("w:numId"), "")] = abstract_id

    def label(self, paragraph: Any) -> str | None:
        """The paragraph's number as Word draws it, or None (not numbered, or a bullet)."""
        found = _numbering(paragraph)
        if found is None:
            return None
        num_id, level = found
        abstract = self._abstract_of.get(num_id)
        levels = self._levels.get(abstract or "")
        if abstract is None or levels is None or level not in levels:
            return None
        if levels[level].format not in _FORMATS:
            return None  # a bullet (or a picture, or no number): nothing to count or cite
        counts = self._counts.setdefault(abstract, [None] * _LEVELS)
        current = counts[level]
        counts[level] = levels[level].start if current is None else current + 1
        for deeper in range(level + 1, _LEVELS):
            counts[deeper] = None
        text = levels[level].text
        for shown in range(level + 1):
            placeholder = f"%{shown + 1}"
            if placeholder not in text:
                continue
            spec = levels.get(shown)
            write = _FORMATS.get(spec.format) if spec is not None else None
            if write is None or spec is None:
                return None  # a bullet, or a format a contract does not number clauses with
            value = counts[shown]
            text = text.replace(placeholder, write(spec.start if value is None else value))
        return text.strip() or None


def _numbering(paragraph: Any) -> tuple[str, int] | None:
    """(numId, level) from the paragraph's own properties, else its style's (and theirs)."""
    holders = [paragraph._p.pPr]
    style = paragraph.style
    while style is not None:
        holders.append(style.element.pPr)
        style = style.base_style
    num_id = level = None
    for properties in holders:  # a paragraph may set its level and take the list from its style
        num_pr = properties.find(qn("w:numPr")) if properties is not None else None
        if num_pr is not None:
            num_id = num_id if num_id is not None else _val(num_pr, "w:numId")
            level = level if level is not None else _val(num_pr, "w:ilvl")
    if num_id is None or num_id == "0":
        return None  # not numbered, or numbering switched off for this paragraph
    return num_id, int(level) if level and level.isdigit() else 0
