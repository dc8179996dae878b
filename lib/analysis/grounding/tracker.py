"""Checking quotes while a report streams, one completed paragraph at a time."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from lib.analysis.grounding.index import ContractIndex
from lib.analysis.grounding.matching import QuoteCheck, check
from lib.analysis.grounding.quotes import Quote, extract_quotes

# A paragraph is complete at a blank line, or where the next line visibly starts a new Markdown
# block (heading, list item): reports often have no blank lines between bullets. A quote never
# spans either boundary, so a completed paragraph's quotes are final.
_BOUNDARY = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:#{1,6} |[-*+] |\d{1,3}[.)] ))")


@dataclass(frozen=True, slots=True)
class CheckedQuote:
    """A quote from the report with its verdict."""

    quote: Quote
    check: QuoteCheck


@dataclass
class GroundingTracker:
    """Fed the report as it grows; checks each paragraph once, when it is complete.

    One tracker per run holds the run's verdicts: the page drawing the stream feeds it while the
    run's worker finishes it, so a lock keeps each paragraph checked exactly once."""

    index: ContractIndex
    ocr: bool = False
    checked: list[CheckedQuote] = field(default_factory=list)
    _done: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def feed(self, report: str) -> list[CheckedQuote]:
        """The new verdicts for paragraphs completed since the last call (report so far)."""
        ends = [m.end() for m in _BOUNDARY.finditer(report, self._done)]
        return self._check_upto(report, ends[-1]) if ends else []

    def finish(self, report: str) -> list[CheckedQuote]:
        """The stream has ended: the last paragraph is complete too."""
        return self._check_upto(report, len(report))

    def _check_upto(self, report: str, end: int) -> list[CheckedQuote]:
        with self._lock:
            if end <= self._done:
                return []
            quotes = extract_quotes(report[self._done : end], offset=self._done)
            self._done = end
            new = [CheckedQuote(q, check(self.index, q, ocr=self.ocr)) for q in quotes]
            self.checked.extend(new)
            return new

    def summary(self) -> dict[str, int]:
        """Counts of quotes checked so far: total, verified, close, not_found."""
        return summarise(self.checked)


def summarise(checked: Iterable[CheckedQuote]) -> dict[str, int]:
    """Counts by status, with the total, in a fixed key order for display."""
    counts = {"total": 0, "verified": 0, "close": 0, "not_found": 0}
    for item in checked:
        counts["total"] += 1
        counts[item.check.status] += 1
    return counts


def check_report(index: ContractIndex, report: str, ocr: bool = False) -> list[CheckedQuote]:
    """Every quote of a finished report with its verdict."""
    return GroundingTracker(index, ocr).finish(report)
