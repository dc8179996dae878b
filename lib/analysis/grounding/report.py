"""Grounding a whole report: the contract's index built once, every quote checked, every claim of
absence cross-checked, and the counts a run keeps."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from lib.analysis.clauses import Findings, find_clauses, split_clauses
from lib.analysis.grounding.crosscheck import Disagreement, cross_check
from lib.analysis.grounding.index import ContractIndex
from lib.analysis.grounding.tracker import CheckedQuote, GroundingTracker, summarise


@functools.lru_cache(maxsize=16)
def contract_index(text: str, page_starts: tuple[int, ...] | None = None) -> ContractIndex:
    """One index per contract text, shared by every run, page and side that checks against it."""
    spans = [span for clause in split_clauses(text) for span in clause.cited_spans()]
    return ContractIndex.build(text, list(page_starts) if page_starts else None, spans)


@dataclass(frozen=True)
class Grounding:
    checked: list[CheckedQuote]
    disagreements: list[Disagreement]

    @property
    def counts(self) -> dict[str, int]:
        """total, verified, close, not_found — and the cross-check's disagreements."""
        return {**summarise(self.checked), "disagreements": len(self.disagreements)}


@functools.lru_cache(maxsize=8)
def _findings(text: str) -> Findings:
    return find_clauses(text)


def finish_grounding(tracker: GroundingTracker, report: str, text: str) -> Grounding:
    """A run's grounding from its own tracker: the quotes it checked while the report streamed,
    the last paragraph's, and the cross-check of claims of absence."""
    tracker.finish(report)
    findings = _findings(text)
    disagreements = cross_check(report, text, findings=findings, page_at=tracker.index.page_at)
    return Grounding(list(tracker.checked), disagreements)


@functools.lru_cache(maxsize=64)
def ground_report(
    report: str, text: str, page_starts: tuple[int, ...] | None = None, *, ocr: bool = False
) -> Grounding:
    """A stored report, grounded afresh (cached: however often a page redraws it)."""
    return finish_grounding(GroundingTracker(contract_index(text, page_starts), ocr), report, text)
