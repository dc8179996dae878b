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
        if _PAGE_NUMBER.fullmatch(line):
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
