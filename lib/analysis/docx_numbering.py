"""The clause numbers Word draws beside its paragraphs ("9.", "9.1", "(a)"), which are not text.

A contract written in Word numbers its clauses with automatic numbering: python-docx gives a
paragraph's text without them, so every quote would cite "unnumbered paragraph" and the clause
splitter would find no clause starts. No maintained library computes them (python-docx issue
#1454 lists twenty requests), so this follows Word's rules far enough for contracts: a level's
pattern (`w:lvlText`, "%1.%2"), its start, its number format, legal numbering (`w:isLgl`: the
higher levels in digits, "1.1" under "Article I"), deeper levels restarting under a new higher
one, lists that share a definition counting on together unless one restarts (`w:startOverride`,
how Word records "Restart numbering"), and definitions that only name a list style
(`w:numStyleLink`). Bullets and unusual formats give no number. The file is untrusted: a value
that makes no sense loses that number, never the document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from docx.oxml.ns import qn

log = logging.getLogger(__name__)

_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
          (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))  # fmt: skip
_LEVELS = 9
# Far past any contract's clause count, and small enough that a number stays a few characters.
_MAX_NUMBER = 10_000


@dataclass(frozen=True)
class _Level:
    start: int
    format: str
    text: str
    legal: bool = False


def _roman(n: int) -> str:
    out = []
    for value, letters in _ROMAN:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


def _letters(n: int) -> str:
    """Word's letters: a … z, then aa … zz, then aaa …"""
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1) if n > 0 else ""


