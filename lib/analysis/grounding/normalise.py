"""Text normalisation shared by contracts and quotes, keeping a map back to the original.

A quote and the contract it came from rarely agree byte for byte: PDF extraction breaks lines,
hyphenates words, repeats page headers and leaves PDFium's soft-hyphen mark; models straighten or
curl quotes, swap dashes and re-capitalise the first word. Both sides go through the same
function, so a match in normalised text is a match in wording, and the offset map lets a match be
shown in the contract's own words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Dropped characters are first overwritten with this mark so that offsets stay aligned with the
# original until the final pass removes them.
_GONE = "\x00"

_PUNCTUATION = str.maketrans(
    {
        # Single and double marks are one mark: a quote inside a quotation is routinely
        # switched from double to single marks.
        **dict.fromkeys("'\u2018\u2019\u201a\u201b\u2032\u0060\u00b4", '"'),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
        # Markdown emphasis in a quote, and the asterisks of a filing's redactions ("[***]") in
        # the contract: the same on both sides, so neither decides a match.
        "*": _GONE,
        "\u00a0": " ",
        "\u2028": "\n",
        "\u2029": "\n",
        "\r": "\n",
        "\f": "\n",
        "\v": "\n",
    }
)
# PDFium writes \x02 where a word was hyphenated at a line end; U+00AD is the same in Unicode.
_SOFT_HYPHEN_BREAK = re.compile(r"[\x02\u00ad][ \t]*\n?[ \t\n]*")
# A hard hyphen at a line end before a lower-case letter splits one word ("indemni-\nfication");
# before a capital it is a real hyphen ("Non-\nCompete") and only the line break goes.
_HYPHEN_BREAK_JOIN = re.compile(r"(?<=[^\W\d_])-[ \t]*\n\s*(?=[a-z])")
_HYPHEN_BREAK_KEEP = re.compile(r"(?<=[^\W\d_]-)[ \t]*\n\s*(?=[^\W\d_])")
# A hyphen inside a word, on both sides: PDF text joins "non-⏎exclusive" at a line end into
# "nonexclusive" (PDFium marks any hyphen there as a soft one), and a model's quote writes
# "non-exclusive"; "third-party" and "third party" stay apart (a space is a word break).
_WORD_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")
_RUN = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Normalised:
    """Normalised text; `starts[i]`/`ends[i]` give the original span of normalised character i."""

    text: str
    starts: list[int]
    ends: list[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets covering normalised text[start:end] (end exclusive, start < end)."""
        return self.starts[start], self.ends[end - 1]


def _blank(text: str, spans: Iterable[tuple[int, int]], mark: str) -> str:
    """Overwrite sorted, disjoint spans with `mark`, keeping every other offset in place."""
    pieces: list[str] = []
    last = 0
    for start, end in spans:
        pieces.append(text[last:start])
        pieces.append(mark * (end - start))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _blank_matches(text: str, pattern: re.Pattern[str]) -> str:
    return _blank(text, (m.span() for m in pattern.finditer(text)), _GONE)


def _fold(run: str) -> str:
    return unicodedata.normalize("NFKC", run).lower()


def normalise(text: str, drop: list[tuple[int, int]] | None = None) -> Normalised:
    """NFKC, one straight quote mark, '-' for every dash, lower case, one space between words.

    Hyphenation and soft hyphens at line ends are joined, and a hyphen between letters counts for
    nothing; `drop` spans (page furniture) read as line breaks. Case is folded because a quoted
    first word is routinely re-capitalised.
    """
    work = text.translate(_PUNCTUATION)
    if drop:
        work = _blank(work, drop, "\n")
    work = _blank_matches(work, _SOFT_HYPHEN_BREAK)
    work = _blank_matches(work, _HYPHEN_BREAK_JOIN)
    work = _blank_matches(work, _HYPHEN_BREAK_KEEP)
    work = _blank_matches(work, _WORD_HYPHEN)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    previous_end: int | None = None
    for m in _RUN.finditer(work):
        run, offset = m.group(), m.start()
        if not run.strip(_GONE):
            continue  # nothing left of it: no word, so no space either
        if previous_end is not None and out:
            out.append(" ")
            starts.append(previous_end)
            ends.append(offset)
        if run.isascii() and _GONE not in run:
            out.append(run.lower())
            positions = range(offset, m.end())
            starts.extend(positions)
            ends.extend(range(offset + 1, m.end() + 1))
        else:
            _fold_slowly(run, offset, out, starts, ends)
        previous_end = m.end()
    return Normalised("".join(out), starts, ends)


def _fold_slowly(run: str, offset: int, out: list[str], starts: list[int], ends: list[int]) -> None:
    """Fold one non-ASCII run, mapping each produced character to its source character."""
    kept = [(offset + i, ch) for i, ch in enumerate(run) if ch != _GONE]
    whole = _fold("".join(ch for _, ch in kept))
    if len(whole) == len(kept):
        out.append(whole)
        starts.extend(pos for pos, _ in kept)
        ends.extend(pos + 1 for pos, _ in kept)
        return
    for pos, ch in kept:
        folded = _fold(ch)
        out.append(folded)
        starts.extend([pos] * len(folded))
        ends.extend([pos + 1] * len(folded))
