"""Cross-checking what a report says is missing against the clause finder.

Open models reviewing contracts are "lazy": they say a clause is absent when it is there. Where a
report's section says "Found: no" / "not found", or its "Missing" section lists a topic, the clause
finder is asked; when it finds that clause, the report gets the passage beside the claim.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lib.analysis.clauses import Finding, Findings, find_clauses
from lib.analysis.clauses.mapping import categories_for
from lib.analysis.clauses.segment import place_label
from lib.analysis.prompts import SAYS_ABSENT

_HEADING = re.compile(r"^(#{2,6})[ \t]*(.*)$", re.MULTILINE)
_SEVERITY = re.compile(
    r"\s+[-–—:]+\s+\**(?:GREEN|YELLOW|RED|NOT FOUND|MISSING|N/?A)\b.*$", re.IGNORECASE
)
_MISSING_SECTION = re.compile(r"\bmissing\b", re.IGNORECASE)
_BULLET = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+(.+)$", re.MULTILINE)
_QUOTE_LEN = 240


@dataclass(frozen=True)
class Disagreement:
    """The report calls `topic` missing; the clause finder found `finding` for `category`."""

    topic: str
    category: str
    finding: Finding
    start: int  # where the claim stands in the report
    page: int | None = None

    @property
    def message(self) -> str:
        quote = " ".join(self.finding.quote.split())
        if len(quote) > _QUOTE_LEN:
            quote = quote[:_QUOTE_LEN].rsplit(" ", 1)[0] + " …"
        where = place_label(self.finding.cited, self.page) or "the contract"
        return (
            f"The report says there is no {self.topic} clause; {where} reads “{quote}” "
            f"(clause finder: {self.category})."
        )


def _claims(report: str) -> list[tuple[str, int]]:
    """(topic, position) for every place the report calls a topic missing."""
    headings = list(_HEADING.finditer(report))
    claims: list[tuple[str, int]] = []
    for i, heading in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(report)
        body = report[heading.end() : end]
        title = _SEVERITY.sub("", heading.group(2)).strip(" *_`")
        if len(heading.group(1)) >= 3 and SAYS_ABSENT.search(body):
            claims.append((title, heading.start()))
        elif len(heading.group(1)) == 2 and _MISSING_SECTION.search(title):
            for bullet in _BULLET.finditer(body):
                topic = re.split(r"\s[-–—:]\s|:", bullet.group(1), maxsplit=1)[0]
                claims.append((topic.strip(" *_`"), heading.end() + bullet.start()))
    return claims


def cross_check(
    report: str,
    text: str,
    *,
    findings: Findings | None = None,
    page_at: Callable[[int], int | None] | None = None,
) -> list[Disagreement]:
    """Claims of absence that the clause finder contradicts, one per topic, in report order."""
    if not report or not text.strip():
        return []
    findings = findings if findings is not None else find_clauses(text)
    seen: set[str] = set()
    out: list[Disagreement] = []
    for topic, position in _claims(report):
        key = topic.lower()
        if not topic or key in seen:
            continue
        for category in categories_for(topic):
            # Contradicted only by a confident finding, as a risk is asserted: a borderline one
            # ("Check these") would raise a false alarm as often as not.
            sure = findings.sure(category)
            best = sure[0] if sure else None
            if best is not None:
                seen.add(key)
                page = page_at(best.start) if page_at else None
                out.append(Disagreement(topic.lower(), category, best, position, page))
                break
    return out
