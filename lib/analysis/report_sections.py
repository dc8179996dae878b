"""Reading a finished report's sections: the severity under each category heading, the overall
risk, and a category's section with each quote found in the contract.

Built from the report alone (`### <category> — SEVERITY` headings, as the report skeleton asks), so
it reads any model's report and runs reopened from the run log. A model that rewords a heading is
lined up with the template's category covering the same CUAD clauses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lib.analysis.clauses.mapping import categories_for
from lib.analysis.grounding import ContractIndex, check, extract_quotes
from lib.analysis.prompts import count_findings

# A category the report has no section for.
MISSING = "missing"
CONTEXT_CHARS = 400
_RISK = re.compile(r"^##\s*Overall risk\W*\**\s*(LOW|MEDIUM|HIGH|CRITICAL)\b", re.I | re.M)
_HEADING = re.compile(r"^#{2,6}[ \t]+.*$", re.MULTILINE)


def _canonical(heading: str, columns: Sequence[str]) -> str:
    """The template column a report heading belongs to, else the heading itself."""
    lowered = heading.strip().lower()
    for column in columns:
        if column.lower() == lowered or column.lower().startswith(lowered):
            return column
    mine = set(categories_for(heading))
    if mine:
        best = max(columns, key=lambda c: len(mine & set(categories_for(c))), default=None)
        if best is not None and mine & set(categories_for(best)):
            return best
    return heading.strip()


def severities(report: str, columns: Sequence[str]) -> dict[str, str]:
    """Category column → GREEN/YELLOW/RED for one report (first heading wins per column)."""
    out: dict[str, str] = {}
    for heading, severity in count_findings(report or "").categories.items():
        out.setdefault(_canonical(heading, columns), severity)
    return out


def overall_risk(report: str) -> str:
    match = _RISK.search(report or "")
    return match.group(1).upper() if match else ""


@dataclass(frozen=True)
class QuotedPassage:
    quote: str
    status: str  # verified, close, not_found
    before: str
    match: str
    after: str


@dataclass(frozen=True)
class Passage:
    category: str
    severity: str
    section: str
    quotes: list[QuotedPassage]


def section_for(report: str, column: str, columns: Sequence[str]) -> str:
    """The report's `###` section that the grid put in `column` ("" when there is none)."""
    headings = list(_HEADING.finditer(report or ""))
    for i, match in enumerate(headings):
        line = match.group(0)
        if not line.startswith("###"):
            continue
        parsed = count_findings(line).categories
        if not parsed or _canonical(next(iter(parsed)), columns) != column:
            continue
        end = headings[i + 1].start() if i + 1 < len(headings) else len(report)
        return report[match.start() : end].strip()
    return ""


def passage(
    report: str,
    contract_text: str | None,
    column: str,
    columns: Sequence[str],
    index: ContractIndex | None = None,
) -> Passage:
    """A grid cell opened: the section, and each quote located in the contract with context."""
    section = section_for(report, column, columns)
    severity = severities(report, columns).get(column, MISSING)
    quotes = []
    if section:
        if contract_text and index is None:
            index = ContractIndex.build(contract_text)
        for quote in extract_quotes(section):
            if index is None or contract_text is None:
                quotes.append(QuotedPassage(quote.text, "unchecked", "", "", ""))
                continue
            verdict = check(index, quote)
            if verdict.start is None or verdict.end is None:
                quotes.append(QuotedPassage(quote.text, verdict.status, "", "", ""))
                continue
            before = contract_text[max(0, verdict.start - CONTEXT_CHARS) : verdict.start]
            after = contract_text[verdict.end : verdict.end + CONTEXT_CHARS]
            quotes.append(
                QuotedPassage(
                    quote.text,
                    verdict.status,
                    before,
                    contract_text[verdict.start : verdict.end],
                    after,
                )
            )
    return Passage(column, severity, section, quotes)
