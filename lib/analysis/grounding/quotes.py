"""Finding the passages a review report presents as the contract's own words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MIN_WORDS = 4
# A report ends with one of these blockquotes (a model's, the clause finder's); it is our wording,
# not the contract's.
DISCLAIMER_PREFIXES = ("ai-assisted review, not legal advice", "automated review, not legal advice")

# An inline quote never crosses a blank line: an unclosed quote mark must not swallow the
# next paragraph. A curly pair is read first and may hold straight marks (a clause that quotes a
# defined term: “… (the "Applicable Law")”); elsewhere either mark may open or close, as models
# mix straight and curly marks.
_CURLY = re.compile(r"“((?:[^“”\n]|\n(?![ \t]*\n))+)”")
# Models quote a clause's defined term in straight marks too: "… (the "Term") of 12 months". A
# straight mark after a space or an opening bracket and before a letter or digit opens such a
# nested quotation, which ends at the next straight mark on its line; it is part of the outer quote
# only if the outer one closes after it, else that mark closes the outer quote as before. A closing
# mark follows a word or punctuation, so separate quotes ("foo" and "bar") stay apart.
_NESTED = r"(?<=[\s(\[])\"(?=[^\W_])[^\"“”\n]*\""
_INLINE = re.compile(rf"[\"“]((?:[^\"“”\n]|\n(?![ \t]*\n)|{_NESTED})+)[\"”]")
_BLOCK_LINE = re.compile(r"^[ \t]{0,3}>[ \t]?(.*)$", re.MULTILINE)
# A word is a whitespace-separated token with a letter or digit in it: a URL or "§12.1" is one.
_WORD = re.compile(r"[^\s]*\w[^\s]*")
_MARKUP = re.compile(r"\*+|`+|\n[ \t]{0,3}>[ \t]?")


@dataclass(frozen=True, slots=True)
class Quote:
    """A quotation in a report; start/end cover it in the report, quote marks included."""

    text: str
    start: int
    end: int
    kind: Literal["inline", "block"]


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _clean(text: str) -> str:
    """Drop Markdown emphasis, code marks and blockquote marks of continuation lines."""
    return _MARKUP.sub(lambda m: " " if m.group().startswith("\n") else "", text).strip()


def _blocks(markdown: str) -> list[tuple[int, int, str]]:
    """Consecutive blockquote lines, joined: (start, end, text)."""
    blocks: list[tuple[int, int, str]] = []
    for m in _BLOCK_LINE.finditer(markdown):
        if blocks and markdown[blocks[-1][1] : m.start()] == "\n":
            start, _, text = blocks[-1]
            blocks[-1] = (start, m.end(), f"{text} {m.group(1)}")
        else:
            blocks.append((m.start(), m.end(), m.group(1)))
    return blocks


def extract_quotes(markdown: str, offset: int = 0) -> list[Quote]:
    """Every quotation of MIN_WORDS words or more, in report order.

    A blockquote is one quotation unless it holds inline quotes of its own, in which case those
    are the quotations and the rest is the model's commentary. `offset` is added to positions,
    for callers that pass a slice of a longer report.
    """
    quotes: list[Quote] = []
    blocks = _blocks(markdown)
    curly = list(_CURLY.finditer(markdown))
    # Curly pairs blanked out (same length, so positions hold) before the mixed-mark pass.
    rest = _CURLY.sub(lambda m: " " * len(m.group()), markdown)
    for m in [*curly, *_INLINE.finditer(rest)]:
        text = _clean(markdown[m.start(1) : m.end(1)])
        if _words(text) >= MIN_WORDS:
            quotes.append(Quote(text, m.start() + offset, m.end() + offset, "inline"))
    for start, end, text in blocks:
        inner = [q for q in quotes if start + offset <= q.start < end + offset]
        body = _clean(text)
        if inner or body.casefold().startswith(DISCLAIMER_PREFIXES) or _words(body) < MIN_WORDS:
            continue
        quotes.append(Quote(body, start + offset, end + offset, "block"))
    return sorted(quotes, key=lambda q: q.start)
