"""Page furniture: the lines a printed contract repeats on its pages, which are not its terms.

Bare page numbers and running headers or footers ("EXCLUSIVE DISTRIBUTOR AGREEMENT Page 3 of
18"). One rule for the clause finder, which quotes none of them, and the quote checker, which
reads past them: when the two disagreed, the finder quoted a running header as a clause and the
checker could not find it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict

_LINE = re.compile(r"[^\n]*")
_PAGE_NUMBER = re.compile(
    r"(?:page\s*)?[-(\[]?\s*\d{1,4}\s*[-)\]]?(?:\s*(?:of|/)\s*\d{1,4})?", re.IGNORECASE
)
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
# A line that opens with a clause number ("ARTICLE 5" alone, "Section 4 Term", "1. Clause number 1
# says …", "(a) [Reserved]") is the contract's, however often its wording recurs.
_CLAUSE_OPENING = re.compile(
    r"\s*(?:(?:section|article|clause)\s+[\divx]+\b"
    r"|(?:\d{1,3}(?:\.\d{1,3})+\.?|\d{1,3}[.)]|\([a-z0-9]{1,3}\))\s+\S)",
    re.IGNORECASE,
)
# A line is a running header or footer if it recurs this often (and on this share of pages).
HEADER_MIN_REPEATS = 3
HEADER_MIN_PAGE_SHARE = 0.5
HEADER_MAX_CHARS = 120


def is_page_number(line: str) -> bool:
    """A blank line or a bare page number ("3", "- 12 -", "Page 3 of 9"): every quote check reads
    past these lines, whatever pages it was told of."""
    line = _SPACE.sub(" ", line).strip()
    return not line or bool(_PAGE_NUMBER.fullmatch(line))


def running_lines(text: str, page_starts: list[int] | None = None) -> list[tuple[int, int]]:
    """Spans of lines that are page furniture: bare page numbers and repeated headers/footers.

    Digits are ignored when comparing lines so that "Page 3 of 9 - Confidential" recurs.
    """
    by_key: dict[str, list[tuple[int, int]]] = defaultdict(list)
    spans: list[tuple[int, int]] = []
    for m in _LINE.finditer(text):
        line = _SPACE.sub(" ", m.group()).strip()
        if not line:
            continue
        if is_page_number(line):
            spans.append((m.start(), m.end()))
        elif len(line) <= HEADER_MAX_CHARS and not _CLAUSE_OPENING.match(line):
            by_key[_DIGITS.sub("#", line.casefold())].append((m.start(), m.end()))
    pages = len(page_starts) if page_starts else 0
    for occurrences in by_key.values():
        if len(occurrences) < HEADER_MIN_REPEATS:
            continue
        if pages >= HEADER_MIN_REPEATS:
            on_pages = {bisect_right(page_starts or [], start) for start, _ in occurrences}
            if len(on_pages) < pages * HEADER_MIN_PAGE_SHARE:
                continue
        spans.extend(occurrences)
    return sorted(spans)


# A page number a text extraction left at the end of the page's last line ("… GOODWILL, BUSINESS
# 3", then the page break): a number after a space, closing a line that a blank line follows.
_TRAILING_NUMBER = re.compile(r"(?<=\S)[^\S\n]+(\d{1,4})[^\S\n]*(?=\n[^\S\n]*\n)")


def trailing_page_numbers(text: str) -> list[tuple[int, int]]:
    """Spans of page numbers printed at the end of a page's last line, not on a line of their own.

    A number closing a line before a blank line is one only when the contract has the page next
    to it (n - 1 or n + 1) closing a line that way too: "under Section 18" before a paragraph break
    is a reference, while "… 3", "… 4", "… 5" at successive page ends are page numbers.
    """
    found = [(int(m.group(1)), m.start(1), m.end(1)) for m in _TRAILING_NUMBER.finditer(text)]
    numbers = {n for n, _, _ in found}
    return [(start, end) for n, start, end in found if n - 1 in numbers or n + 1 in numbers]