_FORMATS: dict[str, Callable[[int], str]] = {
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


def _number(value: str | None, default: int, limit: int = _MAX_NUMBER) -> int:
    """A count or level from the file, or `default` when it is not one (or absurd)."""
    if value is None or not value.isdecimal() or len(value) > 6:
        return default
    number = int(value)
    return number if 0 <= number <= limit else default


def _levels(abstract: Any) -> dict[int, _Level]:
    levels: dict[int, _Level] = {}
    for level in abstract.findall(qn("w:lvl")):
        index = _number(level.get(qn("w:ilvl")), -1, _LEVELS - 1)
        if index < 0:
            continue
        legal = level.find(qn("w:isLgl"))
        levels[index] = _Level(
            _number(_val(level, "w:start"), 1),
            _val(level, "w:numFmt") or "decimal",
            _val(level, "w:lvlText") or "",
            legal is not None and legal.get(qn("w:val"), "1") not in ("0", "false"),
        )
    return levels


class ListNumbers:
    """Paragraph by paragraph, in document order, the number Word shows before each."""

    def __init__(self, document: Any) -> None:
        self._levels: dict[str, dict[int, _Level]] = {}
        self._abstract_of: dict[str, str] = {}
        self._restarts: dict[str, dict[int, int]] = {}  # numId → level → start it restarts at
        self._counts: dict[str, list[int | None]] = {}
        # Per paragraph style, the list its definition (or the one it is based on) names.
        self._by_style: dict[str, tuple[str | None, str | None]] = {}
        self._styles = None
        try:
            self._styles = document.styles.element
            self._read(document)
        except Exception:  # an untrusted file: lose its numbers, keep its text
            log.warning("the Word file's numbering could not be read", exc_info=True)
            self._levels, self._abstract_of, self._restarts = {}, {}, {}

    def _read(self, document: Any) -> None:
        try:
            numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return  # no numbering part: nothing is numbered
        links: dict[str, str] = {}
        for abstract in numbering.findall(qn("w:abstractNum")):
            abstract_id = abstract.get(qn("w:abstractNumId"), "")
            self._levels[abstract_id] = _levels(abstract)
            if (link := _val(abstract, "w:numStyleLink")) is not None:
                links[abstract_id] = link
        for num in numbering.findall(qn("w:num")):
            num_id = num.get(qn("w:numId"), "")
            abstract_id = _val(num, "w:abstractNumId")
            if abstract_id is None:
                continue
            self._abstract_of[num_id] = abstract_id
            restarts = {
                _number(override.get(qn("w:ilvl")), -1, _LEVELS - 1): _number(
                    _val(override, "w:startOverride"), 1
                )
                for override in num.findall(qn("w:lvlOverride"))
                if override.find(qn("w:startOverride")) is not None
            }
            restarts.pop(-1, None)
            if restarts:
                self._restarts[num_id] = restarts
        for abstract_id, style_id in links.items():
            # A definition that only names a list style: that style's list holds the levels.
            style = document.styles.element.get_by_id(style_id)
            properties = style.pPr if style is not None else None
            linked = (
                _val(properties.find(qn("w:numPr")), "w:numId") if properties is not None else None
            )
            target = self._abstract_of.get(linked or "")
            if target is not None and self._levels.get(target):
                self._levels[abstract_id] = self._levels[target]

    def label(self, paragraph: Any) -> str | None:
        """The paragraph's number as Word draws it, or None (not numbered, or a bullet)."""
        try:
            return self._label(paragraph)
        except Exception:
            log.warning("a Word paragraph's number could not be read", exc_info=True)
            return None

    def _label(self, paragraph: Any) -> str | None:
        if not self._abstract_of:
            return None  # no list in the file: nothing to look up, paragraph after paragraph
        found = self._numbering(paragraph)
        if found is None:
            return None
        num_id, level = found
        abstract = self._abstract_of.get(num_id)
        levels = self._levels.get(abstract or "")
        if abstract is None or not levels or level not in levels:
            return None
        if levels[level].format not in _FORMATS:
            return None  # a bullet (or a picture, or no number): nothing to count or cite
        restarts = self._restarts.get(num_id)
        counter = f"num:{num_id}" if restarts else f"abstract:{abstract}"
        counts = self._counts.get(counter)
        if counts is None:
            counts = self._counts[counter] = [None] * _LEVELS
            for restarted, start in (restarts or {}).items():
                counts[restarted] = start - 1  # the first paragraph counts it up to the start
        current = counts[level]
        counts[level] = levels[level].start if current is None else min(current + 1, _MAX_NUMBER)
        for deeper in range(level + 1, _LEVELS):
            counts[deeper] = None
        text = levels[level].text
        for shown in range(level + 1):
            placeholder = f"%{shown + 1}"
            if placeholder not in text:
                continue
            spec = levels.get(shown)
            if spec is None:
                return None
            name = "decimal" if levels[level].legal and shown < level else spec.format
            write = _FORMATS.get(name)
            if write is None:
                return None  # a format a contract does not number clauses with
            value = counts[shown]
            text = text.replace(placeholder, write(spec.start if value is None else value))
        return text.strip() or None

    def _numbering(self, paragraph: Any) -> tuple[str, int] | None:
        """(numId, level) from the paragraph's own properties, else its style's (and theirs): a
        paragraph may set its level and take the list from its style."""
        num_id, level = _num_pr(paragraph._p.pPr)
        if num_id is None or level is None:
            styled_id, styled_level = self._style_numbering(paragraph._p.style)
            num_id = num_id if num_id is not None else styled_id
            level = level if level is not None else styled_level
        if num_id is None or num_id == "0":
            return None  # not numbered, or numbering switched off for this paragraph
        return num_id, _number(level, 0, _LEVELS - 1)

    def _style_numbering(self, style_id: str | None) -> tuple[str | None, str | None]:
        """Looked up once per style: python-docx resolves a paragraph's style anew each time."""
        if style_id is None or self._styles is None:
            return None, None
        if style_id not in self._by_style:
            num_id = level = None
            seen: set[str] = set()
            current: str | None = style_id
            while current is not None and current not in seen:
                seen.add(current)
                style = self._styles.get_by_id(current)
                if style is None:
                    break
                own_id, own_level = _num_pr(style.pPr)
                num_id = num_id if num_id is not None else own_id
                level = level if level is not None else own_level
                current = style.basedOn_val
            self._by_style[style_id] = (num_id, level)
        return self._by_style[style_id]


def _num_pr(properties: Any) -> tuple[str | None, str | None]:
    num_pr = properties.find(qn("w:numPr")) if properties is not None else None
    if num_pr is None:
        return None, None
    return _val(num_pr, "w:numId"), _val(num_pr, "w:ilvl")
